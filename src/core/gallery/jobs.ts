/**
 * The gallery jobs file (`nca gallery jobs.json`): parsing, validation and expansion into a flat,
 * ordered list of render jobs. Everything is checked before any work; each problem names where it
 * is (`jobs[3].notes: unknown note "H4"; use F4..B5`). The format is documented in docs/gallery.md:
 *
 * ```
 * { "format": "nca-gallery-jobs", "version": 1,
 *   "model": "../fixtures/model",                       (optional; relative to this file)
 *   "defaults": { "steps": 200, "size": 64, ... },       (render settings shared by every job)
 *   "jobs": [ { "name": "a4", "notes": "A4", "instrument": "violin" }, ... ],
 *   "generators": [ { "name": "{instrument}-{notes}", "instrument": "all", "notes": "all" }, ... ] }
 * ```
 *
 * Input paths are resolved relative to the jobs file; names become output paths inside the gallery
 * folder and may never leave it (see paths.ts). Expansion order, which fixes each job's `index`:
 * `jobs` in order (an interpolation of n frames expands in place into n jobs), then each generator's
 * combinations (first field outermost).
 */
import { basename, dirname, extname, resolve } from 'node:path';
import { UserError, invalidParameterError, parseSize, requireChoice, requireInt, requireNumber } from '../errors.js';
import { parseNote, noteName } from '../audio/synth.js';
import { parseJsonLimited } from './json.js';
import { checkName } from './paths.js';

export const JOBS_FORMAT = 'nca-gallery-jobs';
export const JOBS_VERSION = 1;
/** At most this many jobs after expansion. */
export const MAX_JOBS = 100_000;
/** An interpolation walks through at most this many latents. */
export const MAX_INTERPOLATE_FRAMES = 10_000;

/** A source that is one latent: the ends of an interpolation. Paths are absolute. */
export type PointSource =
  | { kind: 'latent'; file: string }
  | { kind: 'notes'; instrument: string; notes: string[] }
  | { kind: 'audio'; file: string; start?: number; duration?: number }
  | { kind: 'random'; seed: number };

/** What a job renders. Paths are absolute. */
export type JobSource =
  | Exclude<PointSource, { kind: 'audio' }>
  | { kind: 'audio'; file: string; start?: number; duration?: number; track?: boolean }
  | { kind: 'params'; file: string }
  | {
      kind: 'interpolate';
      from: PointSource;
      to: PointSource;
      /** Latents on the walk, both ends included. */
      frames: number;
      slerp: boolean;
      /** One animation that walks from -> to over the render (a latent track), instead of one job per latent. */
      track: boolean;
      /** This job's latent on the walk (0..frames-1), when not a track. */
      frame?: number;
    };

export type InitSetting = 'decoder' | 'noise' | 'zeros' | { image: string };

/** Render settings after defaults (the same meaning as nca render's options). */
export interface RenderSettings {
  /** NCA steps; 'audio': as long as the audio track lasts (audio track jobs without their own steps). */
  steps: number | 'audio';
  width: number;
  height: number;
  scale: number;
  fps: number;
  every: number;
  seed: number | string;
  perturb: number;
  /** Absent: render's default (decoder for latents, noise for parameters). */
  init?: InitSetting;
  protocol?: 'frame' | 'free';
  /** gif, png, or a video: mp4 / webm (needs ffmpeg; an audio track job's video carries its sound). */
  format: 'gif' | 'png' | 'mp4' | 'webm';
}

export interface GalleryJob {
  /** Position in the expanded list. */
  index: number;
  name: string;
  /** Output path relative to the gallery folder, POSIX separators: name + ".gif" / ".png". */
  output: string;
  source: JobSource;
  settings: RenderSettings;
  /** Where the job came from, for messages: "jobs[3]" or "generators[0]". */
  origin: string;
}

export interface GalleryPlan {
  /** Absolute path of the jobs file (or of its folder's stand-in for in-memory plans). */
  jobsFile: string;
  /** The model folder named by the file's "model" (absolute), if any. */
  model?: string;
  jobs: GalleryJob[];
}

/** The note manifest's instruments and keys, for validation and for "all" in generators. */
export interface NoteCatalog {
  instruments: string[];
  notes: string[];
}

