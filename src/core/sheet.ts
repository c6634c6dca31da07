/**
 * Contact sheets (`nca sheet`): one PNG with a grid of renders, one row per latent and one column
 * per chosen frame, so many latents can be judged at a glance (is it alive at frame 500? does it
 * keep structure? what does it look like?).
 *
 * Row r is exactly the render `nca render --latent <z> --seed <seed> --init <init>` makes with the
 * same size and protocol: the same weights (hypernetwork, batch 1), the same start and the same
 * hidden-noise stream (the seed's generator is forked in render's order), so a row worth keeping
 * can be rendered at length with `nca render`. Each row is also classified by the alive measure
 * (MotionTracker, src/core/metrics.ts) at its last frame.
 *
 * Layout (image pixels): a `gutter`-wide border of background around and between the cells; with
 * labels, a header above with each column's frame number and a margin on the left with each row's
 * label, drawn in the built-in 3 x 5 bitmap font (src/core/io/font.ts; x2 when cells are 48 px or
 * taller). With `blocks` > 1 the rows are split into that many side-by-side blocks (a long list of
 * latents stays a readable, roughly square image).
 */
import { UserError, invalidParameterError, optionalFunction, optionalInt, optionalSignal, requireChoice, requireInt, requirePath } from './errors.js';
import { checkImageSize } from './limits.js';
import { GLYPH_HEIGHT, drawText, textWidth } from './io/font.js';
import type { RgbaImage } from './io/image.js';
import { requireLatentVector } from './latent.js';
import { MotionTracker, type AliveClass } from './metrics.js';
import { ncaParams, requireProtocol, type Protocol } from './nca/params.js';
import { startRgb, startState } from './start-state.js';
import { protocolSteps } from './nca/graph.js';
import { LIMITS, type LatentModel } from './render.js';
import { Rng } from './rng.js';

export interface SheetRow {
  /** Drawn in the left margin (upper-cased; keep it short). */
  label: string;
  /** The latent, Float32Array [64]. */
  z: Float32Array;
  /** The render's seed (start and hidden noise). */
  seed: number | string;
}

