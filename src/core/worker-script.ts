/**
 * Where nca's worker threads come from. A worker runs a built script (dist/**.js) that sits next to the
 * module starting it; when nca runs from its TypeScript sources (vitest), there is no such script and the
 * caller does the work inline on its own thread instead. This is the one place that decides which.
 * (The training rollout's onnxruntime worker, model/nca-op.ts, is the exception: it must answer
 * synchronously under tests too, so its source is a string evaluated by the worker.)
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The built worker script `url` (e.g. `new URL('./proof-worker.js', import.meta.url)`), or null when it
 * does not exist (running from the sources) or when `threads` <= 1: then run inline.
 */
export function builtWorkerScript(url: URL, threads: number): URL | null {
  if (!(url instanceof URL)) throw new TypeError('builtWorkerScript: url must be a URL');
  return threads > 1 && existsSync(fileURLToPath(url)) ? url : null;
}
