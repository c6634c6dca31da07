#!/usr/bin/env node
/**
 * Issue 12: nca's training iteration of the shipped recipe (batch 8, 21 steps, persistence on; random pictures) on
 * one backend, as `nca train` runs it (benchmarkTraining of the built dist: the trainer itself, its own clocks),
 * to pair with pytorch-iteration.py in the same minutes. Prints the median (and minimum) of the iterations after
 * `--skip` warm-up iterations, the split (NCA forward, NCA backward, networks, optimizer), and the load average.
 *
 *   node bench/train-route/nca-iteration.mjs [--backend=onnx] [--iters=30] [--skip=10] [--threads=N]
 *   NCA_DIST=/path/to/dist node bench/train-route/nca-iteration.mjs   # a frozen build while others rebuild dist/
 *
 * --skip: onnxruntime sessions are slow for their first ~15 runs (docs/onnx-networks.md), so the first 10
 * iterations are warm-up by default (pytorch-iteration.py warms up 3). --threads: the rollouts' onnxruntime threads
 * (default: the trainer's, the number of cores).
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';

const DIST = process.env.NCA_DIST ? pathToFileURL(`${process.env.NCA_DIST.replace(/\/$/, '')}/`).href : new URL('../../dist/', import.meta.url).href;
const { benchmarkTraining } = await import(new URL('core/model/bench-train.js', DIST).href);

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const backend = arg('backend', 'onnx');
const iters = Number(arg('iters', '30'));
const skip = Number(arg('skip', '10'));
const threads = arg('threads', undefined) === undefined ? undefined : Number(arg('threads'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (s) => (s * 1000).toFixed(1);
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

console.log(`nca ${backend} iteration (benchmarkTraining of ${DIST}), batch 8, 21 steps, persistence on; ${iters} iterations, the first ${skip + 1} warm-up; rollout threads ${threads ?? 'default'}`);
console.log(`  ${uptime()}`);
const before = loadavg()[0];
const r = await benchmarkTraining({ iters, backend, ...(threads ? { threads } : {}) });
const after = loadavg()[0];
const xs = r.timed.slice(skip); // timed already leaves out iteration 1
const med = (f) => median(xs.map(f));
console.log(`  ran on ${r.backend}, load ${before.toFixed(2)} -> ${after.toFixed(2)}, median of ${xs.length} iterations:`);
console.log(`    iteration total  ${ms(med((x) => x.total)).padStart(7)} ms (min ${ms(Math.min(...xs.map((x) => x.total)))})` +
  `  = NCA forward ${ms(med((x) => x.ncaForward))} + NCA backward ${ms(med((x) => x.ncaBackward))} + networks ${ms(med((x) => x.networks))} + optimizer ${ms(med((x) => x.optimizer))} (medians of each part)`);
console.log(`    all timed iterations (ms): ${r.timed.map((x) => ms(x.total)).join(' ')}`);
console.log(`  ${uptime()}`);
console.log(`RESULT ${JSON.stringify({ backend: r.backend, median: med((x) => x.total), min: Math.min(...xs.map((x) => x.total)), ncaForward: med((x) => x.ncaForward), ncaBackward: med((x) => x.ncaBackward), networks: med((x) => x.networks), optimizer: med((x) => x.optimizer), load: [before, after] })}`);
