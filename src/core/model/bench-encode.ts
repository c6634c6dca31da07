import { INSTRUMENTS, synthesize } from '../audio/synth.js';
import { Rng } from '../rng.js';
import { trackLength } from '../audio/sliding-contexts.js';
import { encodeTrack, type TrackEncoder } from './encode.js';
import { ANALYSIS_RATE } from '../audio/spectrogram.js';
import { median } from '../stats.js';

/**
 * The track-encoding figure of `nca bench`: seconds to encode a song as a 12 fps track
 * (`encodeTrack`, fast path: shared STFT + onnxruntime encoder), from samples already decoded to
 * 22050 Hz mono (decoding a WAV is the audio bench's figure). The song is synthesised (a minute,
 * repeated): notes of every instrument starting 0.3-1.5 s apart (sometimes after a 1-s rest),
 * each ringing 0.5-2 s.
 */
export interface TrackBenchResult {
  /** Seconds of audio encoded. */
  audioSeconds: number;
  fps: number;
  points: number;
  /** Median wall seconds of `repeats` runs. */
  seconds: number;
  /** Per track point, ms. */
  msPerPoint: number;
  /** Extrapolated to a 10-minute file (= seconds when the bench audio is 10 minutes long). */
  tenMinuteSeconds: number;
  /** Encoding rate: seconds of audio per second of wall time. */
  realtimeFactor: number;
  repeats: number;
  /** One line for people, e.g. "encode track 10 min @12 fps: 3.1 s (measured)". */
  figure: string;
}

/** Mono samples of a synthesised song of `seconds` at `sampleRate` (deterministic for a seed). */
export function synthSong(seconds: number, opts: { sampleRate?: number; seed?: number } = {}): Float32Array {
  const sampleRate = opts.sampleRate ?? ANALYSIS_RATE;
  const rng = new Rng(opts.seed ?? 0);
  const out = new Float32Array(Math.round(seconds * sampleRate));
  let t = 0;
  while (t < seconds) {
    const duration = 0.5 + 1.5 * rng.uniform();
    const note = synthesize({
      instrument: INSTRUMENTS[rng.int(INSTRUMENTS.length)]!,
      midi: 48 + rng.int(36),
      duration,
      velocity: 0.4 + 0.6 * rng.uniform(),
      sampleRate,
      seed: rng.int(1 << 30),
    });
    const at = Math.round(t * sampleRate);
    for (let i = 0; i < note.length && at + i < out.length; i++) out[at + i]! += 0.5 * note[i]!;
    t += 0.3 + 1.2 * rng.uniform() + (rng.uniform() < 0.1 ? 1 : 0);
  }
  return out;
}

/** Encode `audioSeconds` of a synthesised song as a track `repeats` times (default 10 minutes, 3 runs). */
export async function benchmarkTrackEncoding(model: TrackEncoder, opts: { audioSeconds?: number; fps?: number; repeats?: number; threads?: number } = {}): Promise<TrackBenchResult> {
  const audioSeconds = opts.audioSeconds ?? 600;
  const fps = opts.fps ?? 12;
  const repeats = opts.repeats ?? 3;
  // a minute of song, repeated (synthesising 10 minutes would take longer than encoding them)
  const minute = synthSong(Math.min(60, audioSeconds));
  const samples = new Float32Array(Math.round(audioSeconds * ANALYSIS_RATE));
  for (let at = 0; at < samples.length; at += minute.length) samples.set(minute.subarray(0, Math.min(minute.length, samples.length - at)), at);
  // warm-up (compilation, worker start-up paths, onnxruntime's first runs): untimed, on 10 s
  await encodeTrack(model, samples.subarray(0, Math.min(samples.length, 10 * ANALYSIS_RATE)), { fps, threads: opts.threads });
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await encodeTrack(model, samples, { fps, threads: opts.threads });
    times.push((performance.now() - t0) / 1000);
  }
  const points = trackLength(samples.length, fps);
  const seconds = median(times);
  const tenMinutePoints = trackLength(600 * ANALYSIS_RATE, fps);
  return {
    audioSeconds,
    fps,
    points,
    seconds,
    msPerPoint: (seconds * 1000) / points,
    tenMinuteSeconds: (seconds * tenMinutePoints) / points,
    realtimeFactor: audioSeconds / seconds,
    repeats,
    figure: `encode track 10 min @${fps} fps: ${((seconds * tenMinutePoints) / points).toFixed(1)} s (${audioSeconds >= 600 ? `measured, median of ${repeats}` : `extrapolated from ${audioSeconds} s of audio`})`,
  };
}
