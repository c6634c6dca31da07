/**
 * Everything `nca gol-check` verifies, as one report:
 * 1. the rounded-protocol proof over all 2^25 binary 5x5 neighbourhoods (proof-pool.ts);
 * 2. the free-running proof: the largest eps for which every input within eps of a binary board
 *    gives outputs within eps of the next board (skipped when 1 fails: it would fail too);
 * 3. random soups on tori of several sizes and densities, run through the onnxruntime engine and
 *    compared cell by cell with the exact rule every generation;
 * 4. the classic patterns of fixtures/gol/, same comparison plus their known behaviour.
 * The simulations run under the protocol being checked: free running (default) or rounded.
 */
import type { NcaParams } from '../nca/params.js';
import { ProofPool, float32OutputError, proveRounded, searchEps, type EpsSearch, type RoundedProof } from './proof-pool.js';
import { cloneBoard, type LifeBoard } from './life.js';
import { centreOutput, drawNeighbourhood, golNet, lifeTarget, neighbourhoodCells } from './net.js';
import { PATTERNS, checkExpectation, loadPatternBoard } from './patterns.js';
import { compareWithLife, runSoups, type GolComparison, type GolRounding, type SoupResult } from './simulate.js';

export interface GolCheckOptions {
  /** Protocol whose exactness is required for `holds`: 'free' (default) or 'rounded'. */
  rounding?: GolRounding;
  /** Where the eps search starts (e.g. the eps the network was trained for). */
  epsHint?: number;
  /** Threads for the proof workers and onnxruntime (default: cores). */
  threads?: number;
  /** Skip the engine simulations (proofs only). */
  skipSimulation?: boolean;
  /** Soup generations (default 300). */
  generations?: number;
  seed?: number | string;
  onStage?: (stage: string) => void;
  signal?: AbortSignal;
}

export interface MismatchReport {
  /** The neighbourhood number (bit 5*row+col) and its picture. */
  neighbourhood: number;
  picture: string[];
  expected: 0 | 1;
  output: number;
}

export interface PatternResult extends GolComparison {
  name: string;
  file: string;
  /** Null when the pattern behaved as it must (on the NCA's boards), else what went wrong. */
  behaviour: string | null;
}

export interface GolCheckReport {
  rounding: GolRounding;
  rounded: RoundedProof & { firstMismatchReport: MismatchReport | null; tightest: MismatchReport };
  free: (EpsSearch & { float32Error: number }) | null;
  soups: SoupResult[];
  patterns: PatternResult[];
  seconds: { proofs: number; simulations: number; total: number };
  /** Everything required for the protocol holds. */
  holds: boolean;
  /** One line per failed requirement. */
  failures: string[];
}

/** Soup sizes and densities (densities span (0, 1); 0.375 is near-critical). */
export const SOUP_SIZES = [
  { width: 32, height: 32 },
  { width: 48, height: 40 },
  { width: 64, height: 64 },
];
export const SOUP_DENSITIES = [0.1, 0.25, 0.375, 0.5, 0.75];

function mismatchReport(net: ReturnType<typeof golNet>, n: number): MismatchReport {
  return { neighbourhood: n, picture: drawNeighbourhood(n), expected: lifeTarget(n), output: centreOutput(net, neighbourhoodCells(n)) };
}

export async function runGolCheck(params: NcaParams, opts: GolCheckOptions = {}): Promise<GolCheckReport> {
  const rounding = opts.rounding ?? 'free';
  const t0 = performance.now();
  const net = golNet(params);
  const failures: string[] = [];
  const pool = new ProofPool(opts.threads);
  let roundedProof: RoundedProof;
  let free: GolCheckReport['free'] = null;
  try {
    opts.onStage?.('rounded proof (2^25 neighbourhoods)');
    roundedProof = await proveRounded(net, pool);
    if (roundedProof.mismatches > 0) failures.push(`rounded protocol: ${roundedProof.mismatches} of ${roundedProof.checked} neighbourhoods give the wrong next state`);
    else if (!roundedProof.holds) failures.push(`rounded protocol: smallest margin ${roundedProof.minMargin} is not above the float32 error bound ${roundedProof.float32Error}`);
    if (roundedProof.holds) {
      opts.onStage?.('free-running proof (eps search)');
      const search = await searchEps(net, pool, opts.epsHint ?? 0.01);
      free = { ...search, float32Error: float32OutputError(net, search.proof.eps) };
    }
    if (rounding === 'free' && !(free && free.eps > 0)) failures.push('free running: no eps could be proven (the network is not contracting around binary boards)');
  } finally {
    await pool.close();
  }
  const tProofs = performance.now();

  const soups: SoupResult[] = [];
  const patterns: PatternResult[] = [];
  if (!opts.skipSimulation) {
    opts.onStage?.(`soups (${rounding})`);
    soups.push(...(await runSoups(params, { sizes: SOUP_SIZES, densities: SOUP_DENSITIES, generations: opts.generations ?? 300, seed: opts.seed ?? 1, rounding, threads: opts.threads, signal: opts.signal })));
    for (const s of soups) {
      if (s.mismatchedCells > 0) failures.push(`soup ${s.width}x${s.height} density ${s.density}: ${s.mismatchedCells} cells differ, first at generation ${s.firstMismatch!.generation} (${s.firstMismatch!.x}, ${s.firstMismatch!.y})`);
    }
    opts.onStage?.(`patterns (${rounding})`);
    // Patterns grouped by torus size: one engine batch per size.
    const bySize = new Map<string, typeof PATTERNS>();
    for (const p of PATTERNS) {
      const key = `${p.width}x${p.height}`;
      bySize.set(key, [...(bySize.get(key) ?? []), p]);
    }
    for (const specs of bySize.values()) {
      const boards = await Promise.all(specs.map(loadPatternBoard));
      const generations = Math.max(...specs.map((s) => s.generations));
      const histories: LifeBoard[][] = boards.map((b) => [cloneBoard(b)]);
      const { comparisons } = await compareWithLife(params, boards, {
        generations,
        rounding,
        threads: opts.threads,
        signal: opts.signal,
        onGeneration: (g, ncaBoards) => {
          ncaBoards.forEach((b, i) => {
            if (g <= specs[i]!.generations) histories[i]!.push(cloneBoard(b));
          });
        },
      });
      specs.forEach((spec, i) => {
        const behaviour = checkExpectation(spec, histories[i]!);
        const c = comparisons[i]!;
        patterns.push({ ...c, name: spec.name, file: spec.file, behaviour });
        if (c.mismatchedCells > 0) failures.push(`pattern ${spec.name}: ${c.mismatchedCells} cells differ, first at generation ${c.firstMismatch!.generation}`);
        else if (behaviour) failures.push(`pattern ${spec.name}: ${behaviour}`);
      });
    }
  }
  const tEnd = performance.now();
  const rounded = {
    ...roundedProof,
    firstMismatchReport: roundedProof.firstMismatch !== null ? mismatchReport(net, roundedProof.firstMismatch) : null,
    tightest: mismatchReport(net, roundedProof.minMarginAt),
  };
  return {
    rounding,
    rounded,
    free,
    soups,
    patterns,
    seconds: { proofs: (tProofs - t0) / 1000, simulations: (tEnd - tProofs) / 1000, total: (tEnd - t0) / 1000 },
    holds: failures.length === 0,
    failures,
  };
}
