import { describe, expect, it } from 'vitest';
import Meyda from 'meyda';
import { frameCount, makeWindow, melFilterBank, melSpectrogram, powerToDb, hzToMel, melToHz } from '../src/core/audio/mel.js';
import { Rng } from '../src/core/rng.js';

/** The golden signal (4000 samples at 16 kHz): two tones and a deterministic sawtooth-like ripple. */
function goldenSignal(): Float32Array {
  const sr = 16000;
  return Float32Array.from({ length: 4000 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / sr) + 0.2 * Math.sin((2 * Math.PI * 3000 * i) / sr + 0.5) + 0.05 * (((i * 7919) % 101) / 101 - 0.5));
}

describe('melSpectrogram: golden values', () => {
  // Golden values from an independent numpy implementation of librosa's recipe
  // (filters.mel with Slaney scale and norm, periodic Hann, centred zero-padded STFT, power 2),
  // with non-default parameters: sr 16000, nFft 512, hop 160, nMels 20, fMin 60, fMax 7000.
  const opts = { sampleRate: 16000, nFft: 512, hop: 160, nMels: 20, fMin: 60, fMax: 7000 };
  const mel = melSpectrogram(goldenSignal(), opts);

  it('has the documented shape (nMels, 1 + floor(n / hop)) band-major', () => {
    expect(mel.nMels).toBe(20);
    expect(mel.nFrames).toBe(26);
    expect(mel.data.length).toBe(20 * 26);
    expect(frameCount(4000, opts)).toBe(26);
  });

  it.each([
    [0, 0, 0.18932822252512546],
    [3, 5, 0.1251484970669253],
    [7, 10, 7.93456157545235e-5],
    [12, 12, 0.0002026901150505799],
    [19, 24, 0.004530368507715894],
    [10, 3, 8.055608255040216e-5],
    [1, 10, 3.0504890295],
    [2, 10, 13.449304954],
    [14, 10, 2.1977532724],
  ])('mel[%i][%i] matches', (m, k, expected) => {
    expect(mel.data[m * mel.nFrames + k]!).toBeCloseTo(expected, 6 - Math.ceil(Math.log10(expected)));
    expect(Math.abs(mel.data[m * mel.nFrames + k]! / expected - 1)).toBeLessThan(2e-4);
  });

  it('the filter bank matches (Slaney area norm)', () => {
    const bank = melFilterBank(opts);
    const row15 = bank.subarray(15 * 257, 16 * 257);
    const sum = row15.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(0.032019164637504774, 6);
    expect(row15[97]).toBe(0);
    expect(row15[98]).toBeCloseTo(8.669046242287054e-5, 9);
    expect(row15[129]).toBe(0);
  });

  it('powerToDb with ref max and topDb 80 matches', () => {
    const db = powerToDb(mel.data, { ref: 'max' });
    expect(db[0]!).toBeCloseTo(-18.517674031927967, 3);
    expect(db[19 * 26 + 24]!).toBeCloseTo(-34.728492311228926, 3);
    expect(Math.min(...db)).toBeCloseTo(-54.40586947698187, 3);
    expect(Math.max(...db)).toBeCloseTo(0, 6);
    // floor: a silent band is clamped at max - topDb
    const withZero = powerToDb(Float32Array.of(1, 0), { ref: 'max', topDb: 80 });
    expect(Array.from(withZero)).toEqual([0, -80]);
  });

  it('mel scales round-trip and match known points', () => {
    expect(hzToMel(1000, 'slaney')).toBeCloseTo(15, 10);
    expect(hzToMel(1000, 'htk')).toBeCloseTo(999.9855, 3);
    for (const f of [0, 100, 999, 1000, 4000, 11025]) {
      expect(melToHz(hzToMel(f, 'slaney'), 'slaney')).toBeCloseTo(f, 6);
      expect(melToHz(hzToMel(f, 'htk'), 'htk')).toBeCloseTo(f, 6);
    }
  });

  it('silence gives zeros, never NaN', () => {
    const m = melSpectrogram(new Float32Array(3000));
    expect(m.data.every((v) => v === 0)).toBe(true);
    const db = powerToDb(m.data, { ref: 'max' });
    expect(db.every((v) => Number.isFinite(v))).toBe(true);
  });
});

describe('melSpectrogram against meyda melBands (oracle)', () => {
  const N = 1024;
  const sampleRate = 22050;
  const nMels = 26;
  const rng = new Rng(7);
  // A broadband test frame: noise plus three tones.
  const frame = Float32Array.from({ length: N }, (_, i) => 0.2 * (rng.uniform() - 0.5) + 0.3 * Math.sin(i * 0.11) + 0.1 * Math.sin(i * 0.9) + 0.05 * Math.sin(i * 2.1));
  const meyda = Meyda as unknown as {
    bufferSize: number;
    sampleRate: number;
    melBands: number;
    melFilterBank?: number[][];
    windowingFunction: string;
    extract: (feature: string, signal: Float32Array) => number[];
  };
  meyda.bufferSize = N;
  meyda.sampleRate = sampleRate;
  meyda.melBands = nMels;
  meyda.windowingFunction = 'hanning';
  meyda.melFilterBank = undefined; // meyda does not rebuild it when bufferSize changes
  const theirs = meyda.extract('melBands', frame);
  // meyda's window: symmetric Hann (N - 1 in the denominator).
  const window = Float32Array.from({ length: N }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (N - 1)));
  const frameOpts = { nFft: N, hop: N, center: false, window, sampleRate };

  it('with meyda\'s filter bank, our STFT + power + projection agree to float precision', () => {
    const bank = new Float32Array(nMels * (N / 2 + 1));
    meyda.melFilterBank!.forEach((row, m) => row.forEach((v, b) => {
      if (b < N / 2) bank[m * (N / 2 + 1) + b] = v; // meyda ignores the Nyquist bin
    }));
    const ours = melSpectrogram(frame, { ...frameOpts, filterBank: bank });
    expect(ours.nFrames).toBe(1);
    expect(theirs).toHaveLength(nMels);
    for (let m = 0; m < nMels; m++) expect(Math.log(ours.data[m]! + 1)).toBeCloseTo(theirs[m]!, 3);
  });

  it('with our HTK filter bank and the same parameters (0 Hz..Nyquist, no norm), bands agree within tolerance', () => {
    const ours = melSpectrogram(frame, { ...frameOpts, nMels, melScale: 'htk', norm: 'none', fMin: 0, fMax: sampleRate / 2 });
    // meyda rounds the triangle edges down to whole bins; ours are exact: compare log energies.
    let worst = 0;
    for (let m = 2; m < nMels; m++) worst = Math.max(worst, Math.abs(Math.log(ours.data[m]! + 1) - theirs[m]!) / theirs[m]!);
    expect(worst).toBeLessThan(0.1); // measured 0.072
  });
});

describe('window', () => {
  it('periodic Hann sums to N / 2', () => {
    expect(makeWindow('hann', 2048).reduce((a, b) => a + b, 0)).toBeCloseTo(1024, 3);
  });
});
