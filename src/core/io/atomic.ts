import { randomBytes } from 'node:crypto';
import { rmSync, type Stats } from 'node:fs';
import { lstat, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { processAlive } from '../processes.js';
import { makeDirs } from './dirs.js';
import { fsError, fsReason, isFsError } from './fs-error.js';

/**
 * Outputs that never destroy what nca was not asked to write.
 *
 * A regular file (or a new path) is written atomically: to a temporary name in the target's own
 * folder (so the final rename never crosses file systems), renamed onto the target only once
 * complete. A failed or interrupted write leaves the target as it was and removes the temporary
 * file. No fsync: this protects against interrupted processes, not against power loss.
 *
 * An existing character device (/dev/null, a terminal) or FIFO is written into directly, never
 * renamed over: it stays what it was. A block device, a socket, or a folder where a file is
 * expected is refused. Every file-system failure is a UserError naming the path and the reason.
 *
 * Temporary names look like `.nca-tmp-<pid>-<8 hex>-<basename>`. Live ones are kept in a registry so
 * that `cleanupTempFiles()` (called by the CLI on SIGINT/SIGTERM before exiting) can remove them;
 * those left by a killed process (kill -9) are removed by the next write into the same folder.
 */

const liveTempPaths = new Set<string>();

/** How an output is written: `flag` is the open flag to use for `path` ('wx' for a temp file, 'w' for a device). */
export interface OutputFile {
  /** 'wx' (a fresh temporary file) or 'w' (an existing character device or FIFO, written in place) */
  flag: 'wx' | 'w';
  /** true when `path` is the target itself (a device or FIFO), not a temporary file */
  direct: boolean;
}

/** What an output path currently is, for writing a file there. */
export type OutputTarget = 'new' | 'file' | 'device';

/**
 * Classify an output path before writing a file to it: absent ('new'), a regular file ('file'), a
 * character device or FIFO ('device': written into, never replaced). A folder, a block device or a
 * socket is a UserError. Symbolic links are followed (a link to /dev/null writes into /dev/null).
 */
export async function outputTarget(path: string): Promise<OutputTarget> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    if (isFsError(e) && e.code === 'ENOENT') return 'new';
    if (isFsError(e) && e.code === 'ENOTDIR') throw new UserError(`cannot write ${path}: ${fsReason(e)}; choose another output path`);
    throw fsError('write', path, e, 'choose another output path');
  }
  if (st.isFile()) return 'file';
  if (st.isCharacterDevice() || st.isFIFO()) return 'device';
  if (st.isDirectory()) throw new UserError(`cannot write ${path}: it is a folder; give a file name`);
  const kind = st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'a special file';
  throw new UserError(`cannot write ${path}: it is ${kind}; nca writes only regular files, character devices (like /dev/null) and FIFOs`);
}

/** Create the folder that will hold `path` (and its parents) if missing, one level at a time. */
export async function ensureParentDir(path: string): Promise<void> {
  await makeDirs(dirname(path), 'the output folder');
}

/** Write `data` to `path` atomically (or into it, for a device or FIFO), creating parent folders. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await withAtomicOutput(path, (p, file) => writeFile(p, data, { flag: file.flag }));
}

/**
 * Run `fn(outPath, file)`, which must create and write the file `outPath`, opening it with
 * `file.flag`; then put it in place and return fn's result.
 *
 * - A new path or a regular file: outPath is a temporary file beside `path` (flag 'wx'), renamed
 *   onto `path` once fn resolves. When fn (or the rename) fails, the temporary file is removed and
 *   `path` is left untouched.
 * - An existing character device or FIFO: outPath is `path` itself (flag 'w', `file.direct`), written
 *   in place; fn must open it with `file.flag` (not 'wx', not copyFile).
 *
 * Parent folders of `path` are created first; every file-system failure on the output is a
 * UserError "cannot write <path>: <reason>".
 */
