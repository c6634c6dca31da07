import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJobs, type GalleryJob } from '../src/core/gallery/jobs.js';
import { FileHasher, STATE_FILE, StateLog, canonicalJson, jobHash, readState } from '../src/core/gallery/manifest.js';
import { LOCK_FILE, lockGallery, outputPath, prepareGalleryDir, removeStaleTemps } from '../src/core/gallery/paths.js';
import { parseShard, shardJobs } from '../src/core/gallery/run.js';
import type { GalleryRecord } from '../src/core/gallery/record.js';

/** Content hashes, the state log, output paths under symlinks, stale temp files, the lock, shards. */

const dir = mkdtempSync(join(tmpdir(), 'nca-gallery-manifest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function jobsOf(body: unknown[], jobsFile = join(dir, 'jobs.json')): Promise<GalleryJob[]> {
  const plan = await parseJobs(JSON.stringify({ format: 'nca-gallery-jobs', version: 1, jobs: body }), { jobsFile });
  return plan.jobs;
}

describe('job hashes', () => {
  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, b: null }] })).toBe('{"a":[{"b":null,"d":2}],"b":1}');
  });

  it('cover the settings, the inputs\' contents and the model, not where the inputs are', async () => {
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'a', 'z.json'), 'one');
    writeFileSync(join(dir, 'b', 'z.json'), 'one');
    const [inA, inB, steps, otherName] = await jobsOf([
      { name: 'x', latent: 'a/z.json' },
      { name: 'x2', latent: 'b/z.json' },
      { name: 'x3', latent: 'a/z.json', steps: 7 },
      { name: 'y', latent: 'a/z.json' },
    ]);
    const ctx = { hasher: new FileHasher(), model: 'm1' };
    const h = (j: GalleryJob, c = ctx) => jobHash(j, c);
    const sameOutput = (j: GalleryJob) => ({ ...j, name: 'x', output: 'x.gif' });
    expect(await h(sameOutput(inB!))).toBe(await h(inA!)); // moved input, same contents
    expect(await h(sameOutput(steps!))).not.toBe(await h(inA!));
    expect(await h(otherName!)).not.toBe(await h(inA!)); // another output
    expect(await h(inA!, { hasher: new FileHasher(), model: 'm2' })).not.toBe(await h(inA!));
    writeFileSync(join(dir, 'b', 'z.json'), 'two');
    expect(await h(sameOutput(inB!), { hasher: new FileHasher(), model: 'm1' })).not.toBe(await h(inA!));
    // a params job does not depend on the model
    writeFileSync(join(dir, 'p.json'), 'p');
    const [p] = await jobsOf([{ name: 'p', params: 'p.json' }]);
    expect(await h(p!, { hasher: new FileHasher(), model: 'm1' })).toBe(await h(p!, { hasher: new FileHasher(), model: 'm2' }));
  });

  it('name an unreadable input', async () => {
    const [j] = await jobsOf([{ name: 'x', audio: 'nope.wav' }]);
    await expect(jobHash(j!, { hasher: new FileHasher() })).rejects.toThrow(`cannot read audio file ${join(dir, 'nope.wav')}: no such file`);
  });
});

describe('state log', () => {
  const record = (output: string, hash: string, status: GalleryRecord['status'] = 'ok'): GalleryRecord => ({ name: output, index: 0, source: { kind: 'random', label: 'r' }, job: {}, hash, output, status });

  it('keeps the latest record per output and skips a torn last line', async () => {
    const g = join(dir, 'state');
    mkdirSync(g);
    const log = new StateLog(join(g, STATE_FILE));
    await log.reset([record('a.gif', 'h0')]);
    await Promise.all([log.append(record('a.gif', 'h1')), log.append(record('b.gif', 'h2', 'failed'))]);
    writeFileSync(join(g, STATE_FILE), readFileSync(join(g, STATE_FILE), 'utf8') + '{"name":"c","output":"c.gif","ha', { flag: 'w' });
    const state = await readState(g);
    expect([...state.keys()]).toEqual(['a.gif', 'b.gif']);
    expect(state.get('a.gif')!.hash).toBe('h1');
    expect(state.get('b.gif')!.status).toBe('failed');
    await log.reset(state.values());
    expect(readFileSync(join(g, STATE_FILE), 'utf8').trim().split('\n')).toHaveLength(2);
  });
});

