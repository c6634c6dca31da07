// Hand-made timbre features of a sound at 22050 Hz (reference only; bench/family/ceiling.mjs):
// - `cepstralFeatures`: 20 cepstral coefficients (DCT of the log 48-band mel spectrum, FFT 1024, hop 256) averaged
//   over four spans of the first 1.4 s (0-46 ms, 46-232 ms, 0.23-0.70 s, 0.70-1.4 s), the spread of 7 of them in
//   each span, the loudness envelope (16 points relative to its peak) and the peak's frame: 125 numbers.
// - `timbreFeatures`: those plus a harmonic profile (the strongest magnitude within 3% of k f0, k = 1..12, in dB
//   relative to the strongest, at 0.1 s and 0.5 s, and their difference), the spectral flatness and the share of
//   energy on the harmonics: 163 numbers. f0 is the candidate 60..1500 Hz with the largest harmonic sum.
import FFT from 'fft.js';
import { melSpectrogram } from '../../dist/core/audio/mel.js';

const RATE = 22050, BANDS = 48, CEPSTRA = 20;

function dct(x, count) {
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    let s = 0;
    for (let n = 0; n < x.length; n++) s += x[n] * Math.cos((Math.PI * k * (n + 0.5)) / x.length);
    out[k] = s;
  }
  return out;
}

export function cepstralFeatures(samples) {
  const mel = melSpectrogram(samples, { sampleRate: RATE, nMels: BANDS, nFft: 1024, hop: 256 });
  const frames = Math.min(mel.nFrames, Math.round((1.4 * RATE) / 256));
  const logMel = [], loudness = [];
  for (let t = 0; t < frames; t++) {
    const column = new Float64Array(BANDS);
    let energy = 0;
    for (let b = 0; b < BANDS; b++) {
      const v = mel.data[b * mel.nFrames + t];
      energy += v;
      column[b] = Math.log10(v + 1e-10);
    }
    logMel.push(column);
    loudness.push(Math.log10(energy + 1e-10));
  }
  const peak = Math.max(...loudness), peakFrame = loudness.indexOf(peak);
  const out = [];
  for (const [a, b] of [[0, 4], [4, 20], [20, 60], [60, frames]]) {
    const mean = new Float64Array(CEPSTRA), square = new Float64Array(CEPSTRA);
    let n = 0;
    for (let t = a; t < Math.min(b, frames); t++) {
      const c = dct(logMel[t], CEPSTRA);
      for (let k = 0; k < CEPSTRA; k++) (mean[k] += c[k]), (square[k] += c[k] * c[k]);
      n++;
    }
    for (let k = 0; k < CEPSTRA; k++) {
      mean[k] /= n;
      out.push(k === 0 ? mean[k] - peak * BANDS : mean[k]);
    }
    for (let k = 1; k < 8; k++) out.push(Math.sqrt(Math.max(0, square[k] / n - mean[k] ** 2)));
  }
  for (let s = 0; s < 16; s++) out.push(loudness[Math.min(frames - 1, Math.round((s * (frames - 1)) / 15))] - peak);
  out.push(peakFrame);
  return out;
}

const SIZE = 4096, fft = new FFT(SIZE);
const hann = Float64Array.from({ length: SIZE }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / SIZE));
const input = new Float64Array(SIZE), spectrumOut = fft.createComplexArray();

function magnitudes(samples, at) {
  for (let i = 0; i < SIZE; i++) input[i] = (samples[at + i] ?? 0) * hann[i];
  fft.realTransform(spectrumOut, input);
  const mag = new Float64Array(SIZE / 2 + 1);
  for (let b = 0; b <= SIZE / 2; b++) mag[b] = Math.hypot(spectrumOut[2 * b], spectrumOut[2 * b + 1]);
  return mag;
}

function fundamental(mag) {
  const top = Math.max(...mag) + 1e-12;
  let best = 0, f0 = 0;
  for (let f = 60; f <= 1500; f *= 1.0116) {
    let s = 0;
    for (let k = 1; k <= 6; k++) {
      const b = Math.round((k * f * SIZE) / RATE);
      if (b >= SIZE / 2) break;
      s += Math.max(0, Math.log10(Math.max(mag[b - 1], mag[b], mag[b + 1]) / top) + 4) * (k === 1 ? 1.2 : 1);
    }
    if (s > best) (best = s), (f0 = f);
  }
  return f0;
}

function harmonicProfile(mag, f0) {
  const levels = [];
  for (let k = 1; k <= 12; k++) {
    const c = (k * f0 * SIZE) / RATE;
    let a = 1e-9;
    for (let b = Math.floor(c * 0.97); b <= Math.min(Math.ceil(c * 1.03), SIZE / 2); b++) a = Math.max(a, mag[b]);
    levels.push(Math.log10(a));
  }
  const top = Math.max(...levels);
  return levels.map((v) => v - top);
}

export function timbreFeatures(samples) {
  const early = magnitudes(samples, Math.round(0.1 * RATE)), late = magnitudes(samples, Math.round(0.5 * RATE));
  const f0 = fundamental(early);
  const p1 = harmonicProfile(early, f0), p2 = harmonicProfile(late, f0);
  let logSum = 0, sum = 0, onHarmonics = 0, all = 0;
  for (let b = 5; b < 1500; b++) {
    logSum += Math.log(early[b] + 1e-9);
    sum += early[b];
    const f = (b * RATE) / SIZE, k = Math.round(f / f0);
    all += early[b] ** 2;
    if (k >= 1 && Math.abs(f - k * f0) < 0.03 * k * f0 + 12) onHarmonics += early[b] ** 2;
  }
  const flatness = logSum / 1495 - Math.log(sum / 1495 + 1e-9);
  return [...cepstralFeatures(samples), ...p1, ...p2, ...p1.map((v, i) => p2[i] - v), flatness, Math.log10(onHarmonics / (all + 1e-12) + 1e-6)];
}
