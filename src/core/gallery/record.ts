/**
 * One rendered gallery job, as stored in gallery/gallery.json (`records`) and shown by index.html.
 * Shared by the runner (jobs, pool, manifest, merge) and the contact sheet (html.ts).
 */
export interface GalleryRecord {
  /** The job's name (unique in a gallery; also the output's base name). */
  name: string;
  /** Index of the job in the expanded job list (generators expanded in order). */
  index: number;
  /** Source kind and a short human description, e.g. { kind: 'notes', label: 'violin A4+C5' }. */
  source: { kind: 'latent' | 'notes' | 'audio' | 'random' | 'params' | 'interpolate'; label: string };
  /** The resolved job (all defaults applied, input paths absolute) that `hash` covers. */
  job: Record<string, unknown>;
  /** sha256 (hex) of the canonical JSON of `job` plus the inputs' contents and the model id. */
  hash: string;
  /** Output path relative to the gallery folder (POSIX separators), e.g. "violin-A4.gif". */
  output: string;
  status: 'ok' | 'failed';
  /** One-line error when status is 'failed'. */
  error?: string;
  /** Seconds: render (setup + simulate + write) for this job, as measured by its worker. */
  seconds?: number;
  /** The render summary's motion metrics (src/core/render.ts RenderSummary['motion'] without `change`). */
  motion?: { meanChange: number; lastChange: number; lastStd: number; correlation: number; drift: number; persistence?: number; alive: 'dead' | 'static' | 'noise' | 'alive'; coherent: boolean };
  /** Width x height of the written frames (after scale), steps and frames written. */
  width?: number;
  height?: number;
  steps?: number;
  frames?: number;
  /** Size of the output file in bytes (a resumed run checks it before skipping the job). */
  bytes?: number;
  /** Which shard rendered it ("i/n"), when sharded. */
  shard?: string;
}

/** gallery/gallery.json. */
export interface GalleryFile {
  format: 'nca-gallery';
  version: 1;
  /** The jobs file it was made from (as given) and when. */
  jobsFile?: string;
  created: string;
  records: GalleryRecord[];
  /** Totals: jobs, ok, failed, skipped (resumed), wall seconds, workers. */
  summary: { jobs: number; ok: number; failed: number; skipped: number; seconds: number; workers: number };
}
