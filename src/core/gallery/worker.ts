/**
 * A gallery worker thread: renders the jobs the pool sends it, one at a time, with one JobRenderer
 * (the model is loaded once, on the first job that needs it). Messages are PoolRequest in and
 * PoolReply out (pool.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { JobRenderer, type RendererOptions } from './render-job.js';
import type { PoolReply, PoolRequest } from './pool.js';

const port = parentPort;
if (port) {
  const renderer = new JobRenderer(workerData as RendererOptions);
  let current: AbortController | null = null;
  port.on('message', (msg: PoolRequest) => {
    if (msg.type === 'abort') {
      current?.abort(Object.assign(new Error('interrupted'), { name: 'AbortError' }));
      return;
    }
    const controller = new AbortController();
    current = controller;
    const reply = (r: PoolReply) => port.postMessage(r);
    renderer
      .run(msg.job, msg.outPath, (done, total) => reply({ type: 'progress', id: msg.id, done, total }), controller.signal)
      .then(
        (outcome) => reply({ type: 'done', id: msg.id, outcome }),
        (e: unknown) => reply(controller.signal.aborted ? { type: 'aborted', id: msg.id } : { type: 'done', id: msg.id, outcome: { ok: false, seconds: 0, error: `internal error: ${e instanceof Error ? e.message : String(e)}` } }),
      )
      .finally(() => {
        if (current === controller) current = null;
      });
  });
}
