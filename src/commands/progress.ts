import cliProgress from 'cli-progress';

/** Progress callback as core functions take it. */
export type OnProgress = (done: number, total: number) => void;

/**
 * A progress bar on stderr, drawn only when stderr is a TTY and neither --quiet nor --json is set;
 * otherwise a no-op. Core code never draws: it calls the returned onProgress.
 */
export function progressBar(label: string, opts: { quiet?: boolean; json?: boolean }): { onProgress: OnProgress; stop: () => void } {
  if (opts.quiet || opts.json || !process.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
