/**
 * `nca gallery --merge dirA dirB ... --out gallery/`: combines the gallery.json of several shards
 * (or any galleries) into one folder: records joined by output path, outputs copied in (atomically)
 * unless already there, then gallery.json and index.html written. A later `nca gallery jobs.json
 * --out gallery/` then resumes from the merged records and redoes nothing.
 *
 * Records read from another folder are not trusted: their output paths pass the same name rules as
 * jobs (paths.ts), and each file copied must lie inside its own gallery folder.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, realpath } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join, sep } from 'node:path';
import { UserError } from '../errors.js';
import { withAtomicOutput } from '../io/atomic.js';
import { fsError } from '../io/fs-error.js';
import { GALLERY_FILE, readGalleryFile, writeGallery } from './manifest.js';
import { checkName, isFinishedFile, lockGallery, outputPath, prepareGalleryDir } from './paths.js';
import type { GalleryFile, GalleryRecord } from './record.js';

export interface MergeSummary {
  out: string;
  gallery: string;
  index: string;
  sources: Array<{ dir: string; records: number }>;
  jobs: number;
  ok: number;
  failed: number;
  copied: number;
  /** Outputs found in more than one gallery, and which one was kept. */
  conflicts: string[];
}

export async function mergeGalleries(dirs: string[], out: string): Promise<MergeSummary> {
  if (dirs.length === 0) throw new UserError('--merge needs at least one gallery folder');
  const files: Array<{ dir: string; real: string; file: GalleryFile }> = [];
  for (const dir of dirs) {
    const file = await readGalleryFile(join(dir, GALLERY_FILE));
    const real = await realpath(dir).catch((e: unknown) => {
      throw fsError('read the gallery folder', dir, e);
    });
    files.push({ dir, real, file });
  }
  const root = await prepareGalleryDir(out);
  const release = await lockGallery(root);
  try {
    // Join by output path: ok beats failed; between two ok records the later folder wins (reported).
    const chosen = new Map<string, { record: GalleryRecord; from: (typeof files)[number] }>();
    const conflicts: string[] = [];
    for (const from of files) {
      from.file.records.forEach((record, i) => {
        if (typeof record?.output !== 'string' || typeof record.name !== 'string') throw new UserError(`${join(from.dir, GALLERY_FILE)}: records[${i}] has no output path; it is not an nca gallery file`);
        checkName(record.output, `${join(from.dir, GALLERY_FILE)}: records[${i}].output`);
        const key = record.output.toLowerCase();
        const had = chosen.get(key);
        if (had && had.record.status === 'ok' && record.status !== 'ok') return;
        if (had && had.record.status === 'ok' && record.status === 'ok' && had.record.hash !== record.hash) {
          conflicts.push(`${record.output}: ${from.dir} replaces ${had.from.dir} (different job contents)`);
        }
        chosen.set(key, { record, from });
      });
    }

    let copied = 0;
    const records: GalleryRecord[] = [];
    for (const { record, from } of chosen.values()) {
      if (record.status !== 'ok') {
        records.push(record);
        continue;
      }
      const src = join(from.real, record.output);
      const srcReal = await realpath(src).catch(() => null);
      if (!srcReal || !srcReal.startsWith(from.real + sep) || !(await isFinishedFile(srcReal))) {
        records.push({ ...record, status: 'failed', error: `the output ${record.output} is missing from ${from.dir}; render that shard again` });
        continue;
      }
      const dest = await outputPath(root, record.output);
      if ((await realpath(dest).catch(() => null)) !== srcReal) {
        await withAtomicOutput(dest, (out, file) =>
          // a temporary file: copyFile; an existing device or FIFO at dest: written into
          (file.direct ? pipeline(createReadStream(srcReal), createWriteStream(out, { flags: file.flag })) : copyFile(srcReal, out)).catch((e: unknown) => {
            throw fsError(`copy ${srcReal} to`, dest, e); // (Node's error does not say which side failed)
          }),
        );
        copied++;
      }
      records.push(record);
    }
    records.sort((a, b) => a.index - b.index || a.name.localeCompare(b.name));

    const ok = records.filter((r) => r.status === 'ok').length;
    const summaries = files.map((f) => f.file.summary);
    const file: GalleryFile = {
      format: 'nca-gallery',
      version: 1,
      ...(files[0]!.file.jobsFile ? { jobsFile: files[0]!.file.jobsFile } : {}),
      created: new Date().toISOString(),
      records,
      // Shards run side by side: the wall time is the slowest shard's, the workers add up.
      summary: {
        jobs: records.length,
        ok,
        failed: records.length - ok,
        skipped: summaries.reduce((n, s) => n + (s?.skipped ?? 0), 0),
        seconds: Math.max(0, ...summaries.map((s) => s?.seconds ?? 0)),
        workers: summaries.reduce((n, s) => n + (s?.workers ?? 0), 0),
      },
    };
    const written = await writeGallery(root, file);
    return {
      out: root,
      gallery: written.json,
      index: written.html,
      sources: files.map((f) => ({ dir: f.dir, records: f.file.records.length })),
      jobs: records.length,
      ok,
      failed: records.length - ok,
      copied,
      conflicts,
    };
  } finally {
    await release();
  }
}
