/**
 * The hold term's songs (docs/training.md, "Twins", "Held songs, and the running statistics"): an encoder fine-tune that moves the
 * own synthesiser's notes (the twin term) also moves the latents of music it never sees, and a music video
 * draws those latents. With `holdSongs` > 0 the hold term also holds the 2-second windows of that many songs
 * composed by code (audio/song.ts, rendered by the default soundfont) where the initFrom model's encoder puts them.
 *
 * The songs: seeds HELD_SONG_SEED, HELD_SONG_SEED + 1, ... (the music-video benches use seeds 1-10, so no
 * measured song is held), styles in SONG_STYLES' order in turn, HELD_SONG_SECONDS long; every song's windows
 * start every HELD_WINDOW_HOP seconds, as encoder contexts (encode.ts' contextFrames, the pictures of the
 * training data's recipe): the input a music video's track gives the encoder.
 */
import type { PictureStyle } from '../../audio/pictures.js';
import type { Soundfont } from '../../audio/soundfont.js';
import { SONG_STYLES, renderSong } from '../../audio/song.js';
import { ANALYSIS_RATE } from '../../audio/spectrogram.js';
import { requireInt } from '../../errors.js';
import type { Rng } from '../../rng.js';

/** The first held song's seed; song i has seed HELD_SONG_SEED + i. */
export const HELD_SONG_SEED = 1000;
/** Seconds of each held song. */
export const HELD_SONG_SECONDS = 30;
/** Seconds between the starts of a song's held windows. */
export const HELD_WINDOW_HOP = 1;
/** The most songs a run may hold. */
export const HELD_SONGS_MAX = 64;

/** The held windows' encoder contexts: `contexts` [count][size], size = 3 x contextFrames x frameSize^2. */
export interface HeldSongWindows {
  contexts: Float32Array;
  count: number;
  size: number;
}

/**
 * The windows of `songs` held songs as encoder contexts ([count][3 x contextFrames][32][32]); `onSong(done)`
 * after each song. Deterministic: the same songs give the same contexts.
 */
export async function heldSongWindows(songs: number, opts: { contextFrames: number; pictures?: PictureStyle; soundfont?: Soundfont; onSong?: (done: number) => void }): Promise<HeldSongWindows> {
  requireInt('held songs', songs, 1, HELD_SONGS_MAX);
  // loaded here, not at the top: settings.ts reads HELD_SONGS_MAX, and needs neither the synthesiser nor onnxruntime
  const [{ Soundfont }, { WINDOW_SECONDS, contextFrames }] = await Promise.all([import('../../audio/soundfont.js'), import('../encode.js')]);
  const soundfont = opts.soundfont ?? (await Soundfont.load());
  const perSong = Math.floor((HELD_SONG_SECONDS - WINDOW_SECONDS) / HELD_WINDOW_HOP) + 1;
  const windowLength = Math.round(WINDOW_SECONDS * ANALYSIS_RATE);
  let contexts: Float32Array | null = null;
  let size = 0;
  for (let i = 0; i < songs; i++) {
    const { samples } = await renderSong(soundfont, { style: SONG_STYLES[i % SONG_STYLES.length]!, seconds: HELD_SONG_SECONDS, seed: HELD_SONG_SEED + i }, ANALYSIS_RATE);
    for (let w = 0; w < perSong; w++) {
      const start = Math.round(w * HELD_WINDOW_HOP * ANALYSIS_RATE);
      const context = contextFrames(samples.subarray(start, start + windowLength), ANALYSIS_RATE, opts.contextFrames, opts.pictures);
      if (!contexts) (size = context.length), (contexts = new Float32Array(songs * perSong * size));
      contexts.set(context, (i * perSong + w) * size);
    }
    opts.onSong?.(i + 1);
  }
  return { contexts: contexts!, count: songs * perSong, size };
}

/** `rows` windows drawn with replacement from `held` by `rng`, copied into `out` ([rows][size], reused across iterations). */
export function drawHeldWindows(rng: Rng, held: HeldSongWindows, rows: number, out: Float32Array): Float32Array {
  if (out.length !== rows * held.size) throw new Error(`drawHeldWindows: ${out.length} values for ${rows} windows of ${held.size}`);
  for (let r = 0; r < rows; r++) {
    const w = rng.int(held.count);
    out.set(held.contexts.subarray(w * held.size, (w + 1) * held.size), r * held.size);
  }
  return out;
}
