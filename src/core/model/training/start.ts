/**
 * Where a run starts: its checkpoint (--resume: same settings, same backend, the log cut back to the
 * checkpoint's iteration), another model's weights (initFrom: fine-tuning, Adam starts fresh) or
 * initial weights drawn from `new Rng("<seed>/init")`; with encoderFrom, the encoder's tensors come from
 * that model instead.
 */
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { Rng } from '../../rng.js';
import { encoderWeights } from '../encoder-onnx.js';
import { initialWeights } from '../networks.js';
import type { Tf } from '../tf.js';
import { loadWeights, type NamedArrays } from '../weights.js';
import { readCheckpoint, tensorsUnder, type Checkpoint } from './checkpoint.js';
import { CHECKPOINT_FILE, LOG_FILE } from './files.js';
import { readLog, type LogEntry } from './log.js';
import { buildState, type ModelState } from './model-state.js';
import { DEFAULT_SETTINGS, type TrainBackend, type TrainSettings } from './settings.js';

/** The checkpoint `<outDir>/checkpoint.bin` to resume from, and the backend it was trained on (which the run must keep). */
export async function checkpointToResume(outDir: string, askedBackend: TrainBackend | undefined): Promise<{ checkpoint: Checkpoint; backend: TrainBackend }> {
  const path = join(outDir, CHECKPOINT_FILE);
  const checkpoint = await readCheckpoint(path, `no checkpoint at ${path} to resume from; run nca train without --resume`);
  // the backend: the checkpoint's (those written before backends were recorded were trained on 'cpu')
  const trainedOn = checkpoint.header.settings.backend ?? 'cpu';
  if (askedBackend !== undefined && askedBackend !== trainedOn) {
    throw new UserError(`the checkpoint was trained on the ${trainedOn === 'onnx' ? 'onnx' : `tfjs ${trainedOn}`} backend, not ${askedBackend}: resume with --backend ${trainedOn} (backends differ by float rounding, so the resumed run would not match an uninterrupted one), or train again without --resume`);
  }
  return { checkpoint, backend: trainedOn };
}

export interface RunStart {
  /** Iterations already done. */
  iteration: number;
  state: ModelState;
  /** The log so far (a resumed run's lines up to its checkpoint). */
  log: LogEntry[];
  /** The checkpoint's state pool (`pool/` tensors without the prefix), if resumed. */
  pool: NamedArrays | null;
}

/** The run's start: from `resumed` (its settings must equal `settings` except iters, checkpointEvery and backend), initFrom or random weights. */
export async function runStart(tf: Tf, settings: TrainSettings, resumed: Checkpoint | null, outDir: string): Promise<RunStart> {
  if (resumed) {
    const { header, named } = resumed;
    // a setting the checkpoint does not record is newer than it: the run had its default (DEFAULT_SETTINGS)
    const recorded = header.settings as Partial<TrainSettings>;
    for (const k of new Set([...Object.keys(recorded), ...Object.keys(DEFAULT_SETTINGS)]) as Set<keyof TrainSettings>) {
      if (k === 'iters' || k === 'checkpointEvery' || k === 'backend') continue;
      const was = k in recorded ? recorded[k] : DEFAULT_SETTINGS[k as keyof typeof DEFAULT_SETTINGS];
      if (JSON.stringify(was) !== JSON.stringify(settings[k])) {
        throw new UserError(`the checkpoint was trained with ${k} ${JSON.stringify(was)}, not ${JSON.stringify(settings[k])}: resume with the same settings`);
      }
    }
    if (header.iteration > settings.iters) throw new UserError(`the checkpoint is at iteration ${header.iteration}, past --iters ${settings.iters}`);
    const state = buildState(tf, named, { m: tensorsUnder(named, 'adam.m/'), v: tensorsUnder(named, 'adam.v/') });
    return { iteration: header.iteration, state, pool: tensorsUnder(named, 'pool/'), log: await readLog(join(outDir, LOG_FILE), header.iteration) };
  }
  // fine-tuning: another model's weights (e.g. the next-frame model, then persistence training)
  const weights = settings.initFrom ? (await loadWeights(settings.initFrom)).tensors : initialWeights(new Rng(`${settings.seed}/init`));
  // a fixed encoder from another model: its weights and BatchNorm statistics replace the start's (a resumed run has them already)
  if (settings.encoderFrom) {
    for (const [name, a] of encoderWeights((await loadWeights(settings.encoderFrom)).tensors)) weights.set(name, a);
  }
  return { iteration: 0, state: buildState(tf, weights), pool: null, log: [] };
}
