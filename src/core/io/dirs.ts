import { mkdir, stat } from 'node:fs/promises';
import { dirname, parse, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { fsError, isFsError } from './fs-error.js';

/**
 * Create a folder and its missing parents, one level at a time.
 *
 * Not `mkdir(path, { recursive: true })`: Node's recursive mkdir loops forever at 100% CPU on
 * paths under /proc (and ignores SIGTERM meanwhile). Here each level is created with a plain
 * mkdir, an existing level must be a folder, and every failure is a UserError naming the path.
 * @param dir the folder to create (relative to the working directory or absolute)
 * @param what how the error calls it, e.g. "the output folder"
 */
export async function makeDirs(dir: string, what = 'the folder'): Promise<void> {
  const abs = resolve(dir);
  // walk up to the nearest existing ancestor
  const missing: string[] = [];
  let cur = abs;
  const root = parse(abs).root;
  for (;;) {
    let st: Awaited<ReturnType<typeof stat>> | null = null;
    try {
      st = await stat(cur);
    } catch (e) {
      if (!(isFsError(e) && e.code === 'ENOENT')) throw fsError(`create ${what}`, dir, e, 'choose another output path');
    }
    if (st) {
      if (!st.isDirectory()) throw new UserError(`cannot create ${what} ${dir}: ${cur === abs ? dir : cur} is a file, not a folder; choose another output path`);
      break;
    }
    missing.push(cur);
    if (cur === root) break;
    cur = dirname(cur);
  }
  // create the missing levels, outermost first
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (e) {
      if (isFsError(e) && e.code === 'EEXIST' && (await stat(level).catch(() => null))?.isDirectory()) continue; // made meanwhile
      throw fsError(`create ${what}`, dir, e, 'choose another output path');
    }
  }
}
