/**
 * One error type for user mistakes: bad options, unreadable or malformed input files.
 * bin/ -> cli.ts catches it once and prints `nca: <message>` with its exit code; anything else
 * is a bug and is printed with its stack.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** The uniform message: "Expected <expected> for <name> but received <actual>". */
export function invalidParameterError(name: string, expected: string, actual: unknown): UserError {
  const shown = typeof actual === 'string' ? JSON.stringify(actual) : String(actual);
  return new UserError(`expected ${expected} for ${name} but received ${shown}`);
}

/** Integer in [min, max]; accepts numbers or decimal strings (as commander passes them). */
export function requireInt(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && /^[-+]?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidParameterError(name, `an integer between ${min} and ${max}`, value);
  }
  return n;
}

/** Finite number in [min, max]. */
export function requireNumber(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
    throw invalidParameterError(name, `a number between ${min} and ${max}`, value);
  }
  return n;
}

/** One of a fixed set of strings. */
export function requireChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw invalidParameterError(name, `one of ${choices.join(', ')}`, value);
  }
  return value as T;
}

/** A grid size: "128" (square) or "96x64" (width x height), each side in [min, max]. */
export function parseSize(name: string, value: unknown, min = 4, max = 4096): { width: number; height: number } {
  const m = typeof value === 'number' ? [String(value), String(value), undefined] : /^(\d+)(?:x(\d+))?$/i.exec(String(value).trim());
  if (!m) throw invalidParameterError(name, 'a size like 128 or 96x64', value);
  const width = Number(m[1]);
  const height = m[2] === undefined ? width : Number(m[2]);
  if (width < min || width > max || height < min || height > max) {
    throw invalidParameterError(name, `sides between ${min} and ${max}`, value);
  }
  return { width, height };
}
