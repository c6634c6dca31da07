import { UserError } from '../errors.js';

/**
 * File-system failures are user-fixable: this module turns Node's errno errors into one readable
 * reason, and into a UserError naming the path, what nca was doing and what to do about it.
 */

/** Whether `err` is an error from a Node file-system call (it has an errno `code` and a `syscall`). */
export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a folder',
  ENOTEMPTY: 'it is a folder that is not empty',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file is in the way',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'the file is too large for the file system',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  ENXIO: 'no such device (a FIFO with no reader, or a socket)',
  ENODEV: 'no such device',
  EIO: 'input/output error',
  EBUSY: 'the resource is busy',
  EINVAL: 'invalid argument for this file system',
  EXDEV: 'the path crosses file systems',
  EPIPE: 'the reader closed the pipe',
  EAGAIN: 'the resource is temporarily unavailable',
  ETXTBSY: 'the file is busy',
};

/** "permission denied", "no space left on the device", ...; the errno code itself when not listed. */
export function fsReason(err: unknown): string {
  if (!isFsError(err)) return err instanceof Error ? err.message : String(err);
  return REASONS[err.code ?? ''] ?? err.code ?? 'unknown error';
}

/**
 * A UserError for a failed file-system call: `cannot <doing> <path>: <reason>; <fix>`.
 * Non-file-system errors are returned unchanged (they are bugs, and keep their stack).
 * @param doing e.g. "write", "read the latent", "create the folder"
 * @param fix e.g. "choose another output path"
 */
export function fsError(doing: string, path: string, err: unknown, fix?: string): Error {
  if (!isFsError(err)) return err instanceof Error ? err : new Error(String(err));
  return new UserError(`cannot ${doing} ${path}: ${fsReason(err)}${fix ? `; ${fix}` : ''}`);
}