export interface ParseJobsOptions {
  /** Path of the jobs file: relative inputs are resolved from its folder. */
  jobsFile: string;
  /** Loads the note manifest's catalog (of the file's "model" folder, if it names one); called only when a job plays notes. */
  catalog?: (modelDir?: string) => Promise<NoteCatalog>;
}

/** The settings every job gets unless the file's defaults or the job say otherwise (nca render's defaults). */
export const BUILTIN_DEFAULTS = { steps: 500, size: 128, scale: 1, fps: 20, every: 1, seed: 0, perturb: 0, format: 'gif' } as const;

const SETTING_FIELDS = ['steps', 'size', 'scale', 'fps', 'every', 'seed', 'perturb', 'init', 'protocol', 'format'] as const;
const SOURCE_FIELDS = ['latent', 'notes', 'audio', 'random', 'params', 'interpolate'] as const;
const SOURCE_OPTION_FIELDS = { instrument: 'notes', start: 'audio', duration: 'audio', track: 'audio' } as const;
const JOB_FIELDS = ['name', 'comment', ...SOURCE_FIELDS, ...Object.keys(SOURCE_OPTION_FIELDS), ...SETTING_FIELDS];
const DEFAULT_FIELDS = ['comment', 'instrument', ...SETTING_FIELDS];
const TOP_FIELDS = ['format', 'version', 'description', 'comment', 'model', 'defaults', 'jobs', 'generators'];
/** Generator fields that take a {from, to} / {from, count} range of integers. */
const RANGE_FIELDS = new Set(['random', 'seed', 'perturb', 'steps', 'scale', 'fps', 'every']);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Read, validate and expand a jobs file. Throws one UserError naming every problem found (the first in full). */
export async function loadJobsFile(path: string, opts: Omit<ParseJobsOptions, 'jobsFile'> = {}): Promise<GalleryPlan> {
  const { readTextFile } = await import('../io/read.js');
  return parseJobs(await readTextFile(path, 'jobs file'), { ...opts, jobsFile: path });
}

/** Validate and expand the text of a jobs file. */
export async function parseJobs(text: string, opts: ParseJobsOptions): Promise<GalleryPlan> {
  const file = resolve(opts.jobsFile);
  const data = parseJsonLimited(text, opts.jobsFile, '; see docs/gallery.md for the jobs file format');
  if (!isObject(data)) throw new UserError(`${opts.jobsFile} is not a jobs file: expected a JSON object with "format": "${JOBS_FORMAT}"`);
  if (data.format !== JOBS_FORMAT) throw new UserError(`${opts.jobsFile} has format ${JSON.stringify(data.format)}, expected "${JOBS_FORMAT}" (see nca gallery --help)`);
  if (data.version !== JOBS_VERSION) throw new UserError(`${opts.jobsFile} has version ${JSON.stringify(data.version)}; this nca reads jobs files of version ${JOBS_VERSION}`);
  unknownFields(data, TOP_FIELDS, opts.jobsFile);
  const dir = dirname(file);
  const problems = new Problems();
  let model: string | undefined;
  if (data.model !== undefined) {
    if (typeof data.model !== 'string' || data.model === '') throw new UserError(`model: expected a folder path (relative to the jobs file) but received ${JSON.stringify(data.model)}`);
    model = resolve(dir, data.model);
  }
  let catalog: NoteCatalog | undefined;
  if (hasKey([data.jobs, data.generators, data.defaults], ['notes', 'instrument'])) {
    if (!opts.catalog) throw new UserError(`${opts.jobsFile} plays notes but no note manifest is available; pass --model DIR with a notes.json`);
    catalog = await opts.catalog(model);
  }
  const ctx: Context = { dir, catalog, defaults: {} };
  if (data.defaults !== undefined) {
    problems.run('defaults', () => {
      if (!isObject(data.defaults)) throw new UserError(`defaults: expected an object of render settings (${SETTING_FIELDS.join(', ')})`);
      unknownFields(data.defaults, DEFAULT_FIELDS, 'defaults');
      // Check each default once, as if it were a job's own value.
      const d = data.defaults;
      for (const key of SETTING_FIELDS) if (d[key] !== undefined) readSetting(key, d[key], `defaults.${key}`, ctx);
      if (d.instrument !== undefined) readInstrument(d.instrument, 'defaults.instrument', ctx);
      ctx.defaults = d;
    });
  }
  if (data.jobs === undefined && data.generators === undefined) throw new UserError(`${opts.jobsFile} has no "jobs" and no "generators": nothing to render`);

  const specs: Array<{ raw: JsonObject; origin: string; path: (key: string) => string }> = [];
  if (data.jobs !== undefined) {
    if (!Array.isArray(data.jobs)) problems.add('jobs', new UserError('jobs: expected an array of jobs'));
    else data.jobs.forEach((raw, i) => {
      const origin = `jobs[${i}]`;
      if (!isObject(raw)) problems.add(origin, new UserError(`${origin}: expected an object with a name and one source (${SOURCE_FIELDS.join(', ')})`));
      else specs.push({ raw, origin, path: (key) => `${origin}.${key}` });
    });
  }
  if (data.generators !== undefined) {
    if (!Array.isArray(data.generators)) problems.add('generators', new UserError('generators: expected an array of generators'));
    else data.generators.forEach((g, k) => problems.run(`generators[${k}]`, () => specs.push(...expandGenerator(g, `generators[${k}]`, ctx, MAX_JOBS - specs.length))));
  }

  const jobs: GalleryJob[] = [];
  const outputs = new OutputPaths();
  for (const spec of specs) {
    problems.run(spec.origin, () => {
      for (const job of readJob(spec.raw, spec.origin, spec.path, ctx)) {
        outputs.claim(job, spec.origin);
        if (jobs.length >= MAX_JOBS) throw new UserError(`${spec.origin}: more than ${MAX_JOBS} jobs; split the gallery into several files`);
        jobs.push({ ...job, index: jobs.length });
      }
    });
  }
  problems.throwIfAny();
  if (jobs.length === 0) throw new UserError(`${opts.jobsFile} expands to no jobs: nothing to render`);
  return { jobsFile: file, model, jobs };
}

