import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDataset, defaultPlan, openDataset, planFromFolder } from '../src/core/audio/dataset.js';
import { synthesize } from '../src/core/audio/synth.js';
import { encodeWav16 } from '../src/core/audio/wav-write.js';
import { UserError } from '../src/core/errors.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nca-dataset-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('defaultPlan', () => {
  it('covers every instrument x C3..B6 (incl. the 19 keys F4..B5) x 3 velocities, deterministic', () => {
    const plan = defaultPlan();
    expect(plan).toHaveLength(8 * 48 * 3);
    const synth = plan.filter((p) => p.source === 'synth');
    for (let midi = 65; midi <= 83; midi++) expect(synth.filter((p) => p.midi === midi)).toHaveLength(24);
    expect(new Set(synth.map((p) => p.noteSeconds)).size).toBeGreaterThan(1);
    expect(defaultPlan()).toEqual(plan);
    expect(defaultPlan({ seed: 1 })).not.toEqual(plan);
  });
});

describe('buildDataset / openDataset', () => {
  const plan = defaultPlan({ instruments: ['piano', 'flute', 'guitar'], notes: [65, 69, 72], velocities: [0.8] });

  it('builds a small dataset and reads it back', async () => {
    const dir = join(root, 'small');
    const progress: number[] = [];
    const built = await buildDataset({ outDir: dir, plan, seed: 3, heldOut: 0.25, onProgress: (d) => progress.push(d) });
    expect(progress.at(-1)).toBe(9);
    expect(built.manifest.count).toBe(9);
    expect(built.manifest.splits).toEqual({ train: 7, test: 2 });
    const ds = await openDataset(dir);
    expect(ds.count).toBe(9);
    expect(ds.manifest.format).toBe('nca-dataset');
    expect(ds.manifest.version).toBe(1);
    expect(ds.manifest.framesPerClip).toBe(25);
    expect(ds.indices('test')).toHaveLength(2);
    expect(ds.indices('train')).toHaveLength(7);
    const clip = ds.clip(0);
    expect(clip.length).toBe(25 * 3 * 32 * 32);
    expect(clip.every((v) => v >= 0 && v <= 1)).toBe(true);
    // frame 0 is the grey spectrogram: R = G = B
    const plane = 32 * 32;
    for (let i = 0; i < plane; i++) {
      expect(clip[i]).toBe(clip[plane + i]);
      expect(clip[i]).toBe(clip[2 * plane + i]);
    }
    // frames 1..24 are coloured circles: some cell has R != B
    let coloured = false;
    for (let i = 0; i < plane && !coloured; i++) coloured = clip[3 * plane + i] !== clip[5 * plane + i];
    expect(coloured).toBe(true);
    expect(ds.manifest.clips[0]).toMatchObject({ instrument: 'piano', midi: 65, note: 'F4', velocity: 0.8, source: 'synth' });
    expect(ds.manifest.clips[0]!.harmonics.length).toBeGreaterThan(0);
  });

  it('is deterministic: the same plan and seed give the same bytes', async () => {
    const a = await buildDataset({ outDir: join(root, 'a'), plan: plan.slice(0, 3), seed: 5 });
    const b = await buildDataset({ outDir: join(root, 'b'), plan: plan.slice(0, 3), seed: 5 });
    expect(a.manifest.sha256).toBe(b.manifest.sha256);
    expect(a.manifest.clips.map((c) => c.split)).toEqual(b.manifest.clips.map((c) => c.split));
  });

  it('refuses damaged or missing data with clear errors', async () => {
    const dir = join(root, 'damaged');
    await buildDataset({ outDir: dir, plan: plan.slice(0, 2) });
    const manifestPath = join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 99 }));
    await expect(openDataset(dir)).rejects.toThrow(/version 99.*rebuild/);
    await writeFile(manifestPath, JSON.stringify({ ...manifest, sha256: '0'.repeat(64) }));
    await expect(openDataset(dir)).rejects.toThrow(/checksum/);
    await writeFile(join(dir, 'frames.bin.gz'), 'not gzip');
    await writeFile(manifestPath, JSON.stringify(manifest));
    await expect(openDataset(dir)).rejects.toThrow(/not valid gzip/);
    await expect(openDataset(join(root, 'nowhere'))).rejects.toThrow(UserError);
  });

  it('--from a folder: WAV files (any format) become clips; bad files are skipped with a warning', async () => {
    const wavs = join(root, 'wavs');
    await mkdir(join(wavs, 'sub'), { recursive: true });
    await writeFile(join(wavs, 'a.wav'), encodeWav16(synthesize({ instrument: 'organ', midi: 60, duration: 2 }), 22050));
    await writeFile(join(wavs, 'sub', 'b.wav'), encodeWav16(synthesize({ instrument: 'violin', midi: 67, duration: 1, sampleRate: 44100 }), 44100));
    await writeFile(join(wavs, 'broken.wav'), 'this is not a wav file');
    await writeFile(join(wavs, 'notes.txt'), 'ignored');
    const specs = await planFromFolder(wavs);
    expect(specs).toHaveLength(3);
    const built = await buildDataset({ outDir: join(root, 'fromwavs'), plan: specs, root: wavs });
    expect(built.manifest.count).toBe(2);
    expect(built.warnings.some((w) => /skipped broken\.wav: .*not a WAV file/.test(w))).toBe(true);
    expect(built.warnings.some((w) => /sub\/b\.wav: .*padded with silence/.test(w))).toBe(true);
    expect(built.manifest.clips.map((c) => c.file)).toEqual(['a.wav', 'sub/b.wav']);
    await expect(planFromFolder(join(root, 'missing'))).rejects.toThrow(/no such folder/);
  });
});
