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
  return new UserError(`expected ${expected} for ${name} but received ${shown(actual)}`);
}

/** Optional sign and decimal digits: "12", "-3", "+2" (no hex, octal, binary, separators or spaces inside). */
const DECIMAL_INT = /^[-+]?\d+$/;
/** A decimal number: "0.5", "-.5", "+2", "1e3", "2.5E-3" (not "0x1", "0b1", "1_000", "Infinity", "NaN"). */
const DECIMAL_NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i;

/** A number, or a string in decimal notation (as commander passes options; surrounding spaces are ignored) read as one; anything else is returned as is. */
function decimal(value: unknown, pattern: RegExp): unknown {
  if (typeof value !== 'string') return value;
  const s = value.trim();
  return pattern.test(s) ? Number(s) : value;
}

/** Integer in [min, max]; accepts numbers or decimal strings (as commander passes them). */
export function requireInt(name: string, value: unknown, min: number, max: number): number {
  const n = decimal(value, DECIMAL_INT);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidParameterError(name, `an integer between ${min} and ${max}`, value);
  }
  return n;
}

/** Finite number in [min, max]; accepts numbers or strings in decimal notation (1e3 and -0.5, not 0x1 or Infinity). */
export function requireNumber(name: string, value: unknown, min: number, max: number): number {
  const n = decimal(value, DECIMAL_NUMBER);
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
  if (!Number.isInteger(width) || !Number.isInteger(height)) throw invalidParameterError(name, 'a size like 128 or 96x64', value);
  if (width < min || width > max || height < min || height > max) {
    throw invalidParameterError(name, `sides between ${min} and ${max}`, value);
  }
  return { width, height };
}

/** The largest finite float32 (2^128 - 2^104): a number past it (after rounding) is Infinity in a Float32Array. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Whether `x` is a number that stays finite stored as a float32 (|x| <= FLOAT32_MAX after rounding to
 * float32, so the 9-digit text nca writes for FLOAT32_MAX reads back).
 */
export function isFloat32(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(Math.fround(x));
}

/** A value as an error message shows it: numbers as JavaScript prints them (NaN, Infinity, 1e+39), the rest as JSON. */
export function shown(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeof value === 'string' ? JSON.stringify(value) : value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
}

/** An optional integer option: `fallback` when undefined, else requireInt. */
export function optionalInt(name: string, value: unknown, min: number, max: number, fallback: number): number {
  return value === undefined ? fallback : requireInt(name, value, min, max);
}

/** An optional function option (onProgress...). */
export function optionalFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalidParameterError(name, 'a function', value);
  return value;
}

/** An optional AbortSignal option. */
export function optionalSignal(name: string, value: AbortSignal | undefined): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw invalidParameterError(name, 'an AbortSignal', value);
  return value;
}

/** A non-empty string (paths: '' would mean the current folder). */
export function requirePath(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw invalidParameterError(name, 'a non-empty path', value);
  return value;
}
