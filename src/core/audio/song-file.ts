/**
 * A song as a person gives it to `nca render --audio`: a WAV file (audio/wav.ts) or a Standard MIDI File
 * played by a SoundFont (audio/soundfont.ts `renderMidi`: every note, pedal and controller of the file;
 * the default bank TimGM6mb). The analysis (the latent track, the reactions) reads mono samples at the
 * analysis rate; the video carries the song's own sound: the WAV file itself, or the MIDI render at
 * 44.1 kHz in stereo, peak-normalised to -1 dBFS (a soundfont plays well below full scale; the analysis
 * reads the mono mix as the soundfont plays it).
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
  const { left, right } = await soundfont.renderMidiStereo(midi, { sampleRate: MIDI_SOUND_RATE });
  const frames = left.length;
  const mono = new Float32Array(frames), stereo = new Float32Array(2 * frames);
  let peak = 0;
  for (let i = 0; i < frames; i++) {
    mono[i] = 0.5 * (left[i]! + right[i]!);
    peak = Math.max(peak, Math.abs(left[i]!), Math.abs(right[i]!));
  }
  const gain = peak > 0 ? PEAK_LEVEL / peak : 1;
  for (let i = 0; i < frames; i++) (stereo[2 * i] = gain * left[i]!), (stereo[2 * i + 1] = gain * right[i]!);
  const samples = resample(mono, MIDI_SOUND_RATE, ANALYSIS_RATE);
  return { file, samples, sampleRate: ANALYSIS_RATE, seconds: frames / MIDI_SOUND_RATE, warnings: [], sound: { kind: 'samples', samples: stereo, sampleRate: MIDI_SOUND_RATE, channels: 2 } };
}
