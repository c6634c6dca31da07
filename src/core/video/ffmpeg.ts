/**
 * Finding the ffmpeg that writes videos (docs/video.md#ffmpeg).
 *
 * In order: the `NCA_FFMPEG` environment variable (a path to an ffmpeg binary: used as given, never
 * a fallback when it is wrong), an `ffmpeg` on the PATH, then the binary of the optional npm
 * dependency `@ffmpeg-installer/ffmpeg` (loaded with a dynamic import that may fail: the package is
 * optional). A candidate counts once `<it> -version` runs and prints an ffmpeg banner; the answer is
 * cached per process. Nothing is downloaded.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { UserError } from '../errors.js';

/** The ffmpeg found, where it came from and its version line. */
export interface FfmpegInfo {
  path: string;
  from: 'NCA_FFMPEG' | 'PATH' | '@ffmpeg-installer/ffmpeg';
  /** The first line of `ffmpeg -version`, e.g. "ffmpeg version 6.1.1 ...". */
  version: string;
}

const INSTALL_HINT = 'install ffmpeg (an `ffmpeg` on the PATH, or `npm install @ffmpeg-installer/ffmpeg`) or set NCA_FFMPEG=/path/to/ffmpeg';

let cached: Promise<FfmpegInfo> | null = null;
let cachedEnv: string | undefined;

/** The ffmpeg to use (cached; a changed NCA_FFMPEG is looked up again). A UserError when there is none. */
export function findFfmpeg(): Promise<FfmpegInfo> {
  const env = process.env.NCA_FFMPEG;
  if (!cached || cachedEnv !== env) {
    cachedEnv = env;
    cached = lookup(env);
    cached.catch(() => (cached = null));
  }
  return cached;
}

async function lookup(env: string | undefined): Promise<FfmpegInfo> {
  if (env !== undefined && env !== '') {
    const why = await notExecutable(env);
    if (why) throw new UserError(`NCA_FFMPEG=${env} ${why}; point it at an ffmpeg binary or unset it`);
    const version = await versionLine(env);
    if (!version) throw new UserError(`NCA_FFMPEG=${env} does not run as ffmpeg (\`${env} -version\` failed); point it at an ffmpeg binary or unset it`);
    return { path: env, from: 'NCA_FFMPEG', version };
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'ffmpeg');
    if (await notExecutable(candidate)) continue;
    const version = await versionLine(candidate);
    if (version) return { path: candidate, from: 'PATH', version };
  }
  const packaged = await installerPath();
  if (packaged && !(await notExecutable(packaged))) {
    const version = await versionLine(packaged);
    if (version) return { path: packaged, from: '@ffmpeg-installer/ffmpeg', version };
  }
  throw new UserError(`writing video needs ffmpeg and none was found; ${INSTALL_HINT}`);
}

/** Why `path` cannot be run (a reason), or null when it is an executable regular file. */
async function notExecutable(path: string): Promise<string | null> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return 'is not a file';
    await access(path, constants.X_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : code === 'EACCES' ? 'is not executable' : `cannot be run (${code ?? 'error'})`;
  }
}

/** The first line of `<path> -version` when it looks like ffmpeg's, else null (5 s at most). */
function versionLine(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(path, ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      resolve(null);
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 4096) out += d.toString();
    });
    child.on('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const first = out.split('\n')[0]?.trim() ?? '';
      resolve(code === 0 && /^ffmpeg version/i.test(first) ? first : null);
    });
  });
}

/** The binary path of the optional @ffmpeg-installer/ffmpeg package, or null when it is not installed. */
async function installerPath(): Promise<string | null> {
  try {
    const name = '@ffmpeg-installer/ffmpeg';
    const mod = (await import(name)) as { default?: { path?: unknown }; path?: unknown };
    const p = mod.default?.path ?? mod.path;
    return typeof p === 'string' ? p : null;
  } catch {
    return null;
  }
}
