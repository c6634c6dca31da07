import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { UserError, requireInt } from '../core/errors.js';
import { interruptSignal } from './interrupt.js';
import { modelOption } from './model-option.js';
import { parseSeed, parseThreads, report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';
import type { GalleryProgress } from '../core/gallery/run.js';

interface GalleryOpts {
  out?: string;
  jobs?: string;
  threads?: string;
  model?: string;
  shard?: string;
  dryRun?: boolean;
  merge?: string[];
  atlas?: string[];
  grid: string;
  size?: string;
  steps?: string;
  scale: string;
  perturb: string;
  seed: string;
  json?: boolean;
  quiet?: boolean;
}

const FORMAT_HELP = `
The jobs file (JSON; docs/gallery.md has the whole reference):
  { "format": "nca-gallery-jobs", "version": 1,
    "model": "models/mine",                          optional model folder (default: the shipped one)
    "defaults": { "steps": 200, "size": 64, "scale": 2, "fps": 20, "every": 1,
                  "seed": 0, "perturb": 0, "init": "decoder", "format": "gif" },
    "jobs": [
      { "name": "z1",       "latent": "z1.json" },
      { "name": "chord",    "notes": "F4,A4,C5", "instrument": "violin" },
      { "name": "song",     "audio": "song.wav", "start": 30, "duration": 2 },
      { "name": "song-all", "audio": "song.wav", "track": true },
      { "name": "r7",       "random": 7, "perturb": 5 },
      { "name": "weights",  "params": "p.json", "init": "noise" },
      { "name": "walk",     "interpolate": { "from": { "notes": "A4" }, "to": { "random": 3 },
                                             "frames": 8, "slerp": true } } ],
    "generators": [
      { "name": "{instrument}/{notes}", "instrument": "all", "notes": "all" },
      { "name": "random-{random}-p{perturb}", "random": { "from": 0, "count": 32 }, "perturb": [0, 9] } ] }
  Each job: a "name" (its output: name.gif or name.png in --out; "/" makes folders) and one source.
  Any render setting may be set per job; defaults fill the rest (those of nca render otherwise).
  Paths are relative to the jobs file. A generator is a job whose fields may be lists, "all"
  (instruments, notes) or ranges {"from", "to"|"count"}: one job per combination; {field} in its
  name is the combination's value, {i} its number. An interpolation makes one job per latent on the
  walk (name-00, name-01, ...), or with "track": true one animation that walks from -> to.

Runs are resumable: a job whose output exists with the same content (hash of the job, its input
files and the model) is skipped, so re-running after a crash or an edit redoes only what changed.
Exit code 0 when every job rendered, 1 when some failed (listed), 2 for a bad jobs file or option.
`;

export function registerGallery(program: Command): void {
  const cmd = program
    .command('gallery [jobs]')
    .description('render a gallery of many jobs (latents, notes, audio, random, params, walks) on every core, resumable, shardable, with an index.html contact sheet; or --merge shards, or an --atlas of latent space')
    .addOption(sharedOptions.out())
    .option('--jobs <n>', 'worker threads rendering at once, jobs or atlas cells (default: the number of cores)')
    .option('--threads <n>', 'onnxruntime threads per worker (default: cores / workers, at least 1)')
    .addOption(modelOption())
    .option('--shard <i/n>', 'render only the i-th of n shares of the jobs (jobs whose index is i-1 mod n); combine with --merge')
    .option('--dry-run', 'validate the jobs file and list what would be rendered or skipped; write nothing')
    .option('--merge <dirs...>', 'combine these gallery folders (e.g. shards) into --out: records, outputs, index.html')
    .option('--atlas <latents...>', 'three corner latents a b c: render a grid of the plane a + u(b-a) + v(c-a) as one PNG sheet (--out)')
    .option('--grid <n>', 'atlas: cells per side (2..32)', '8')
    .option('--size <n>', 'atlas: cell size in NCA cells (default 64)')
    .option('--steps <n>', 'atlas: NCA steps per cell (default 200)')
    .option('--scale <n>', 'atlas: pixel upscaling of each cell', '1')
    .option('--perturb <0-9>', 'atlas: latent perturbation while playing', '0')
    .addOption(sharedOptions.seed())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (jobs: string | undefined, o: GalleryOpts, command: Command) => {
      const modes = [jobs !== undefined, o.merge !== undefined, o.atlas !== undefined].filter(Boolean).length;
      if (modes === 0) throw new UserError('give a jobs file, --merge DIR... or --atlas A B C (see nca gallery --help)');
      if (modes > 1) throw new UserError('give only one of a jobs file, --merge and --atlas');
      if (o.out === undefined) throw new UserError(o.atlas ? 'give --out atlas.png (the sheet to write)' : 'give --out DIR (the gallery folder)');
      await checkOutputPath(o.out, o.atlas ? { extensions: ['.png'], what: 'the atlas sheet', inputs: o.atlas } : { kind: 'folder', what: 'the gallery folder', inputs: [jobs, ...(o.merge ?? [])] });
      const atlasOnly = ['grid', 'size', 'steps', 'scale', 'perturb', 'seed'].filter((k) => command.getOptionValueSource(k) === 'cli');
      if (!o.atlas && atlasOnly.length) throw new UserError(`--${atlasOnly[0]} applies to --atlas; for a jobs file set "${atlasOnly[0]}" in its "defaults" (or per job)`);
      if (o.atlas && (o.shard || o.dryRun)) throw new UserError('--shard and --dry-run apply to a jobs file, not to --atlas');
      if (o.merge) return runMerge(o.merge, o);
      if (o.atlas) return runAtlas(o.atlas, o);
      return runJobs(jobs!, o);
    });
  cmd.addHelpText('after', FORMAT_HELP);
  withExamples(cmd, [
    'nca gallery jobs.json --out gallery/                  # then open gallery/index.html',
    'nca gallery jobs.json --out gallery/ --jobs 2 --json  # the summary as JSON',
    'nca gallery jobs.json --out gallery/ --dry-run        # check the file: what would run',
    'nca gallery jobs.json --out part1/ --shard 1/2        # on machine 1 (and --shard 2/2 on machine 2)',
    'nca gallery --merge part1/ part2/ --out gallery/',
    'nca gallery --atlas a.json b.json c.json --grid 8 --out atlas.png',
  ]);
}

