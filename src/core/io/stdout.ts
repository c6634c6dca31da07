import { UserError } from '../errors.js';
import { fsReason } from './fs-error.js';

/**
 * Standard output as nca writes it: every result, report and --json summary goes through
 * writeStdout. A reader that closes the pipe early (`nca ... | head`) is a quiet success: later
 * writes are dropped. Any other failure (`> /dev/full`: no space left, a closed descriptor, ...) is
 * a UserError "cannot write to standard output: <reason>".
 */

let readerGone = false;

/** The UserError for a failed write to standard output. */
export function stdoutError(err: unknown): UserError {
  return new UserError(`cannot write to standard output: ${fsReason(err)}`);
}

/** Whether a write error means the reader closed the pipe (not an error for nca). */
export function isClosedPipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'EPIPE';
}

/** Write `text` to standard output and wait until it is handed to the system (or fails). */
export function writeStdout(text: string, stream: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (readerGone || text === '') return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error | null) => {
      if (!err) return resolve();
      if (isClosedPipe(err)) {
        readerGone = true;
        return resolve();
      }
      reject(stdoutError(err));
    };
    try {
      stream.write(text, done);
    } catch (err) {
      done(err as Error);
    }
  });
}
