/**
 * Where a gallery writes, and the rules that keep it inside its folder.
 *
 * A job's name becomes its output path (name + ".gif"/".png") under the gallery folder. Names are
 * relative POSIX paths whose segments start with a letter, digit or "_" and hold only letters,
 * digits and `. _ + - # = , @`, so "..", absolute paths, hidden files and backslashes cannot be
 * written. Folders are created one at a time and each one's real path (symlinks resolved) must stay
 * inside the gallery folder's real path.
 */
import { lstat, mkdir, open, readFile, readdir, realpath, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { UserError } from '../errors.js';

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._+#=,@-]*$/;
/** Longest name (characters), longest folder or file name, deepest nesting. */
export const NAME_LIMITS = { length: 200, segment: 120, depth: 8 } as const;

/** Check a job name (`at` names the field in errors); returns it unchanged. */
export function checkName(name: string, at: string): string {
  const shown = JSON.stringify(name);
  if (name.length === 0) throw new UserError(`${at}: a name cannot be empty`);
  if (name.length > NAME_LIMITS.length) throw new UserError(`${at}: ${shown.slice(0, 40)}... is longer than ${NAME_LIMITS.length} characters`);
  if (/^([/\\]|[A-Za-z]:)/.test(name)) throw new UserError(`${at}: ${shown} is an absolute path; names are relative to the gallery folder (e.g. "violin/A4")`);
  const segments = name.split('/');
  if (segments.length > NAME_LIMITS.depth) throw new UserError(`${at}: ${shown} is nested more than ${NAME_LIMITS.depth} folders deep`);
  for (const s of segments) {
    if (s === '..' || s === '.') throw new UserError(`${at}: ${shown} may not contain "${s}"; outputs stay inside the gallery folder`);
    if (s === '') throw new UserError(`${at}: ${shown} has an empty folder name (a leading, double or trailing "/")`);
    if (s.length > NAME_LIMITS.segment) throw new UserError(`${at}: ${shown} has a part longer than ${NAME_LIMITS.segment} characters`);
    if (!SEGMENT.test(s)) throw new UserError(`${at}: ${shown} may only hold letters, digits and . _ + - # = , @ (not starting with "." or a symbol), with "/" between folders`);
  }
  return name;
}

/** Create the gallery folder if needed and return its real path. */
export async function prepareGalleryDir(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`cannot create the gallery folder ${dir}: ${code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : code}; choose another --out`);
  }
  const real = await realpath(dir);
  if (!(await stat(real)).isDirectory()) throw new UserError(`${dir} is a file, not a folder; choose another --out`);
  return real;
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The absolute path of output `rel` (POSIX, checked by checkName) under the gallery folder `root`
 * (a real path), creating its folders. Refuses a folder that is, or leads through, a symlink out of
 * the gallery, and an output that is a folder. An existing symlink at the output itself is harmless:
 * the atomic rename replaces the link, never writes through it.
 */
export async function outputPath(root: string, rel: string): Promise<string> {
  const parts = rel.split('/');
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    const next = join(dir, part);
    try {
      await mkdir(next);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`cannot create the folder ${relative(root, next)} in the gallery: ${(e as NodeJS.ErrnoException).code}`);
    }
    const real = await realpath(next);
    if (!inside(root, real)) throw new UserError(`${rel}: the folder ${relative(root, next)} leads out of the gallery folder (to ${real}); remove that link`);
    if (!(await stat(real)).isDirectory()) throw new UserError(`${rel}: ${relative(root, next)} is a file, not a folder; rename the job or remove the file`);
    dir = real;
  }
  const file = join(dir, parts[parts.length - 1]!);
  const st = await lstat(file).catch(() => null);
  if (st?.isDirectory()) throw new UserError(`${rel} is a folder in the gallery; remove it or rename the job`);
  return file;
}

/** Whether `path` is a regular file (not a link, not a folder) that is not empty. */
export async function isFinishedFile(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  return st !== null && st.isFile() && st.size > 0;
}

/** Whether a process with this id is running (EPERM: it exists but is someone else's). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const TEMP_NAME = /^\.nca-tmp-(\d+)-[0-9a-f]{8}-/;

/**
 * Remove the temporary files (src/core/io/atomic.ts names) that a killed run left in the gallery
 * folder and its subfolders, i.e. those of processes no longer running. Returns how many.
 */
export async function removeStaleTemps(root: string, maxDepth: number = NAME_LIMITS.depth): Promise<number> {
  let removed = 0;
  const visit = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const m = TEMP_NAME.exec(e.name);
      if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) {
        await rm(join(dir, e.name), { force: true, recursive: true });
        removed++;
      } else if (e.isDirectory() && depth < maxDepth && !e.name.startsWith('.')) {
        await visit(join(dir, e.name), depth + 1);
      }
    }
  };
  await visit(root, 0);
  return removed;
}

export const LOCK_FILE = '.nca-gallery.lock';

/**
 * One run per gallery folder at a time: `.nca-gallery.lock` holds the pid of the run. A lock whose
 * process is gone (a run killed with kill -9) is taken over. Returns the release function.
 */
export async function lockGallery(root: string): Promise<() => Promise<void>> {
  const path = join(root, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        const text = await readFile(path, 'utf8').catch(() => '');
        if (Number(text.trim()) === process.pid) await rm(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (pid !== process.pid && processAlive(pid)) {
        throw new UserError(`another nca gallery (pid ${pid}) is writing to ${root}; wait for it to finish, or remove ${path} if that process is not nca`);
      }
      await rm(path, { force: true });
    }
  }
  throw new UserError(`cannot lock the gallery folder ${root}: ${path} keeps coming back; is another nca gallery starting?`);
}
