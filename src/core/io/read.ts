import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';

/** A file's text, or a UserError "cannot read <what> <path>: <reason>" (ENOENT says "no such file"). */
export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'ENOENT (no such file)' : code === 'EISDIR' ? 'EISDIR (it is a folder)' : (code ?? String(e));
    throw new UserError(`cannot read ${what} ${path}: ${reason}`);
  }
}
