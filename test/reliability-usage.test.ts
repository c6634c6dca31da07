import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError, requireInt, requireNumber } from '../src/core/errors.js';

/**
 * Usage errors (issue 11): every error of the option parser is ONE line `nca: <message> (run nca
 * <command> --help)` with exit 2, in every subcommand; numbers are read in decimal notation only.
 */
const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const run = (args: string[], cwd: string) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

describe('usage errors', () => {
  it('are one line "nca: ... (run nca <command> --help)" with exit 2, for the program and every subcommand', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-usage-'));
    const cases: Array<[string[], RegExp]> = [
      [['render', '--bogus'], /^nca: unknown option '--bogus' \(run nca render --help\)\n$/],
      [['bogus'], /^nca: unknown command 'bogus' \(run nca --help\)\n$/],
      [['--bogus'], /^nca: unknown option '--bogus' \(run nca --help\)\n$/],
      [['render', '--steps'], /^nca: option '--steps <n>' argument missing \(run nca render --help\)\n$/],
      [['render', '--protocol', 'x'], /^nca: option '--protocol <name>' argument 'x' is invalid\. Allowed choices are frame, free\. \(run nca render --help\)\n$/],
      [['random', 'extra'], /^nca: too many arguments for 'random'\. Expected 0 arguments but got 1\. \(run nca random --help\)\n$/],
      [['spectrogram'], /^nca: missing required argument 'wav' \(run nca spectrogram --help\)\n$/],
      [['gallery', '--bogus'], /^nca: unknown option '--bogus' \(run nca gallery --help\)\n$/],
      // commander's suggestion joins the same line
      [['render', '--stpes', '3'], /^nca: unknown option '--stpes' \(Did you mean --steps\?\) \(run nca render --help\)\n$/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args, dir)));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect({ args, status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ args, status: 2, stderr: expect.stringMatching(message), stdout: '' });
      expect(r.stderr).not.toMatch(/error:/);
    });
  });

  it('--help and --version still exit 0; decimal notation only for numbers (--duration 0x1 is refused)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-usage-'));
    const [help, subHelp, version, hex] = await Promise.all([
      run(['--help'], dir),
      run(['render', '--help'], dir),
      run(['--version'], dir),
      run(['synth', '--duration', '0x1', '--out', join(dir, 'a.wav')], dir),
    ]);
    expect([help.status, subHelp.status, version.status]).toEqual([0, 0, 0]);
    expect(help.stdout).toMatch(/Usage: nca/);
    expect(subHelp.stdout).toMatch(/Usage: nca render/);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(hex.status).toBe(2);
    expect(hex.stderr).toBe('nca: expected a number between 0.01 and 60 for --duration but received "0x1"\n');
  });
});

describe('requireNumber and requireInt read decimal notation only', () => {
  it('refuse hex, binary, octal, separators, Infinity, NaN and blanks; keep signs, fractions and exponents', () => {
    for (const bad of ['0x1', '0X10', '0b1', '0o7', '1_000', 'Infinity', '-Infinity', 'NaN', ' ', '', '1 000', '1e', '.', '+', '--1']) {
      expect(() => requireNumber('--duration', bad, -1e9, 1e9), bad).toThrow(UserError);
      expect(() => requireNumber('--duration', bad, -1e9, 1e9), bad).toThrow(/for --duration but received/);
      expect(() => requireInt('--steps', bad, -1e9, 1e9), bad).toThrow(/for --steps but received/);
    }
    // decimal forms are kept: signs, fractions, exponents
    expect(['1e3', '-0.5', '+2', '.5', '2.', '2.5E-3', ' 7 '].map((s) => requireNumber('x', s, -1e9, 1e9))).toEqual([1000, -0.5, 2, 0.5, 2, 0.0025, 7]);
    expect(['12', '+2', '-3', '007'].map((s) => requireInt('n', s, -10, 100))).toEqual([12, 2, -3, 7]);
    expect(() => requireInt('n', '1e1', 0, 100)).toThrow(/integer/);
    expect(() => requireNumber('x', '1e999', 0, Infinity)).toThrow(/for x/);
  });
});
