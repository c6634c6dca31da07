// The page's NCA engine (docs/play.md): onnxruntime-web (wasm with SIMD; two threads when the page
// is cross-origin isolated, as `nca play` serves it) running the very ONNX graph the Node engine runs
// (src/core/nca/graph.ts, K unrolled steps, weights fed as inputs), served as graphs/*.onnx.
// The frame protocol's hidden noise comes from the project's own Rng (dist/core/rng.js, fillNormal),
// filled step by step in the Node engine's order, so a page and `createEngine` with the same seed,
// weights and start state compute the same frames.
import { Rng } from './dist/core/rng.js';

const C = 16;

/** The graph file of a protocol, grid and unrolled step count (site.ts writes the same names). */
export const graphName = (protocol, width, height, steps) => `nca-${protocol}-${width}x${height}-k${steps}.onnx`;

/**
 * createNcaEngine({ ort, base, width, height, protocol: 'frame' | 'free', steps, noiseStd, seed })
 * -> { setParams(flat4640), setState(x [16][H][W]), run() -> K frames [3][H][W] (sigmoid RGB),
 *      state() -> the carried planes, erase(cx, cy, r), dispose() }
 */
export async function createNcaEngine({ ort, base, width: W, height: H, protocol = 'frame', steps: K = 4, noiseStd = 0.1, seed = 1 }) {
  const free = protocol === 'free';
  const carry = free ? C : 3;
  const plane = W * H;
  const url = new URL(`graphs/${graphName(protocol, W, H, K)}`, base);
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (grids of 64, 128 and 256 cells are served)`);
  const session = await ort.InferenceSession.create(new Uint8Array(await r.arrayBuffer()), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  let rng = new Rng(seed);
  // Inputs are given fresh arrays on every run: with ort.env.wasm.proxy their buffers move to the worker.
  const noiseSize = free ? 0 : (C - carry) * plane;
  let carried = new Float32Array(carry * plane);
  let weights = null;
  // erasures wait for the next run: a run in flight would otherwise overwrite them with its result
  const pendingErase = [];
  let pendingState = null;
  const applyErase = (cx, cy, radius) => {
    const r = Math.ceil(radius);
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
      if (dx * dx + dy * dy > radius * radius) continue;
      const y = (((Math.round(cy) + dy) % H) + H) % H, x = (((Math.round(cx) + dx) % W) + W) % W;
      for (let c = 0; c < carry; c++) carried[c * plane + y * W + x] = 0;
    }
  };
  return {
    width: W,
    height: H,
    steps: K,
    protocol,
    setParams(flat) {
      weights = Float32Array.from(flat);
    },
    /** The start state, Float32Array [16][H][W] (the frame protocol keeps channels 0..2), taken by the next run. */
    setState(x) {
      pendingState = x.slice(0, carry * plane);
      pendingErase.length = 0;
    },
    /** A new noise stream (the Node engine's `rng: new Rng(seed)`). */
    reseed(s) {
      rng = new Rng(s);
    },
    /** K steps: the frames after each, [3][H][W] sigmoid RGB, in order. */
    async run() {
      if (!weights) throw new Error('setParams first');
      if (pendingState) [carried, pendingState] = [pendingState, null];
      for (const e of pendingErase.splice(0)) applyErase(...e);
      const outW2 = free ? C : carry;
      const feeds = {
        w1: new ort.Tensor('float32', weights.slice(0, 2304), [C, C, 3, 3]),
        b1: new ort.Tensor('float32', weights.slice(2304, 2320), [C]),
        w2: new ort.Tensor('float32', weights.slice(2320, 2320 + outW2 * C * 9), [outW2, C, 3, 3]),
        b2: new ort.Tensor('float32', weights.slice(4624, 4624 + outW2), [outW2]),
        state: new ort.Tensor('float32', carried.slice(), [1, carry, H, W]),
      };
      for (let k = 0; k < (free ? 0 : K); k++) {
        feeds[`noise${k}`] = new ort.Tensor('float32', rng.fillNormal(new Float32Array(noiseSize), 0, noiseStd), [1, C - carry, H, W]);
      }
      const out = await session.run(feeds);
      carried = out.next.data;
      return Array.from({ length: K }, (_, k) => out[`frame${k}`].data);
    },
    state() {
      return carried;
    },
    /** Zeroes the cells within `radius` of (cx, cy) (wrapping round the torus) before the next run. */
    erase(cx, cy, radius) {
      pendingErase.push([cx, cy, radius]);
    },
    dispose() {
      return session.release();
    },
  };
}
