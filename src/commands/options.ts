import { Option, type Command } from 'commander';
import { UserError, parseSize, requireInt } from '../core/errors.js';
import { writeStdout } from '../core/io/stdout.js';

/**
 * Options shared by many commands, defined once with their help text and default, and the
 * parsers that turn their strings into checked values.
 */
export const sharedOptions = {
  seed: () => new Option('--seed <n>', 'seed for every random draw (same seed -> same output)').default('0'),
  size: (def = '128') => new Option('--size <n|WxH>', 'grid size in cells, square or WxH').default(def),
  steps: (def = '500') => new Option('--steps <n>', 'number of NCA steps (frames)').default(def),
  out: (def?: string) => (def ? new Option('-o, --out <path>', 'output path').default(def) : new Option('-o, --out <path>', 'output path')),
  json: () => new Option('--json', 'print a machine-readable JSON summary on stdout'),
  quiet: () => new Option('-q, --quiet', 'no progress bar or messages on stderr'),
  threads: () => new Option('--threads <n>', 'onnxruntime intra-op threads (default: number of cores)'),
};

/** Parse --seed: an integer, or any word (hashed). */
export function parseSeed(value: unknown): number | string {
  const s = String(value ?? '0');
  return /^\d+$/.test(s) ? requireInt('--seed', s, 0, 2 ** 32 - 1) : s;
}

export function parseThreads(value: unknown): number | undefined {
  return value === undefined ? undefined : requireInt('--threads', value, 1, 64);
}

export { parseSize };

/**
 * Write a command's result: JSON on stdout with --json, else the human lines (unless --quiet).
 * Await it: a standard output that cannot be written is a UserError (a closed pipe is not).
 */
export async function report(opts: { json?: boolean; quiet?: boolean }, result: unknown, human: string | string[]): Promise<void> {
  if (opts.json) {
    await writeStdout(JSON.stringify(result, null, 2) + '\n');
  } else if (!opts.quiet) {
    const lines = Array.isArray(human) ? human : [human];
    if (lines.length) await writeStdout(lines.join('\n') + '\n');
  }
}

/** Require an option that commander cannot express as mandatory (one of several sources). */
export function requireOne(names: string[], values: unknown[], hint: string): number {
  const given = values.map((v, i) => (v !== undefined && v !== false ? i : -1)).filter((i) => i >= 0);
  if (given.length === 0) throw new UserError(`give one of ${names.join(', ')} (${hint})`);
  if (given.length > 1) throw new UserError(`give only one of ${given.map((i) => names[i]).join(', ')}`);
  return given[0]!;
}

/** Add examples to a command's --help. */
export function withExamples(cmd: Command, examples: string[]): Command {
  return cmd.addHelpText('after', '\nExamples:\n' + examples.map((e) => `  $ ${e}`).join('\n') + '\n');
}