// ---------------------------------------------------------------------------------------------
// One job

interface Context {
  /** Folder of the jobs file: relative inputs resolve from here. */
  dir: string;
  catalog?: NoteCatalog;
  defaults: JsonObject;
}

/** A job object -> one job, or `frames` jobs for an interpolation that is not a track. */
function readJob(raw: JsonObject, origin: string, path: (key: string) => string, ctx: Context): Array<Omit<GalleryJob, 'index'>> {
  unknownFields(raw, JOB_FIELDS, origin);
  if (typeof raw.name !== 'string') throw new UserError(`${path('name')}: every job needs a "name" (a string; it names the output file)`);
  const name = checkName(raw.name, path('name'));
  const given = SOURCE_FIELDS.filter((k) => raw[k] !== undefined);
  if (given.length === 0) throw new UserError(`${origin}: give one source: ${SOURCE_FIELDS.join(', ')}`);
  if (given.length > 1) throw new UserError(`${origin}: give only one source, not both ${given[0]} and ${given[1]}`);
  const kind = given[0]!;
  for (const [field, owner] of Object.entries(SOURCE_OPTION_FIELDS)) {
    if (raw[field] !== undefined && owner !== kind) throw new UserError(`${path(field)}: applies to ${owner} jobs only (this job's source is ${kind})`);
  }
  const source = readSource(kind, raw, path, ctx);

  // Settings: the job's own value, else the file's default, else the built-in one. A default that does
  // not apply to this source is dropped; the same value set on the job itself is an error.
  const own = (key: (typeof SETTING_FIELDS)[number]) => raw[key] !== undefined;
  const value = (key: (typeof SETTING_FIELDS)[number]) => (own(key) ? raw[key] : ctx.defaults[key]);
  const at = (key: (typeof SETTING_FIELDS)[number]) => (own(key) ? path(key) : `defaults.${key}`);
  const size = readSetting('size', value('size') ?? BUILTIN_DEFAULTS.size, at('size'), ctx) as { width: number; height: number };
  const isParams = source.kind === 'params';
  let perturb = readSetting('perturb', value('perturb') ?? BUILTIN_DEFAULTS.perturb, at('perturb'), ctx) as number;
  if (isParams && perturb > 0) {
    if (own('perturb')) throw new UserError(`${path('perturb')}: perturbation adds noise to a latent; a params job has none (set it to 0 or remove it)`);
    perturb = 0;
  }
  let init = value('init') === undefined ? undefined : (readSetting('init', value('init'), at('init'), ctx) as InitSetting);
  if (isParams && init === 'decoder') {
    if (own('init')) throw new UserError(`${path('init')}: "decoder" needs a latent (the first-frame decoder runs on it); use "noise", "zeros" or "image:FILE.png" for a params job`);
    init = undefined;
  }
  const audioTrack = source.kind === 'audio' && source.track === true;
  const steps: number | 'audio' = own('steps') ? (readSetting('steps', raw.steps, path('steps'), ctx) as number) : audioTrack ? 'audio' : (readSetting('steps', value('steps') ?? BUILTIN_DEFAULTS.steps, at('steps'), ctx) as number);
  // A random job plays with its own seed unless it sets "seed" (the same bytes as nca render --random --seed N).
  const seedValue = own('seed') ? raw.seed : source.kind === 'random' ? source.seed : (ctx.defaults.seed ?? BUILTIN_DEFAULTS.seed);
  const settings: RenderSettings = {
    steps,
    width: size.width,
    height: size.height,
    scale: readSetting('scale', value('scale') ?? BUILTIN_DEFAULTS.scale, at('scale'), ctx) as number,
    fps: readSetting('fps', value('fps') ?? BUILTIN_DEFAULTS.fps, at('fps'), ctx) as number,
    every: readSetting('every', value('every') ?? BUILTIN_DEFAULTS.every, at('every'), ctx) as number,
    seed: readSetting('seed', seedValue, at('seed'), ctx) as number | string,
    perturb,
    format: readSetting('format', value('format') ?? BUILTIN_DEFAULTS.format, at('format'), ctx) as RenderSettings['format'],
  };
  if (settings.format === 'gif' && settings.fps > 50) throw new UserError(`${at('fps')}: a GIF plays at most 50 fps (browsers slow shorter delays down); use "format": "mp4" or a lower fps`);
  if (init !== undefined) settings.init = init;
  if (value('protocol') !== undefined) settings.protocol = readSetting('protocol', value('protocol'), at('protocol'), ctx) as 'frame' | 'free';

  const job = (jobName: string, src: JobSource) => ({ name: jobName, output: `${jobName}.${settings.format}`, source: src, settings: { ...settings }, origin });
  if (source.kind === 'interpolate' && !source.track) {
    const width = Math.max(2, String(source.frames - 1).length);
    return Array.from({ length: source.frames }, (_, i) => job(checkName(`${name}-${String(i).padStart(width, '0')}`, path('name')), { ...source, frame: i }));
  }
  return [job(name, source)];
}

