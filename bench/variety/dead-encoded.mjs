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
const { MotionTracker } = await import(`${dist}/core/metrics.js`);
const { Rng } = await import(`${dist}/core/rng.js`);
const { ncaParams, CHANNELS } = await import(`${dist}/core/nca/params.js`);
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
const size = 64, plane = size * size;
const { FRAME_PROTOCOL } = await import(`${dist}/core/nca/graph.js`);
const params = mus.map((mu) => model.hypernetwork(mu, 1));
const engine = await createEngine(ncaParams(params[0]), { width: size, height: size, protocol: FRAME_PROTOCOL, threads: 1, dynamicWeights: true, rng: new Rng('diag/hidden'), stepsPerRun: 25 });
const state = new Float32Array(CHANNELS * plane);
const rows = [];
for (let k = 0; k < mus.length; k++) {
  await engine.setParams(ncaParams(params[k]));
  state.fill(0);
  new Rng(`0/eval/alive/${k}`).fillUniform(state.subarray(0, 3 * plane));
  const tracker = new MotionTracker(size, size, 500);
  tracker.push(state.subarray(0, 3 * plane));
  await engine.run(state, 500, (_, visible) => tracker.push(visible));
  const r = tracker.finish();
  const c = data.manifest.clips[test[k]];
  rows.push({ k, alive: r.alive, coherent: r.coherent, id: c.id, family: c.family, program: c.program, kind: c.kind, note: c.note, motif: c.motif, pitchHeight: mus[k][0] });
}
await engine.dispose();
const dead = rows.filter((r) => r.alive !== 'alive');
console.log(JSON.stringify(rows));
console.error(`dead ${dead.length}/${rows.length}`);
for (const r of dead) console.error(r.id, r.family, r.kind, r.alive);
const by = {};
for (const r of rows) { const f = r.family ?? r.kind; by[f] ??= [0, 0]; by[f][0]++; if (r.alive !== 'alive') by[f][1]++; }
console.error(by);