describe('output paths', () => {
  it('create folders inside the gallery and refuse links that lead out', async () => {
    const root = await prepareGalleryDir(join(dir, 'gal'));
    expect(await outputPath(root, 'violin/F#4.gif')).toBe(join(root, 'violin', 'F#4.gif'));
    expect(existsSync(join(root, 'violin'))).toBe(true);
    const outside = mkdtempSync(join(tmpdir(), 'nca-outside-'));
    try {
      symlinkSync(outside, join(root, 'evil'));
      await expect(outputPath(root, 'evil/x.gif')).rejects.toThrow(/evil\/x\.gif: the folder evil leads out of the gallery folder/);
      await expect(outputPath(root, 'evil/deeper/x.gif')).rejects.toThrow(/leads out of the gallery folder/);
      expect(existsSync(join(outside, 'deeper'))).toBe(false);
      // a link that stays inside is fine
      symlinkSync(join(root, 'violin'), join(root, 'alias'));
      expect(await outputPath(root, 'alias/A4.gif')).toBe(join(root, 'violin', 'A4.gif'));
      mkdirSync(join(root, 'taken.gif'));
      await expect(outputPath(root, 'taken.gif')).rejects.toThrow('taken.gif is a folder in the gallery; remove it or rename the job');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('removes temp files of dead processes only', async () => {
    const root = await prepareGalleryDir(join(dir, 'temps'));
    mkdirSync(join(root, 'sub'));
    // a process that has exited: its pid is (almost surely) not reused within the test
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
    writeFileSync(join(root, `.nca-tmp-${deadPid}-0123abcd-a.gif`), 'partial');
    writeFileSync(join(root, 'sub', `.nca-tmp-${deadPid}-0123abcd-b.gif`), 'partial');
    writeFileSync(join(root, `.nca-tmp-${process.pid}-0123abcd-mine.gif`), 'live');
    writeFileSync(join(root, 'keep.gif'), 'x');
    expect(await removeStaleTemps(root)).toBe(2);
    expect(existsSync(join(root, `.nca-tmp-${process.pid}-0123abcd-mine.gif`))).toBe(true);
    expect(existsSync(join(root, 'keep.gif'))).toBe(true);
  });

  it('lets one run at a time write a gallery, taking over a dead run\'s lock', async () => {
    const root = await prepareGalleryDir(join(dir, 'lock'));
    writeFileSync(join(root, LOCK_FILE), '999999999\n'); // no such process
    const release = await lockGallery(root);
    const mine = readFileSync(join(root, LOCK_FILE), 'utf8');
    expect(mine.split('\n')[0]).toBe(String(process.pid)); // the pid, then a token of this run
    // the same lock held by a live process (pid 1 always exists)
    writeFileSync(join(root, LOCK_FILE), '1\n');
    await expect(lockGallery(root)).rejects.toThrow(/another nca gallery \(pid 1\) is writing to/);
    // release removes the lock only while it is this run's
    await release();
    expect(readFileSync(join(root, LOCK_FILE), 'utf8')).toBe('1\n');
    writeFileSync(join(root, LOCK_FILE), '999999999\n');
    const again = await lockGallery(root);
    await again();
    expect(existsSync(join(root, LOCK_FILE))).toBe(false);
  });
});

describe('shards', () => {
  it('split the jobs by index modulo n, each job in exactly one shard', async () => {
    const jobs = await jobsOf(Array.from({ length: 10 }, (_, i) => ({ name: `j${i}`, random: i })));
    const parts = [1, 2, 3].map((i) => shardJobs(jobs, { index: i, count: 3 }).map((j) => j.index));
    expect(parts).toEqual([[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]);
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/3', '4/3', '1/0', 'a/b', '1']) expect(() => parseShard(bad)).toThrow(/--shard: expected i\/n with 1 <= i <= n/);
  });
});