function readSource(kind: (typeof SOURCE_FIELDS)[number], raw: JsonObject, path: (key: string) => string, ctx: Context): JobSource {
  switch (kind) {
    case 'params':
      return { kind: 'params', file: readPath(raw.params, path('params'), ctx) };
    case 'interpolate': {
      const v = raw.interpolate;
      const at = path('interpolate');
      if (!isObject(v)) throw new UserError(`${at}: expected { "from": <source>, "to": <source>, "frames": n } (sources: latent, notes, audio, random)`);
      unknownFields(v, ['from', 'to', 'frames', 'slerp', 'track', 'comment'], at);
      if (v.from === undefined || v.to === undefined) throw new UserError(`${at}: give both "from" and "to" (each a latent, notes, audio or random source)`);
      if (v.frames === undefined) throw new UserError(`${at}.frames: give the number of latents on the walk (both ends included), e.g. 8`);
      return {
        kind: 'interpolate',
        from: readPoint(v.from, `${at}.from`, ctx),
        to: readPoint(v.to, `${at}.to`, ctx),
        frames: requireInt(`${at}.frames`, v.frames, 2, MAX_INTERPOLATE_FRAMES),
        slerp: readBool(v.slerp, `${at}.slerp`, false),
        track: readBool(v.track, `${at}.track`, false),
      };
    }
    case 'audio': {
      const track = readBool(raw.track, path('track'), false);
      if (track && (raw.start !== undefined || raw.duration !== undefined)) throw new UserError(`${path('track')}: a track covers the whole file; drop "start" and "duration"`);
      return { ...readAudioWindow(raw, path, ctx), ...(track ? { track: true } : {}) };
    }
    default:
      return readPoint(raw, '', ctx, path);
  }
}

