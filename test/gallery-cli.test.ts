import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav16 } from '../src/core/audio/wav-write.js';
import { synthesize } from '../src/core/audio/synth.js';
import type { GalleryFile } from '../src/core/gallery/record.js';
import { latentToJson, randomLatent } from '../src/core/latent.js';
import { paramsToJson, randomParams } from '../src/core/nca/params.js';
import { Rng } from '../src/core/rng.js';
import { ncaInProcess } from './nca-in-process.js';

/**
 * `nca gallery` end to end on the built bin: every source kind, failures that do not stop the
 * others, resume (unchanged jobs skipped, edited ones redone), kill -9 and Ctrl-C mid-run,
 * shards + --merge, bad files refused before any work, outputs that cannot leave the folder, --atlas.
 */

const BIN = fileURLToPath(new URL('../bin/nca.js', import.meta.url));
const nca = (args: string[], cwd?: string) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd });
/**
 * The same in this process (src/cli.ts main, test/nca-in-process.ts), for runs about what the gallery
 * does rather than how it runs: from the sources there is no built worker script, so the jobs render in
 * this thread. Every mode (jobs file, --merge, --atlas, --dry-run) is also run through the real bin.
 */
const ncaHere = (args: string[]) => ncaInProcess(args);
const dir = mkdtempSync(join(tmpdir(), 'nca-gallery-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeJobs(name: string, body: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ format: 'nca-gallery-jobs', version: 1, ...body }, null, 1));
  return path;
}

/** Every file under `root` (relative paths), hidden ones included. */
function files(root: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(d, e.name));
      else out.push(relative(root, join(d, e.name)));
    }
  };
  visit(root);
  return out.sort();
}

/** A complete GIF: the header, and the trailer byte 0x3B at the end. A complete PNG: pngjs decodes it. */
function checkDecodes(path: string): void {
  const bytes = readFileSync(path);
  if (path.endsWith('.gif')) {
    expect(bytes.subarray(0, 6).toString('latin1'), path).toBe('GIF89a');
    expect(bytes[bytes.length - 1], path).toBe(0x3b);
  } else {
    const img = pngjs.PNG.sync.read(bytes);
    expect(img.width, path).toBeGreaterThan(0);
  }
}

function outputsOf(root: string): string[] {
  return files(root).filter((f) => /\.(gif|png)$/.test(f) && !f.split('/').some((p) => p.startsWith('.')));
}

function stateLines(root: string): Array<{ output: string; status: string }> {
  const text = existsSync(join(root, '.nca-gallery-state.jsonl')) ? readFileSync(join(root, '.nca-gallery-state.jsonl'), 'utf8') : '';
  return text.split('\n').flatMap((l) => {
    try {
      return l ? [JSON.parse(l) as { output: string; status: string }] : [];
    } catch {
      return [];
    }
  });
}

beforeAll(() => {
  writeFileSync(join(dir, 'z.json'), latentToJson({ z: randomLatent(new Rng(3)), provenance: {} }));
  writeFileSync(join(dir, 'p.json'), paramsToJson(randomParams(new Rng(2))));
  writeFileSync(join(dir, 'bad.json'), '{"format":"nca-latent","version":1,"dim":64,"z":[1,2,3]}');
  writeFileSync(join(dir, 'note.wav'), encodeWav16(synthesize({ instrument: 'flute', midi: 72, duration: 1.2 }), 22050));
});

