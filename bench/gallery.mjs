#!/usr/bin/env node
/**
 * The gallery's parallel speedup: a 64-job gallery (random latents 0..63 through the shipped model,
 * 64x64, 200 steps, GIF) rendered from scratch with --jobs 1 and --jobs 2, `repeats` times each
 * (alternating), on the built bin (npm run build first). Prints each run, the medians, jobs/s, the
 * speedup and the load average before and after (the figures are noisy when the machine is busy).
 *
 *   node bench/gallery.mjs [repeats=3] [jobs=64] [workers=1,2]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repeats = Number(process.argv[2] ?? 3);
const count = Number(process.argv[3] ?? 64);
const workerCounts = (process.argv[4] ?? '1,2').split(',').map(Number);
const bin = fileURLToPath(new URL('../bin/nca.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nca-bench-gallery-'));
const jobs = join(dir, 'jobs.json');
writeFileSync(jobs, JSON.stringify({
  format: 'nca-gallery-jobs', version: 1,
  defaults: { steps: 200, size: 64 },
  generators: [{ name: 'r{random}', random: { from: 0, count } }],
}));

const hasTime = existsSync('/usr/bin/time');
const uptime = () => spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`machine: ${availableParallelism()} cores; before: ${uptime()}`);
const runs = Object.fromEntries(workerCounts.map((w) => [w, []]));
try {
  for (let r = 0; r < repeats; r++) {
    for (const w of r % 2 ? [...workerCounts].reverse() : workerCounts) {
      const out = join(dir, `out-${w}-${r}`);
      const load = loadavg()[0];
      const t0 = performance.now();
      // CPU seconds (user + sys) through GNU time when it is there: less sensitive to other load than wall time.
      const cpuFile = join(dir, 'cpu.txt');
      const args = [process.execPath, bin, 'gallery', jobs, '--out', out, '--jobs', String(w), '--json'];
      const p = hasTime ? spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, ...args], { encoding: 'utf8' }) : spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
      const wall = (performance.now() - t0) / 1000;
      const cpu = hasTime ? readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0) : NaN;
      if (p.status !== 0) throw new Error(`nca gallery failed (${p.status}): ${p.stderr}`);
      const s = JSON.parse(p.stdout);
      if (s.ok !== count) throw new Error(`only ${s.ok} of ${count} jobs ok: ${JSON.stringify(s.failures)}`);
      runs[w].push({ wall, cpu, gallery: s.seconds, threads: s.threadsPerWorker, load });
      console.log(`--jobs ${w} (x ${s.threadsPerWorker} onnxruntime threads): ${wall.toFixed(2)} s wall (gallery ${s.seconds.toFixed(2)} s), ${(count / wall).toFixed(2)} jobs/s, ${cpu.toFixed(1)} CPU s (${(cpu / wall).toFixed(2)} cores busy), load ${load.toFixed(2)} at start`);
      rmSync(out, { recursive: true, force: true });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`after: ${uptime()}`);
const med = Object.fromEntries(workerCounts.map((w) => [w, median(runs[w].map((x) => x.wall))]));
for (const w of workerCounts) console.log(`median --jobs ${w}: ${med[w].toFixed(2)} s, ${(count / med[w]).toFixed(2)} jobs/s, ${median(runs[w].map((x) => x.cpu)).toFixed(1)} CPU s`);
if (med[1] && med[2]) console.log(`speedup 2 workers over 1: ${(med[1] / med[2]).toFixed(2)}x`);
