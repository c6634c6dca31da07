#!/usr/bin/env node
/**
 * The variety table of issue 14 (docs/variety.md): (a) the shipped model's random latents and (b) random
 * NCA weights under the free protocol, each rendered from noise and measured from the frames alone
 * (src/core/variety.ts). Runs the built library (npm run build first). Render k of a row is
 * `nca render --random --seed <seed + k> --init noise --size <size> --steps <frames>` (plus the row's
 * settings); the random-weights row is `nca render --params <(nca random --params --seed <seed + k>)
 * --protocol free`.
 *
 *   node bench/variety/measure.mjs [--n 32] [--size 64] [--frames 300] [--seed 0] [--model DIR]
 *        [--rows model,random] [--perturb P] [--init noise|decoder] [--protocol frame|free]
 *        [--steps-per-frame K] [--threads T] [--json out.json] [--per-render]
 *
 * --rows also takes lever rows for the model, comma-separated: `perturb=5`, `init=decoder`,
 * `protocol=free`, `spf=4` (steps per frame), `anchored=1` (random latents whose anchored dims hold a
 * random note, MIDI 45..92 as the dataset's, and a random melodic family, the free dims N(0, I) as before:
 * the shell the training put the sounds on, docs/design.md#latent-anchors), or several joined with `+`
 * (`perturb=9+spf=2`).
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    n: { type: 'string', default: '32' }, size: { type: 'string', default: '64' }, frames: { type: 'string', default: '300' },
    seed: { type: 'string', default: '0' }, model: { type: 'string' }, rows: { type: 'string', default: 'model,random' },
    perturb: { type: 'string' }, init: { type: 'string' }, protocol: { type: 'string' }, 'steps-per-frame': { type: 'string' },
    threads: { type: 'string' }, json: { type: 'string' }, 'per-render': { type: 'boolean', default: false },
  },
});
const { varietyOfModel, varietyOfRandomWeights } = await import('../../dist/core/variety.js');
const { loadModel } = await import('../../dist/core/model/networks.js');
const { varietyOfSources } = await import('../../dist/core/variety.js');
const { randomLatent } = await import('../../dist/core/latent.js');
const { ANCHORS, pitchCode } = await import('../../dist/core/model/anchors.js');
const { Rng } = await import('../../dist/core/rng.js');

const common = { n: Number(o.n), size: Number(o.size), frames: Number(o.frames), seed: Number(o.seed), threads: o.threads ? Number(o.threads) : undefined };
const base = {
  ...(o.perturb ? { perturb: Number(o.perturb) } : {}), ...(o.init ? { init: o.init } : {}),
  ...(o.protocol ? { protocol: o.protocol } : {}), ...(o['steps-per-frame'] ? { stepsPerFrame: Number(o['steps-per-frame']) } : {}),
};
const KEYS = { perturb: ['perturb', Number], init: ['init', String], protocol: ['protocol', String], spf: ['stepsPerFrame', Number], anchored: ['anchored', Number] };
/** A row name -> its options on top of the command line's. */
function rowOptions(name) {
  if (name === 'model' || name === 'random') return base;
  const opts = { ...base };
  for (const part of name.split('+')) {
    const [k, v] = part.split('=');
    if (!KEYS[k] || v === undefined) throw new Error(`unknown row ${name}: use model, random, perturb=P, init=noise|decoder, protocol=frame|free, spf=K, anchored=1 (joined with +)`);
    opts[KEYS[k][0]] = KEYS[k][1](v);
  }
  return opts;
}

const model = o.rows.split(',').some((r) => r !== 'random') ? await loadModel(o.model) : null;

