import { cleanupTempFiles } from '../core/io/atomic.js';

/**
 * Ctrl-C (SIGINT) and SIGTERM for the CLI process. bin/nca.js installs the handlers before anything
 * else runs, so a signal is never lost to Node's default (death without clean-up), however early it
 * comes:
 * - before a long command has asked for the signal (loading a model, parsing): remove any temp file
 *   still registered and exit 130 at once;
 * - once it has (`interruptSignal()`): the first signal aborts the returned signal (core code stops
 *   at its next check, removes its temp files, and cli.ts reports "interrupted", exit 130); a second
 *   one exits at once after removing any temp file still registered.
 */

let controller: AbortController | null = null;
let count = 0;

/** Install the process's SIGINT/SIGTERM handlers (once, from bin/nca.js). */
export function installInterruptHandlers(): void {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** The abort signal of this process's interrupt, for a long-running command to pass to core. */
export function interruptSignal(): AbortSignal {
  controller ??= new AbortController();
  return controller.signal;
}

function onSignal(sig: NodeJS.Signals): void {
  count++;
  if (controller && count === 1) {
    controller.abort(Object.assign(new Error(`interrupted by ${sig}`), { name: 'AbortError' }));
    return;
  }
  cleanupTempFiles();
  process.stderr.write('nca: interrupted\n');
  process.exit(130);
}
