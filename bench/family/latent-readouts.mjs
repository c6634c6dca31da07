// Family readouts of the model's latents on the eval's held-out programs (28 x 19 notes, velocity 90, as nca eval):
// the nearest manifest entry (the eval's), a 15-nearest vote, the argmax of the anchored family dims, and the
// nearest family centroid of the manifest (mean latent per family). Reference only (bench/family/ceiling.mjs asks
// the same question of the sound itself).
//
//   npx tsc && node bench/family/latent-readouts.mjs [MODEL_DIR]     (default fixtures/model; ~1 min)
const root = new URL('../../dist/core', import.meta.url).href;
const { Soundfont } = await import(`${root}/audio/soundfont.js`);
const { HELD_OUT_PROGRAMS, familyOfProgram, GM_FAMILIES } = await import(`${root}/audio/general-midi.js`);
const { KEYBOARD_NOTES } = await import(`${root}/audio/synth.js`);
const { chooseWindow, encodeClip, WINDOW_SECONDS } = await import(`${root}/model/encode.js`);
const { ANALYSIS_RATE } = await import(`${root}/audio/spectrogram.js`);
const { loadModel } = await import(`${root}/model/networks.js`);
const { readFile } = await import('node:fs/promises');
const dir = process.argv[2] ?? new URL('../../fixtures/model', import.meta.url).pathname;
const model = await loadModel(dir);
const notes = JSON.parse(await readFile(`${dir}/notes.json`, 'utf8'));
const fams = GM_FAMILIES;
const man = [];
for (const inst of notes.instruments) {
  const f = fams.indexOf(notes.families[inst]);
  for (const n of notes.notes) { const v = notes.latents[inst]?.[n]; if (v) man.push({ z: Float32Array.from(v), f }); }
}
const D = 64;
const cent = fams.map(() => ({ s: new Float64Array(D), n: 0 }));
for (const m of man) if (m.f >= 0) { cent[m.f].n++; for (let d = 0; d < D; d++) cent[m.f].s[d] += m.z[d]; }
const sf = await Soundfont.load();
let nn = 0, arg = 0, cen = 0, knn = 0, N = 0;
const dist = (a, b) => { let s = 0; for (let d = 0; d < D; d++) s += (a[d] - b[d]) ** 2; return s; };
for (const program of HELD_OUT_PROGRAMS) {
  const fam = familyOfProgram(program);
  for (const midi of KEYBOARD_NOTES) {
    const samples = await sf.render([{ program, midi, velocity: 90, start: 0, duration: 1 }], { seconds: 1.5 });
    const { z } = encodeClip(model, samples, chooseWindow(samples, { duration: WINDOW_SECONDS }), ANALYSIS_RATE);
    let best = 0, bd = Infinity;
    const ds = man.map((m, i) => [dist(m.z, z), i]).sort((a, b) => a[0] - b[0]);
    nn += man[ds[0][1]].f === fam;
    const votes = new Array(16).fill(0); for (let k = 0; k < 15; k++) votes[man[ds[k][1]].f]++;
    knn += votes.indexOf(Math.max(...votes)) === fam;
    let am = 0; for (let f = 1; f < 16; f++) if (z[3 + f] > z[3 + am]) am = f;
    arg += am === fam;
    let cb = -1, cd = Infinity;
    cent.forEach((c, f) => { if (!c.n) return; const m = Array.from(c.s, (v) => v / c.n); const d = dist(m, z); if (d < cd) { cd = d; cb = f; } });
    cen += cb === fam;
    N++;
  }
}
console.log(JSON.stringify({ N, nearest: nn / N, knn15: knn / N, anchoredArgmax: arg / N, centroid: cen / N }));
