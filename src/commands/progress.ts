import cliProgress from 'cli-progress';

/** Progress callback as core functions take it; `payload` fills the bar's extra fields. */
export type OnProgress = (done: number, total: number, payload?: Record<string, string>) => void;

/**
 * A progress bar on stderr, drawn only when stderr is a TTY and neither --quiet nor --json is set;
 * otherwise a no-op (`active` says which). Core code never draws: it calls the returned onProgress.
 * `fields` adds payload fields to the bar, e.g. ' | loss {loss}'; `barSize` is the bar's width in
 * characters (default 40).
 */
export function progressBar(label: string, opts: { quiet?: boolean; json?: boolean }, fields = '', barSize = 40): { onProgress: OnProgress; stop: () => void; active: boolean } {
  if (opts.quiet || opts.json || !process.stderr.isTTY) return { onProgress: () => {}, stop: () => {}, active: false };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% | {value}/{total}${fields} | ETA {eta_formatted}`, barsize: barSize, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    active: true,
    onProgress(done, total, payload) {
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
