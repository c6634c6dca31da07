// runBench({ engine: 'webgl' | 'ort' | 'js', size, seconds, threads, steps }): steps (frames) per
// second of one engine at size x size under the frame protocol, drawing every frame and waiting for
// it (WebGL: a 1-pixel readback) as a frame of the page does. Random weights U(-1/12, 1/12), a
// random state: the arithmetic does not depend on them.
import { createWebglNca } from './nca-webgl.js';
import { createNcaEngine } from '../nca-engine.js';
import { createJsNca } from './nca-js.js';

function randomArray(n, bound, seed) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296 * 2 - 1) * bound;
  return a;
}

/** The page's engine (nca-engine.js) behind the bench's interface, drawing with putImageData as the page does. */
async function ortNca(canvas, { width, height, threads, steps }) {
  const ort = await import('../vendor/ort/ort.wasm.min.mjs');
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = new URL('../vendor/ort/', import.meta.url).href;
  const e = await createNcaEngine({ ort, base: new URL('../', import.meta.url), width, height, protocol: 'frame', steps });
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  let frames = [];
  return {
    renderer: `onnxruntime-web ${ort.env.versions?.common ?? ''} wasm SIMD, ${threads} thread(s), ${steps} step(s) per call`,
    setParams: (flat) => e.setParams(flat),
    setState: (x) => e.setState(x),
    async step() {
      frames = await e.run();
    },
    draw() {
      // every frame of the call is drawn (one per displayed frame in the page)
      const d = image.data, plane = width * height;
      for (const rgb of frames) {
        for (let i = 0; i < plane; i++) {
          d[4 * i] = rgb[i] * 255; d[4 * i + 1] = rgb[plane + i] * 255; d[4 * i + 2] = rgb[2 * plane + i] * 255; d[4 * i + 3] = 255;
        }
        ctx.putImageData(image, 0, 0);
      }
    },
    finish() {},
    dispose: () => e.dispose(),
  };
}

window.runBench = async ({ engine, size = 128, seconds = 2, threads = 1, steps = 1 }) => {
  const old = document.getElementById('c');
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  old.replaceWith(canvas);
  canvas.id = 'c';
  const opts = { width: size, height: size, protocol: 'frame', threads, steps };
  const nca = engine === 'webgl' ? createWebglNca(canvas, opts) : engine === 'ort' ? await ortNca(canvas, opts) : createJsNca(canvas, opts);
  nca.setParams(randomArray(4640, 1 / 12, 7));
  nca.setState(randomArray(16 * size * size, 1, 3).map(Math.abs));
  const per = engine === 'ort' ? steps : 1;
  const frame = async () => {
    await nca.step(per);
    nca.draw();
    nca.finish();
  };
  for (let i = 0; i < 3; i++) await frame(); // warm-up (shader compilation, session first run)
  const t0 = performance.now();
  let frames = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await frame();
    frames += per;
  }
  const elapsed = (performance.now() - t0) / 1000;
  await nca.dispose();
  return { engine, renderer: nca.renderer, size, threads, steps: per, frames, seconds: elapsed, stepsPerSecond: frames / elapsed, crossOriginIsolated: self.crossOriginIsolated };
};
window.benchReady = true;