/** A source object with one latent (an interpolation's end, or the point part of a job). */
function readPoint(v: Json | undefined, at: string, ctx: Context, pathOf?: (key: string) => string): PointSource {
  const path = pathOf ?? ((key: string) => `${at}.${key}`);
  if (!isObject(v)) throw new UserError(`${at}: expected a source object such as { "notes": "A4", "instrument": "violin" } or { "latent": "z.json" }`);
  const kinds = (['latent', 'notes', 'audio', 'random'] as const).filter((k) => v[k] !== undefined);
  if (!pathOf) {
    unknownFields(v, ['latent', 'notes', 'instrument', 'audio', 'start', 'duration', 'random', 'comment'], at);
    if (kinds.length !== 1) throw new UserError(`${at}: give exactly one of latent, notes, audio, random${kinds.length > 1 ? ` (not both ${kinds[0]} and ${kinds[1]})` : ''}`);
    if (v.instrument !== undefined && kinds[0] !== 'notes') throw new UserError(`${path('instrument')}: applies to notes only`);
    if ((v.start !== undefined || v.duration !== undefined) && kinds[0] !== 'audio') throw new UserError(`${path(v.start !== undefined ? 'start' : 'duration')}: applies to audio only`);
  }
  switch (kinds[0]) {
    case 'latent':
      return { kind: 'latent', file: readPath(v.latent, path('latent'), ctx) };
    case 'notes': {
      const instrument = readInstrument(v.instrument ?? ctx.defaults.instrument ?? 'piano', v.instrument !== undefined ? path('instrument') : 'defaults.instrument', ctx);
      return { kind: 'notes', instrument, notes: readNotes(v.notes, path('notes'), ctx) };
    }
    case 'audio':
      return readAudioWindow(v, path, ctx);
    case 'random':
      return { kind: 'random', seed: requireInt(path('random'), v.random, 0, 2 ** 32 - 1) };
    default:
      throw new UserError(`${at}: give one source: latent, notes, audio, random`);
  }
}

function readAudioWindow(v: JsonObject, path: (key: string) => string, ctx: Context): { kind: 'audio'; file: string; start?: number; duration?: number } {
  const out: { kind: 'audio'; file: string; start?: number; duration?: number } = { kind: 'audio', file: readPath(v.audio, path('audio'), ctx) };
  if (v.start !== undefined) out.start = requireNumber(path('start'), v.start, 0, 1e7);
  if (v.duration !== undefined) out.duration = requireNumber(path('duration'), v.duration, 0.01, 1e7);
  return out;
}

/** An input file: a non-empty string, resolved relative to the jobs file. */
function readPath(v: Json | undefined, at: string, ctx: Context): string {
  if (typeof v !== 'string' || v.trim() === '') throw new UserError(`${at}: expected a file path (relative to the jobs file) but received ${JSON.stringify(v)}`);
  if (v.includes('\0')) throw new UserError(`${at}: a file path cannot contain a NUL character`);
  return resolve(ctx.dir, v);
}

function readBool(v: Json | undefined, at: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalidParameterError(at, 'true or false', v);
  return v;
}

function readInstrument(v: Json | undefined, at: string, ctx: Context): string {
  if (typeof v !== 'string') throw new UserError(`${at}: expected an instrument name but received ${JSON.stringify(v)}`);
  const name = v.trim().toLowerCase();
  const known = ctx.catalog?.instruments ?? [];
  if (!known.includes(name)) throw new UserError(`${at}: unknown instrument ${JSON.stringify(v)}; use one of ${known.join(', ')}`);
  return name;
}

/** A note or chord: "A4", "F4,A4,C5" / "F4+A4+C5" or ["F4", "A4", "C5"] -> canonical names in the manifest. */
function readNotes(v: Json | undefined, at: string, ctx: Context): string[] {
  const list = typeof v === 'string' ? v.split(/[,+]/) : Array.isArray(v) ? v : null;
  if (!list || list.length === 0) throw new UserError(`${at}: expected a note ("A4"), a chord ("F4,A4,C5") or a list of notes but received ${JSON.stringify(v)}`);
  const keys = ctx.catalog?.notes ?? [];
  const range = keys.length ? `${keys[0]}..${keys[keys.length - 1]}` : 'the manifest\'s keys';
  return list.map((item) => {
    if (typeof item !== 'string' || item.trim() === '') throw new UserError(`${at}: expected note names but received ${JSON.stringify(item)}`);
    let name: string;
    try {
      name = noteName(parseNote(item.trim(), at));
    } catch {
      throw new UserError(`${at}: unknown note ${JSON.stringify(item.trim())}; use ${range}`);
    }
    if (!keys.includes(name)) throw new UserError(`${at}: ${JSON.stringify(item.trim())} is not in the note manifest; use ${range}`);
    return name;
  });
}

