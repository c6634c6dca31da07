/**
 * The music-video measure in `nca bench` (docs/music-video.md#figures): songs composed by code
 * (audio/song.ts) in several styles, or real pieces from Standard MIDI Files (fixtures/songs/), rendered
 * by the TimGM6mb soundfont, encoded as a latent track, played by renderReactive, and scored from the
 * frames and the audio alone (measure.ts).
 */
import { loadavg } from 'node:os';
import { UserError } from '../errors.js';
import type { RgbaImage } from '../io/image.js';
import type { SongStyle } from '../audio/song.js';
import type { PulseKind } from './effects.js';
import { renderReactive, type ColourMode, type ExposureMode } from './index.js';
import type { FrameFeatures } from './features.js';
import { FrameMeter, flatFraction, reactionScores, type ReactionScores, type VisualSeries } from './measure.js';
import type { ReactStrengths } from './plan.js';

export interface ReactMeasureOptions {
  /** The songs: a style of audio/song.ts (composed by code) or the path of a .mid file (default rock, jazz, electronic). */
  styles?: string[];
  /** Seconds of each song (default 30). */
  seconds?: number;
  /**
   * Where a MIDI file's excerpt starts: seconds after its first note (at most the piece's length less the
   * excerpt's), or 'middle' (the excerpt centred on the piece; default 0). Composed songs start at 0.
   */
  fromSeconds?: number | 'middle';
  width?: number;
  height?: number;
  fps?: number;
  seed?: number;
  react?: ReactStrengths;
  smooth?: number;
  /** Experiments, as renderReactive's options of the same names (docs/music-video.md#what-was-tried). */
  pulseKind?: PulseKind;
  colourMode?: ColourMode;
  onsetSteps?: number;
  hueHighPass?: number;
  pulseLoudness?: number;
  exposureMode?: ExposureMode;
  ringDucking?: number;
  pulseZoom?: number;
  pulseDecay?: number | 'state';
  /** Circular shifts of the audio for the controls, seconds (default: every whole frame from 4 to 13 s, measure.ts controlShifts). */
  shifts?: number[];
  /** Writes a still strip (PNG) of the first song: `stripFrames` frames evenly spaced, upscaled by stripScale. */
  stripPath?: string;
  stripFrames?: number;
  stripScale?: number;
  threads?: number;
  /** The model folder (default: the shipped fixtures/model). */
  model?: string;
  onProgress?: (label: string) => void;
  /** Called with each song's series (for analyses of the measure beyond these figures; bench/react-measure.mjs). */
  onSeries?: (series: SongSeries) => void;
}

/** One song's per-frame series: its audio features, the frames' visual series and the plan's hue and steps. */
export interface SongSeries {
  /** The style, or a MIDI file's name. */
  style: string;
  /** Beats per minute (a MIDI file's first tempo). */
  tempo: number;
  seed: number;
  features: FrameFeatures;
  visual: VisualSeries;
  planHue: Float32Array;
  planSteps: Uint8Array;
}

export interface SongFigure {
  /** The style, or a MIDI file's name. */
  style: string;
  /** Beats per minute (a MIDI file's first tempo). */
  tempo: number;
  /** Where the excerpt starts in the piece (MIDI files; 0 for composed songs). */
  fromSeconds: number;
  seconds: number;
  frames: number;
  steps: number;
  renderSeconds: number;
  /** r, the controls (median |score| over the shifts) and the perfect follower's controls (measure.ts). */
  scores: ReactionScores;
  /**
   * The same with the controls on the whole-second shifts 4, 5, ..., 13 s of the first version of this
   * measure (reported beside the new ones; docs/music-video.md#the-measure says why they were replaced).
   */
  scoresWholeSeconds: ReactionScores;
  /** The fraction of frames with hardly any pattern (contrast under FLAT_CONTRAST, measure.ts). */
  flatFrames: number;
}

/** The controls' shifts in the first version of the measure, seconds. */
export const WHOLE_SECOND_SHIFTS = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13];

export interface ReactMeasure {
  size: string;
  fps: number;
  songs: SongFigure[];
  loadAverage: { before: number; after: number };
}

