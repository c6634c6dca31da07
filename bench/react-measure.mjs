// Reactive renders of code-composed songs and their scores (development; nca bench runs src/core/react/bench.ts).
// node bench/react-measure.mjs [styles=rock,jazz,electronic,ballad] [seconds=30] [size=96x54] [fps=30] [variant JSON] [strip.png] [series.json]
//   series.json (optional): each song's per-frame audio features, visual series and plan, for the analyses below.
// node bench/react-measure.mjs --rescore series.json...
//   scores saved series again (no render): r, the control (every frame from 4 to 13 s), a perfect follower's
//   control, the control on the whole-second shifts 4..13 s (the first version), and two hue controls that were
//   considered and not used (docs/music-video.md#the-measure): the direction held at the score's own fit, and
//   the mean circular-linear r over 200 shuffles of the centroid; and the plan's controls: those of a picture that
//   did exactly what the plan says (change = the pulse's size, brightness = -log2 of the exposure's gamma, hue = the
//   plan's hue), i.e. what the song and the reactions' smoothing give before the NCA draws anything.
import fs from 'node:fs';
import os from 'node:os';
import { runReactMeasure, WHOLE_SECOND_SHIFTS } from '../dist/core/react/bench.js';
import { reactionScores, circularLinear, roll, controlShifts } from '../dist/core/react/measure.js';
import { pearson } from '../dist/core/stats.js';
import { Rng } from '../dist/core/rng.js';
import { reactPlan } from '../dist/core/react/plan.js';

if (process.argv[2] === '--rescore') {
  const f = (x) => x.toFixed(2);
  console.log('| song | onset -> change: r / control [follower] (whole s) | loudness -> brightness | log centroid -> hue | hue: held direction / shuffles | the plan: r / control (onset, loudness, hue) |');
  for (const file of process.argv.slice(3)) {
    for (const s of JSON.parse(fs.readFileSync(file, 'utf8'))) {
      const features = Object.fromEntries(Object.entries(s.features).map(([k, v]) => [k, Array.isArray(v) ? Float32Array.from(v) : v]));
      const visual = Object.fromEntries(Object.entries(s.visual).map(([k, v]) => [k, Float32Array.from(v)]));
      const now = reactionScores(features, visual), old = reactionScores(features, visual, { shiftSeconds: WHOLE_SECOND_SHIFTS });
      const cell = (k) => `${f(now[k].r)} / ${f(now[k].control)} [${f(now[k].follower)}] (${f(old[k].control)})`;
      const { held, shuffled } = hueAlternatives(features, visual);
      const plan = reactPlan(features, { track: new Float32Array(features.frames * 64) });
      const p = reactionScores(features, { change: plan.pulse, energy: Float32Array.from(plan.exposure, (g) => -Math.log2(g)), hue: plan.hue });
      const pc = (k) => `${f(p[k].r)} / ${f(p[k].control)}`;
      console.log(`| ${s.style} ${s.tempo} bpm, seed ${s.seed} | ${cell('onsetChange')} | ${cell('loudnessEnergy')} | ${cell('centroidHue')} | ${f(held)} / ${f(shuffled)} | ${pc('onsetChange')}, ${pc('loudnessEnergy')}, ${pc('centroidHue')} |`);
    }
  }
  process.exit(0);
}

/** Hue controls not used: the direction of the score's own fit held for every shift (1 degree of freedom), and the mean r over shuffles. */
function hueAlternatives(features, visual) {
  const n = features.frames, hz = Float32Array.from(features.centroid);
  const first = hz.findIndex((c) => c > 0);
  for (let i = 0; i < n; i++) if (!(hz[i] > 0)) hz[i] = i < first ? hz[first] : hz[i - 1];
  const x = Float32Array.from(hz, Math.log2).subarray(1), th = visual.hue.subarray(1);
  const c = Float64Array.from(th, Math.cos), s = Float64Array.from(th, Math.sin);
  const sd = (a) => { const m = a.reduce((p, q) => p + q, 0) / a.length; return Math.sqrt(a.reduce((p, q) => p + (q - m) ** 2, 0) / a.length); };
  const rxc = pearson(x, c), rxs = pearson(x, s), rcs = pearson(c, s), den = 1 - rcs * rcs;
  const phi = Math.atan2((rxs - rxc * rcs) / den / sd(s), (rxc - rxs * rcs) / den / sd(c));
  const along = Float64Array.from(th, (t) => Math.cos(t - phi));
  const logC = Float32Array.from(hz, Math.log2);
  const held = controlShifts(n, features.fps).map((k) => Math.abs(pearson(roll(logC, k).subarray(1), along))).sort((a, b) => a - b);
  const rng = new Rng(1), xs = Float32Array.from(x);
  let sum = 0;
  for (let t = 0; t < 200; t++) {
    for (let i = xs.length - 1; i > 0; i--) { const j = rng.int(i + 1); [xs[i], xs[j]] = [xs[j], xs[i]]; }
    sum += circularLinear(xs, th);
  }
  return { held: held[held.length >> 1], shuffled: sum / 200 };
}

const [styles = 'rock,jazz,electronic,ballad', seconds = '30', size = '96x54', fps = '30', variant = '{}', strip, seriesPath] = process.argv.slice(2);
const [w, h] = size.split('x').map(Number);
const series = [];
const plain = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v) : v && typeof v === 'object' ? plain(v) : v]));
const r = await runReactMeasure({
  styles: styles.split(','), seconds: Number(seconds), width: w, height: h ?? w, fps: Number(fps), ...JSON.parse(variant),
  stripPath: strip || undefined, onProgress: (s) => process.stderr.write(`  ${s}\n`),
  onSeries: seriesPath ? (s) => series.push(plain(s)) : undefined,
});
if (seriesPath) fs.writeFileSync(seriesPath, JSON.stringify(series));
console.log(JSON.stringify({ load: os.loadavg(), ...r }, null, 1));
