import wavefile from 'wavefile';

/**
 * Standard 16-bit PCM mono WAV bytes (via wavefile) from float samples in [-1, 1] (clipped),
 * rounded to the nearest integer.
 */
export function encodeWav16(samples: Float32Array, sampleRate: number): Uint8Array {
  const ints = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]!));
    ints[i] = Math.round(v * 32767);
  }
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, sampleRate, '16', ints);
  return wav.toBuffer();
}
