/**
 * Where a gallery writes, and the rules that keep it inside its folder.
 *
 * A job's name becomes its output path (name + ".gif"/".png") under the gallery folder. Names are
 * relative POSIX paths whose segments start with a letter, digit or "_" and hold only letters,
 * digits and `. _ + - # = , @`, so "..", absolute paths, hidden files and backslashes cannot be
 * written. Folders are created one at a time and each one's real path (symlinks resolved) must stay
 * inside the gallery folder's real path.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { UserError } from '../errors.js';
import { isStaleTempName } from '../io/atomic.js';
import { makeDirs } from '../io/dirs.js';
import { fsError, isFsError } from '../io/fs-error.js';
import { readTextFile } from '../io/read.js';
import { processAlive } from '../processes.js';

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

/** Create the gallery folder if needed (one level at a time: see io/dirs.ts) and return its real path. */
export async function prepareGalleryDir(dir: string): Promise<string> {
  if (typeof dir !== 'string' || dir === '') throw new UserError('give the gallery folder (--out DIR); it is empty');
  await makeDirs(dir, 'the gallery folder');
  let real: string;
  try {
    real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new UserError(`${dir} is a file, not a folder; choose another --out`);
  } catch (e) {
    throw e instanceof UserError ? e : fsError('open the gallery folder', dir, e, 'choose another --out');
  }
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
    const shown = relative(root, next);
    try {
      await mkdir(next); // one level: never recursive (see io/dirs.ts)
    } catch (e) {
      if (!(isFsError(e) && e.code === 'EEXIST')) throw fsError(`create the folder ${shown} in the gallery for`, rel, e);
    }
    let real: string;
    let isDir: boolean;
    try {
      real = await realpath(next);
      isDir = (await stat(real)).isDirectory();
    } catch (e) {
      throw fsError(`open the folder ${shown} in the gallery for`, rel, e);
    }
    if (!inside(root, real)) throw new UserError(`${rel}: the folder ${shown} leads out of the gallery folder (to ${real}); remove that link`);
    if (!isDir) throw new UserError(`${rel}: ${shown} is a file, not a folder; rename the job or remove the file`);
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


/**
 * Remove the temporary files (src/core/io/atomic.ts names) that a killed run left in the gallery
 * folder and its subfolders, i.e. those of processes no longer running. Returns how many.
 */
export async function removeStaleTemps(root: string, maxDepth: number = NAME_LIMITS.depth): Promise<number> {
  let removed = 0;
  const visit = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (isStaleTempName(e.name)) {
        const path = join(dir, e.name);
        await rm(path, { force: true, recursive: true }).catch((err: unknown) => {
          throw fsError('remove the unfinished file', path, err, 'remove it by hand');
        });
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
/** Held for a moment by the one run that takes over a stale lock (see lockGallery). */
export const BREAKER_FILE = '.nca-gallery.lock.breaker';
/** A lock or breaker file still being written, or a breaker of a dead run, counts as live this long (ms). */
const YOUNG_MS = 3000;
/** How long lockGallery keeps trying while other runs take and break locks (ms). */
const LOCK_PATIENCE_MS = 15_000;

/** The tokens of the locks and breakers this process holds: a file with our pid but another token is a previous process's. */
const heldTokens = new Set<string>();

interface LockText {
  /** The whole text: compared to tell one lock from another. */
  text: string;
  pid: number;
  token: string;
  /** Fully written ("<pid>\n<token>\n" or, from older versions, "<pid>\n"). */
  complete: boolean;
  /** Milliseconds since it was last modified. */
  age: number;
}

/**
 * One run per gallery folder at a time: `.nca-gallery.lock` holds the pid of the run and a token
 * unique to it. The lock is created with O_EXCL, so of runs starting together exactly one creates
 * it. A lock whose process is gone (a run killed with kill -9) is stale and taken over without a
 * race: the run that breaks it must first create `.nca-gallery.lock.breaker` (O_EXCL), then re-read
 * the lock and remove it only if it is still the same stale one, then create its own with O_EXCL
 * and remove the breaker. A breaker left by a dead run (older than a few seconds) is moved away and
 * checked before it is removed. Returns the release function, which removes the lock only if it is
 * still this run's.
 */
export async function lockGallery(root: string): Promise<() => Promise<void>> {
  const path = join(root, LOCK_FILE);
  const breaker = join(root, BREAKER_FILE);
  const deadline = Date.now() + LOCK_PATIENCE_MS;
  for (;;) {
    const mine = await createExclusive(path);
    if (mine !== null) {
      return async () => {
        const now = await readLock(path).catch(() => null);
        if (now?.text === mine) await rm(path, { force: true }).catch(() => undefined);
        heldTokens.delete(tokenOf(mine));
      };
    }
    const seen = await readLock(path);
    if (seen !== null && isLive(seen)) {
      if (seen.complete) throw new UserError(`another nca gallery (pid ${seen.pid}) is writing to ${root}; wait for it to finish, or remove ${path} if that process is not nca`);
      // being written by a run that is starting: look again in a moment
    } else if (seen !== null) {
      // stale: break it, holding the breaker so that only one run at a time does
      const held = await createExclusive(breaker);
      if (held !== null) {
        try {
          const again = await readLock(path);
          if (again !== null && again.text === seen.text && !isLive(again)) await rm(path, { force: true }).catch((e: unknown) => {
            throw fsError('remove the stale lock', path, e, 'remove it by hand');
          });
        } finally {
          await rm(breaker, { force: true }).catch(() => undefined);
          heldTokens.delete(tokenOf(held));
        }
        continue;
      }
      await removeDeadBreaker(breaker);
    }
    if (seen === null) continue; // it vanished between the two calls: try to create it again
    if (Date.now() > deadline) throw new UserError(`cannot lock the gallery folder ${root}: ${path} keeps changing; is another nca gallery starting? Try again, or remove ${path} and ${breaker}`);
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
  }
}

/** Create `path` with O_EXCL holding "<pid>\n<token>\n"; its text, or null when it exists. */
async function createExclusive(path: string): Promise<string | null> {
  const token = randomBytes(8).toString('hex');
  const text = `${process.pid}\n${token}\n`;
  heldTokens.add(token); // before the file exists: a reader in this process must see it live
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    heldTokens.delete(token);
    if (isFsError(e) && e.code === 'EEXIST') return null;
    throw fsError('create the lock file', path, e, 'choose another --out');
  }
  try {
    await handle.writeFile(text);
    await handle.close();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(path, { force: true }).catch(() => undefined);
    heldTokens.delete(token);
    throw fsError('write the lock file', path, e, 'choose another --out');
  }
  return text;
}

function tokenOf(text: string): string {
  return text.split('\n')[1] ?? '';
}

/** The lock (or breaker) file's contents, or null when there is none. */
async function readLock(path: string): Promise<LockText | null> {
  const statOf = (p: string) =>
    lstat(p).catch((e: unknown) => {
      if (isFsError(e) && e.code === 'ENOENT') return null;
      throw fsError('read the lock file', p, e);
    });
  for (let attempt = 0; ; attempt++) {
    const st = await statOf(path);
    if (st === null) return null;
    let text: string;
    try {
      text = await readTextFile(path, 'the gallery lock file', 'text');
    } catch (e) {
      // removed, or removed and made again, while being read (other runs taking the lock): look
      // again; a lock that cannot be read (a FIFO, no permission) fails the same way every time
      if ((await statOf(path)) === null) return null;
      if (attempt < 5) continue;
      throw e;
    }
    const m = /^(\d+)\n(?:([0-9a-f]+)\n)?$/.exec(text);
    return { text, pid: m ? Number(m[1]) : 0, token: m?.[2] ?? '', complete: m !== null, age: Date.now() - st.mtimeMs };
  }
}

/** Whether a lock or breaker belongs to a running process (or is being written by one). */
function isLive(l: LockText): boolean {
  if (!l.complete) return l.age < YOUNG_MS;
  if (l.pid === process.pid) return heldTokens.has(l.token); // else a previous process that had our pid
  return processAlive(l.pid);
}

/**
 * Remove the breaker if its run died holding it (a breaker is held for milliseconds). It is moved
 * to a name of its own first and checked there, so that of two runs removing the same dead breaker,
 * neither removes a live one that replaced it.
 */
async function removeDeadBreaker(breaker: string): Promise<void> {
  const seen = await readLock(breaker);
  if (seen === null || isLive(seen) || seen.age < YOUNG_MS) return;
  const aside = `${breaker}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(breaker, aside);
  } catch (e) {
    if (isFsError(e) && e.code === 'ENOENT') return;
    throw fsError('remove the stale lock breaker', breaker, e, 'remove it by hand');
  }
  const moved = await readLock(aside).catch(() => null);
  if (moved !== null && moved.text !== seen.text) await link(aside, breaker).catch(() => undefined); // a live one: put it back
  await rm(aside, { force: true }).catch(() => undefined);
}