describe('nca gallery', () => {
  it('renders every source kind, records failures, resumes and redoes only what changed', async () => {
    const body = {
      defaults: { steps: 16, size: 16 },
      jobs: [
        { name: 'latent', latent: 'z.json' },
        { name: 'chord', notes: 'F4,A4,C5', instrument: 'violin' },
        { name: 'clip', audio: 'note.wav', start: 0.1, duration: 1 },
        { name: 'song', audio: 'note.wav', track: true, fps: 10 },
        { name: 'random', random: 5 },
        { name: 'weights', params: 'p.json', format: 'png', scale: 2 },
        { name: 'bad', latent: 'bad.json' },
        { name: 'missing', latent: 'nope.json' },
        { name: 'walk', interpolate: { from: { latent: 'z.json' }, to: { notes: 'A4' }, frames: 3 } },
        { name: 'glide', interpolate: { from: { random: 1 }, to: { random: 2 }, frames: 4, track: true, slerp: true } },
      ],
      generators: [{ name: 'sweep/{instrument}-{notes}', instrument: ['organ', 'flute'], notes: ['G4', 'B5'] }],
    };
    const jobs = writeJobs('all.json', body);
    const out = join(dir, 'all');
    const r = nca(['gallery', jobs, '--out', out, '--jobs', '2', '--json']);
    expect(r.status, r.stderr).toBe(1); // some jobs failed
    const s = JSON.parse(r.stdout);
    const total = 10 + 2 + 4; // walk -> 3 jobs
    expect(s).toMatchObject({ jobs: total, ok: total - 2, failed: 2, skipped: 0, rendered: total - 1, workers: 2, threadsPerWorker: 1 });
    expect(s.failures).toEqual([
      { name: 'bad', error: `${join(dir, 'bad.json')}: z has 3 numbers, expected 64 (nca latents are 64-d)` },
      { name: 'missing', error: `cannot read latent file ${join(dir, 'nope.json')}: no such file or folder` },
    ]);
    const gallery = JSON.parse(readFileSync(join(out, 'gallery.json'), 'utf8')) as GalleryFile;
    expect(gallery.records.map((x) => x.output)).toEqual([
      'latent.gif', 'chord.gif', 'clip.gif', 'song.gif', 'random.gif', 'weights.png', 'bad.gif', 'missing.gif', 'walk-00.gif', 'walk-01.gif', 'walk-02.gif', 'glide.gif',
      'sweep/organ-G4.gif', 'sweep/organ-B5.gif', 'sweep/flute-G4.gif', 'sweep/flute-B5.gif',
    ]);
    expect(gallery.summary).toMatchObject({ jobs: total, ok: total - 2, failed: 2, workers: 2 });
    for (const rec of gallery.records.filter((x) => x.status === 'ok')) {
      expect(rec.bytes).toBe(statSync(join(out, rec.output)).size);
      expect(rec.motion?.alive).toMatch(/^(alive|static|noise|dead)$/);
      expect(rec.hash).toMatch(/^[0-9a-f]{64}$/);
      checkDecodes(join(out, rec.output));
    }
    const song = gallery.records.find((x) => x.name === 'song')!;
    expect(song.steps).toBe(12); // the 1.2-s file at 10 fps
    expect(gallery.records.find((x) => x.name === 'weights')).toMatchObject({ width: 32, height: 32, frames: 1 });
    expect(gallery.records.find((x) => x.name === 'chord')!.source).toEqual({ kind: 'notes', label: 'violin F4+A4+C5' });
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('sweep/organ-G4.gif');

    // the gallery renders what nca render renders: same bytes
    const single = join(dir, 'single.gif');
    expect(nca(['render', '--random', '--seed', '5', '--size', '16', '--steps', '16', '--out', single]).status).toBe(0);
    expect(readFileSync(join(out, 'random.gif')).equals(readFileSync(single))).toBe(true);

    // again: only the failed job that got as far as rendering is tried again
    const again = await ncaHere(['gallery', jobs, '--out', out, '--jobs', '1', '--json']); // resumes whatever runs the jobs
    expect(again.status).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ rendered: 1, skipped: total - 2, failed: 2 });

    // edit one job, fix the failures: only the edited job renders
    const before = readFileSync(join(out, 'clip.gif'));
    const edited = { ...body, jobs: body.jobs.filter((j) => j.name !== 'bad' && j.name !== 'missing').map((j) => (j.name === 'clip' ? { ...j, steps: 10 } : j)) };
    const third = await ncaHere(['gallery', writeJobs('all.json', edited), '--out', out, '--jobs', '1', '--json']);
    expect(third.status, third.stderr).toBe(0);
    expect(JSON.parse(third.stdout)).toMatchObject({ jobs: total - 2, rendered: 1, skipped: total - 3, failed: 0 });
    expect(readFileSync(join(out, 'clip.gif')).equals(before)).toBe(false);
    expect(files(out).filter((f) => f.includes('.nca-tmp'))).toEqual([]);
  });

  it('refuses a bad jobs file before any work, naming the job and the field', async () => {
    const jobs = writeJobs('bad-jobs.json', { jobs: [{ name: 'a', random: 1 }, { name: 'b', notes: 'H4' }] });
    const out = join(dir, 'never');
    const r = nca(['gallery', jobs, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('nca: jobs[1].notes: unknown note "H4"; use F4..B5\n');
    expect(existsSync(out)).toBe(false);

    const dry = await ncaHere(['gallery', writeJobs('ok-jobs.json', { jobs: [{ name: 'a', random: 1 }, { name: 'b', latent: 'nope.json' }] }), '--out', out, '--dry-run']);
    expect(dry.status).toBe(1);
    expect(dry.stdout).toContain('render a.gif');
    expect(dry.stdout).toContain(`fail   b.gif  (cannot read latent file ${join(dir, 'nope.json')}: no such file or folder)`);
    expect(existsSync(out)).toBe(false);
  });

  it('never writes outside the gallery folder through a symlink', () => {
    const out = join(dir, 'linked');
    const outside = join(dir, 'outside');
    mkdirSync(out);
    mkdirSync(outside);
    symlinkSync(outside, join(out, 'evil'));
    const r = nca(['gallery', writeJobs('evil.json', { jobs: [{ name: 'ok', random: 1, steps: 2, size: 8 }, { name: 'evil/x', random: 1 }] }), '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^nca: evil\/x\.gif: the folder evil leads out of the gallery folder/);
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(out, 'ok.gif'))).toBe(false); // refused before any work
  });

  it('resumes after kill -9 with nothing redone and nothing corrupt, and stops cleanly on Ctrl-C', async () => {
    const N = 16; // enough that both interruptions land mid-run (after 4 and after 4 + 3 logged jobs)
    const jobs = writeJobs('many.json', { defaults: { steps: 200, size: 32 }, generators: [{ name: 'r/{random}', random: { from: 0, count: N } }] });
    const out = join(dir, 'killed');

    /** Start a run and send `signal` once `after` jobs are logged; resolves with the exit code and the lines logged then. */
    const interrupted = (signal: NodeJS.Signals, after: number) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; logged: number }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'gallery', jobs, '--out', out, '--jobs', '2'], { stdio: 'ignore' });
        let logged = -1;
        const poll = setInterval(() => {
          const n = stateLines(out).length;
          if (n >= after && logged < 0) {
            logged = n;
            child.kill(signal);
          }
        }, 20);
        child.on('error', reject);
        child.on('exit', (code, sig) => {
          clearInterval(poll);
          resolve({ code, signal: sig, logged });
        });
      });

    const killed = await interrupted('SIGKILL', 4);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.logged).toBeGreaterThanOrEqual(4);
    const done = stateLines(out).filter((l) => l.status === 'ok').map((l) => l.output);
    expect(done.length).toBeLessThan(N); // killed mid-run
    // nothing corrupt: every output present is complete (temp files may remain, under their temp names)
    for (const f of outputsOf(out)) checkDecodes(join(out, f));
    expect(outputsOf(out)).toEqual(expect.arrayContaining(done));

    const stopped = await interrupted('SIGINT', done.length + 3);
    expect(stopped.code).toBe(130);
    const gallery = JSON.parse(readFileSync(join(out, 'gallery.json'), 'utf8')) as GalleryFile;
    expect(gallery.records.length).toBeGreaterThanOrEqual(done.length + 3); // what finished is in the sheet
    expect(files(out).filter((f) => f.includes('.nca-tmp'))).toEqual([]);

    const finished = new Set(stateLines(out).filter((l) => l.status === 'ok').map((l) => l.output));
    const rerun = await ncaHere(['gallery', jobs, '--out', out, '--jobs', '2', '--json']);
    expect(rerun.status, rerun.stderr).toBe(0);
    const s = JSON.parse(rerun.stdout);
    expect(s).toMatchObject({ jobs: N, ok: N, failed: 0, skipped: finished.size, rendered: N - finished.size });
    expect(outputsOf(out)).toHaveLength(N);
    for (const f of outputsOf(out)) checkDecodes(join(out, f));
    expect(files(out).filter((f) => f.startsWith('.') || f.includes('/.'))).toEqual(['.nca-gallery-state.jsonl']);
  });

  it('splits jobs into shards whose merge equals the whole gallery', async () => {
    const jobs = writeJobs('shards.json', { defaults: { steps: 8, size: 8 }, generators: [{ name: 's{random}', random: { from: 0, count: 5 } }] });
    const a = join(dir, 'shard-a'), b = join(dir, 'shard-b'), merged = join(dir, 'merged');
    const ra = await ncaHere(['gallery', jobs, '--out', a, '--shard', '1/2', '--jobs', '1', '--json']);
    const rb = await ncaHere(['gallery', jobs, '--out', b, '--shard', '2/2', '--jobs', '1', '--json']);
    expect(JSON.parse(ra.stdout)).toMatchObject({ jobs: 3, rendered: 3, shard: '1/2' });
    expect(JSON.parse(rb.stdout)).toMatchObject({ jobs: 2, rendered: 2, shard: '2/2' });
    expect(outputsOf(a)).toEqual(['s0.gif', 's2.gif', 's4.gif']);
    expect(outputsOf(b)).toEqual(['s1.gif', 's3.gif']);

    const m = nca(['gallery', '--merge', a, b, '--out', merged, '--json']);
    expect(m.status, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout)).toMatchObject({ jobs: 5, ok: 5, failed: 0, copied: 5, conflicts: [] });
    const gallery = JSON.parse(readFileSync(join(merged, 'gallery.json'), 'utf8')) as GalleryFile;
    expect(gallery.records.map((r) => [r.name, r.shard])).toEqual([['s0', '1/2'], ['s1', '2/2'], ['s2', '1/2'], ['s3', '2/2'], ['s4', '1/2']]);
    expect(existsSync(join(merged, 'index.html'))).toBe(true);
    expect(readFileSync(join(merged, 's3.gif')).equals(readFileSync(join(b, 's3.gif')))).toBe(true);
    // the merged folder is a finished gallery: the whole, unsharded run has nothing left to do
    const whole = await ncaHere(['gallery', jobs, '--out', merged, '--json']);
    expect(JSON.parse(whole.stdout)).toMatchObject({ jobs: 5, rendered: 0, skipped: 5 });
  });

  it('draws a latent atlas with --atlas', async () => {
    const corners = [1, 2, 3].map((seed) => {
      const path = join(dir, `corner${seed}.json`);
      writeFileSync(path, latentToJson({ z: randomLatent(new Rng(seed)), provenance: {} }));
      return path;
    });
    const out = join(dir, 'atlas.png');
    const r = nca(['gallery', '--atlas', ...corners, '--grid', '2', '--size', '8', '--steps', '4', '--out', out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ grid: 2, cells: 4 });
    const img = pngjs.PNG.sync.read(readFileSync(out));
    expect([img.width, img.height]).toEqual([2 * 8 + 2, 2 * 8 + 2]);
    // on worker threads (the default: one per core) or in one thread: the same sheet
    const single = join(dir, 'atlas-1.png');
    expect((await ncaHere(['gallery', '--atlas', ...corners, '--grid', '2', '--size', '8', '--steps', '4', '--out', single, '--jobs', '1'])).status).toBe(0);
    expect(readFileSync(single).equals(readFileSync(out))).toBe(true);
    expect((await ncaHere(['gallery', '--atlas', corners[0]!, corners[1]!, '--out', out])).stderr).toMatch(/--atlas takes three corner latents/);
  });
});
