import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GifReader } from 'omggif';
import type { GalleryFile } from '../src/core/gallery/record.js';
import { growParamsJson, initialGrowWeights } from '../src/core/grow/params.js';
import { Rng } from '../src/core/rng.js';
import { nca as runNca } from './reliability-cli.js';

/**
 * `nca gallery` takes a growing-NCA parameters file (nca grow / nca texture) as a "params" job, beside
 * the neuromusical ones: it plays from one cell on the file's training grid (src/core/gallery/render-job.ts
 * -> src/core/grow/render.ts), a video format is a failed job with a one-line reason, the other jobs go on.
 */

const nca = (args: string[]) => runNca(args, { timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'nca-grow-gallery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nca gallery with a growing-NCA parameters file', () => {
  it('renders it as a params job (gif and png), refuses a video format for it, and records its motion', () => {
    // a rule that does something: random last layer too, so the one live cell spreads
    const rng = new Rng(4);
    const w = initialGrowWeights(rng);
    rng.fillUniform(w.w2, -0.1, 0.1);
    w.b2[3] = 0.2; // alpha grows
    const params = join(dir, 'grow.json');
    writeFileSync(params, growParamsJson(w, { kind: 'grow', width: 11, height: 9, fireRate: 0.5 }));
    const jobs = join(dir, 'jobs.json');
    writeFileSync(
      jobs,
      JSON.stringify({
        format: 'nca-gallery-jobs',
        version: 1,
        defaults: { steps: 6, scale: 2, size: 32 },
        jobs: [
          { name: 'grown', params },
          { name: 'last', params, format: 'png' },
          { name: 'video', params, format: 'mp4' },
        ],
      }),
    );
    const out = join(dir, 'gallery');
    const r = nca(['gallery', jobs, '--jobs', '1', '--threads', '1', '--out', out]);
    const gallery = JSON.parse(readFileSync(join(out, 'gallery.json'), 'utf8')) as GalleryFile;
    const byName = Object.fromEntries(gallery.records.map((rec) => [rec.name, rec]));
    expect(byName.grown!.status, byName.grown!.error).toBe('ok');
    expect(byName.grown!.source.kind).toBe('params');
    // the training grid of the file (11 x 9), not the job's size 32, at scale 2; 6 steps + the start
    expect([byName.grown!.width, byName.grown!.height, byName.grown!.frames, byName.grown!.steps]).toEqual([22, 18, 7, 6]);
    const gif = new GifReader(readFileSync(join(out, 'grown.gif')));
    expect([gif.width, gif.height, gif.numFrames()]).toEqual([22, 18, 7]);
    // frame 0 is the single seed cell; the rule changes the picture afterwards
    expect(byName.grown!.motion!.meanChange).toBeGreaterThan(0);
    expect(byName.last!.status, byName.last!.error).toBe('ok');
    expect(readFileSync(join(out, 'last.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(byName.video!.status).toBe('failed');
    expect(byName.video!.error).toMatch(/renders to "format": "gif" or "png"/);
    expect(r.status).not.toBe(0); // a failed job makes the run's exit code say so
  });
});
