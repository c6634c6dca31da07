/**
 * The files of the `nca play` page (docs/play.md): one table of URL path -> where its bytes come
 * from, which the HTTP server serves and `--export` writes, so the two are the same site.
 *
 * - `web/**`: the page itself (HTML, CSS, ES modules served as they are);
 * - `dist/core/...`: the project's own compiled audio modules (mel, features, circles, the sliding
 *   contexts of `nca encode --track`), imported by the page unchanged; the page's import map points
 *   `fft.js` at `vendor/fft.js`;
 * - `vendor/fft.js`: node_modules/fft.js (CommonJS) wrapped as an ES module;
 * - `model/`: model.json, weights.bin and notes.json of the model folder (`--model`, default the
 *   shipped one), read when served, so a retrained model is picked up by a reload;
 * - `vendor/ort/`: onnxruntime-web's wasm build (SIMD, threads when cross-origin isolated);
 * - `graphs/`: the NCA's ONNX graphs (src/core/nca/graph.ts, weights fed as inputs) for the grid
 *   sizes and step counts the page may use, built when served;
 * - `bench/` (served, never exported): the engine comparison page of `nca bench`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { fsError } from '../io/fs-error.js';

/** The package root (src/ and dist/ are both 3 levels below this file's folder... 2 here: core/play). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const WEB_DIR = join(PACKAGE_ROOT, 'web');

/** The project's compiled modules the page imports (their whole import closure: none of them imports a Node module). */
export const PAGE_DIST_MODULES = [
  'core/audio/sliding-contexts.js',
  'core/audio/circles.js',
  'core/audio/motifs.js',
  'core/audio/pictures.js',
  'core/audio/features.js',
  'core/audio/mel.js',
  'core/audio/spectrogram.js',
  'core/errors.js',
  'core/limits.js',
  'core/rng.js',
] as const;

/** The model files the page loads, relative to the model folder. */
export const MODEL_FILES = ['model.json', 'weights.bin', 'notes.json'] as const;

/** onnxruntime-web's files (its wasm build: SIMD, threads when cross-origin isolated). */
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'] as const;

export interface SiteEntry {
  /** Bytes of the file, read (or built) when asked for. */
  read(): Promise<Uint8Array>;
  /** Only for the bench page: served, never exported. */
  benchOnly: boolean;
}

export type Site = Map<string, SiteEntry>;

export interface SiteOptions {
  /** The model folder (already resolved: findModel/loadModel's answer). */
  modelDir: string;
  /** Grid sizes to serve graphs for (default GRID_SIZES). */
  gridSizes?: readonly number[];
}

const fileEntry = (path: string, benchOnly = false): SiteEntry => ({
  benchOnly,
  async read() {
    try {
      return await readFile(path);
    } catch (e) {
      throw fsError('read', path, e, 'reinstall nca (npm install) or check the folder');
    }
  },
});

/** Every file of the site, keyed by URL path (no leading slash). */
export async function buildSite(opts: SiteOptions): Promise<Site> {
  const site: Site = new Map();
  for (const rel of await listFiles(WEB_DIR)) site.set(rel, fileEntry(join(WEB_DIR, rel), rel.startsWith('bench/')));
  for (const m of PAGE_DIST_MODULES) site.set(`dist/${m}`, fileEntry(join(PACKAGE_ROOT, 'dist', m)));
  const fftPath = join(PACKAGE_ROOT, 'node_modules', 'fft.js', 'lib', 'fft.js');
  site.set('vendor/fft.js', {
    benchOnly: false,
    async read() {
      const source = new TextDecoder().decode(await fileEntry(fftPath).read());
      return new TextEncoder().encode(commonJsAsModule(source));
    },
  });
  for (const f of MODEL_FILES) site.set(`model/${f}`, fileEntry(join(opts.modelDir, f)));
  const ortDir = join(PACKAGE_ROOT, 'node_modules', 'onnxruntime-web', 'dist');
  for (const f of ORT_FILES) site.set(`vendor/ort/${f}`, fileEntry(join(ortDir, f)));
  for (const size of opts.gridSizes ?? GRID_SIZES) {
    for (const protocol of ['frame', 'free'] as const) {
      for (const steps of GRAPH_STEPS) {
        site.set(`graphs/${graphName(protocol, size, size, steps)}`, {
          benchOnly: false,
          async read() {
            const { buildNcaGraph, protocolSteps } = await import('../nca/graph.js');
            return buildNcaGraph({ batch: 1, width: size, height: size, steps, protocol: protocolSteps(protocol) });
          },
        });
      }
    }
  }
  return site;
}

/** The ONNX graph (src/core/nca/graph.ts, weights fed as inputs) of `steps` steps of a protocol on a grid: web/nca-engine.js asks for the same name. */
export function graphName(protocol: 'frame' | 'free', width: number, height: number, steps: number): string {
  return `nca-${protocol}-${width}x${height}-k${steps}.onnx`;
}

/** Grid sizes the page offers (?size=N) and the unrolled step counts it may run per call. */
export const GRID_SIZES = [64, 128, 256] as const;
export const GRAPH_STEPS = [1, 4, 8] as const;

/** A CommonJS file whose module.exports is one value, as an ES module with that value as default export. */
export function commonJsAsModule(source: string): string {
  return `const module = { exports: {} };\nconst exports = module.exports;\n${source}\nexport default module.exports;\n`;
}

/** Files under `dir`, relative paths with '/' separators. */
async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (e) {
    throw fsError('read', dir, e, 'the page ships in the nca package (web/); reinstall nca');
  }
  const out = entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
  if (!out.includes('index.html')) throw new UserError(`${dir} has no index.html; reinstall nca`);
  return out.sort();
}

/** Content types of the site's files. */
export function contentType(path: string): string {
  const ext = path.slice(path.lastIndexOf('.') + 1);
  return (
    ({ html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', mjs: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', json: 'application/json', wasm: 'application/wasm', png: 'image/png', svg: 'image/svg+xml' } as Record<string, string>)[ext] ??
    'application/octet-stream'
  );
}
