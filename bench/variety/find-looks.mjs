#!/usr/bin/env node
/**
 * Distinct looks of a model's latent space, for docs/gallery.md's named looks: renders N random latents
 * (latent k = `nca random --seed <seed + k>`), measures each from its frames (src/core/variety.ts),
 * clusters them into up to K looks on the variety descriptor (src/core/variety/looks.ts), and writes
 * into --out:
 *   looks.json       every look: its representative's seed, features, cluster size, the seeds of its
 *                    members, and the command that renders it;
 *   look-NN.json     the representative latent of look NN (an nca latent file);
 *   sheet.png        a contact sheet of the representatives (`nca sheet` rows: the same renders).
 * Runs the built library (npm run build first).
 *
 *   node bench/variety/find-looks.mjs --out looks/ [--n 128] [--k 16] [--seed 0] [--size 64] [--frames 300]
 *        [--perturb P] [--init noise|decoder] [--model DIR] [--sheet-frames 0,100,200,300] [--scale 2]
 */
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    out: { type: 'string' }, n: { type: 'string', default: '128' }, k: { type: 'string', default: '16' }, seed: { type: 'string', default: '0' },
    size: { type: 'string', default: '64' }, frames: { type: 'string', default: '300' }, perturb: { type: 'string', default: '0' },
    init: { type: 'string', default: 'noise' }, model: { type: 'string' }, 'sheet-frames': { type: 'string' }, scale: { type: 'string', default: '2' },
    threads: { type: 'string' },
  },
});
if (!o.out) {
  console.error('find-looks: --out DIR is required');
  process.exit(2);
}
const { varietyOfModel, varietyOfFeatures, distinctLooks } = await import('../../dist/core/variety.js');
const { loadModel } = await import('../../dist/core/model/networks.js');
const { latentToJson, randomLatent } = await import('../../dist/core/latent.js');
const { Rng } = await import('../../dist/core/rng.js');
const { makeDirs } = await import('../../dist/core/io/dirs.js');
const { writeFileAtomic } = await import('../../dist/core/io/atomic.js');
const { renderSheet } = await import('../../dist/core/sheet.js');

const n = Number(o.n), k = Number(o.k), seed = Number(o.seed), size = Number(o.size), frames = Number(o.frames), perturb = Number(o.perturb);
const threads = o.threads ? Number(o.threads) : undefined;
const model = await loadModel(o.model);
await makeDirs(o.out);
const t0 = performance.now();
const report = await varietyOfModel(model, {
  n, seed, size, frames, perturb, init: o.init, threads,
  onProgress: (done, total) => process.stderr.isTTY && process.stderr.write(`\rrendering ${done}/${total}`),
});
if (process.stderr.isTTY) process.stderr.write('\n');
const clusters = distinctLooks(report.perRender, { k, seed });
const pad = (i) => String(i + 1).padStart(2, '0');
const modelArg = o.model ? ` --model ${o.model}` : '';
const looks = clusters.map((c, i) => {
  const f = report.perRender[c.representative];
  const file = `look-${pad(i)}.json`;
  return {
    look: pad(i),
    seed: f.seed,
    latent: file,
    members: c.members.length,
    memberSeeds: c.members.map((m) => report.perRender[m].seed),
    features: { hue: f.hue, saturation: f.saturation, brightness: f.brightness, wavelength: f.wavelength, change: f.change, motion: f.motion, look: f.look },
    command: `nca render --random --seed ${f.seed}${modelArg} --init ${o.init} --size ${size} --steps ${frames}${perturb ? ` --perturb ${perturb}` : ''} --out look-${pad(i)}.gif`,
  };
});
for (const l of looks) {
  const z = randomLatent(new Rng(l.seed));
  await writeFileAtomic(join(o.out, l.latent), latentToJson({ z, provenance: { command: 'random', seed: l.seed, look: l.look, from: 'bench/variety/find-looks.mjs' } }));
}
const sheetFrames = (o['sheet-frames'] ?? `0,${Math.round(frames / 3)},${Math.round((2 * frames) / 3)},${frames}`).split(',').map(Number);
if (perturb) console.error('find-looks: the contact sheet shows the looks without perturbation (nca sheet plays none)');
await renderSheet(model, looks.map((l) => ({ label: l.look, z: randomLatent(new Rng(l.seed)), seed: l.seed })), {
  width: size, height: size, frames: sheetFrames, scale: Number(o.scale), blocks: looks.length > 8 ? 2 : 1, init: o.init,
  protocol: model.config?.protocol === 'free' ? 'free' : 'frame', threads, out: join(o.out, 'sheet.png'),
});
const summary = varietyOfFeatures(report.perRender);
const { perRender, ...rest } = report;
await writeFileAtomic(join(o.out, 'looks.json'), JSON.stringify({
  format: 'nca-looks', version: 1, settings: report.settings, n, k, seconds: (performance.now() - t0) / 1000, load: loadavg(),
  variety: { ...rest, perRender: undefined }, looks,
}, null, 1) + '\n');
console.log(`${looks.length} looks from ${n} latents (${summary.effectiveLooks.toFixed(1)} effective looks by the issue's definition) -> ${o.out}`);
for (const l of looks) {
  const f = l.features;
  console.log(`  ${l.look}  seed ${String(l.seed).padStart(4)}  x${String(l.members).padStart(3)}  hue ${f.hue === null ? 'grey' : f.hue.toFixed(0)}  wl ${f.wavelength.toFixed(1)}  bright ${f.brightness.toFixed(2)}  change ${f.change.toFixed(4)}  ${f.motion.type}  ${l.command}`);
}
model.dispose();
