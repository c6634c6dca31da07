// How much of a sound's General-MIDI family can be told from the sound itself, for programs never heard?
// A ceiling study for issue 13's family figure (docs/training.md#how-much-family-is-in-the-sound); reference only.
//
//   npx tsc && node bench/family/ceiling.mjs [CACHE_DIR]     (~8 min on 2 cores; CACHE_DIR default /tmp/nca-family-ceiling)
//
// Test set: the eval's held-out programs (HELD_OUT_PROGRAMS, 28) x the 19 keys F4..B5, velocity 90, held 1 s,
// as `nca eval` renders them. Training sets, never containing a held-out program:
// - "clean notes": the 100 training programs x the same 19 keys at velocity 90 (the easiest case: same notes,
//   same velocity, no room);
// - "dataset clips": the clips of `nca dataset` (soundfontPlan seed 0: 24 notes, 6 chords, 3 phrases per program,
//   detuned, vibrato, room, EQ tilt, noise, gain; plus the own synthesiser's 1152 notes), as the model trains on;
// - "FreePats": a second recorded General-MIDI set (npm `freepats`, GUS patches played by gus-patch.ts), its 55
//   programs that are not held out x the same 19 keys, beside the clean notes and alone; and the clean notes'
//   classifiers tested on FreePats' notes of programs they heard (how far family carries from one set to another).
// Inputs: cepstral (timbre-features.mjs' cepstralFeatures), timbre (+ harmonic profile), and the encoder's own
// input picture (frame 0 of the context: the 32 x 32 mel spectrogram of the 2-s window).
// Classifiers: 1-nearest neighbour, linear (softmax regression) and a 128-unit MLP, on standardised inputs.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Soundfont } from '../../dist/core/audio/soundfont.js';
import { soundfontPlan } from '../../dist/core/audio/soundfont-plan.js';
import { defaultPlan } from '../../dist/core/audio/dataset.js';
import { augment } from '../../dist/core/audio/augment.js';
import { parseGusPatch, renderPatchNote } from '../../dist/core/audio/gus-patch.js';
import { HELD_OUT_PROGRAMS, SYNTH_FAMILY, familyOfProgram, trainingPrograms } from '../../dist/core/audio/general-midi.js';
import { KEYBOARD_NOTES, synthesize } from '../../dist/core/audio/synth.js';
import { WINDOW_SECONDS, chooseWindow, contextFrames, windowSamples } from '../../dist/core/model/encode.js';
import { Rng } from '../../dist/core/rng.js';
import { cepstralFeatures, timbreFeatures } from './timbre-features.mjs';

const cacheDir = process.argv[2] ?? '/tmp/nca-family-ceiling';
await mkdir(cacheDir, { recursive: true });
const soundfont = await Soundfont.load();
const picture = (s) => Array.from(contextFrames(windowSamples(s, chooseWindow(s, { duration: WINDOW_SECONDS })), 22050, 4).subarray(0, 1024));

async function cached(name, make) {
  const path = join(cacheDir, `${name}.json`);
  try { return JSON.parse(await readFile(path, 'utf8')); } catch { /* make it */ }
  const rows = await make();
  await writeFile(path, JSON.stringify(rows));
  return rows;
}

const notes = await cached('notes', async () => {
  const rows = [];
  for (const program of [...trainingPrograms(), ...HELD_OUT_PROGRAMS]) {
    for (const midi of KEYBOARD_NOTES) {
      const s = await soundfont.render([{ program, midi, velocity: 90, start: 0, duration: 1 }], { seconds: 1.5 });
      rows.push({ program, family: familyOfProgram(program), cepstral: cepstralFeatures(s), timbre: timbreFeatures(s), picture: picture(s) });
    }
  }
  return rows;
});
const clips = await cached('dataset-clips', async () => {
  const rows = [];
  for (const spec of soundfontPlan({ seed: 0 })) {
    const s = await soundfont.render(spec.events, { seconds: 2, ...(spec.detuneCents ? { detuneCents: spec.detuneCents } : {}), ...(spec.vibrato ? { vibrato: spec.vibrato } : {}) });
    augment(s, 22050, spec.augmentation, new Rng(spec.seed));
    rows.push({ program: spec.program, family: spec.family, timbre: timbreFeatures(s) });
  }
  for (const spec of defaultPlan({ seed: 0 })) {
    const s = new Float32Array(2 * 22050);
    s.set(synthesize({ instrument: spec.instrument, midi: spec.midi, velocity: spec.velocity, duration: spec.noteSeconds, seed: spec.seed }).subarray(0, s.length));
    rows.push({ program: -1, family: SYNTH_FAMILY[spec.instrument], timbre: timbreFeatures(s) });
  }
  return rows;
});

