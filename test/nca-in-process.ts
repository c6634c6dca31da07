/**
 * `nca <args>` run in this process through src/cli.ts main(): the same parsing, commands, error
 * mapping and exit codes as bin/nca.js, without starting a process (node, tfjs, onnxruntime, every
 * command's modules: 0.5-2 s of CPU per call). For tests of what a command computes or refuses.
 *
 * What it does not cover, and what therefore keeps real spawns of bin/nca.js in the tests: bin's own
 * handlers (Ctrl-C / SIGTERM, standard output errors such as `> /dev/full` or `| head`), worker scripts run from dist/ (here the TypeScript sources run, so
 * worker-thread code paths may run inline), and stdout/stderr as real file descriptors. Every file
 * that uses this also spawns the real bin at least once for each command it runs in process.
 *
 * Standard output and error are captured while the command runs (process.stdout/stderr.write), and
 * process.exitCode (and the working folder, for `cwd`) are restored afterwards; calls must not
 * overlap (tests in a file run one at a time).
 */
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { main } from '../src/cli.js';

export interface InProcessRun {
  status: number;
  stdout: string;
  stderr: string;
}

type Write = typeof process.stdout.write;

function sinkInto(parts: string[]): Write {
  return ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean => {
    parts.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(() => (done as (e?: Error | null) => void)(null));
    return true;
  }) as Write;
}

/** Run `nca ...args` in this process; resolves with its exit code and what it wrote. */
export async function ncaInProcess(args: string[], opts: { cwd?: string } = {}): Promise<InProcessRun> {
  const out: string[] = [], err: string[] = [];
  const cwd = process.cwd();
  const { write: stdoutWrite } = process.stdout, { write: stderrWrite } = process.stderr;
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  process.stdout.write = sinkInto(out);
  process.stderr.write = sinkInto(err);
  try {
    if (opts.cwd !== undefined) process.chdir(opts.cwd);
    const status = await main([process.execPath, 'nca', ...args]);
    return { status, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    process.exitCode = exitCode;
    process.chdir(cwd);
  }
}

/** `nca ...args` refuses as a user mistake: exit 2, one line on stderr matching `pattern`, and `out` not written. */
export async function expectRefusal(args: string[], pattern: RegExp, out: string): Promise<void> {
  const run = await ncaInProcess(args);
  expect(run.status, args.join(' ')).toBe(2);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(existsSync(out)).toBe(false);
}
