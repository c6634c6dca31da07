#!/usr/bin/env node
/**
 * The melody figure on 24 melodies instead of `nca eval`'s two: the anchored pitch of a melody encoded as a track
 * (`nca encode --track`, 10 points per second) within a semitone of the note heard (src/core/model/music-eval.ts,
 * evaluateMelodies), for 8 programs held out of training (the eval's two, oboe 68 and violin 40, and six more: one
 * in every fourth of general-midi.ts' HELD_OUT_PROGRAMS) x 3 melody seeds (0 is the eval's). One melody is a 16-s
 * walk of about 35 notes; the eval's single oboe melody moves by 20 points between models that agree on the other 23
 * (docs/training.md, "Twins").
 *
 *   node bench/family/melodies.mjs [MODEL_DIR] [OUT.json]      (npm run build first; ~1 min alone)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const dist = join(root, 'dist');
const { loadModel } = await import(`${dist}/core/model/networks.js`);
const { loadNotes } = await import(`${dist}/core/model/notes.js`);
const { evaluateMelodies } = await import(`${dist}/core/model/music-eval.js`);
const { HELD_OUT_PROGRAMS } = await import(`${dist}/core/audio/general-midi.js`);

const [modelDir = join(root, 'fixtures/model'), out] = process.argv.slice(2);
const model = await loadModel(modelDir);
const programs = [...new Set([68, 40, ...HELD_OUT_PROGRAMS.filter((_, i) => i % 4 === 1)])];
const melodies = await evaluateMelodies(model, { notes: await loadNotes(modelDir), programs, seeds: [0, 1, 2], threads: 1 });
let within = 0, points = 0;
for (const m of melodies) {
  within += Math.round((m.pitchWithinSemitone ?? 0) * m.points);
  points += m.points;
  console.log(`program ${m.program}, seed ${m.seed}: anchored pitch within a semitone ${(100 * (m.pitchWithinSemitone ?? 0)).toFixed(0)}% of ${m.points} points (r ${m.correlation?.toFixed(2)}), probe r ${m.probeCorrelation.toFixed(2)}`);
}
console.log(`${modelDir}: ${melodies.length} melodies of ${programs.length} programs, anchored pitch within a semitone of the note heard ${((100 * within) / points).toFixed(1)}% of ${points} points`);
if (out) writeFileSync(out, JSON.stringify({ model: modelDir, programs, melodies }, null, 1));
model.dispose?.();