/** One render setting, checked with the same ranges as nca render's options. */
function readSetting(key: (typeof SETTING_FIELDS)[number], v: Json | undefined, at: string, ctx: Context): number | string | InitSetting | { width: number; height: number } {
  switch (key) {
    case 'steps':
      return requireInt(at, v, 1, 1_000_000);
    case 'size':
      if (typeof v !== 'number' && typeof v !== 'string') throw invalidParameterError(at, 'a size like 128 or "96x64"', v);
      return parseSize(at, v, 4, 4096);
    case 'scale':
      return requireInt(at, v, 1, 16);
    case 'fps':
      return requireInt(at, v, 1, 120); // a GIF's 1..50 is checked with the format (below)
    case 'every':
      return requireInt(at, v, 1, 1_000_000);
    case 'perturb':
      return requireInt(at, v, 0, 9);
    case 'seed':
      if (typeof v === 'string' && v.trim() !== '' && !/^\d+$/.test(v)) return v;
      return requireInt(at, v, 0, 2 ** 32 - 1);
    case 'protocol':
      return requireChoice(at, v, ['frame', 'free'] as const);
    case 'format':
      return requireChoice(at, v, ['gif', 'png', 'mp4', 'webm'] as const);
    case 'init':
      if (typeof v === 'string' && v.startsWith('image:')) return { image: readPath(v.slice('image:'.length), at, ctx) };
      if (typeof v !== 'string' || !['decoder', 'noise', 'zeros'].includes(v)) throw invalidParameterError(at, 'one of decoder, noise, zeros, image:FILE.png', v);
      return v as 'decoder' | 'noise' | 'zeros';
  }
}

// ---------------------------------------------------------------------------------------------
// Generators

/**
 * A generator is a job whose fields may be lists: it yields one job per combination (the first
 * field outermost). "all" sweeps every instrument / every key of the manifest; {"from": a, "to": b}
 * or {"from": a, "count": n} sweeps integers (random, seed, perturb, steps, ...). The name is a
 * template: {field} is the combination's value of that field, {i} its index in the generator.
 */