async function runJobs(jobsFile: string, o: GalleryOpts): Promise<void> {
  const { availableParallelism } = await import('node:os');
  const workers = o.jobs === undefined ? availableParallelism() : requireInt('--jobs', o.jobs, 1, 256);
  const threads = parseThreads(o.threads);
  const { parseShard, runGallery } = await import('../core/gallery/run.js');
  const shard = o.shard === undefined ? undefined : parseShard(o.shard);
  const { loadJobsFile } = await import('../core/gallery/jobs.js');
  const plan = await loadJobsFile(jobsFile, {
    catalog: async (fileModel) => {
      const { loadNotes } = await import('../core/model/notes.js');
      const { DEFAULT_MODEL_DIR } = await import('../core/model/networks.js');
      return loadNotes(o.model ?? fileModel ?? DEFAULT_MODEL_DIR);
    },
  });

  // The per-worker status gets the room a narrower bar leaves.
  const barSize = (process.stderr.columns || 80) >= 140 ? 40 : 20;
  const bar = progressBar('gallery', o, ' | {workers}', barSize);
  try {
    const summary = await runGallery({
      plan,
      out: o.out!,
      workers,
      threads,
      modelDir: o.model,
      shard,
      dryRun: o.dryRun,
      jobsFileLabel: jobsFile,
      signal: interruptSignal(),
      onProgress: bar.active ? (p) => bar.onProgress(p.done, p.total, { workers: workerStatus(p, barSize) }) : undefined,
    });
    bar.stop();
    if (summary.failed > 0) process.exitCode = 1;
    if (o.dryRun) {
      const counts = { render: 0, skip: 0, fail: 0 };
      for (const p of summary.plan ?? []) counts[p.action]++;
      await report(o, summary, [
        ...(summary.plan ?? []).map((p) => `${p.action.padEnd(6)} ${p.output}${p.error ? `  (${p.error})` : ''}`),
        `${summary.jobs} jobs${summary.shard ? ` in shard ${summary.shard}` : ''}: ${counts.render} to render, ${counts.skip} up to date, ${counts.fail} failing (inputs); nothing written`,
      ]);
      return;
    }
    await report(o, summary, [
      `${o.out}: ${summary.rendered} rendered, ${summary.skipped} unchanged (skipped), ${summary.failed} failed, of ${summary.jobs} jobs${summary.shard ? ` (shard ${summary.shard})` : ''} in ${summary.seconds.toFixed(1)} s` +
        (summary.rendered > 0 ? ` with ${summary.workers} worker${summary.workers === 1 ? '' : 's'} x ${summary.threadsPerWorker} thread${summary.threadsPerWorker === 1 ? '' : 's'} (${summary.jobsPerSecond.toFixed(2)} jobs/s)` : ''),
      `wrote ${summary.gallery} and ${summary.index}`,
      ...summary.failures.slice(0, 20).map((f) => `failed: ${f.name}: ${f.error}`),
      ...(summary.failures.length > 20 ? [`... and ${summary.failures.length - 20} more failures (see gallery.json)`] : []),
    ]);
  } finally {
    bar.stop();
  }
}

/**
 * Each worker's job and progress, "violin-A4 40% piano-F4 10%" (workers in order), cut to the room
 * the terminal line leaves; with too many workers for the line, only how many are busy.
 */
