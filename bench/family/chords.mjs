#!/usr/bin/env node
/**
 * A larger chord test than `nca eval`'s (docs/latent-meaning.md#method): every major and minor triad whose notes lie in
 * the notes manifest's keyboard F4..B5 (roots F4..E5, 12 roots x 2 = 24 triads) on each of the eval's 8 instruments
 * (the names of audio/synth.ts' INSTRUMENTS, as `nca eval` picks them from the manifest), 192 chords in all against the eval's 24, with the same criterion, seeds and renders
 * (src/core/model/latent-meaning.ts). The eval's 24 chords x 4 seeds move by 5-25 points between fine-tunes that
 * leave chords alone, too coarse to tell a cost of two chords from noise (docs/training.md#twins).
 *
 * Run on one model it prints the fraction of chords between their notes and the control, and writes the per-chord
 * verdicts to OUT.json. Given two or more result files (--compare A.json B.json ...), it pairs the chords of the
 * first with each other's: chords the first passes and the other fails, the reverse, and the exact two-sided sign
 * test on those discordant chords.
 *
 *   node bench/family/chords.mjs MODEL_DIR OUT.json [THREADS]    (npm run build first; ~10 min per model, 2 threads)
 *   node bench/family/chords.mjs --compare N75.json TWR10.json TW0.json
 */
import { readFileSync, writeFileSync } from 'node:fs';

const dist = process.env.DIST ?? new URL('../../dist', import.meta.url).pathname;
const { signTest } = await import(`${dist}/core/stats.js`);

/** Major (0, 4, 7) and minor (0, 3, 7) triads on every root of `keyboard` (semitone steps) whose fifth is still on it. */
function triads(keyboard) {
  const out = [];
  for (let root = 0; root + 7 < keyboard.length; root++) {
    out.push([keyboard[root], keyboard[root + 4], keyboard[root + 7]]);
    out.push([keyboard[root], keyboard[root + 3], keyboard[root + 7]]);
  }
  return out;
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;

if (process.argv[2] === '--compare') {
  const runs = process.argv.slice(3).map((f) => ({ file: f, r: JSON.parse(readFileSync(f, 'utf8')) }));
  const key = (c) => `${c.instrument} ${c.notes.join('+')}`;
  const base = runs[0];
  const baseBetween = new Map(base.r.chords.items.map((c) => [key(c), c.between]));
  console.log('| model | chords between their notes (192) | control | discordant with the first: only first / only this | sign test p |');
  console.log('|---|---|---|---|---|');
  for (const { file, r } of runs) {
    let onlyBase = 0, onlyThis = 0;
    for (const c of r.chords.items) {
      const b = baseBetween.get(key(c));
      if (b && !c.between) onlyBase++;
      if (!b && c.between) onlyThis++;
    }
    const p = file === base.file ? '' : signTest(onlyBase, onlyThis).toFixed(3);
    console.log(`| ${file} | ${pct(r.chords.betweenFraction)} (${r.chords.items.filter((c) => c.between).length} of ${r.chords.n}) | ${pct(r.chords.controlBetweenFraction)} | ${file === base.file ? '' : `${onlyBase} / ${onlyThis}`} | ${p} |`);
  }
} else {
  const [modelDir, out, threads = '2'] = process.argv.slice(2);
  if (!modelDir || !out) {
    console.error('usage: node bench/family/chords.mjs MODEL_DIR OUT.json [THREADS] | --compare A.json B.json ...');
    process.exit(2);
  }
  const { loadModel } = await import(`${dist}/core/model/networks.js`);
  const { loadNotes } = await import(`${dist}/core/model/notes.js`);
  const { latentMeaning } = await import(`${dist}/core/model/latent-meaning.js`);
  const { INSTRUMENTS } = await import(`${dist}/core/audio/synth.js`);
  const model = await loadModel(modelDir);
  const notes = await loadNotes(modelDir);
  const r = await latentMeaning(model, { notes, instruments: INSTRUMENTS, noteNames: notes.notes, chords: triads(notes.notes), seed: 0, threads: Number(threads) });
  writeFileSync(out, JSON.stringify({ model: modelDir, settings: r.settings, alive: r.alive, chords: r.chords, seconds: r.seconds }, null, 1));
  console.log(`${modelDir}: chords between their notes ${pct(r.chords.betweenFraction)} of ${r.chords.n} (control ${pct(r.chords.controlBetweenFraction)}); chords alive ${r.alive.chords.alive}/${r.chords.n * r.settings.seeds}; ${r.seconds.total.toFixed(0)} s`);
  model.dispose?.();
}
