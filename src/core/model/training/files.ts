/** The files a training run keeps in its output folder (besides the model's model.json + weights.bin). */
import { stat } from 'node:fs/promises';

/** Weights + Adam state + state pool + iteration (checkpoint.ts), rewritten atomically every checkpointEvery iterations. */
export const CHECKPOINT_FILE = 'checkpoint.bin';
/** One JSON line per iteration (log.ts), rewritten atomically with each checkpoint and at the end. */
export const LOG_FILE = 'train-log.jsonl';
/** The loss curve (loss-curve.ts), written at the end of each process's run. */
export const CURVE_FILE = 'loss-curve.png';

/** Whether something exists at `path` (any stat error counts as no). */
export async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}
