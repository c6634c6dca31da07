/**
 * A song as a person gives it to `nca render --audio`: a WAV file (audio/wav.ts) or a Standard MIDI File
 * played by a SoundFont (audio/soundfont.ts `renderMidi`: every note, pedal and controller of the file;
 * the default bank TimGM6mb). The analysis (the latent track, the reactions) reads mono samples at the
 * analysis rate; the video carries the song's own sound: the WAV file itself, or the MIDI render at
 * 44.1 kHz (mono, peak-normalised to -1 dBFS: a soundfont plays well below full scale; the analysis reads
 * the render as the soundfont plays it).
 */
import { fileURLToPath } from 'node:url';
import { ANALYSIS_RATE } from './spectrogram.js';
import type { VideoAudio } from '../video/writer.js';

/** The real pieces that ship with nca as MIDI files (fixtures/songs/README.md: what they are, their licences). */
export const SONGS_DIR = fileURLToPath(new URL('../../../fixtures/songs', import.meta.url));

/** The rate a MIDI file is rendered at for the video's sound. */
export const MIDI_SOUND_RATE = 44100;
/** The peak of a MIDI render's sound in the video: -1 dBFS. */
const PEAK_LEVEL = 10 ** (-1 / 20);

export interface SongAudio {
  /** The path given. */
  file: string;
  /** Mono samples at `sampleRate` (the analysis rate, 22050 Hz), for the encoder and the reactions. */
  samples: Float32Array;
  sampleRate: number;
  seconds: number;
  /** The decoder's warnings (a WAV's truncated data, ...), one line each. */
  warnings: string[];
  /** The sound a video carries: the WAV file itself, or a MIDI file's render. */
  sound: VideoAudio;
}

/** Whether a path names a Standard MIDI File (by its extension: .mid or .midi). */
export function isMidiPath(path: string): boolean {
  return /\.midi?$/i.test(path);
}

/**
 * Reads a song: a `.mid` / `.midi` file is rendered by the soundfont (`soundfont`, default TimGM6mb), any
 * other path is read as WAV. A file that is neither, or unreadable, is a UserError.
 */
export async function readSongAudio(file: string, opts: { soundfont?: string } = {}): Promise<SongAudio> {
  if (!isMidiPath(file)) {
    const { readWav } = await import('./wav.js');
    const decoded = await readWav(file);
    return { file, samples: decoded.samples, sampleRate: decoded.sampleRate, seconds: decoded.samples.length / decoded.sampleRate, warnings: decoded.warnings, sound: { kind: 'file', path: file } };
  }
  const { readInput } = await import('../io/read.js');
  const { parseMidiFile } = await import('./song.js');
  const { Soundfont } = await import('./soundfont.js');
  const { resample } = await import('./resample.js');
  const midi = await parseMidiFile(await readInput(file, 'MIDI file', 'midi'), file);
  const soundfont = await Soundfont.load(opts.soundfont);
  const rendered = await soundfont.renderMidi(midi, { sampleRate: MIDI_SOUND_RATE });
  const samples = resample(rendered, MIDI_SOUND_RATE, ANALYSIS_RATE);
  let peak = 0;
  for (let i = 0; i < rendered.length; i++) peak = Math.max(peak, Math.abs(rendered[i]!));
  if (peak > 0) {
    const gain = PEAK_LEVEL / peak;
    for (let i = 0; i < rendered.length; i++) rendered[i]! *= gain;
  }
  return { file, samples, sampleRate: ANALYSIS_RATE, seconds: rendered.length / MIDI_SOUND_RATE, warnings: [], sound: { kind: 'samples', samples: rendered, sampleRate: MIDI_SOUND_RATE } };
}
