import { stat } from 'node:fs/promises';
import { dirname, extname, parse, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { outputTarget } from './atomic.js';

/**
 * The checks every output path gets before a command does its work (so a long render does not
 * end in an error it could have given at the start): not empty, an accepted kind (a file with one
 * of the extensions, or a folder), not one of the command's own inputs, and nothing in the way
 * (a folder where a file is expected, a block device, a file where a folder is expected).
 */

export interface OutputSpec {
  /** the option's name in messages (default "--out") */
  option?: string;
  /** what is written, for messages, e.g. "the latent" */
  what?: string;
  /** accepted file extensions, lower case with the dot, e.g. ['.gif', '.png']; none: any file */
  extensions?: readonly string[];
  /** 'file' (default), 'folder', or 'either' (a folder when the path has no extension, ends with / or is a folder) */
  kind?: 'file' | 'folder' | 'either';
  /** the command's input files and folders (undefined entries are skipped) */
  inputs?: ReadonlyArray<string | undefined>;
}

/** How checkOutputPath read the path. */
export type OutputKind = 'file' | 'folder';

/**
 * Check an output path; returns whether it names a file or a folder. Throws a UserError:
 * empty, wrong extension (naming the accepted ones), the same file as an input, or something in
 * the way.
 */
export async function checkOutputPath(path: string | undefined, spec: OutputSpec = {}): Promise<OutputKind> {
  const option = spec.option ?? '--out';
  const what = spec.what ? ` (${spec.what})` : '';
  if (path === undefined || path.trim() === '') throw new UserError(`${option} is empty: give the path to write${what}`);
  const exists = await stat(path).then((s) => s, () => null);
  const ext = extname(path).toLowerCase();
  const looksLikeFolder = path.endsWith('/') || exists?.isDirectory() === true || (ext === '' && spec.kind === 'either');
  const kind: OutputKind = spec.kind === 'folder' || (spec.kind === 'either' && looksLikeFolder) ? 'folder' : 'file';
  if (kind === 'folder' && exists && !exists.isDirectory()) {
    const it = exists.isFile() ? 'a file' : exists.isCharacterDevice() ? 'a character device' : exists.isFIFO() ? 'a FIFO' : 'a special file';
    throw new UserError(`cannot write ${path}: it is ${it}, not a folder${spec.extensions?.length ? ` (give a ${spec.extensions.join(' or ')} name for a file)` : ''}; choose another path`);
  }
  await checkAncestors(kind === 'folder' ? path : dirname(path), path);
  if (kind === 'file') {
    // a folder, a block device or a socket in the way is an error; a device or FIFO takes any bytes
    const target = await outputTarget(path);
    if (target !== 'device' && spec.extensions?.length && !spec.extensions.includes(ext)) {
      const accepted = listOr([...spec.extensions.map((e) => `a ${e} file`), ...(spec.kind === 'either' ? ['a folder'] : [])]);
      throw new UserError(`cannot write ${path}: ${option} must be ${accepted}`);
    }
  }
  for (const input of spec.inputs ?? []) {
    if (input !== undefined && input !== '' && (await samePath(path, input))) {
      throw new UserError(`cannot write ${path}: it is also an input of this command (${input}); choose another output path`);
    }
  }
  return kind;
}

/** Whether two paths name the same file or folder (resolved path, or the same device and inode). */
export async function samePath(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  const [sa, sb] = await Promise.all([stat(a).catch(() => null), stat(b).catch(() => null)]);
  return sa !== null && sb !== null && sa.dev === sb.dev && sa.ino === sb.ino;
}

/** The nearest existing ancestor of `dir` must be a folder (a regular file in the way is an error now, not after the work). */
async function checkAncestors(dir: string, path: string): Promise<void> {
  let cur = resolve(dir);
  const root = parse(cur).root;
  for (;;) {
    const st = await stat(cur).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' || e.code === 'ENOTDIR' ? null : undefined));
    if (st === undefined) return; // unreadable: the write will say why
    if (st) {
      if (!st.isDirectory()) throw new UserError(`cannot write ${path}: ${cur} is a file, not a folder; choose another output path`);
      return;
    }
    if (cur === root) return;
    cur = dirname(cur);
  }
}

function listOr(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
