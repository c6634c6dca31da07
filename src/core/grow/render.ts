/**
 * Playing a growing-NCA parameters file (`nca render --params`, `nca gallery`): from one cell (or the
 * file's texture start), `steps` steps with the file's stochastic update rate, optionally cutting a
 * region at a chosen step, each frame handed to a callback as RGBA. isGrowParams recognises the file.
 */
import { UserError, requireInt } from '../errors.js';
import { readTextFile } from '../io/read.js';
import type { RgbaImage } from '../io/image.js';
import { ALIVE_THRESHOLDS, MotionTracker, type RunStats } from '../metrics.js';
import { Rng } from '../rng.js';
import { applyCut, type Cut } from './damage.js';
import { isGrowParams, parseGrowParams, type GrowInfo, type GrowWeights } from './params.js';
import { GrowPlayer, stateToImage } from './player.js';
import { seedStates } from './seed-state.js';

export { isGrowParams };

export async function readGrowParamsFile(path: string): Promise<{ weights: GrowWeights; info: GrowInfo }> {
  const text = await readTextFile(path, 'growing-NCA parameters');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path} is not valid JSON (${(e as Error).message})`);
  }
  return parseGrowParams(json, path);
}

export interface GrowRenderOptions {
  /** Frames after the start (the start is frame 0). */
  steps: number;
  /** Grid size (default: the size the rule was trained on). */
  width?: number;
  height?: number;
  seed?: number | string;
  threads?: number;
  /** Cell size in pixels. */
  scale?: number;
  /** Cut a disc (fraction of the smaller side as radius) or a square at `step`, centred at (x, y) in 0..1 of the grid. */
  damage?: { step: number; shape: 'disc' | 'square'; x: number; y: number; size: number };
  /** Called with every frame (reuse it before returning: the image is fresh each time). */
  onFrame: (frame: RgbaImage, step: number) => void | Promise<void>;
}

/** Renders a parsed parameters file (JSON) to frames; returns the grid size and frame count. */
export async function renderGrowParams(json: unknown, where: string, opts: GrowRenderOptions): Promise<{ width: number; height: number; frames: number }> {
  const { weights, info } = parseGrowParams(json, where);
  const width = opts.width ?? info.width, height = opts.height ?? info.height;
  requireInt('--steps', opts.steps, 0, 1e6);
  const scale = opts.scale ?? 1;
  const rng = new Rng(opts.seed ?? 0);
  const player = await GrowPlayer.create(weights, { batch: 1, height, width }, { fireRate: info.fireRate, rng: rng.fork(), threads: opts.threads });
  let state: Float32Array = seedStates(1, width, height);
  if (info.kind === 'texture') {
    const { textureStart } = await import('../texture/start.js');
    state = textureStart(rng.fork(), width, height);
  }
  try {
    for (let t = 0; t <= opts.steps; t++) {
      const d = opts.damage;
      if (d && d.step === t) {
        const side = Math.min(width, height);
        const cut: Cut = d.shape === 'disc' ? { shape: 'disc', cx: d.x * width, cy: d.y * height, r: d.size * side } : { shape: 'square', x0: Math.round(d.x * width - (d.size * side) / 2), y0: Math.round(d.y * height - (d.size * side) / 2), side: Math.round(d.size * side) };
        applyCut(state, 0, width, height, cut);
      }
      await opts.onFrame(stateToImage(state, 0, width, height, scale), t);
      if (t < opts.steps) state = await player.step(state);
    }
  } finally {
    await player.dispose();
  }
  return { width: width * scale, height: height * scale, frames: opts.steps + 1 };
}

/**
 * `--damage STEP[,SHAPE[,SIZE[,X,Y]]]`: cut at STEP a square (default) or disc of SIZE (default 0.3:
 * the square's side, or the disc's radius, as a fraction of the grid's smaller side) centred at
 * (X, Y) in 0..1 of the grid (default the centre).
 */
export function parseDamage(value: string): NonNullable<GrowRenderOptions['damage']> {
  const parts = value.split(',').map((s) => s.trim());
  const step = requireInt('--damage (step)', parts[0], 0, 1e6);
  const shape = parts[1] === undefined || parts[1] === '' ? 'square' : parts[1];
  if (shape !== 'square' && shape !== 'disc') throw new UserError(`--damage: the shape must be square or disc, got ${shape} (e.g. --damage 200,disc,0.3)`);
  const num = (s: string | undefined, fallback: number, what: string) => {
    if (s === undefined || s === '') return fallback;
    const n = Number(s);
    if (!/^[0-9.]+$/.test(s) || !(n >= 0 && n <= 1)) throw new UserError(`--damage: ${what} must be a number in 0..1, got ${s}`);
    return n;
  };
  if (parts.length > 5 || parts.length === 4) throw new UserError('--damage takes STEP[,SHAPE[,SIZE[,X,Y]]], e.g. --damage 200,disc,0.3,0.4,0.5');
  return { step, shape, size: num(parts[2], 0.3, 'the size'), x: num(parts[3], 0.5, 'x'), y: num(parts[4], 0.5, 'y') };
}

export interface GrowFileRender {
  out: string;
  framesWritten: number;
  width: number;
  height: number;
  /** Steps played after the start. */
  steps: number;
  seconds: number;
  /** The motion metrics of every step's picture, as render()'s (src/core/metrics.ts; a grown shape is 'static'). */
  motion: Omit<RunStats, 'std'> & { meanChange: number; lastChange: number; lastStd: number };
}

/** The visible planes [3][H][W] (0..1) of a picture drawn at `scale` pixels per cell (one pixel per cell read). */
function picturePlanes(frame: RgbaImage, scale: number, out: Float32Array): Float32Array {
  const w = frame.width / scale, h = frame.height / scale, plane = w * h;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const o = (y * scale * frame.width + x * scale) * 4;
      for (let c = 0; c < 3; c++) out[c * plane + y * w + x] = frame.data[o + c]! / 255;
    }
  return out;
}

/**
 * `nca render --params growing-nca.json`: plays the file into a .gif (every `every`-th frame) or a
 * .png (the last frame), written atomically. A growing rule runs on its training grid from one cell;
 * a texture rule on `size` from noise.
 */
export async function renderGrowFile(json: unknown, where: string, opts: { out: string; steps: number; every: number; scale: number; fps: number; seed: number | string; threads?: number; size?: { width: number; height: number }; damage?: string; onProgress?: (done: number, total: number) => void; signal?: AbortSignal }): Promise<GrowFileRender> {
  const { info } = parseGrowParams(json, where);
  const ext = opts.out.toLowerCase().slice(opts.out.lastIndexOf('.'));
  if (ext !== '.gif' && ext !== '.png') throw new UserError(`a growing-NCA parameters file renders to a .gif or a .png (the last frame); got ${opts.out}`);
  const damage = opts.damage === undefined ? undefined : parseDamage(opts.damage);
  const grid = info.kind === 'texture' && opts.size ? opts.size : { width: info.width, height: info.height };
  const t0 = performance.now();
  const { GifWriter } = await import('../io/gif.js');
  const { writeFileAtomic } = await import('../io/atomic.js');
  const { writePng } = await import('../io/png.js');
  let gif: InstanceType<typeof GifWriter> | null = null;
  let last: RgbaImage | null = null;
  let written = 0;
  const tracker = new MotionTracker(grid.width, grid.height, opts.steps);
  const planes = new Float32Array(3 * grid.width * grid.height);
  const r = await renderGrowParams(json, where, {
    steps: opts.steps,
    ...grid,
    seed: opts.seed,
    threads: opts.threads,
    scale: opts.scale,
    damage,
    onFrame: (frame, step) => {
      if (opts.signal?.aborted) throw Object.assign(new Error('render aborted'), { name: 'AbortError' });
      opts.onProgress?.(step, opts.steps);
      tracker.push(picturePlanes(frame, opts.scale, planes));
      last = frame;
      if (ext === '.gif' && step % opts.every === 0) {
        gif ??= new GifWriter({ width: frame.width, height: frame.height, fps: opts.fps });
        gif.addFrame(frame);
        written++;
      }
    },
  });
  if (ext === '.gif') await writeFileAtomic(opts.out, (gif as InstanceType<typeof GifWriter> | null)!.bytes());
  else {
    await writePng(opts.out, last!);
    written = 1;
  }
  const { std, change, ...stats } = tracker.finish();
  const recent = change.slice(-ALIVE_THRESHOLDS.window);
  const motion = { ...stats, change, meanChange: recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0, lastChange: change.at(-1) ?? 0, lastStd: std.at(-1) ?? 0 };
  return { out: opts.out, framesWritten: written, width: r.width, height: r.height, steps: opts.steps, seconds: (performance.now() - t0) / 1000, motion };
}
