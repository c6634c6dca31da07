import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Atomic outputs: every file nca writes goes to a temporary name in the target's own folder (so the
 * final rename never crosses file systems) and is renamed onto the target only once complete. A
 * failed or interrupted write leaves the target as it was and removes the temporary file.
 *
 * Temporary names look like `.nca-tmp-<pid>-<8 hex>-<basename>`. Live ones are kept in a registry so
 * that `cleanupTempFiles()` (called by the CLI on SIGINT/SIGTERM before exiting) can remove them.
 * No fsync: this protects against interrupted processes, not against power loss.
 */

const liveTempPaths = new Set<string>();

/** Create the folder that will hold `path` (and its parents) if missing. */
export async function ensureParentDir(path: string): Promise<void> {
  const dir = dirname(resolve(path));
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw isFsError(err) && (err.code === 'EEXIST' || err.code === 'ENOTDIR')
      ? new UserError(`cannot create the folder ${dirname(path)} for ${path}: a file is in the way; choose another output path`)
      : writeError(path, err);
  }
}

/** Write `data` to `path` atomically, creating parent folders. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await withAtomicOutput(path, (tmpPath) => writeFile(tmpPath, data, { flag: 'wx' }));
}

/**
 * Run `fn(tmpPath)`, which must create the file `tmpPath`; when it resolves, rename the file onto
 * `path` and return fn's result. When fn (or the rename) fails, remove `tmpPath` and rethrow; `path`
 * is left untouched. Parent folders of `path` are created first.
 */
export async function withAtomicOutput<T>(path: string, fn: (tmpPath: string) => Promise<T>): Promise<T> {
  await ensureParentDir(path);
  const tmpPath = tempPathFor(path);
  liveTempPaths.add(tmpPath);
  try {
    const result = await fn(tmpPath).catch((err: unknown) => {
      // Only failures on the temporary file itself are about the output path.
      throw isFsError(err) && err.path === tmpPath ? writeError(path, err) : err;
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

function tempPathFor(path: string): string {
  const abs = resolve(path);
  return join(dirname(abs), `.nca-tmp-${process.pid}-${randomBytes(4).toString('hex')}-${basename(abs)}`);
}

function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a folder',
  ENOTEMPTY: 'it is a folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'the name is too long',
};

/** File-system failures while writing an output are user-fixable: say which path and why. */
function writeError(path: string, err: unknown): Error {
  if (!isFsError(err)) return err instanceof Error ? err : new Error(String(err));
  const reason = REASONS[err.code ?? ''];
  if (!reason) return err;
  return new UserError(`cannot write ${path}: ${reason}; choose another output path`);
}