function workerStatus(p: GalleryProgress, barSize: number): string {
  // the rest of the line: "gallery [bar] 100% | 999/999 | " and " | ETA 10m0s"
  const failed = p.failed ? `${p.failed} failed | ` : '';
  const room = Math.max(16, (process.stderr.columns || 80) - barSize - 40 - failed.length);
  const each = Math.min(28, Math.floor((room + 1) / p.workers.length) - 1);
  if (each < 8) return `${failed}${p.workers.filter((w) => w.job).length}/${p.workers.length} workers busy`;
  const parts = p.workers.map((w) => {
    if (!w.job) return 'idle'.padEnd(each);
    const pct = ` ${w.total ? Math.floor((100 * w.done) / w.total) : 0}%`;
    const name = w.job.length + pct.length > each ? w.job.slice(0, Math.max(1, each - pct.length - 1)) + '~' : w.job;
    return (name + pct).padEnd(each);
  });
  return failed + parts.join(' ').trimEnd();
}

async function runMerge(dirs: string[], o: GalleryOpts): Promise<void> {
  const { mergeGalleries } = await import('../core/gallery/merge.js');
  const s = await mergeGalleries(dirs, o.out!);
  if (!o.quiet && !o.json) for (const c of s.conflicts) process.stderr.write(`nca: warning: ${c}\n`);
  if (s.failed > 0) process.exitCode = 1;
  await report(o, s, [
    `merged ${s.sources.map((x) => `${x.dir} (${x.records})`).join(', ')} into ${o.out}: ${s.jobs} jobs, ${s.ok} ok, ${s.failed} failed; ${s.copied} outputs copied`,
    `wrote ${s.gallery} and ${s.index}`,
  ]);
}

async function runAtlas(files: string[], o: GalleryOpts): Promise<void> {
  if (files.length !== 3) throw new UserError(`--atlas takes three corner latents (a: top left, b: top right, c: bottom left), got ${files.length}`);
  const grid = requireInt('--grid', o.grid, 2, 32);
  const size = requireInt('--size', o.size ?? '64', 4, 1024);
  const steps = requireInt('--steps', o.steps ?? '200', 1, 1_000_000);
  const scale = requireInt('--scale', o.scale, 1, 16);
  const perturb = requireInt('--perturb', o.perturb, 0, 9);
  const seed = parseSeed(o.seed);
  const { availableParallelism } = await import('node:os');
  // Cells render on --jobs worker threads (each loads the model folder), or in this thread with --jobs 1.
  const workers = Math.min(grid * grid, o.jobs !== undefined ? requireInt('--jobs', o.jobs, 1, 256) : availableParallelism());
  const threads = parseThreads(o.threads);
  const { loadLatent } = await import('../core/latent.js');
  const corners = await Promise.all(files.map((f) => loadLatent(f)));
  const { loadLatentModel } = await import('./model-option.js');
  const loaded = workers === 1 ? await loadLatentModel(o.model) : null;
  const protocol = loaded ? loaded.protocol : await trainedProtocol(o.model);
  const bar = progressBar('atlas', o);
  try {
    const { renderAtlas } = await import('../core/gallery/atlas.js');
    const s = await renderAtlas([corners[0]!, corners[1]!, corners[2]!], {
      grid, size, steps, seed, perturb, scale, workers, threads, protocol,
      model: loaded?.model,
      modelDir: o.model,
      out: o.out!,
      onProgress: bar.onProgress,
      signal: interruptSignal(),
    });
    bar.stop();
    await report(o, s, [
      `wrote ${s.out} (${s.grid}x${s.grid} cells of ${s.cellPixels} px, ${s.width}x${s.height}) in ${s.seconds.toFixed(1)} s (${s.cellsPerSecond.toFixed(2)} cells/s)`,
      `alive ${s.alive.alive} (coherent ${s.coherent}), static ${s.alive.static}, noise ${s.alive.noise}, dead ${s.alive.dead}`,
    ]);
  } finally {
    bar.stop();
    loaded?.model.dispose();
  }
}

/** The protocol a model folder was trained with (its model.json config), without loading the networks. */
async function trainedProtocol(dir?: string): Promise<'frame' | 'free' | undefined> {
  const { DEFAULT_MODEL_DIR } = await import('../core/model/networks.js');
  const { join } = await import('node:path');
  const { existsSync } = await import('node:fs');
  const { readTextFile } = await import('../core/io/read.js');
  const folder = dir ?? DEFAULT_MODEL_DIR;
  const manifest = join(folder, 'model.json');
  if (!existsSync(manifest)) throw new UserError(`no trained model at ${folder}: train one with \`nca train\` or pass --model DIR`);
  let config: { protocol?: unknown } | undefined;
  try {
    config = (JSON.parse(await readTextFile(manifest, 'model manifest')) as { config?: { protocol?: unknown } }).config;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${manifest} is not valid JSON; train the model again`);
  }
  return config?.protocol === 'frame' || config?.protocol === 'free' ? config.protocol : undefined;
}
