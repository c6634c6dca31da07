// The spread of the growth figure over independent seeded rollouts (docs/grow.md#measured):
//   node bench/grow/growth-spread.mjs [--rollouts 8] [--seed 1] [--threads 1] [--padding 4] [--dist dist] params.json...
// For each parameters file, `rollouts` samples grow from one cell at once (the training update rate, the
// update masks from Rng(seed)); prints the box MSE at steps 100 and 1000 of each sample and their median,
// as one JSON line per file. Needs a built dist/ (npx tsc -p tsconfig.json), or --dist of a frozen copy.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const rollouts = Number(opt('--rollouts', '8'));
const seed = Number(opt('--seed', '1'));
const threads = Number(opt('--threads', '1'));
const padding = Number(opt('--padding', '4'));
const dist = resolve(opt('--dist', 'dist'));
const load = (m) => import(pathToFileURL(`${dist}/${m}`).href);
const { readGrowParamsFile } = await load('core/grow/render.js');
const { emojiTarget } = await load('core/grow/target.js');
const { GrowPlayer } = await load('core/grow/player.js');
const { seedStates } = await load('core/grow/seed-state.js');
const { boxMse } = await load('core/grow/evaluate.js');
const { Rng } = await load('core/rng.js');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const target = await emojiTarget('🦎', 40, padding); // the lizard as trained (docs/grow.md: --padding 4)
for (const file of args) {
  const { weights, info } = await readGrowParamsFile(file);
  if (info.width !== target.width || info.height !== target.height) throw new Error(`${file} was trained on ${info.width}x${info.height}, the target is ${target.width}x${target.height}: give its --padding`);
  const player = await GrowPlayer.create(weights, { batch: rollouts, height: target.height, width: target.width }, { fireRate: info.fireRate, rng: new Rng(seed), threads });
  let state = seedStates(rollouts, target.width, target.height);
  const at100 = [], at1000 = [];
  try {
    for (let t = 1; t <= 1000; t++) {
      state = await player.step(state);
      if (t === 100 || t === 1000) for (let b = 0; b < rollouts; b++) (t === 100 ? at100 : at1000).push(boxMse(state, b, target));
    }
  } finally {
    await player.dispose();
  }
  const r4 = (x) => Number(x.toFixed(4));
  console.log(JSON.stringify({ file, rollouts, seed, median100: r4(median(at100)), median1000: r4(median(at1000)), at100: at100.map(r4), at1000: at1000.map(r4) }));
}