// A second recorded General-MIDI set, FreePats (npm `freepats`, GUS patches; docs/audio.md#a-second-recorded-set-freepats):
// its programs that are not held out, the same 19 keys at velocity 90, held 1 s, 1.5 s long (as the clean notes).
const freepatsDir = join(createRequire(import.meta.url).resolve('freepats/package.json'), '..', 'Tone_000');
// Level: each FreePats note is scaled to the median peak of the soundfont's training programs at A4 (velocity 90),
// so that loudness is no cue to which set a note came from.
const freepats = await cached('freepats-notes', async () => {
  const peakOf = (s) => s.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const peaks = [];
  for (const program of trainingPrograms().filter((p) => p % 4 === 0)) peaks.push(peakOf(await soundfont.render([{ program, midi: 69, velocity: 90, start: 0, duration: 1 }], { seconds: 1.5 })));
  const level = peaks.sort((a, b) => a - b)[peaks.length >> 1];
  const rows = [], held = new Set(HELD_OUT_PROGRAMS);
  for (const file of readdirSync(freepatsDir).sort()) {
    const program = Number(file.slice(0, 3));
    if (held.has(program)) continue;
    const patch = parseGusPatch(await readFile(join(freepatsDir, file)), file);
    for (const midi of KEYBOARD_NOTES) {
      const s = renderPatchNote(patch, { midi, velocity: 90, duration: 1 }, 22050, new Float32Array(Math.round(1.5 * 22050)));
      const peak = peakOf(s);
      if (peak > 0) for (let i = 0; i < s.length; i++) s[i] *= level / peak;
      rows.push({ program, family: familyOfProgram(program), cepstral: cepstralFeatures(s), timbre: timbreFeatures(s), picture: picture(s) });
    }
  }
  return rows;
});

const FAMILIES = 16;
function standardiser(rows) {
  const D = rows[0].length, mean = new Float64Array(D), variance = new Float64Array(D);
  for (const x of rows) for (let d = 0; d < D; d++) mean[d] += x[d] / rows.length;
  for (const x of rows) for (let d = 0; d < D; d++) variance[d] += (x[d] - mean[d]) ** 2 / rows.length;
  return (x) => Float64Array.from(x, (v, d) => (v - mean[d]) / Math.sqrt(variance[d] + 1e-9));
}

/** Softmax regression (hidden 0) or a one-hidden-layer ReLU MLP, Adam, minibatches of 64; returns x -> family. */
function fitClassifier(X, y, { hidden = 0, l2 = 1e-3, epochs = 40, lr = 1e-3, seed = 0 }) {
  const rng = new Rng(seed), D = X[0].length, H = hidden, In = H || D;
  const W1 = H ? Float64Array.from({ length: H * D }, () => rng.normal() * Math.sqrt(2 / D)) : new Float64Array(0), b1 = new Float64Array(H);
  const W2 = Float64Array.from({ length: FAMILIES * In }, () => (H ? rng.normal() * Math.sqrt(1 / In) : 0)), b2 = new Float64Array(FAMILIES);
  const params = [W1, b1, W2, b2], m = params.map((p) => new Float64Array(p.length)), v = params.map((p) => new Float64Array(p.length));
  const h = new Float64Array(In), z = new Float64Array(FAMILIES), dh = new Float64Array(In), p = new Float64Array(FAMILIES);
  const forward = (x) => {
    if (H) for (let j = 0; j < H; j++) { let s = b1[j]; for (let d = 0; d < D; d++) s += W1[j * D + d] * x[d]; h[j] = s > 0 ? s : 0; }
    else h.set(x);
    for (let c = 0; c < FAMILIES; c++) { let s = b2[c]; for (let j = 0; j < In; j++) s += W2[c * In + j] * h[j]; z[c] = s; }
  };
  const order = X.map((_, i) => i);
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    for (let start = 0; start < order.length; start += 64) {
      const batch = order.slice(start, start + 64), grads = params.map((q) => new Float64Array(q.length));
      for (const i of batch) {
        const x = X[i];
        forward(x);
        const top = Math.max(...z);
        let sum = 0;
        for (let c = 0; c < FAMILIES; c++) sum += (p[c] = Math.exp(z[c] - top));
        dh.fill(0);
        for (let c = 0; c < FAMILIES; c++) {
          const g = p[c] / sum - (c === y[i] ? 1 : 0);
          grads[3][c] += g;
          for (let j = 0; j < In; j++) (grads[2][c * In + j] += g * h[j]), (dh[j] += g * W2[c * In + j]);
        }
        if (H) for (let j = 0; j < H; j++) if (h[j] > 0) { grads[1][j] += dh[j]; for (let d = 0; d < D; d++) grads[0][j * D + d] += dh[j] * x[d]; }
      }
      step++;
      params.forEach((q, k) => {
        const decay = k === 0 || k === 2 ? l2 : 0;
        for (let n = 0; n < q.length; n++) {
          const g = grads[k][n] / batch.length + decay * q[n];
          m[k][n] = 0.9 * m[k][n] + 0.1 * g;
          v[k][n] = 0.999 * v[k][n] + 0.001 * g * g;
          q[n] -= (lr * (m[k][n] / (1 - 0.9 ** step))) / (Math.sqrt(v[k][n] / (1 - 0.999 ** step)) + 1e-8);
        }
      });
    }
  }
  return (x) => { forward(x); let best = 0; for (let c = 1; c < FAMILIES; c++) if (z[c] > z[best]) best = c; return best; };
}