/** Every option is checked by renderSheet() with these names and ranges (nca sheet's); the sheet stays within OUTPUT_LIMITS. */
export interface SheetOptions {
  /** Grid size in cells, 4..1024 per side. */
  width: number;
  height: number;
  /** Frames to show, ascending, distinct, 0..LIMITS.maxSteps (frame 0 is the start); the run lasts to the last one (>= 1). */
  frames: number[];
  /** Nearest-neighbour upscaling of each cell, 1..16 (default 1). */
  scale?: number;
  /** Pixels of background between and around the cells, 0..64 (default 2). */
  gutter?: number;
  /** Frame numbers above the columns and row labels on the left (default true). */
  labels?: boolean;
  /** Lay the rows out in this many side-by-side blocks, 1..64 (default 1: one column of rows). */
  blocks?: number;
  /** Start grid: uniform noise (the alive measure's start, default) or the model's first-frame decoder. */
  init?: 'noise' | 'decoder';
  /** The model's protocol (default 'frame'). */
  protocol?: Protocol;
  /** onnxruntime threads, 1..64 (default: the number of cores). */
  threads?: number;
  /**
   * A .png path, written atomically; or a .mp4 / .webm video (needs ffmpeg) that animates the sheet:
   * one cell per row, video frame t showing every row at step t, from 0 to the last of `frames`.
   */
  out: string;
  /** Video only: frames (steps) per second, 1..120 (default 30). */
  fps?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface SheetRowSummary {
  label: string;
  seed: number | string;
  /** The alive measure at the last frame. */
  alive: AliveClass;
  coherent: boolean;
  lastStd: number;
  correlation: number;
  drift: number;
}

export interface SheetSummary {
  out: string;
  /** Image size in pixels. */
  width: number;
  height: number;
  /** One cell in pixels (grid size x scale). */
  cell: { width: number; height: number };
  grid: { width: number; height: number };
  frames: number[];
  protocol: Protocol;
  init: 'noise' | 'decoder';
  labels: boolean;
  blocks: number;
  rows: SheetRowSummary[];
  /** Rows alive (and coherent) at the last frame. */
  alive: number;
  coherent: number;
  seconds: { total: number; perRow: number };
  /** An animated sheet's video: frames written and fps. */
  video?: { frames: number; fps: number; width: number; height: number };
}

const BACKGROUND = [24, 24, 24] as const;
const INK = [225, 225, 225] as const;

/** Where everything goes on the sheet, in pixels. */
export interface SheetLayout {
  width: number;
  height: number;
  cellWidth: number;
  cellHeight: number;
  fontScale: number;
  /** Rows are laid out in `blocks` side-by-side blocks of `rowsPerBlock` rows, each with its own header and label margin. */
  blocks: number;
  rowsPerBlock: number;
  /** Left edge of block b. */
  blockX(block: number): number;
  /** Top-left corner of cell (row, column). */
  cellAt(row: number, column: number): { x: number; y: number };
  labelWidth: number;
  headerHeight: number;
}

export function sheetLayout(opts: { rows: number; columns: number; cellWidth: number; cellHeight: number; gutter: number; rowLabels?: string[]; blocks?: number }): SheetLayout {
  const { rows, columns, cellWidth, cellHeight, gutter } = opts;
  const blocks = Math.max(1, Math.min(opts.blocks ?? 1, rows));
  const rowsPerBlock = Math.ceil(rows / blocks);
  const fontScale = cellHeight >= 48 ? 2 : 1;
  const pad = Math.max(2, gutter);
  const labels = opts.rowLabels !== undefined;
  const labelWidth = labels ? opts.rowLabels!.reduce((m, l) => Math.max(m, textWidth(l, fontScale)), 0) + pad : 0;
  const headerHeight = labels ? GLYPH_HEIGHT * fontScale + pad : 0;
  const blockWidth = labelWidth + gutter + columns * (cellWidth + gutter);
  const blockGap = blocks > 1 ? 2 * pad : 0;
  const blockX = (b: number) => b * (blockWidth + blockGap);
  return {
    width: blocks * blockWidth + (blocks - 1) * blockGap,
    height: headerHeight + gutter + rowsPerBlock * (cellHeight + gutter),
    cellWidth,
    cellHeight,
    fontScale,
    blocks,
    rowsPerBlock,
    blockX,
    labelWidth,
    headerHeight,
    cellAt: (row, column) => ({
      x: blockX(Math.floor(row / rowsPerBlock)) + labelWidth + gutter + column * (cellWidth + gutter),
      y: headerHeight + gutter + (row % rowsPerBlock) * (cellHeight + gutter),
    }),
  };
}

/** Check a frame list: ascending, distinct integers >= 0 with a last frame >= 1. */
export function checkFrames(frames: number[]): void {
  if (!Array.isArray(frames)) throw invalidParameterError('frames', 'an array of frame numbers', frames);
  if (frames.length === 0) throw new UserError('give at least one frame, e.g. --frames 0,100,250,500');
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (!Number.isInteger(f) || f < 0 || f > LIMITS.maxSteps) throw new UserError(`frame ${f} is not a frame number; frames are integers 0..${LIMITS.maxSteps}, e.g. --frames 0,100,250,500`);
    if (i > 0 && f <= frames[i - 1]!) throw new UserError(`frames must increase, but ${f} follows ${frames[i - 1]}; e.g. --frames 0,100,250,500`);
  }
  if (frames[frames.length - 1]! < 1) throw new UserError('the last frame must be at least 1 (frame 0 is the start grid)');
}

