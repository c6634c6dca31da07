#!/usr/bin/env node
/**
 * One note, two renderings: how far the own synthesiser's notes move between the notes manifest's setting
 * (velocity 0.7, held 1 s: src/core/model/notes.ts NOTE_SYNTH) and the music eval's (velocity 0.9, 1.5 s:
 * src/core/model/music-eval.ts), for the 8 instruments x 19 keys (docs/training.md#the-motif-peak-fix).
 * Prints, per instrument and in all:
 *   - how many notes draw a different motif in the two settings (the encoder's input pictures differ);
 *   - the mean squared distance between the two latents, and with only the duration or only the velocity changed;
 *   - the share of that distance in the anchored dims (0-2 pitch, 3-18 family) and in the free dims 19-63.
 * The music eval's family and instrument figures are `nca eval`'s (fixtures/model/eval.json, music.synth).
 *
 *   node bench/family/synth-settings.mjs [MODEL_DIR]            (default fixtures/model; npm run build first)
 *   DIST=/path/to/other/dist node bench/family/synth-settings.mjs   (another build, e.g. one before the peak fix)
 */
const dist = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const { loadModel } = await import(`${dist}/core/model/networks.js`);
const { WINDOW_SECONDS, chooseWindow, encodeClip, windowSamples } = await import(`${dist}/core/model/encode.js`);
const { ANALYSIS_RATE } = await import(`${dist}/core/audio/spectrogram.js`);
const { INSTRUMENTS, KEYBOARD_NOTES, synthesize } = await import(`${dist}/core/audio/synth.js`);
const { clipFeatures } = await import(`${dist}/core/audio/features.js`);
const { chooseMotif, soundShape } = await import(`${dist}/core/audio/motifs.js`);

const MANIFEST = { velocity: 0.7, duration: 1 };
const EVAL = { velocity: 0.9, duration: 1.5 };
const model = await loadModel(process.argv[2]);

/** The latent and the motif of one rendering, as `nca encode` and the music eval see it. */
function look(instrument, midi, { velocity, duration }) {
  const samples = synthesize({ instrument, midi, velocity, duration, seed: 0 });
  const w = chooseWindow(samples, { duration: WINDOW_SECONDS });
  const { z } = encodeClip(model, samples, w, ANALYSIS_RATE);
  const n = Math.round(WINDOW_SECONDS * ANALYSIS_RATE);
  const window = windowSamples(samples, w, ANALYSIS_RATE);
  const padded = new Float32Array(n);
  padded.set(window.subarray(0, n));
  const motif = chooseMotif(soundShape(clipFeatures(padded, { sampleRate: ANALYSIS_RATE })));
  return { z, motif };
}
const squared = (a, b, from = 0, to = a.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += (a[i] - b[i]) ** 2;
  return s;
};

const total = { notes: 0, flips: 0, full: 0, duration: 0, velocity: 0, anchored: 0, free: 0 };
console.log('| instrument | notes whose motif differs | mean squared distance: both / duration only / velocity only | free dims 19-63 |');
console.log('|---|---|---|---|');
for (const instrument of INSTRUMENTS) {
  const row = { notes: 0, flips: 0, full: 0, duration: 0, velocity: 0, anchored: 0, free: 0 };
  for (const midi of KEYBOARD_NOTES) {
    const m = look(instrument, midi, MANIFEST), e = look(instrument, midi, EVAL);
    const d = look(instrument, midi, { velocity: MANIFEST.velocity, duration: EVAL.duration });
    const v = look(instrument, midi, { velocity: EVAL.velocity, duration: MANIFEST.duration });
    row.notes++;
    row.flips += Number(m.motif !== e.motif);
    row.full += squared(m.z, e.z);
    row.duration += squared(m.z, d.z);
    row.velocity += squared(m.z, v.z);
    row.anchored += squared(m.z, e.z, 0, 19);
    row.free += squared(m.z, e.z, 19);
  }
  for (const k of Object.keys(total)) total[k] += row[k];
  const f = (x) => (x / row.notes).toFixed(2);
  console.log(`| ${instrument} | ${row.flips} of ${row.notes} | ${f(row.full)} / ${f(row.duration)} / ${f(row.velocity)} | ${((100 * row.free) / (row.free + row.anchored)).toFixed(0)}% |`);
}
const f = (x) => (x / total.notes).toFixed(2);
console.log(`| all | **${total.flips} of ${total.notes}** | **${f(total.full)}** / ${f(total.duration)} / ${f(total.velocity)} | ${((100 * total.free) / (total.free + total.anchored)).toFixed(0)}% |`);
model.dispose?.();