function expandGenerator(g: unknown, origin: string, ctx: Context, room: number): Array<{ raw: JsonObject; origin: string; path: (key: string) => string }> {
  if (!isObject(g)) throw new UserError(`${origin}: expected an object like { "name": "{instrument}-{notes}", "instrument": "all", "notes": "all" }`);
  unknownFields(g, JOB_FIELDS, origin);
  if (typeof g.name !== 'string' || g.name === '') throw new UserError(`${origin}.name: give a name template, e.g. "{instrument}-{notes}" or "random-{random}"`);
  const template = g.name;
  const axes: Array<{ key: string; values: Json[]; swept: boolean }> = [];
  for (const [key, v] of Object.entries(g)) {
    if (key === 'name' || key === 'comment') continue;
    axes.push({ key, ...generatorValues(key, v, `${origin}.${key}`, ctx) });
  }
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  if (total > room) throw new UserError(`${origin}: makes ${total} jobs, more than the ${MAX_JOBS} a gallery holds; split it`);

  const placeholders = [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
  const keys = new Set(axes.map((a) => a.key));
  for (const p of placeholders) {
    const key = p === 'note' ? 'notes' : p;
    if (p !== 'i' && !keys.has(key)) throw new UserError(`${origin}.name: unknown placeholder {${p}}; use {i} or a field of the generator (${[...keys].join(', ')})`);
    if (key === 'interpolate') throw new UserError(`${origin}.name: {interpolate} cannot be written in a name; use {i}`);
  }
  const digits = String(Math.max(0, total - 1)).length;
  const out: Array<{ raw: JsonObject; origin: string; path: (key: string) => string }> = [];
  const pick = new Array<number>(axes.length).fill(0);
  for (let n = 0; n < total; n++) {
    // Mixed-radix counter: the last axis varies fastest.
    let r = n;
    for (let a = axes.length - 1; a >= 0; a--) {
      pick[a] = r % axes[a]!.values.length;
      r = Math.floor(r / axes[a]!.values.length);
    }
    const raw: JsonObject = {};
    axes.forEach((a, k) => (raw[a.key] = a.values[pick[k]!]!));
    raw.name = template.replace(/\{([^{}]*)\}/g, (_, p: string) => (p === 'i' ? String(n).padStart(digits, '0') : placeholderText(raw[p === 'note' ? 'notes' : p]!)));
    const snapshot = [...pick];
    out.push({
      raw,
      origin,
      path: (key) => {
        const k = axes.findIndex((a) => a.key === key);
        return k >= 0 && axes[k]!.swept ? `${origin}.${key}[${snapshot[k]}]` : `${origin}.${key}`;
      },
    });
  }
  return out;
}

/** The values a generator field takes: a list, "all", an integer range, or one constant. */
function generatorValues(key: string, v: Json, at: string, ctx: Context): { values: Json[]; swept: boolean } {
  if (Array.isArray(v)) {
    if (v.length === 0) throw new UserError(`${at}: an empty list makes no jobs; give at least one value`);
    return { values: v, swept: true };
  }
  if (v === 'all' && (key === 'instrument' || key === 'notes')) {
    if (!ctx.catalog) throw new UserError(`${at}: "all" needs the note manifest; pass --model DIR with a notes.json`);
    return { values: key === 'instrument' ? ctx.catalog.instruments : ctx.catalog.notes, swept: false };
  }
  if (isObject(v) && RANGE_FIELDS.has(key)) {
    unknownFields(v, ['from', 'to', 'count'], at);
    const from = requireInt(`${at}.from`, v.from, 0, 2 ** 32 - 1);
    if ((v.to === undefined) === (v.count === undefined)) throw new UserError(`${at}: give a range as { "from": a, "to": b } (inclusive) or { "from": a, "count": n }`);
    const count = v.count !== undefined ? requireInt(`${at}.count`, v.count, 1, MAX_JOBS) : requireInt(`${at}.to`, v.to, from, from + MAX_JOBS - 1) - from + 1;
    return { values: Array.from({ length: count }, (_, i) => from + i), swept: false };
  }
  return { values: [v], swept: false };
}

/** How a field's value reads in a generated name: notes joined by "+", files by their base name. */
function placeholderText(v: Json): string {
  if (Array.isArray(v)) return v.map((x) => placeholderText(x)).join('+');
  if (typeof v === 'string') {
    if (/[\\/]/.test(v) || /\.(json|wav|png)$/i.test(v)) return basename(v, extname(v));
    return v.replace(/\s*[,+]\s*/g, '+');
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------------
// Helpers

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether any object inside `v` has one of `keys`. */
function hasKey(v: unknown, keys: string[]): boolean {
  if (Array.isArray(v)) return v.some((x) => hasKey(x, keys));
  if (!isObject(v)) return false;
  return Object.entries(v).some(([k, x]) => keys.includes(k) || hasKey(x, keys));
}

function unknownFields(o: JsonObject, allowed: readonly string[], at: string): void {
  for (const key of Object.keys(o)) {
    if (allowed.includes(key)) continue;
    const near = allowed.find((k) => editDistance(k, key.toLowerCase()) <= Math.min(2, k.length >> 2));
    throw new UserError(`${at}: unknown field ${JSON.stringify(key)}; ${near ? `did you mean "${near}"? ` : ''}the fields are ${allowed.filter((k) => k !== 'comment').join(', ')}`);
  }
}

/** Levenshtein distance (short strings only). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The output paths of a gallery's jobs, checked as each job is added: no two jobs write the same file
 * (ignoring case, so a gallery also works on case-insensitive file systems), and no job's file is a
 * folder another job needs ("a" writes a.gif, "a.gif/b" needs a folder a.gif).
 */
class OutputPaths {
  /** Output path (lower case) -> the job writing it. */
  private readonly files = new Map<string, { name: string; origin: string }>();
  /** Folder (lower case, POSIX, relative to the gallery) -> the first job writing inside it. */
  private readonly folders = new Map<string, { name: string; origin: string; output: string }>();

  claim(job: { name: string; output: string }, origin: string): void {
    const key = job.output.toLowerCase();
    const generated = origin.startsWith('generators') ? '; put the swept fields in the name, e.g. "{instrument}-{notes}"' : '';
    const same = this.files.get(key);
    if (same) throw new UserError(`${origin}.name: ${JSON.stringify(job.name)} is also the name of a job of ${same.origin} (names must be unique, ignoring case)${generated}`);
    const inside = this.folders.get(key);
    if (inside) throw new UserError(`${origin}.name: job ${JSON.stringify(job.name)} writes ${job.output}, but job ${JSON.stringify(inside.name)} of ${inside.origin} needs a folder of that name (it writes ${inside.output}); rename one of them`);
    const parts = key.split('/');
    for (let n = 1; n < parts.length; n++) {
      const folder = parts.slice(0, n).join('/');
      const owner = this.files.get(folder);
      if (owner) throw new UserError(`${origin}.name: job ${JSON.stringify(job.name)} needs a folder ${job.output.split('/').slice(0, n).join('/')}, but that is the file job ${JSON.stringify(owner.name)} of ${owner.origin} writes; rename one of them`);
    }
    this.files.set(key, { name: job.name, origin });
    for (let n = 1; n < parts.length; n++) {
      const folder = parts.slice(0, n).join('/');
      if (!this.folders.has(folder)) this.folders.set(folder, { name: job.name, origin, output: job.output });
    }
  }
}

/**
 * Collects the problems of a whole file: the first in full, the others by where they are, e.g.
 * "(and 2 more problems: jobs[2].fps, generators[0].notes[1])".
 */
class Problems {
  private readonly errors: Array<{ where: string; error: UserError }> = [];
  /** @param where the part of the file the problem is in ("jobs[3]", "defaults"), when the message does not say more exactly */
  add(where: string, error: UserError): void {
    this.errors.push({ where, error });
  }
  run(where: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof UserError) this.add(where, e);
      else throw e;
    }
  }
  throwIfAny(): void {
    if (this.errors.length === 0) return;
    // a generator's bad value shows up once per expanded job: report each message once
    const unique = [...new Map(this.errors.map((p) => [p.error.message, p])).values()];
    const [first, ...rest] = unique;
    if (rest.length === 0) throw first!.error;
    const places = [...new Set(rest.map((p) => placeOf(p.error.message, p.where)))];
    const shown = places.slice(0, 5).join(', ') + (places.length > 5 ? `, and ${places.length - 5} more places` : '');
    throw new UserError(`${first!.error.message} (and ${rest.length} more problem${rest.length === 1 ? '' : 's'}: ${shown})`);
  }
}

/** A field path in the jobs file: defaults.size, jobs[3].interpolate.from.notes, generators[0].notes[1]. */
const FIELD_PATH = String.raw`[A-Za-z_]\w*(?:\[\d+\]|\.[A-Za-z_]\w*)*`;

/**
 * Where a problem is: the field its message starts with ("jobs[2].notes: unknown note") or names
 * ("expected ... for jobs[1].fps but received 0"), else the part of the file it came from.
 */
function placeOf(message: string, where: string): string {
  const leading = new RegExp(`^(${FIELD_PATH}):`).exec(message)?.[1];
  if (leading && leading.startsWith(where)) return leading;
  const named = new RegExp(` for (${FIELD_PATH}) but received`).exec(message)?.[1];
  if (named && named.startsWith(where)) return named;
  return where;
}

/** A short description of a job's source for the contact sheet, e.g. "violin A4+C5" or "random 7". */
export function sourceLabel(source: JobSource): string {
  const point = (s: PointSource | JobSource): string => {
    switch (s.kind) {
      case 'latent':
      case 'params':
        return basename(s.file);
      case 'notes':
        return `${s.instrument} ${s.notes.join('+')}`;
      case 'audio': {
        if ('track' in s && s.track) return `${basename(s.file)} (track)`;
        if (s.start === undefined) return `${basename(s.file)} (loudest ${s.duration !== undefined ? `${s.duration} s` : 'window'})`;
        return `${basename(s.file)} at ${s.start} s${s.duration !== undefined ? ` for ${s.duration} s` : ''}`;
      }
      case 'random':
        return `random ${s.seed}`;
      case 'interpolate': {
        const how = `${s.slerp ? 'slerp' : 'lerp'} ${point(s.from)} -> ${point(s.to)}`;
        return s.track ? `${how} (walk of ${s.frames})` : `${how} (${s.frame ?? 0}/${s.frames - 1})`;
      }
    }
  };
  return point(source);
}