/** Render every row to its last frame and write the contact sheet PNG. */
export async function renderSheet(model: LatentModel, rows: SheetRow[], opts: SheetOptions): Promise<SheetSummary> {
  const t0 = performance.now();
  if (typeof opts !== 'object' || opts === null) throw invalidParameterError('options', 'an object { width, height, frames, out, ... }', opts);
  if (typeof model !== 'object' || model === null || typeof model.hypernetwork !== 'function' || typeof model.decodeFirstFrame !== 'function') {
    throw invalidParameterError('model', 'a model with hypernetwork() and decodeFirstFrame() (see loadModel)', model);
  }
  const W = requireInt('width', opts.width, 4, 1024);
  const H = requireInt('height', opts.height, 4, 1024);
  const frames = opts.frames;
  const scale = optionalInt('scale', opts.scale, 1, 16, 1);
  const gutter = optionalInt('gutter', opts.gutter, 0, 64, 2);
  if (opts.labels !== undefined && typeof opts.labels !== 'boolean') throw invalidParameterError('labels', 'a boolean', opts.labels);
  const labels = opts.labels ?? true;
  const blocks = optionalInt('blocks', opts.blocks, 1, 64, 1);
  const init = opts.init === undefined ? 'noise' : requireChoice('init', opts.init, ['noise', 'decoder'] as const);
  const protocolName: Protocol = opts.protocol === undefined ? 'frame' : requireProtocol('protocol', opts.protocol);
  const threads = opts.threads === undefined ? undefined : requireInt('threads', opts.threads, 1, 64);
  const onProgress = optionalFunction('onProgress', opts.onProgress);
  const signal = optionalSignal('signal', opts.signal);
  const out = requirePath('out', opts.out);
  const protocol = protocolSteps(protocolName);
  if (!Array.isArray(rows)) throw invalidParameterError('rows', 'an array of { label, z, seed }', rows);
  if (rows.length === 0) throw new UserError('a contact sheet needs at least one row (latent)');
  const { videoFormat } = await import('./video/writer.js');
  const video = videoFormat(out) !== null;
  if (!video && !out.toLowerCase().endsWith('.png')) throw new UserError(`cannot write ${out}: a contact sheet is a .png file (or an animated .mp4 or .webm)`);
  const fps = optionalInt('fps', opts.fps, 1, 120, 30);
  checkFrames(frames);
  rows = rows.map((r, i) => {
    if (typeof r !== 'object' || r === null) throw invalidParameterError(`rows[${i}]`, 'a row { label, z, seed }', r);
    if (typeof r.label !== 'string') throw invalidParameterError(`rows[${i}].label`, 'a string', r.label);
    const seed = typeof r.seed === 'string' ? r.seed : requireInt(`rows[${i}].seed`, r.seed, 0, 2 ** 32 - 1);
    return { label: r.label, z: requireLatentVector(`rows[${i}].z`, r.z), seed };
  });
  const steps = frames[frames.length - 1]!;
  const plane = W * H;
  const columns = video ? 1 : frames.length;
  const layout = sheetLayout({ rows: rows.length, columns, cellWidth: W * scale, cellHeight: H * scale, gutter, rowLabels: labels ? rows.map((r) => r.label) : undefined, blocks });
  checkImageSize(`a sheet of ${rows.length} rows x ${frames.length} frames of ${W * scale}x${H * scale} px cells`, layout.width, layout.height, 'use fewer rows or frames, more --blocks, a smaller --size or --scale');

  // The canvas: background, then labels, then cells as the runs reach their frames.
  const sheet: RgbaImage = { width: layout.width, height: layout.height, data: new Uint8Array(layout.width * layout.height * 4) };
  const px = new Uint32Array(sheet.data.buffer);
  px.fill(new Uint32Array(new Uint8Array([...BACKGROUND, 255]).buffer)[0]!);
  if (labels) {
    const fs = layout.fontScale;
    for (let b = 0; b < layout.blocks && !video; b++) {
      frames.forEach((f, c) => {
        const { x } = layout.cellAt(b * layout.rowsPerBlock, c);
        drawText(sheet, String(f), x + Math.max(0, Math.floor((layout.cellWidth - textWidth(String(f), fs)) / 2)), Math.floor((layout.headerHeight - GLYPH_HEIGHT * fs) / 2), INK, fs);
      });
    }
    rows.forEach((r, i) => {
      const { y } = layout.cellAt(i, 0);
      drawText(sheet, r.label, layout.blockX(Math.floor(i / layout.rowsPerBlock)) + gutter, y + Math.floor((layout.cellHeight - GLYPH_HEIGHT * fs) / 2), INK, fs);
    });
  }
  const { planarToRgba } = await import('./io/image.js');
  const cell = new Uint8Array(layout.cellWidth * layout.cellHeight * 4);
  const cellPx = new Uint32Array(cell.buffer);
  const blit = (visible: Float32Array, row: number, column: number) => {
    planarToRgba(visible, W, H, scale, cell);
    const { x, y } = layout.cellAt(row, column);
    for (let j = 0; j < layout.cellHeight; j++) px.set(cellPx.subarray(j * layout.cellWidth, (j + 1) * layout.cellWidth), (y + j) * layout.width + x);
  };

  const { createEngine } = await import('./nca/engine.js');
  if (video) {
    // Every row at step t in video frame t: all rows' engines advance together, CHUNK steps at a time.
    const { openVideoWriter } = await import('./video/writer.js');
    type RowRun = Awaited<ReturnType<typeof rowStart>> & { tracker: MotionTracker; x: Float32Array; engine: Awaited<ReturnType<typeof createEngine>> };
    const rowsState: RowRun[] = [];
    for (const row of rows) {
      const rs = await rowStart(model, row, { W, H, init, protocolName });
      const tracker = new MotionTracker(W, H, steps);
      tracker.push(rs.startRgb);
      rowsState.push({ ...rs, tracker, x: rs.state, engine: await createEngine(rs.params, { width: W, height: H, protocol, threads, rng: rs.engineRng }) });
    }
    const CHUNK = 8;
    const shown = rows.map(() => Array.from({ length: CHUNK }, () => new Float32Array(3 * plane)));
    let writer: Awaited<ReturnType<typeof openVideoWriter>> | null = null;
    let written = 0;
    try {
      writer = await openVideoWriter({ out, width: layout.width, height: layout.height, fps, filter: 'nearest', signal });
      rowsState.forEach((r, i) => blit(r.startRgb, i, 0));
      await writer.addFrame(sheet.data);
      written++;
      for (let done = 0; done < steps; done += CHUNK) {
        const n = Math.min(CHUNK, steps - done);
        for (let r = 0; r < rowsState.length; r++) {
          const row = rowsState[r]!;
          row.x = await row.engine.run(row.x, n, (k, v) => {
            row.tracker.push(v);
            shown[r]![k - 1]!.set(v.subarray(0, 3 * plane));
          }, signal);
        }
        for (let k = 0; k < n; k++) {
          for (let r = 0; r < rowsState.length; r++) blit(shown[r]![k]!, r, 0);
          await writer.addFrame(sheet.data);
          written++;
        }
        onProgress?.(done + n, steps);
      }
      await writer.finish();
    } catch (e) {
      await writer?.abort();
      throw e;
    } finally {
      for (const r of rowsState) await r.engine.dispose();
    }
    const summariesV = rows.map((row, i) => {
      const st = rowsState[i]!.tracker.finish();
      return { label: row.label, seed: row.seed, alive: st.alive, coherent: st.coherent, lastStd: st.std.at(-1) ?? 0, correlation: st.correlation, drift: st.drift };
    });
    const secondsV = (performance.now() - t0) / 1000;
    return {
      out, width: layout.width + (layout.width % 2), height: layout.height + (layout.height % 2), cell: { width: layout.cellWidth, height: layout.cellHeight }, grid: { width: W, height: H },
      frames: [0, steps], protocol: protocolName, init, labels, blocks: layout.blocks, rows: summariesV,
      alive: summariesV.filter((x) => x.alive === 'alive').length, coherent: summariesV.filter((x) => x.coherent).length,
      seconds: { total: secondsV, perRow: secondsV / rows.length },
      video: { frames: written, fps, width: layout.width + (layout.width % 2), height: layout.height + (layout.height % 2) },
    };
  }
  const summaries: SheetRowSummary[] = [];
  const total = rows.length * steps;
  let lastReport = 0;
  for (let r = 0; r < rows.length; r++) {
    signal?.throwIfAborted();
    const row = rows[r]!;
    const { params, state, startRgb, engineRng } = await rowStart(model, row, { W, H, init, protocolName });

    const tracker = new MotionTracker(W, H, steps);
    tracker.push(startRgb);
    let column = 0;
    if (frames[0] === 0) blit(startRgb, r, column++);
    const engine = await createEngine(params, { width: W, height: H, protocol, threads, rng: engineRng });
    try {
      await engine.run(state, steps, (k, visible) => {
        tracker.push(visible);
        if (k === frames[column]) blit(visible, r, column++);
        if (onProgress && (k === steps || performance.now() - lastReport > 100)) {
          lastReport = performance.now();
          onProgress(r * steps + k, total);
        }
      }, signal);
    } finally {
      await engine.dispose();
    }
    const s = tracker.finish();
    summaries.push({ label: row.label, seed: row.seed, alive: s.alive, coherent: s.coherent, lastStd: s.std.at(-1) ?? 0, correlation: s.correlation, drift: s.drift });
  }

  const { encodePng } = await import('./io/png.js');
  const { writeFileAtomic } = await import('./io/atomic.js');
  await writeFileAtomic(out, encodePng(sheet));
  const seconds = (performance.now() - t0) / 1000;
  return {
    out,
    width: layout.width,
    height: layout.height,
    cell: { width: layout.cellWidth, height: layout.cellHeight },
    grid: { width: W, height: H },
    frames,
    protocol: protocolName,
    init,
    labels,
    blocks: layout.blocks,
    rows: summaries,
    alive: summaries.filter((s) => s.alive === 'alive').length,
    coherent: summaries.filter((s) => s.coherent).length,
    seconds: { total: seconds, perRow: seconds / rows.length },
  };
}

/**
 * A row's weights, start state [16][H][W] (src/core/start-state.ts) and engine noise generator, drawn
 * in nca render's order: its latent schedule's fork (perturbation, unused here), the start, the hidden noise.
 */
async function rowStart(model: LatentModel, row: SheetRow, o: { W: number; H: number; init: 'noise' | 'decoder'; protocolName: Protocol }) {
  const rng = new Rng(row.seed);
  rng.fork();
  const initRng = rng.fork();
  const engineRng = rng.fork();
  const params = ncaParams(await model.hypernetwork(row.z, 1), `the model's NCA weights for row ${row.label}`);
  const state = await startState({ kind: o.init }, { width: o.W, height: o.H, protocol: o.protocolName, rng: initRng, decoder: { model, z: row.z } });
  return { params, state, startRgb: startRgb(state, o.W * o.H, o.protocolName), engineRng };
}
