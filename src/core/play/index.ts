/**
 * `nca play` (docs/play.md): the seed's live demo as a local page. `playServer` serves the site
 * (site.ts) on 127.0.0.1; `exportSite` writes the same page as a static folder to host anywhere.
 * The page runs the model in the browser; nothing is fetched from the network.
 */
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { makeDirs } from '../io/dirs.js';
import { UserError, requireInt } from '../errors.js';
import { buildSite } from './site.js';
import { startServer, type PlayServer } from './server.js';

export { buildSite, type Site } from './site.js';
export type { PlayServer } from './server.js';

export interface PlayOptions {
  /** A model folder (default: the shipped fixtures/model); must hold model.json, weights.bin, notes.json. */
  model?: string;
}

/** The model folder the page serves: `loadModel`'s resolution, checked to hold a model and its note manifest. */
export async function resolvePlayModel(dir?: string): Promise<string> {
  const { findModel, DEFAULT_MODEL_DIR } = await import('../model/networks.js');
  const folder = await findModel(dir);
  if (folder === null) throw new UserError(`no trained model at ${DEFAULT_MODEL_DIR}: train one with \`nca train\` or pass --model DIR`);
  const { loadNotes } = await import('../model/notes.js');
  await loadNotes(folder); // the page's keys need the note manifest
  return folder;
}

/** Serve the page on 127.0.0.1:`port` (0 or undefined: a free port). */
export async function playServer(opts: PlayOptions & { port?: number } = {}): Promise<PlayServer & { modelDir: string }> {
  const port = opts.port === undefined ? 0 : requireInt('port', opts.port, 0, 65535);
  const modelDir = await resolvePlayModel(opts.model);
  const server = await startServer(await buildSite({ modelDir }), port);
  return Object.assign(server, { modelDir });
}

/** Write the page into `dir` (created if missing; files nca writes are replaced atomically, nothing else is touched). */
export async function exportSite(dir: string, opts: PlayOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<{ dir: string; files: number; bytes: number; modelDir: string }> {
  const modelDir = await resolvePlayModel(opts.model);
  const site = await buildSite({ modelDir });
  const entries = [...site].filter(([, e]) => !e.benchOnly);
  await makeDirs(dir, 'the export folder');
  let bytes = 0;
  let done = 0;
  for (const [path, entry] of entries) {
    const target = join(dir, ...path.split('/'));
    await makeDirs(dirname(target), 'the export folder');
    const data = await entry.read();
    await writeFileAtomic(target, data);
    bytes += data.byteLength;
    opts.onProgress?.(++done, entries.length);
  }
  return { dir, files: entries.length, bytes, modelDir };
}
