/**
 * Running Life boards through the real NCA engine (onnxruntime) and comparing them, generation by
 * generation and cell by cell, with the exact rule (life.ts).
 *
 * The GoL protocol (docs/gol.md): the board is channel 0 of the state, hidden channels are zero at
 * the start of every step, the next board is channel 0 of the step's output. Free running feeds
 * that output back as it is; the rounded protocol thresholds it at 0.5 first.
 */
import { createEngine, type NcaEngine, type StepProtocol } from '../nca/engine.js';
import { CHANNELS, type NcaParams } from '../nca/params.js';
import { Rng } from '../rng.js';
import { cloneBoard, emptyBoard, lifeStep, type LifeBoard } from './life.js';

/** The engine protocol of the GoL NCA: channel 0 carried as is, hidden channels zero each step. */
export const GOL_STEP_PROTOCOL: StepProtocol = { kind: 'carry', carry: 1, squash: 'none', hidden: 'zero' };

/** Between steps: 'free' feeds the raw output back, 'rounded' thresholds it at 0.5. */
export type GolRounding = 'free' | 'rounded';

export interface GolRunOptions {
  generations: number;
  rounding: GolRounding;
  /** onnxruntime threads (default: engine default). */
  threads?: number;
  /** Called after every generation with the NCA boards (thresholded) and raw values [N][H][W]. */
  onGeneration?: (generation: number, boards: LifeBoard[], raw: Float32Array) => void | Promise<void>;
  signal?: AbortSignal;
}

/** How one NCA run compared with the exact rule. */
export interface GolComparison {
  width: number;
  height: number;
  generations: number;
  /** Cells that differed from the exact rule, summed over generations. */
  mismatchedCells: number;
  /** First generation with a differing cell, or null. */
  firstMismatch: { generation: number; x: number; y: number } | null;
  /** Largest |value - nearest of 0/1| of any cell in any generation (free running: how close to binary the state stayed). */
  maxDeviation: number;
  finalPopulation: number;
}

/** Thresholds raw channel-0 values at 0.5 into a board. */
function threshold(raw: Float32Array, offset: number, board: LifeBoard): void {
  const n = board.cells.length;
  for (let i = 0; i < n; i++) board.cells[i] = raw[offset + i]! >= 0.5 ? 1 : 0;
}

/**
 * Runs boards (all the same size) through the NCA for `generations` steps, in one batch, and
 * compares every generation with the exact rule. Returns one comparison per board and the final
 * NCA boards.
 */
export async function compareWithLife(params: NcaParams, boards: LifeBoard[], opts: GolRunOptions): Promise<{ comparisons: GolComparison[]; finals: LifeBoard[] }> {
  if (boards.length === 0) return { comparisons: [], finals: [] };
  const { width: W, height: H } = boards[0]!;
  for (const b of boards) if (b.width !== W || b.height !== H) throw new Error('compareWithLife: boards must share one size');
  const N = boards.length;
  const plane = W * H;
  const engine = await createEngine(params, { width: W, height: H, batch: N, protocol: GOL_STEP_PROTOCOL, threads: opts.threads, stepsPerRun: opts.rounding === 'free' ? 16 : 1 });
  try {
    let exact: LifeBoard[] = boards.map((b) => ({ width: W, height: H, cells: b.cells.slice() }));
    let spare: LifeBoard[] = boards.map(() => emptyBoard(W, H));
    const nca = boards.map((b) => cloneBoard(b)); // generation 0 until the first step
    const comparisons: GolComparison[] = boards.map(() => ({ width: W, height: H, generations: opts.generations, mismatchedCells: 0, firstMismatch: null, maxDeviation: 0, finalPopulation: 0 }));
    let gen = 0;
    const compare = async (raw: Float32Array) => {
      gen++;
      for (let n = 0; n < N; n++) {
        lifeStep(exact[n]!, spare[n]!);
        threshold(raw, n * plane, nca[n]!);
        const c = comparisons[n]!;
        const e = spare[n]!.cells;
        const got = nca[n]!.cells;
        for (let i = 0; i < plane; i++) {
          const v = raw[n * plane + i]!;
          const dev = v >= 0.5 ? Math.abs(1 - v) : Math.abs(v);
          if (dev > c.maxDeviation || Number.isNaN(v)) c.maxDeviation = Number.isNaN(v) ? Infinity : dev;
          if (got[i] !== e[i]) {
            c.mismatchedCells++;
            if (!c.firstMismatch) c.firstMismatch = { generation: gen, x: i % W, y: Math.floor(i / W) };
          }
        }
      }
      [exact, spare] = [spare, exact];
      await opts.onGeneration?.(gen, nca, raw);
    };

    const state = new Float32Array(N * CHANNELS * plane);
    for (let n = 0; n < N; n++) for (let i = 0; i < plane; i++) state[n * CHANNELS * plane + i] = boards[n]!.cells[i]!;
    if (opts.rounding === 'free') {
      // onStep hands over [N][1][H][W]; comparisons are synchronous, the GIF callback is awaited after.
      const pending: Array<Promise<void>> = [];
      await engine.run(state, opts.generations, (_k, visible) => {
        pending.push(compare(visible.slice()));
      }, opts.signal);
      await Promise.all(pending);
    } else {
      let s = state;
      for (let g = 0; g < opts.generations; g++) {
        opts.signal?.throwIfAborted();
        const next = await engine.run(s, 1);
        const raw = new Float32Array(N * plane);
        for (let n = 0; n < N; n++) raw.set(next.subarray(n * CHANNELS * plane, n * CHANNELS * plane + plane), n * plane);
        await compare(raw);
        // round between steps
        s = new Float32Array(N * CHANNELS * plane);
        for (let n = 0; n < N; n++) for (let i = 0; i < plane; i++) s[n * CHANNELS * plane + i] = raw[n * plane + i]! >= 0.5 ? 1 : 0;
      }
    }
    for (let n = 0; n < N; n++) {
      let pop = 0;
      for (let i = 0; i < plane; i++) pop += nca[n]!.cells[i]!;
      comparisons[n]!.finalPopulation = pop;
    }
    return { comparisons, finals: nca.map((b) => ({ width: W, height: H, cells: b.cells.slice() })) };
  } finally {
    await engine.dispose();
  }
}

/** A random soup: each cell alive with probability `density`. */
export function randomSoup(width: number, height: number, density: number, rng: Rng): LifeBoard {
  const board = emptyBoard(width, height);
  for (let i = 0; i < board.cells.length; i++) board.cells[i] = rng.uniform() < density ? 1 : 0;
  return board;
}

export interface SoupResult extends GolComparison {
  density: number;
  initialPopulation: number;
}

/**
 * Random soups on tori of each size, one per density (batched per size), run for `generations`
 * and compared with the exact rule.
 */
export async function runSoups(params: NcaParams, opts: { sizes: Array<{ width: number; height: number }>; densities: number[]; generations: number; seed: number | string; rounding: GolRounding; threads?: number; signal?: AbortSignal }): Promise<SoupResult[]> {
  const rng = new Rng(opts.seed);
  const results: SoupResult[] = [];
  for (const size of opts.sizes) {
    const boards = opts.densities.map((d) => randomSoup(size.width, size.height, d, rng));
    const { comparisons } = await compareWithLife(params, boards, { generations: opts.generations, rounding: opts.rounding, threads: opts.threads, signal: opts.signal });
    comparisons.forEach((c, i) => {
      let pop = 0;
      for (const v of boards[i]!.cells) pop += v;
      results.push({ ...c, density: opts.densities[i]!, initialPopulation: pop });
    });
  }
  return results;
}

export type { NcaEngine };
