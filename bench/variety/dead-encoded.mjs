// Which encoded held-out latents die, with their clips' labels (docs/training.md, "Why the encoded latents die"):
// nca eval's alive measure (500 frames at 64 x 64 from its uniform noise, the first n held-out clips' latents) with
// one hidden-noise stream of its own, so a class can differ from the eval's on a latent at the edge.
// node bench/variety/dead-encoded.mjs MODEL DATA [DIST=dist] [n=100] > rows.json   (the dead ones and a count per family on stderr)
const [modelDir, dataDir, distArg, nArg = '100'] = process.argv.slice(2);
const dist = distArg ? new URL(distArg, `file://${process.cwd()}/`).pathname : new URL('../../dist', import.meta.url).pathname;
const n = Number(nArg);
const { openDataset } = await import(`${dist}/core/audio/dataset.js`);
const { makeBatch } = await import(`${dist}/core/model/dataset-batches.js`);
const { loadModel } = await import(`${dist}/core/sources.js`);
const { createEngine } = await import(`${dist}/core/nca/engine.js`);
const { Rng } = await import(`${dist}/core/rng.js`);
const { ncaParams } = await import(`${dist}/core/nca/params.js`);
const { model } = await loadModel(modelDir);
const data = await openDataset(dataDir);
const test = data.indices('test').slice(0, n);
const C = model.config.contextFrames;
const mus = [];
for (let s = 0; s < test.length; s += 8) {
  const idx = Array.from({ length: 8 }, (_, k) => test[Math.min(s + k, test.length - 1)]);
  const batch = makeBatch(data, idx, { contextFrames: C, steps: 1 });
  const { mu } = model.encode(batch.context, 8);
  for (let k = 0; k < 8 && s + k < test.length; k++) mus.push(mu.slice(k * 64, (k + 1) * 64));
}
const size = 64;
const { FRAME_PROTOCOL } = await import(`${dist}/core/nca/graph.js`);
const { aliveClasses } = await import(`${dist}/core/model/eval.js`);
const params = mus.map((mu) => model.hypernetwork(mu, 1));
const engine = await createEngine(ncaParams(params[0]), { width: size, height: size, protocol: FRAME_PROTOCOL, threads: 1, dynamicWeights: true, rng: new Rng('diag/hidden'), stepsPerRun: 25 });
const classes = await aliveClasses(engine, params, { seed: 0, steps: 500, size });
const rows = classes.map((r, k) => {
  const c = data.manifest.clips[test[k]];
  return { k, alive: r.alive, coherent: r.coherent, id: c.id, family: c.family, program: c.program, kind: c.kind, note: c.note };
});
await engine.dispose();
const dead = rows.filter((r) => r.alive !== 'alive');
console.log(JSON.stringify(rows));
console.error(`dead ${dead.length}/${rows.length}`);
for (const r of dead) console.error(r.id, r.family, r.kind, r.alive);
const by = {};
for (const r of rows) { const f = r.family ?? r.kind; by[f] ??= [0, 0]; by[f][0]++; if (r.alive !== 'alive') by[f][1]++; }
console.error(by);
