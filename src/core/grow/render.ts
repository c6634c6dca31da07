/**
 * Playing a growing-NCA parameters file (`nca render --params`, `nca gallery`): from one cell (or the
 * file's texture start), `steps` steps with the file's stochastic update rate, optionally cutting a
 * region at a chosen step, each frame handed to a callback as RGBA. isGrowParams recognises the file.
 */
import { UserError, requireInt } from '../errors.js';
import { readTextFile } from '../io/read.js';
import type { RgbaImage } from '../io/image.js';
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