/** Latent k as varietyOfModel draws it (randomLatent(Rng(seed + k))), its anchored dims set to a note and a family drawn from Rng(`anchored/<seed + k>`). */
function anchoredSources(n, seed) {
  const layout = model.config.anchors ?? ANCHORS;
  return Array.from({ length: n }, (_, k) => {
    const z = randomLatent(new Rng(seed + k)), draw = new Rng(`anchored/${seed + k}`);
    pitchCode([45 + draw.int(48)], z, layout.pitchDim, layout);
    const family = draw.int(14);
    for (let f = 0; f < 16; f++) z[layout.familyDim + f] = f === family ? layout.familyScale : 0;
    return { kind: 'latent', z, seed: seed + k };
  });
}
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const f = (x, d = 1) => x.toFixed(d);
const pct = (x) => `${Math.round(100 * x)}%`;
const results = [];
/** A model row: random latents as varietyOfModel draws them, or (anchored=1) those of anchoredSources, under the model's protocol unless the row sets one. */
async function modelRow(row) {
  const { anchored, ...opts } = rowOptions(row);
  if (!anchored) return varietyOfModel(model, { ...common, ...opts });
  return varietyOfSources(anchoredSources(common.n, common.seed), model, { protocol: model.config.protocol === 'free' ? 'free' : 'frame', ...common, ...opts });
}

console.log(`# variety: ${common.n} renders per row, ${common.size} x ${common.size}, ${common.frames} frames from noise, seeds ${common.seed}..${common.seed + common.n - 1}; load ${load()}`);
console.log('| row | hue bins of 30 deg | hues (non-grey) | wavelength p10-p90 (span) | brightness | change p10-p90 | effective looks | commonest look | travelling or rotating | whole-field drift (heading agreement) | travelling or rotating, not drift | motion (still/flicker/travel/rotate/chaos) | s |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of o.rows.split(',')) {
  const r = row === 'random'
    ? await varietyOfRandomWeights({ ...common, protocol: 'free', ...base })
    : await modelRow(row);
  results.push({ row, load: loadavg(), ...r });
  const hues = r.perRender.filter((p) => p.hue !== null).map((p) => p.hue);
  const m = r.motion;
  console.log(`| ${row === 'model' ? 'shipped model, random latents' : row === 'random' ? 'random NCA weights, free protocol' : `model, ${row}`} | **${r.hueBinsCovered} of 12**${r.grey ? ` (+${r.grey} grey)` : ''} | ${hues.length ? `${f(Math.min(...hues), 0)}-${f(Math.max(...hues), 0)} deg` : '-'} | ${f(r.wavelength.p10)}-${f(r.wavelength.p90)} px (${f(r.wavelength.span, 2)}x) | ${f(r.brightness.min, 2)}-${f(r.brightness.max, 2)} | ${f(r.change.p10, 4)}-${f(r.change.p90, 4)} | **${f(r.effectiveLooks)}** | ${pct(r.commonestLookShare)} (${r.looks[0].look}) | **${pct(r.travellingOrRotatingShare)}** | ${pct(r.wholeFieldDrift.share)} (${f(r.wholeFieldDrift.headingAgreement, 2)}) | ${pct(r.travellingOrRotatingWithoutDriftShare)} | ${m.still}/${m.flickering}/${m.travelling}/${m.rotating}/${m.chaotic} | ${f(r.seconds, 0)} |`);
  if (o['per-render']) {
    for (const p of r.perRender) {
      const mm = p.motion;
      console.log(`  seed ${p.seed}: hue ${p.hue === null ? 'grey' : f(p.hue, 0)} sat ${f(p.saturation, 2)} bright ${f(p.brightness, 3)} wl ${f(p.wavelength)} change ${f(p.change, 4)} ${mm.type} (explained ${f(mm.explained, 2)} lag ${mm.lag} disp ${f(mm.displacement, 2)} growth ${f(mm.growth, 2)} uniform ${f(mm.uniformity, 2)} heading ${f(mm.heading, 0)} rot ${f(mm.rotation, 2)} turn ${f(mm.turn, 3)} persist ${f(mm.persistence, 2)}) ${p.look}`);
    }
  }
}
console.log(`load after: ${load()}`);
if (o.json) writeFileSync(o.json, JSON.stringify(results, null, 1));
model?.dispose?.();
