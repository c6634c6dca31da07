import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseJobs } from '../src/core/gallery/jobs.js';
import type { GalleryFile } from '../src/core/gallery/record.js';
import { runGallery, type GalleryProgress } from '../src/core/gallery/run.js';
import { paramsToJson, randomParams } from '../src/core/nca/params.js';
import { Rng } from '../src/core/rng.js';

/**
 * runGallery in this thread (under vitest the worker script is not built, so the pool renders
 * inline): progress reports, resume, and an abort that stops the run and keeps what finished.
 */

const dir = mkdtempSync(join(tmpdir(), 'nca-gallery-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'p.json'), paramsToJson(randomParams(new Rng(4))));

const plan = (count: number, steps = 6) =>
  parseJobs(JSON.stringify({ format: 'nca-gallery-jobs', version: 1, defaults: { steps, size: 8 }, generators: [{ name: 'p{seed}', params: 'p.json', seed: { from: 0, count } }] }), { jobsFile: join(dir, 'jobs.json') });

describe('runGallery', () => {
  it('reports progress per job and per worker, and skips finished jobs on a re-run', async () => {
    const out = join(dir, 'g');
    const seen: GalleryProgress[] = [];
    const s = await runGallery({ plan: await plan(3), out, workers: 2, onProgress: (p) => seen.push(structuredClone(p)) });
    expect(s).toMatchObject({ jobs: 3, rendered: 3, ok: 3, failed: 0, skipped: 0, workers: 2 });
    expect(seen.at(-1)).toMatchObject({ done: 3, total: 3, failed: 0 });
    expect(seen.some((p) => p.workers.some((w) => w.job === 'p2' && w.total === 6))).toBe(true);
    const file = JSON.parse(readFileSync(join(out, 'gallery.json'), 'utf8')) as GalleryFile;
    expect(file.records.map((r) => [r.name, r.status, r.source.label])).toEqual([['p0', 'ok', 'p.json'], ['p1', 'ok', 'p.json'], ['p2', 'ok', 'p.json']]);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    expect(existsSync(join(out, '.nca-gallery.lock'))).toBe(false);

    const again = await runGallery({ plan: await plan(4), out, workers: 2 });
    expect(again).toMatchObject({ jobs: 4, rendered: 1, skipped: 3, ok: 4 });
  });

  it('stops on abort, keeps what finished and resumes from there', async () => {
    const out = join(dir, 'aborted');
    const controller = new AbortController();
    const run = runGallery({
      plan: await plan(8, 200),
      out,
      workers: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done >= 2) controller.abort(Object.assign(new Error('interrupted'), { name: 'AbortError' }));
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const file = JSON.parse(readFileSync(join(out, 'gallery.json'), 'utf8')) as GalleryFile;
    expect(file.records.map((r) => r.name)).toEqual(['p0', 'p1']);
    const rest = await runGallery({ plan: await plan(8, 200), out, workers: 1 });
    expect(rest).toMatchObject({ jobs: 8, skipped: 2, rendered: 6, ok: 8 });
  });
});
