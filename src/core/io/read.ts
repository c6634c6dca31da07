import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { fsReason } from './fs-error.js';

/**
 * Reading input files safely: every file nca reads must be a regular file no larger than the
 * limit for its kind. Devices (/dev/zero, /dev/urandom), FIFOs, sockets and folders are refused
 * before a byte is read, so no input can hang nca or grow its memory without bound.
 *
 * The file is opened with O_NONBLOCK (opening a FIFO for reading would otherwise wait for a
 * writer), checked with fstat on the open descriptor (no race between check and read), then read
 * whole.
 */

const MiB = 1024 * 1024;

/** The largest input nca reads, per kind (bytes). Documented in the README's reliability section. */
export const INPUT_LIMITS = {
  /** a latent, a track of latents, a parameters file, a jobs file, a manifest, a config */
  json: 256 * MiB,
  /** a WAV file (about 25 minutes of 44.1 kHz stereo float32, 100 minutes of 16-bit) */
  wav: 1024 * MiB,
  /** a Standard MIDI File (a long piece is well under 1 MB) */
  midi: 64 * MiB,
  /** a PNG image (its declared width x height is limited separately: see io/png.ts) */
  png: 256 * MiB,
  /** model weights, checkpoints, dataset arrays */
  binary: 2047 * MiB,
  /** an RLE pattern or other small text */
  text: 16 * MiB,
} as const;

export type InputKind = keyof typeof INPUT_LIMITS;

/**
 * The bytes of the regular file `path`, or a UserError:
 * "cannot read <what> <path>: <reason>" (no such file, a folder, a device, larger than the limit, ...).
 * @param what how the error names the file, e.g. "latent file"
 * @param kind the size limit that applies (INPUT_LIMITS)
 */
export async function readInput(path: string, what: string, kind: InputKind): Promise<Buffer> {
  const limit = INPUT_LIMITS[kind];
  if (typeof path !== 'string' || path === '') throw new UserError(`give the path of the ${what} (it is empty)`);
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new UserError(`cannot read ${what} ${path}: ${fsReason(e)}`);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new UserError(`cannot read ${what} ${path}: it is a folder, not a file`);
    if (!st.isFile()) throw new UserError(`cannot read ${what} ${path}: it is ${specialKind(st)}, not a regular file; save the data to a file first`);
    if (st.size > limit) throw new UserError(`cannot read ${what} ${path}: it is ${formatBytes(st.size)}, more than the ${formatBytes(limit)} nca reads for a ${kind} input`);
    const bytes = Buffer.allocUnsafe(st.size);
    let filled = 0;
    while (filled < st.size) {
      const { bytesRead } = await handle.read(bytes, filled, st.size - filled, filled);
      if (bytesRead === 0) break; // the file shrank while being read
      filled += bytesRead;
    }
    return filled === st.size ? bytes : bytes.subarray(0, filled);
  } catch (e) {
    throw e instanceof UserError ? e : new UserError(`cannot read ${what} ${path}: ${fsReason(e)}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** A file's text (UTF-8), with the checks of readInput. */
export async function readTextFile(path: string, what: string, kind: InputKind = 'json'): Promise<string> {
  return (await readInput(path, what, kind)).toString('utf8');
}

function specialKind(st: { isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

/** "1.5 GB", "256 MB", "12 kB". */
export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${(n / (1024 * MiB)).toFixed(1)} GB`;
  if (n >= MiB) return `${Math.round(n / MiB)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} kB`;
  return `${n} bytes`;
}
