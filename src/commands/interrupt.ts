/**
 * Ctrl-C handling for long commands: the first SIGINT/SIGTERM aborts the returned signal (core
 * code stops at its next check and removes its temp files); a second one exits at once after
 * removing any temp file still registered.
 */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  let count = 0;
  const onSignal = async (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      controller.abort(Object.assign(new Error(`interrupted by ${sig}`), { name: 'AbortError' }));
      return;
    }
    const { cleanupTempFiles } = await import('../core/io/atomic.js');
    cleanupTempFiles();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}
