/**
 * The one place that imports TensorFlow.js, lazily and once.
 *
 * Backend choice: if `@tensorflow/tfjs-node` is installed and loads (it is not a dependency of nca;
 * users may add it for native speed), its 'tensorflow' backend is used; otherwise the pure-JS
 * `@tensorflow/tfjs` on the 'cpu' backend. Set NCA_TFJS=cpu to skip tfjs-node (bit-identical
 * results across machines need the same backend).
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

let loading: Promise<Tf> | null = null;

/** Import tfjs on first call (about 0.5-1 s), then return the same namespace. */
export function loadTf(): Promise<Tf> {
  loading ??= initTf().catch((e: unknown) => {
    loading = null; // let a later call retry
    throw e;
  });
  return loading;
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