export async function withAtomicOutput<T>(path: string, fn: (outPath: string, file: OutputFile) => Promise<T>): Promise<T> {
  if (typeof path !== 'string' || path === '') throw new UserError('give an output path (it is empty)');
  const target = await outputTarget(path);
  if (target === 'device') return writeDevice(path, fn);
  await ensureParentDir(path);
  await removeStaleTempFiles(dirname(resolve(path)));
  const tmpPath = tempPathFor(path);
  liveTempPaths.add(tmpPath);
  try {
    const result = await fn(tmpPath, { flag: 'wx', direct: false }).catch((err: unknown) => {
      // Only failures on the temporary file itself are about the output path.
      throw isFsError(err) && isAbout(err, tmpPath) ? writeError(path, err) : err;
    });
    try {
      await rename(tmpPath, path);
    } catch (err) {
      throw writeError(path, err);
    }
    return result;
  } catch (err) {
    await rm(tmpPath, { force: true, recursive: true }).catch(() => undefined);
    throw err;
  } finally {
    liveTempPaths.delete(tmpPath);
  }
}

/** Write into an existing character device or FIFO, never replacing it. */
async function writeDevice<T>(path: string, fn: (outPath: string, file: OutputFile) => Promise<T>): Promise<T> {
  try {
    return await fn(path, { flag: 'w', direct: true });
  } catch (err) {
    throw isFsError(err) && isAbout(err, path) ? writeError(path, err) : err;
  }
}

/** Remove every temporary file still being written (synchronous: safe in a signal handler). */
export function cleanupTempFiles(): void {
  for (const tmpPath of liveTempPaths) {
    try {
      rmSync(tmpPath, { force: true, recursive: true });
    } catch {
      // best effort: the process is exiting
    }
  }
  liveTempPaths.clear();
}

/** The temporary files currently being written (for tests and diagnostics). */
export function liveTempFiles(): string[] {
  return [...liveTempPaths];
}

/** The exact shape of nca's temporary names; group 1 is the writing process's id. */
export const TEMP_FILE_PATTERN = /^\.nca-tmp-(\d+)-[0-9a-f]{8}-.+$/;

/** Whether `name` is a temporary file of nca's whose writing process no longer exists (kill -9). */
export function isStaleTempName(name: string): boolean {
  const m = TEMP_FILE_PATTERN.exec(name);
  return m !== null && Number(m[1]) !== process.pid && !processAlive(Number(m[1]));
}

const cleanedFolders = new Set<string>();

/**
 * Remove the temporary files that processes no longer alive left in `dir` (a `kill -9` during a
 * final write): only regular files named exactly like nca's temporary files, whose process id
 * does not exist (ESRCH). Done once per folder per process; failures are ignored (best effort).
 * @returns how many files were removed
 */
export async function removeStaleTempFiles(dir: string): Promise<number> {
  const abs = resolve(dir);
  if (cleanedFolders.has(abs)) return 0;
  cleanedFolders.add(abs);
  let names: string[];
  try {
    names = await readdir(abs);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!isStaleTempName(name)) continue;
    const file = join(abs, name);
    try {
      if (!(await lstat(file)).isFile()) continue;
      await rm(file);
      removed++;
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}


/**
 * Whether a file-system error is about the output `path`: its path or the destination of a copy
 * or rename, or no path at all (a write or close on the open output: ENOSPC, EIO, EDQUOT, EFBIG).
 */
function isAbout(err: NodeJS.ErrnoException, path: string): boolean {
  return err.path === path || (err as { dest?: string }).dest === path || (err.path === undefined && (err as { dest?: string }).dest === undefined);
}

function tempPathFor(path: string): string {
  const abs = resolve(path);
  return join(dirname(abs), `.nca-tmp-${process.pid}-${randomBytes(4).toString('hex')}-${basename(abs)}`);
}

/** File-system failures while writing an output are user-fixable: say which path and why. */
function writeError(path: string, err: unknown): Error {
  if (!isFsError(err)) return err instanceof Error ? err : new Error(String(err));
  // A temporary file that cannot be created in an existing folder (e.g. under /proc).
  if (err.code === 'ENOENT') return new UserError(`cannot write ${path}: files cannot be created in ${dirname(path)}; choose another output path`);
  return fsError('write', path, err, 'choose another output path');
}
