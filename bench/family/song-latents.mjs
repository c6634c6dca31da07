#!/usr/bin/env node
/**
 * Are the latents of real music alive? The 14 pieces of fixtures/songs, each played by the TimGM6mb soundfont and
 * encoded as a track (`nca encode PIECE.mid --track --fps 1`), their first 60 s at one latent per 2 s (30 per piece,
 * 420 in all); each latent rendered 500 frames at 64 x 64 from uniform noise and classified by the alive measure,
 * exactly as `nca eval`'s encoded group (src/core/model/eval.ts aliveClasses; seed 0). The eval's encoded latents
 * are held-out clips (single notes, chords, short phrases); these are polyphonic piano, what a music video plays.
 *
 *   node bench/family/song-latents.mjs [MODEL_DIR] [OUT.json]       (npm run build first; ~4 min alone)
 *   node bench/family/song-latents.mjs --compare A.json B.json       (the latents alive in one and not the other, sign test)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const dist = process.env.DIST ?? join(root, 'dist');
const { signTest } = await import(`${dist}/core/stats.js`);

if (process.argv[2] === '--compare') {
  const [a, b] = process.argv.slice(3, 5).map((f) => JSON.parse(readFileSync(f, 'utf8')));
  let onlyA = 0, onlyB = 0;
  for (const song of Object.keys(a.songs)) {
    a.songs[song].classes.forEach((c, i) => {
      const d = b.songs[song].classes[i];
      if (c === 'alive' && d !== 'alive') onlyA++;
      if (c !== 'alive' && d === 'alive') onlyB++;
    });
  }
  console.log(`${a.model}: ${a.all.alive} of ${a.all.n} alive; ${b.model}: ${b.all.alive} of ${b.all.n}; alive only in the first ${onlyA}, only in the second ${onlyB}; sign test p ${signTest(onlyA, onlyB).toFixed(3)}`);
} else {
  const [modelDir = join(root, 'fixtures/model'), out] = process.argv.slice(2);
  const { loadModel } = await import(`${dist}/core/model/networks.js`);
  const { aliveClasses } = await import(`${dist}/core/model/eval.js`);
  const { createEngine } = await import(`${dist}/core/nca/engine.js`);
  const { ncaParams, PARAM_COUNT } = await import(`${dist}/core/nca/params.js`);
  const { FRAME_PROTOCOL } = await import(`${dist}/core/nca/graph.js`);
  const { Rng } = await import(`${dist}/core/rng.js`);
  const songsDir = join(root, 'fixtures/songs');
  const songs = readdirSync(songsDir).filter((f) => f.endsWith('.mid')).sort();
  const model = await loadModel(modelDir);
  const tmp = mkdtempSync(join(tmpdir(), 'nca-song-latents-'));
  const result = { model: modelDir, size: 64, steps: 500, seed: 0, songs: {}, all: { n: 0, alive: 0 } };
  try {
    for (const song of songs) {
      const trackPath = join(tmp, 'track.json');
      execFileSync(process.execPath, [join(root, 'bin/nca.js'), 'encode', join(songsDir, song), '--track', '--fps', '1', '--model', modelDir, '--out', trackPath, '-q']);
      const track = JSON.parse(readFileSync(trackPath, 'utf8')).track.filter((p, i) => p.t < 60 && i % 2 === 0);
      const z = new Float32Array(track.length * 64);
      track.forEach((p, i) => z.set(p.z, i * 64));
      const flat = model.hypernetwork(z, track.length);
      const params = track.map((_, i) => flat.slice(i * PARAM_COUNT, (i + 1) * PARAM_COUNT));
      const engine = await createEngine(ncaParams(params[0]), { width: 64, height: 64, protocol: FRAME_PROTOCOL, threads: 1, dynamicWeights: true, rng: new Rng('0/songs/hidden'), stepsPerRun: 25 });
      const classes = await aliveClasses(engine, params, { seed: 0, steps: 500, size: 64 });
      await engine.dispose();
      const alive = classes.filter((c) => c.alive === 'alive').length;
      result.songs[song] = { n: classes.length, alive, classes: classes.map((c) => c.alive) };
      result.all.n += classes.length;
      result.all.alive += alive;
      console.log(`${song}: ${alive} of ${classes.length} alive`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    model.dispose?.();
  }
  console.log(`all: ${result.all.alive} of ${result.all.n} alive (${((100 * result.all.alive) / result.all.n).toFixed(1)}%)`);
  if (out) writeFileSync(out, JSON.stringify(result, null, 1));
}
