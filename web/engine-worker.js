// The page's NCA engine in a worker (docs/play.md): the main thread stays free to draw one frame per
// display frame while the next steps are computed here. Messages: init, params, state, erase, run.
import { createNcaEngine } from './nca-engine.js';

let engine = null;
const base = new URL('./', import.meta.url);

onmessage = async ({ data: m }) => {
  try {
    if (m.type === 'init') {
      const ort = await import('./vendor/ort/ort.wasm.min.mjs');
      ort.env.wasm.wasmPaths = new URL('vendor/ort/', base).href;
      ort.env.wasm.numThreads = m.threads;
      engine = await createNcaEngine({ ...m.options, ort, base });
      postMessage({ type: 'ready' });
    } else if (m.type === 'params') engine.setParams(m.flat);
    else if (m.type === 'state') engine.setState(m.state);
    else if (m.type === 'erase') engine.erase(m.x, m.y, m.radius);
    else if (m.type === 'run') {
      const frames = (await engine.run()).map((f) => f.slice());
      postMessage({ type: 'frames', frames }, frames.map((f) => f.buffer));
    }
  } catch (e) {
    postMessage({ type: 'error', message: e && e.message ? e.message : String(e) });
  }
};