/** Runs the measure on one song per style or MIDI file (see the module comment). */
export async function runReactMeasure(opts: ReactMeasureOptions = {}): Promise<ReactMeasure> {
  const { SONG_STYLES, renderSong, parseMidiFile, midiSeconds } = await import('../audio/song.js');
  const { isMidiPath } = await import('../audio/song-file.js');
  const sources = opts.styles ?? ['rock', 'jazz', 'electronic'];
  for (const s of sources) {
    if (!(SONG_STYLES as readonly string[]).includes(s) && !isMidiPath(s)) throw new UserError(`unknown song "${s}"; use a style (${SONG_STYLES.join(', ')}) or the path of a .mid file`);
  }
  const seconds = opts.seconds ?? 30;
  const W = opts.width ?? 96, H = opts.height ?? 54, fps = opts.fps ?? 30;
  const before = loadavg()[0]!;
  const { Soundfont } = await import('../audio/soundfont.js');
  const { loadModel } = await import('../model/networks.js');
  const { encodeTrack } = await import('../model/encode.js');
  const { readInput } = await import('../io/read.js');
  const { basename } = await import('node:path');
  const soundfont = await Soundfont.load();
  const model = await loadModel(opts.model);
  const songs: SongFigure[] = [];
  try {
    for (const [n, source] of sources.entries()) {
      let style: string, tempo: number, samples: Float32Array, from = 0;
      if ((SONG_STYLES as readonly string[]).includes(source)) {
        opts.onProgress?.(`music video measure: ${source} song, ${seconds} s, ${W}x${H} at ${fps} fps`);
        const r = await renderSong(soundfont, { style: source as SongStyle, seconds, seed: opts.seed ?? 1 });
        (style = source), (tempo = r.song.tempo), (samples = r.samples);
      } else {
        const midi = await parseMidiFile(await readInput(source, 'MIDI file', 'midi'), source);
        const length = midiSeconds(midi);
        if (length < seconds) throw new UserError(`${source} lasts ${length.toFixed(1)} s, shorter than the ${seconds}-s excerpt; give a longer piece or a shorter excerpt`);
        from = opts.fromSeconds === 'middle' ? Math.round((length - seconds) / 2) : Math.min(opts.fromSeconds ?? 0, length - seconds);
        opts.onProgress?.(`music video measure: ${basename(source)} from ${from} s, ${seconds} s, ${W}x${H} at ${fps} fps`);
        samples = await soundfont.renderMidi(midi, { fromSeconds: from, seconds });
        (style = basename(source)), (tempo = Math.round(midi.tempoChanges.find((c) => c.ticks <= midi.firstNoteOn)?.tempo ?? 120));
      }
      const track = await encodeTrack(model, samples, { fps, threads: opts.threads });
      const meter = new FrameMeter(W, H);
      const strip: RgbaImage[] = [];
      const frameCount = Math.ceil(seconds * fps - 1e-9);
      const stripEvery = Math.max(1, Math.floor(frameCount / (opts.stripFrames ?? 8)));
      const t0 = performance.now();
      const summary = await renderReactive(model, {
        samples, track, width: W, height: H, fps, seed: opts.seed ?? 1, react: opts.react, smooth: opts.smooth,
        pulseKind: opts.pulseKind, colourMode: opts.colourMode, onsetSteps: opts.onsetSteps, hueHighPass: opts.hueHighPass, pulseLoudness: opts.pulseLoudness, exposureMode: opts.exposureMode, ringDucking: opts.ringDucking, pulseZoom: opts.pulseZoom, pulseDecay: opts.pulseDecay, threads: opts.threads,
        onFrame: (rgba, i) => {
          meter.push(rgba);
          if (n === 0 && opts.stripPath && i % stripEvery === Math.floor(stripEvery / 2) && strip.length < (opts.stripFrames ?? 8)) strip.push({ width: W, height: H, data: rgba.slice() });
        },
      });
      const renderSeconds = (performance.now() - t0) / 1000;
      const visual = meter.series();
      opts.onSeries?.({ style, tempo, seed: opts.seed ?? 1, features: summary.features, visual, planHue: summary.plan.hue, planSteps: summary.plan.steps });
      songs.push({
        style, tempo, fromSeconds: from, seconds, frames: summary.frames, steps: summary.steps, renderSeconds,
        scores: reactionScores(summary.features, visual, { shiftSeconds: opts.shifts }),
        scoresWholeSeconds: reactionScores(summary.features, visual, { shiftSeconds: WHOLE_SECOND_SHIFTS }),
        flatFrames: flatFraction(visual.contrast),
      });
      if (n === 0 && opts.stripPath && strip.length) await writeStrip(opts.stripPath, strip, opts.stripScale ?? 2);
    }
  } finally {
    model.dispose();
  }
  return { size: `${W}x${H}`, fps, songs, loadAverage: { before, after: loadavg()[0]! } };
}

/** Frames side by side (2-px gaps), upscaled, as a PNG. */
async function writeStrip(path: string, frames: RgbaImage[], scale: number): Promise<void> {
  const { hstack, upscaleNearest } = await import('../io/image.js');
  const { writePng } = await import('../io/png.js');
  await writePng(path, hstack(frames.map((f) => upscaleNearest(f, scale)), 2 * scale));
}

/** The figures as table lines for `nca bench`. */
export function reactMeasureLines(m: ReactMeasure): string[] {
  const f = (x: number) => x.toFixed(2);
  const cell = (s: SongFigure, k: 'onsetChange' | 'loudnessEnergy' | 'centroidHue') =>
    `${f(s.scores[k].r)}${k === 'onsetChange' ? ` (${s.scores.onsetChange.lag})` : ''} / ${f(s.scores[k].control)} [${f(s.scores[k].follower)}] (${f(s.scoresWholeSeconds[k].control)})`;
  return [
    `| music video, ${m.size} cells at ${m.fps} fps: r / audio-shifted control [a perfect follower's control] (the control on whole-second shifts) | onset -> change (lag) | loudness -> brightness | log centroid -> hue | hue swing | flat frames | render s / audio s |`,
    '|---|---|---|---|---|---|---|',
    ...m.songs.map((s) => `| ${s.style} ${s.tempo} bpm, ${s.fromSeconds ? `${s.fromSeconds}-${s.fromSeconds + s.seconds}` : s.seconds} s | ${cell(s, 'onsetChange')} | ${cell(s, 'loudnessEnergy')} | ${cell(s, 'centroidHue')} | ${s.scores.hueSwingDegrees.toFixed(0)} deg | ${(100 * s.flatFrames).toFixed(0)}% | ${f(s.renderSeconds / s.seconds)} |`),
    `music video measure: load average ${m.loadAverage.before.toFixed(2)} before, ${m.loadAverage.after.toFixed(2)} after; controls: median |r| with the audio shifted circularly by every frame from 4 to 13 s (up to the clip's length minus 4 s); targets r >= 0.5 / 0.5 / 0.4, controls <= 0.15`,
  ];
}