function nearestNeighbour(X, y) {
  return (x) => {
    let best = -1, bestD = Infinity;
    X.forEach((r, i) => { let s = 0; for (let d = 0; d < r.length; d++) s += (r[d] - x[d]) ** 2; if (s < bestD) (bestD = s), (best = i); });
    return y[best];
  };
}

const held = new Set(HELD_OUT_PROGRAMS);
const test = notes.filter((r) => held.has(r.program));
const results = [];
function run(trainName, trainRows, input, classifier, settings, testRows = test, testName = 'held-out programs') {
  const standardise = standardiser(trainRows.map((r) => r[input]));
  const X = trainRows.map((r) => standardise(r[input])), y = trainRows.map((r) => r.family);
  const predict = classifier === '1-NN' ? nearestNeighbour(X, y) : fitClassifier(X, y, settings);
  let right = 0;
  for (const r of testRows) right += Number(predict(standardise(r[input])) === r.family);
  results.push({ training: trainName, tested: testName, input, classifier, family: right / testRows.length });
  console.error(`${trainName} / ${input} / ${classifier} -> ${testName}: ${(100 * right / testRows.length).toFixed(1)}%`);
}
const cleanTraining = notes.filter((r) => !held.has(r.program));
for (const input of ['cepstral', 'timbre', 'picture']) {
  run('clean notes', cleanTraining, input, '1-NN');
  run('clean notes', cleanTraining, input, 'linear', { epochs: input === 'picture' ? 20 : 60, l2: 1e-3, lr: 2e-3 });
}
run('clean notes', cleanTraining, 'timbre', 'MLP 128', { hidden: 128, epochs: 60, l2: 3e-3 });
// the second set: beside the soundfont's training programs, and alone (a set the test programs' soundfont never made)
console.error(`FreePats: ${new Set(freepats.map((r) => r.program)).size} programs not held out, ${freepats.length} notes`);
const withFreepats = [...cleanTraining, ...freepats];
for (const input of ['cepstral', 'timbre', 'picture']) {
  run('clean notes + FreePats', withFreepats, input, '1-NN');
  run('clean notes + FreePats', withFreepats, input, 'linear', { epochs: input === 'picture' ? 20 : 60, l2: 1e-3, lr: 2e-3 });
  run('FreePats alone', freepats, input, '1-NN');
  run('FreePats alone', freepats, input, 'linear', { epochs: input === 'picture' ? 20 : 60, l2: 1e-3, lr: 2e-3 });
}
run('clean notes + FreePats', withFreepats, 'timbre', 'MLP 128', { hidden: 128, epochs: 60, l2: 3e-3 });
// across sets on programs the classifier has heard: the soundfont's clean notes -> FreePats' notes of the same programs
for (const input of ['cepstral', 'timbre', 'picture']) run('clean notes', cleanTraining, input, 'linear', { epochs: input === 'picture' ? 20 : 60, l2: 1e-3, lr: 2e-3 }, freepats, 'FreePats, the same programs');
run('dataset clips', clips, 'timbre', '1-NN');
run('dataset clips', clips, 'timbre', 'linear', { epochs: 30, l2: 1e-3, lr: 2e-3 });
run('dataset clips', clips, 'timbre', 'MLP 128', { hidden: 128, epochs: 40, l2: 3e-3 });
console.log('| trained on | input | classifier | tested on (held-out programs: 28 x 19 notes of the soundfont; chance 1/14) | family right |');
console.log('|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.training} | ${r.input} | ${r.classifier} | ${r.tested} | ${(100 * r.family).toFixed(1)}% |`);
