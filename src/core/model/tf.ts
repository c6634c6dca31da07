/**
 * The one place that imports TensorFlow.js, lazily and once.
 *
 * Backend choice: if `@tensorflow/tfjs-node` is installed and loads (it is not a dependency of nca;
 * users may add it for native speed), its 'tensorflow' backend is used; otherwise the pure-JS
 * `@tensorflow/tfjs` on the 'cpu' backend. Set NCA_TFJS=cpu to skip tfjs-node (bit-identical
 * results across machines need the same backend).
 *
 * The trainers ask for a backend: `loadTf({ backend: 'wasm' })` switches to `@tensorflow/tfjs-backend-wasm`
 * (XNNPACK, SIMD; its .wasm binaries are read from the installed package, nothing is downloaded),
 * `loadTf({ backend: 'cpu' })` to the pure-JS 'cpu' backend. tfjs keeps ONE backend per process
 * (a global), so a backend asked for stays in force for every later tfjs call of the process until
 * another is asked for; `loadTf()` without a backend leaves the current one as it is. The wasm
 * backend has MatMul and friends but not every gradient (no Conv2DBackpropFilter): the model's
 * training graph uses the im2col convolutions of fast-convs.ts, which need only MatMul.
 *
 * nca prints nothing unasked, so tfjs runs in production mode: that silences the "Hi, looks like
 * you are running TensorFlow.js in Node.js" banner the cpu backend prints on first use, and every
 * other tfjs console warning. TensorFlow's C++ logging (tfjs-node) is kept to errors.
 */
import type * as TfModule from '@tensorflow/tfjs';

/** The tfjs namespace (from tfjs-node when it is used; it re-exports all of tfjs). */
export type Tf = typeof TfModule;

/** Not a dependency: kept in a variable so neither TypeScript nor bundlers try to resolve it. */
const TFJS_NODE = '@tensorflow/tfjs-node';

/** The tfjs backends training can ask for (the same seed on the same backend gives the same weights). */
export type TfBackend = 'wasm' | 'cpu';
export const TF_BACKENDS: readonly TfBackend[] = ['wasm', 'cpu'];

let loading: Promise<Tf> | null = null;
let wasmRegistered: Promise<void> | null = null;

/**
 * Import tfjs on first call (about 0.5-1 s), then return the same namespace. With `backend`, switch
 * the process's tfjs backend to it first (see the module comment).
 */
export async function loadTf(opts: { backend?: TfBackend } = {}): Promise<Tf> {
  loading ??= initTf().catch((e: unknown) => {
    loading = null; // let a later call retry
    throw e;
  });
  const tf = await loading;
  if (opts.backend !== undefined) await useBackend(tf, opts.backend);
  return tf;
}

/** Make `backend` the process's tfjs backend (registering wasm on first use); throws when it cannot start. */
async function useBackend(tf: Tf, backend: TfBackend): Promise<void> {
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`unknown tfjs backend ${String(backend)} (wasm or cpu)`);
  if (tf.getBackend() === backend) return;
  if (backend === 'wasm') {
    wasmRegistered ??= registerWasm().catch((e: unknown) => {
      wasmRegistered = null;
      throw e;
    });
    await wasmRegistered;
  }
  let ok = false;
  try {
    ok = await tf.setBackend(backend);
  } catch {
    ok = false;
  }
  if (!ok || tf.getBackend() !== backend) throw new Error(`the tfjs ${backend} backend failed to initialise${backend === 'wasm' ? ' (try --backend cpu)' : ''}`);
  await tf.ready();
}

/** Import @tensorflow/tfjs-backend-wasm (it registers itself) and point it at its installed .wasm files. */
async function registerWasm(): Promise<void> {
  const { createRequire } = await import('node:module');
  const { dirname } = await import('node:path');
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as typeof import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + '/');
}

async function initTf(): Promise<Tf> {
  if (process.env.NCA_TFJS !== 'cpu') {
    const native = await tryTfjsNode();
    if (native) return native;
  }
  const tf = namespaceOf(await import('@tensorflow/tfjs'));
  if (!tf) throw new Error('@tensorflow/tfjs did not load: reinstall nca (npm install)');
  // Before the first tensor exists: the banner is printed on the cpu backend's first write.
  tf.enableProdMode();
  if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs cpu backend failed to initialise');
  await tf.ready();
  return tf;
}

/** tfjs-node when it is installed and its native library loads; null otherwise (silently). */
async function tryTfjsNode(): Promise<Tf | null> {
  // TensorFlow's C++ log lines ("This TensorFlow binary is optimized...") go to stderr: errors only.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  try {
    const tf = namespaceOf((await import(TFJS_NODE)) as unknown);
    if (!tf) return null;
    tf.enableProdMode();
    if (!(await tf.setBackend('tensorflow'))) return null;
    await tf.ready();
    return tf;
  } catch {
    return null; // not installed, or its native binary does not load on this machine
  }
}

/** The namespace of an imported tfjs module: ESM namespace or CommonJS `default`. */
function namespaceOf(mod: unknown): Tf | null {
  const isTf = (m: unknown): m is Tf =>
    typeof m === 'object' && m !== null && typeof (m as { tensor?: unknown }).tensor === 'function' && typeof (m as { setBackend?: unknown }).setBackend === 'function';
  if (isTf(mod)) return mod;
  const fallback = typeof mod === 'object' && mod !== null ? (mod as { default?: unknown }).default : undefined;
  return isTf(fallback) ? fallback : null;
}
