/**
 * Helpers for the reliability tests: run bin/nca.js (many cases at once, a few in parallel, each
 * with a timeout so a hang fails instead of blocking the suite) and check the one-line user error.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ncaInProcess } from './nca-in-process.js';

export const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');

export interface Run {
  args: string[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  /** milliseconds before the process is killed (a hang) */
  timeout?: number;
  /** a file descriptor for standard output (default: a pipe) */
  stdoutFd?: number;
}

/** Run nca once, synchronously. */
export function nca(args: string[], opts: RunOptions = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd,
    timeout: opts.timeout ?? 30_000,
    killSignal: 'SIGKILL',
    stdio: ['ignore', opts.stdoutFd ?? 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { args, status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT' || r.signal === 'SIGKILL' };
}

/** Run nca once, asynchronously (SIGKILL after the timeout). */
export function ncaAsync(args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, stdio: ['ignore', opts.stdoutFd ?? 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeout ?? 30_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ args, status, signal, stdout, stderr, timedOut });
    });
  });
}

/** Run many cases, `parallel` at a time, results in order. */
export async function ncaAll(cases: string[][], opts: RunOptions & { parallel?: number } = {}): Promise<Run[]> {
  const results: Run[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await ncaAsync(cases[i]!, opts);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel ?? 3, cases.length) }, worker));
  return results;
}

/**
 * Many cases run one after another in this process (src/cli.ts main, see nca-in-process.ts), with the
 * same Run results: for refusals that need no real process (no hang to time out, no signal, no
 * standard-output error). Each command they run is also spawned as the real bin in some test.
 */
export async function ncaAllInProcess(cases: string[][], opts: { cwd?: string } = {}): Promise<Run[]> {
  const runs: Run[] = [];
  for (const args of cases) runs.push({ args, signal: null, timedOut: false, ...(await ncaInProcess(args, opts)) });
  return runs;
}

/** Exit 2, one line on stderr starting with "nca: " and no stack trace, matching `pattern`. */
export function expectUserError(r: Run, pattern: RegExp): void {
  const what = `nca ${r.args.map((a) => (a === '' ? "''" : a)).join(' ')}\n${r.stderr}`;
  expect(r.timedOut, `${what}: timed out (a hang)`).toBe(false);
  expect(r.stderr, what).toMatch(/^nca: [^\n]*\n$/);
  expect(r.stderr, what).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
  expect(r.stderr, what).toMatch(pattern);
  expect(r.status, what).toBe(2);
}

/** The names in a folder, sorted. */
export function listing(dir: string): string[] {
  return readdirSync(dir).sort();
}

export function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
