/**
 * `nca grow`: train a growing NCA on a target and write its folder (docs/grow.md):
 *   params.json      the parameters file (architecture, recipe, target, figures), rewritten at every checkpoint
 *   log.json         the loss curve (one entry per iteration) and loss-curve.png, rewritten at every checkpoint
 *   growth.gif, regeneration.gif, eval.json     at the end (outputs.ts)
 * Progress by callback; files written atomically.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { makeDirs } from '../io/dirs.js';
import { lossCurvePng } from '../model/loss-curve.js';
import { growParamsJson, type GrowInfo, type GrowWeights } from './params.js';
import { TUTORIAL_SETTINGS, checkSettings, trainGrow, type GrowTrainSettings, type IterationLog } from './train.js';
import { UserError } from '../errors.js';
import type { GrowTarget } from './target.js';
import type { GrowEvaluation } from './evaluate.js';

export interface GrowRunOptions {
  target: GrowTarget;
  outDir: string;
  settings: Partial<GrowTrainSettings>;
  seed: number | string;
  threads?: number;
  /** Write params.json and log.json every this many iterations (and at the end). */
  checkpointEvery: number;
  /** Skip the GIFs and the evaluation at the end. */
  skipOutputs?: boolean;
  /** Evaluation cuts (the regeneration measure); default 50. */
  cuts?: number;
  initial?: GrowWeights;
  onProgress?: (done: number, total: number, loss: number) => void;
  signal?: AbortSignal;
}

export interface GrowRunResult {
  outDir: string;
  iterations: number;
  seconds: number;
  finalLoss: number;
  evaluation?: GrowEvaluation;
  files: string[];
}

function growInfo(opts: GrowRunOptions, settings: GrowTrainSettings, log: IterationLog[], seconds: number, evaluation?: GrowEvaluation): GrowInfo {
  const last = log.slice(-20);
  return {
    kind: 'grow',
    width: opts.target.width,
    height: opts.target.height,
    fireRate: settings.fireRate,
    target: opts.target.source,
    seed: opts.seed,
    training: { ...settings, iterationsDone: log.length, seconds: Number(seconds.toFixed(1)), lossLast20: last.reduce((s, l) => s + l.loss, 0) / Math.max(1, last.length) },
    ...(evaluation ? { evaluation } : {}),
  };
}

export async function runGrow(opts: GrowRunOptions): Promise<GrowRunResult> {
  // iterations 0: no training, the initial weights are evaluated and pictured (e.g. a checkpoint)
  const evaluateOnly = opts.settings.iterations === 0;
  if (evaluateOnly && !opts.initial) throw new UserError('--iterations 0 evaluates given weights: add --init params.json');
  if (!evaluateOnly && (opts.settings.warmPool ?? 0) > 0 && !opts.initial) throw new UserError('--warm-pool grows the pool with the --init weights: add --init params.json');
  const checked = checkSettings({ ...TUTORIAL_SETTINGS, ...opts.settings, ...(evaluateOnly ? { iterations: 1 } : {}) }); // before any file is written
  await makeDirs(opts.outDir, 'the output folder');
  const paramsPath = join(opts.outDir, 'params.json');
  const logPath = join(opts.outDir, 'log.json');
  const t0 = performance.now();
  const logSoFar: IterationLog[] = [];
  const writeCheckpoint = async (weights: GrowWeights, settings: GrowTrainSettings, evaluation?: GrowEvaluation) => {
    const seconds = (performance.now() - t0) / 1000;
    await writeFileAtomic(paramsPath, growParamsJson(weights, growInfo(opts, settings, logSoFar, seconds, evaluation)));
    await writeFileAtomic(join(opts.outDir, 'loss-curve.png'), lossCurvePng(logSoFar.map((l) => ({ iteration: l.iteration, loss: l.loss, rollout: NaN, decoder: NaN }))));
    await writeFileAtomic(logPath, JSON.stringify({ target: opts.target.source, seed: opts.seed, settings, log: logSoFar.map((l) => ({ ...l, loss: Number(l.loss.toPrecision(5)), gradNorm: Number(l.gradNorm.toPrecision(4)), forward: Number(l.forward.toFixed(3)), backward: Number(l.backward.toFixed(3)), rest: Number(l.rest.toFixed(3)) })) }) + '\n');
  };
  let fullSettings: GrowTrainSettings | null = null;
  const result = evaluateOnly
    ? { weights: opts.initial!, settings: checked, log: [] as IterationLog[], seconds: 0 }
    : await trainGrow({
    target: opts.target,
    settings: opts.settings,
    seed: opts.seed,
    threads: opts.threads,
    initial: opts.initial,
    signal: opts.signal,
    onIteration: async (entry, weights) => {
      logSoFar.push(entry);
      opts.onProgress?.(entry.iteration + 1, fullSettings?.iterations ?? 0, entry.loss);
      if ((entry.iteration + 1) % opts.checkpointEvery === 0 && fullSettings) await writeCheckpoint(weights, fullSettings);
    },
    onSettings: (s) => {
      fullSettings = s;
    },
  });
  if (!evaluateOnly) await writeCheckpoint(result.weights, result.settings);
  const files = evaluateOnly ? [] : [paramsPath, logPath];
  let evaluation: GrowEvaluation | undefined;
  if (!opts.skipOutputs) {
    const { writeGrowOutputs } = await import('./outputs.js');
    const out = await writeGrowOutputs({ weights: result.weights, target: opts.target, fireRate: result.settings.fireRate, outDir: opts.outDir, seed: opts.seed, threads: opts.threads, cuts: opts.cuts ?? 50 });
    evaluation = out.evaluation;
    files.push(...out.files);
    if (!evaluateOnly) await writeCheckpoint(result.weights, result.settings, evaluation);
  }
  return { outDir: opts.outDir, iterations: result.log.length, seconds: result.seconds, finalLoss: result.log.at(-1)?.loss ?? NaN, evaluation, files };
}
