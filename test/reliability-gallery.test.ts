import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { parseJobs } from '../src/core/gallery/jobs.js';
import { FileHasher } from '../src/core/gallery/manifest.js';
import { LOCK_FILE, lockGallery, prepareGalleryDir } from '../src/core/gallery/paths.js';
import { RenderPool } from '../src/core/gallery/pool.js';
import type { GalleryFile } from '../src/core/gallery/record.js';
import { paramsToJson, randomParams } from '../src/core/nca/params.js';
import { Rng } from '../src/core/rng.js';
import { pngDeclaring } from './png-files.js';

/**
 * The gallery under hostile input (issue 11): the stale-lock take-over race, jobs whose outputs
 * collide, a jobs file nested 50,000 levels deep, the "more problems" summary, jobs whose inputs are
 * hostile (they fail alone; the rest of the gallery completes), and an output folder under /proc.
 */

const BIN = fileURLToPath(new URL('../bin/nca.js', import.meta.url));
const DIST_PATHS = fileURLToPath(new URL('../dist/core/gallery/paths.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nca-reliability-gallery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pid no process has (above Linux's largest pid_max). */
const DEAD_PID = 999_999_999;

const jobsText = (body: Record<string, unknown>) => JSON.stringify({ format: 'nca-gallery-jobs', version: 1, ...body });
async function errorOf(text: string): Promise<unknown> {
  try {
    await parseJobs(text, { jobsFile: join(dir, 'jobs.json') });
  } catch (e) {
    return e;
  }
  throw new Error('parseJobs accepted the file');
}

describe('the gallery lock', () => {
  it('of many runs taking over a stale lock at once, exactly one wins (in-process, 100 trials of 8)', async () => {
    let trials = 0;
    const outcomes: string[] = [];
    for (let t = 0; t < 100; t++) {
      const root = await prepareGalleryDir(join(dir, 'race', String(t)));
      writeFileSync(join(root, LOCK_FILE), `${DEAD_PID}\n`);
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => lockGallery(root)));
      const won = results.filter((r): r is PromiseFulfilledResult<() => Promise<void>> => r.status === 'fulfilled');
      if (won.length !== 1) outcomes.push(`trial ${t}: ${won.length} winners`);
      for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/another nca gallery \(pid \d+\) is writing to/);
      for (const w of won) await w.value();
      expect(readdirSync(root)).toEqual([]); // released: no lock, no breaker left
      trials++;
    }
    expect(outcomes).toEqual([]);
    expect(trials).toBe(100);
  });

  it('of real processes taking over a stale lock at once, exactly one wins', async () => {
    // Each process waits for the same start time, tries the lock and says whether it won; a winner
    // holds the lock until every process has answered (its stdin is closed), then releases it.
    const script = `
      const { lockGallery } = await import(${JSON.stringify(DIST_PATHS)});
      const [root, start] = process.argv.slice(1);
      while (Date.now() < Number(start)) {}
      try {
        const release = await lockGallery(root);
        process.stdout.write('won\\n');
        process.stdin.on('end', () => release()).resume();
      } catch (e) {
        process.stdout.write('lost: ' + e.message + '\\n');
      }`;
    for (let t = 0; t < 3; t++) {
      const root = await prepareGalleryDir(join(dir, 'race-processes', String(t)));
      writeFileSync(join(root, LOCK_FILE), `${DEAD_PID}\n`);
      const start = Date.now() + 1000; // after every process has started
      const children = Array.from({ length: 5 }, () => spawn(process.execPath, ['--input-type=module', '-e', script, root, String(start)], { stdio: ['pipe', 'pipe', 'inherit'] }));
      const exited = children.map((c) => new Promise((resolve) => c.on('exit', resolve)));
      const answers = await Promise.all(children.map((c) => new Promise<string>((resolve) => {
        let out = '';
        c.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.endsWith('\n')) resolve(out.trim());
        });
        c.on('exit', () => resolve(out.trim()));
      })));
      for (const c of children) c.stdin.end();
      await Promise.all(exited);
      expect(answers.filter((o) => o === 'won'), answers.join(' | ')).toHaveLength(1);
      for (const o of answers.filter((x) => x !== 'won')) expect(o).toMatch(/^lost: another nca gallery \(pid \d+\) is writing to/);
      expect(readdirSync(root)).toEqual([]);
    }
  });

  it('takes over a lock left by an earlier process with this pid, and a breaker left by a dead run', async () => {
    const root = await prepareGalleryDir(join(dir, 'reuse'));
    writeFileSync(join(root, LOCK_FILE), `${process.pid}\n0123456789abcdef\n`); // our pid, not our token
    writeFileSync(join(root, `${LOCK_FILE}.breaker`), `${DEAD_PID}\nfedcba9876543210\n`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(root, `${LOCK_FILE}.breaker`), old, old);
    const release = await lockGallery(root);
    expect(readFileSync(join(root, LOCK_FILE), 'utf8')).toMatch(new RegExp(`^${process.pid}\\n[0-9a-f]+\\n$`));
    // held by this process: a second run in this process is refused
    await expect(lockGallery(root)).rejects.toThrow(/another nca gallery/);
    await release();
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('jobs whose outputs collide', () => {
  it('refuses a job whose file is a folder another job needs, naming both jobs, in either order', async () => {
    const e1 = await errorOf(jobsText({ jobs: [{ name: 'a', random: 1 }, { name: 'a.gif/b', random: 2 }] }));
    expect(e1).toBeInstanceOf(UserError);
    expect((e1 as Error).message).toBe('jobs[1].name: job "a.gif/b" needs a folder a.gif, but that is the file job "a" of jobs[0] writes; rename one of them');
    const e2 = await errorOf(jobsText({ jobs: [{ name: 'x/a.gif/b', random: 2 }, { name: 'x/a', random: 1 }] }));
    expect((e2 as Error).message).toBe('jobs[1].name: job "x/a" writes x/a.gif, but job "x/a.gif/b" of jobs[0] needs a folder of that name (it writes x/a.gif/b.gif); rename one of them');
  });

  it('finds collisions made by generators and interpolations too', async () => {
    const e = await errorOf(jobsText({ jobs: [{ name: 'r1', random: 1 }], generators: [{ name: 'r{random}.gif/x', random: [0, 1] }] }));
    expect((e as Error).message).toMatch(/^generators\[0\]\.name: job "r1\.gif\/x" needs a folder r1\.gif, but that is the file job "r1" of jobs\[0\] writes/);
    const walk = await errorOf(jobsText({ jobs: [{ name: 'w-01.gif/z', random: 1 }, { name: 'w', interpolate: { from: { random: 1 }, to: { random: 2 }, frames: 3 } }] }));
    expect((walk as Error).message).toMatch(/^jobs\[1\]\.name: job "w-01" writes w-01\.gif, but job "w-01\.gif\/z" of jobs\[0\] needs a folder/);
    // PNG and GIF outputs of one name do not collide; neither do a file and a folder that differ
    const ok = await parseJobs(jobsText({ jobs: [{ name: 'a', random: 1 }, { name: 'a', random: 2, format: 'png' }, { name: 'a/b', random: 3 }] }), { jobsFile: join(dir, 'jobs.json') });
    expect(ok.jobs.map((j) => j.output)).toEqual(['a.gif', 'a.png', 'a/b.gif']);
  });
});

describe('a jobs file nested too deeply', () => {
  it('is refused with a clear message, not a stack overflow (50,000 levels)', async () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    for (const text of [
      `{"format":"nca-gallery-jobs","version":1,"jobs":[{"name":"a","random":1,"comment":${deep}}]}`,
      `{"format":"nca-gallery-jobs","version":1,"jobs":${deep}}`,
      deep,
    ]) {
      const e = await errorOf(text);
      expect(e).toBeInstanceOf(UserError);
      expect((e as Error).message).toMatch(/jobs\.json nests arrays and objects more than 32 levels deep \(at (jobs\[0\]\.comment\[0\]|jobs\[0\]\[0\]\[0\]|\[0\]\[0\]\[0\]\[0\])\.\.\.\); nothing nca reads needs that many$/);
    }
    // a real jobs file is far from the limit
    const walk = { name: 'w', interpolate: { from: { notes: ['A4'] }, to: { random: 1 }, frames: 2 } };
    await expect(parseJobs(jobsText({ jobs: [walk] }), { jobsFile: join(dir, 'jobs.json'), catalog: async () => ({ instruments: ['piano'], notes: ['A4'] }) })).resolves.toBeDefined();
  });
});

describe('the summary of several problems', () => {
  it('names the place of each further problem (job and field), not the first word of its message', async () => {
    const e = await errorOf(jobsText({ jobs: [{ name: 'a', random: -1 }, { name: 'b', random: 1, fps: 0 }, { name: 'c', random: 1, steps: 'x' }, { name: 'd', random: 1, size: 'huge' }] }));
    expect((e as Error).message).toBe(
      'expected an integer between 0 and 4294967295 for jobs[0].random but received -1 (and 3 more problems: jobs[1].fps, jobs[2].steps, jobs[3].size)',
    );
    const g = await errorOf(jobsText({ defaults: { scale: 99 }, jobs: [{ name: 'a', random: 1 }, { name: 'b' }], generators: [{ name: 'r{seed}', random: 1, seed: ['x', -1] }] }));
    expect((g as Error).message).toMatch(/^expected an integer between 1 and 16 for defaults\.scale but received 99 \(and \d+ more problems?: jobs\[1\], generators\[0\]\.seed\[1\]/);
  });
});

describe('jobs with hostile inputs', () => {
  it('fail alone with their message recorded; the rest of the gallery completes (no hang, no abort)', () => {
    const work = join(dir, 'hostile');
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work);
    writeFileSync(join(work, 'p.json'), paramsToJson(randomParams(new Rng(2))));
    writeFileSync(join(work, 'huge.png'), pngDeclaring(2147483647, 2147483647));
    spawnSync('mkfifo', [join(work, 'fifo.json')]);
    const jobs = join(work, 'jobs.json');
    writeFileSync(jobs, jobsText({
      defaults: { steps: 4, size: 8 },
      jobs: [
        { name: 'good', params: 'p.json' },
        { name: 'zero', latent: '/dev/zero' },
        { name: 'urandom', params: '/dev/urandom' },
        { name: 'fifo', params: 'fifo.json' },
        { name: 'huge', params: 'p.json', init: 'image:huge.png' },
        { name: 'missing', params: 'nope.json' },
        { name: 'good2', params: 'p.json', seed: 3 },
      ],
    }));
    const out = join(work, 'gallery');
    const r = spawnSync(process.execPath, [BIN, 'gallery', jobs, '--out', out, '--jobs', '2', '--json'], { encoding: 'utf8', timeout: 40_000, killSignal: 'SIGKILL' });
    expect(r.signal, 'the gallery hung and was killed').toBeNull();
    expect(r.status, r.stderr).toBe(1); // some jobs failed, the gallery itself did not
    const gallery = JSON.parse(readFileSync(join(out, 'gallery.json'), 'utf8')) as GalleryFile;
    const status = Object.fromEntries(gallery.records.map((x) => [x.name, x.status === 'ok' ? 'ok' : x.error]));
    expect(status.good).toBe('ok');
    expect(status.good2).toBe('ok');
    expect(status.zero).toMatch(/^cannot read latent file \/dev\/zero: it is a character device, not a regular file/);
    expect(status.urandom).toMatch(/^cannot read parameters file \/dev\/urandom: it is a character device/);
    expect(status.fifo).toMatch(/fifo\.json: it is a FIFO/);
    expect(status.huge).toMatch(/huge\.png/);
    expect(status.missing).toMatch(/^cannot read parameters file .*nope\.json: no such file/);
  });

  it('the file hasher refuses devices and FIFOs instead of reading them forever', async () => {
    const hasher = new FileHasher();
    await expect(hasher.hash('/dev/zero', 'latent file', 'json')).rejects.toThrow(/^cannot read latent file \/dev\/zero: it is a character device/);
    await expect(hasher.hash(dir, 'latent file', 'json')).rejects.toThrow(/it is a folder/);
  });

  it('a worker thread that dies fails only the job it held; the next job gets a new worker', async () => {
    const script = join(dir, 'dying-worker.mjs');
    writeFileSync(script, `
      import { writeFileSync } from 'node:fs';
      import { basename, dirname, join } from 'node:path';
      import { parentPort } from 'node:worker_threads';
      parentPort.on('message', (msg) => {
        if (msg.type !== 'run') return;
        if (msg.job.name === 'die') {
          // dies while writing its output (io/atomic.ts's temporary name)
          writeFileSync(join(dirname(msg.outPath), '.nca-tmp-' + process.pid + '-0123abcd-' + basename(msg.outPath)), 'partial');
          process.exit(3); // ends this thread only
        }
        if (msg.job.name === 'throw') setTimeout(() => { throw new Error('boom'); });
        else parentPort.postMessage({ type: 'done', id: msg.id, outcome: { ok: false, seconds: 0, error: 'rendered ' + msg.job.name } });
      });`);
    const pool = new RenderPool({ workers: 1, threads: 1, script: new URL(`file://${script}`) });
    const job = (name: string) => ({ index: 0, name, output: `${name}.gif`, source: { kind: 'random' as const, seed: 1 }, settings: { steps: 1, width: 8, height: 8, scale: 1, fps: 20, every: 1, seed: 0, perturb: 0, format: 'gif' as const }, origin: 'test' });
    const folder = join(dir, 'dying');
    mkdirSync(folder);
    writeFileSync(join(folder, 'keep.gif'), 'x');
    try {
      expect(await pool.run(0, job('die'), join(folder, 'x.gif'))).toMatchObject({ ok: false, error: 'the worker rendering this job died (exit code 3)' });
      expect(readdirSync(folder)).toEqual(['keep.gif']); // its temporary file removed
      expect(await pool.run(0, job('throw'), join(dir, 'x.gif'))).toMatchObject({ ok: false, error: 'the worker rendering this job died (boom)' });
      expect(await pool.run(0, job('next'), join(dir, 'x.gif'))).toMatchObject({ ok: false, error: 'rendered next' });
    } finally {
      await pool.close();
    }
  });
});

describe('an output folder nca cannot create', () => {
  it('fails at once with one line naming it (no endless mkdir loop under /proc)', () => {
    const jobs = join(dir, 'proc-jobs.json');
    writeFileSync(join(dir, 'p.json'), paramsToJson(randomParams(new Rng(2))));
    writeFileSync(jobs, jobsText({ defaults: { steps: 2, size: 8 }, jobs: [{ name: 'p', params: 'p.json' }] }));
    writeFileSync(join(dir, 'regular'), 'x');
    for (const [out, expected] of [
      ['/proc/gal', /^nca: cannot create the gallery folder \/proc\/gal: .*\n$/],
      ['/proc/self/gal/sub', /^nca: cannot create the gallery folder \/proc\/self\/gal\/sub: .*\n$/],
      [join(dir, 'regular', 'sub'), /^nca: cannot (create the gallery folder|write) .*regular\/sub: .*is a file, not a folder.*\n$/],
    ] as const) {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [BIN, 'gallery', jobs, '--out', out], { encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL' });
      expect(r.signal, `${out}: hung and was killed`).toBeNull();
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(expected);
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
    expect(existsSync(join(dir, 'regular', 'sub'))).toBe(false);
  });

  it('prepareGalleryDir says which part of the path is in the way', async () => {
    writeFileSync(join(dir, 'regular'), 'x');
    await expect(prepareGalleryDir(join(dir, 'regular', 'sub', 'deeper'))).rejects.toThrow(/^cannot create the gallery folder .*regular\/sub\/deeper: .*is a file, not a folder/);
  });
});

