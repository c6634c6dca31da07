import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDataset, defaultPlan } from './dataset.js';
import { melSpectrogram } from './mel.js';
import { decodeWav } from './wav.js';
import { median } from '../stats.js';

/**
 * Audio benchmark figures for `nca bench` (medians over `repeats` runs, and the first run):
 * - decoding a 3-minute 44.1 kHz stereo 16-bit WAV (made in memory) to 22050 Hz mono, and its
 *   128-band mel spectrogram (nFft 2048, hop 512); target for both together: under 0.5 s;
 * - building training clips (synthesis + features + spectrogram + circles), per clip, and the
 *   default dataset's estimated build time and size (or measured, with full: true).
 */
export interface AudioBenchResult {
  /** Decode + resample of the 3-minute file, ms. */
  decodeMs: number;
  /** Mel spectrogram of the decoded 3 minutes, ms. */
  melMs: number;
  decodeMelMs: number;
  /** The first run (includes JIT warm-up, as a one-off CLI call pays it). */
  firstDecodeMelMs: number;
  /** Clips built for the dataset measurement and their time. */
  datasetClips: number;
  datasetMsPerClip: number;
  /** Default dataset (1152 clips): build seconds and bytes on disk (estimated from the sample unless full). */
  datasetDefaultClips: number;
  datasetDefaultSeconds: number;
  datasetDefaultBytes: number;
  datasetMeasured: 'full' | 'sample';
}

/** A RIFF/WAVE 16-bit PCM file in memory: `seconds` of a chord with some noise, stereo, 44.1 kHz. */
export function syntheticSongWav(seconds = 180, rate = 44100): Uint8Array {
  const frames = Math.round(seconds * rate);
  const bytes = new Uint8Array(44 + frames * 4);
  const v = new DataView(bytes.buffer);
  const ascii = (o: number, s: string): void => [...s].forEach((c, i) => v.setUint8(o + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + frames * 4, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 2, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 4, true);
  v.setUint16(32, 4, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, frames * 4, true);
  const pcm = new Int16Array(bytes.buffer, 44, frames * 2);
  let noise = 12345;
  for (let i = 0; i < frames; i++) {
    const t = i / rate;
    noise = (Math.imul(noise, 1103515245) + 12345) | 0;
    const s = 0.2 * Math.sin(2 * Math.PI * 220 * t) + 0.15 * Math.sin(2 * Math.PI * 277.2 * t) + 0.1 * Math.sin(2 * Math.PI * 329.6 * t) + 0.02 * (noise / 2 ** 31);
    pcm[2 * i] = Math.round(s * 32767);
    pcm[2 * i + 1] = Math.round(s * 0.8 * 32767);
  }
  return bytes;
}

export async function benchmarkAudio(opts: { repeats?: number; full?: boolean; sampleClips?: number } = {}): Promise<AudioBenchResult> {
  const repeats = opts.repeats ?? 3;
  const wav = syntheticSongWav();
  const decodeTimes: number[] = [];
  const melTimes: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const decoded = decodeWav(wav);
    const t1 = performance.now();
    melSpectrogram(decoded.samples, { sampleRate: decoded.sampleRate, nMels: 128 });
    const t2 = performance.now();
    decodeTimes.push(t1 - t0);
    melTimes.push(t2 - t1);
  }
  const fullPlan = defaultPlan();
  const stepBy = opts.full ? 1 : Math.max(1, Math.floor(fullPlan.length / (opts.sampleClips ?? 96)));
  const plan = fullPlan.filter((_, i) => i % stepBy === 0);
  const dir = await mkdtemp(join(tmpdir(), 'nca-bench-dataset-'));
  try {
    const built = await buildDataset({ outDir: dir, plan });
    const perClip = (built.seconds * 1000) / plan.length;
    const scale = fullPlan.length / plan.length;
    return {
      decodeMs: median(decodeTimes),
      melMs: median(melTimes),
      decodeMelMs: median(decodeTimes.map((d, i) => d + melTimes[i]!)),
      firstDecodeMelMs: decodeTimes[0]! + melTimes[0]!,
      datasetClips: plan.length,
      datasetMsPerClip: perClip,
      datasetDefaultClips: fullPlan.length,
      datasetDefaultSeconds: built.seconds * scale,
      datasetDefaultBytes: Math.round(built.bytesOnDisk * scale),
      datasetMeasured: opts.full ? 'full' : 'sample',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
