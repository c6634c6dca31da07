/**
 * Run Length Encoded Life patterns (the format of LifeWiki and Golly):
 *
 *   #N Glider                  comment lines start with '#' (#N name, #C comment, #O author...)
 *   x = 3, y = 3, rule = B3/S23
 *   bo$2bo$3o!                 <count><tag>: b = dead, o = alive, $ = end of row, ! = end
 *
 * Only Conway's rule is accepted (B3/S23, any case, or the old form 23/3); the count may be
 * omitted (1), whitespace and line breaks are ignored between tokens, and rows may end early
 * (the rest is dead). Anything else is a UserError naming the line and what was expected.
 */
import { UserError } from '../errors.js';
import { emptyBoard, type LifeBoard } from './life.js';

export interface RlePattern {
  board: LifeBoard;
  /** The #N line, if any. */
  name?: string;
  /** The other comment lines, without their '#X ' prefix. */
  comments: string[];
}

/** Largest side accepted (cells), to refuse absurd headers before allocating. */
export const RLE_MAX_SIDE = 1 << 14;

const CONWAY = /^(b3\/s23|s23\/b3|23\/3)$/i;

/** Parses RLE text; `source` names the file in errors. */
export function parseRle(text: string, source = 'RLE'): RlePattern {
  const lines = text.split(/\r?\n/);
  const comments: string[] = [];
  let name: string | undefined;
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (!line.startsWith('#')) break;
    const kind = line[1] ?? '';
    const body = line.slice(2).trim();
    if (kind === 'N') name = body;
    else comments.push(body);
  }
  if (i >= lines.length) throw new UserError(`${source}: no "x = .., y = .." header line; is it an RLE pattern?`);
  const headerLine = i + 1;
  const header = parseHeader(lines[i]!.trim(), source, headerLine);
  const board = emptyBoard(header.width, header.height);
  const data = lines.slice(i + 1);

  let x = 0;
  let y = 0;
  let count = '';
  let ended = false;
  for (let l = 0; l < data.length && !ended; l++) {
    const line = data[l]!;
    const lineNo = headerLine + 1 + l;
    if (line.trim().startsWith('#')) continue;
    for (let c = 0; c < line.length; c++) {
      const ch = line[c]!;
      if (ch >= '0' && ch <= '9') {
        count += ch;
        continue;
      }
      if (ch === ' ' || ch === '\t') {
        if (count !== '') throw new UserError(`${source}:${lineNo}: a run count must be followed directly by b, o, $ or !`);
        continue;
      }
      const run = count === '' ? 1 : Number(count);
      count = '';
      if (ch === 'b' || ch === '.') {
        x += run;
      } else if (ch === 'o' || ch === 'A') {
        if (y >= header.height || x + run > header.width) {
          throw new UserError(`${source}:${lineNo}: live cells outside the ${header.width}x${header.height} box of the header (row ${y + 1})`);
        }
        for (let k = 0; k < run; k++) board.cells[y * header.width + x + k] = 1;
        x += run;
      } else if (ch === '$') {
        y += run;
        x = 0;
      } else if (ch === '!') {
        if (run !== 1 || /\d$/.test(line.slice(0, c))) throw new UserError(`${source}:${lineNo}: a run count just before '!' has no tag`);
        ended = true;
        break;
      } else {
        throw new UserError(`${source}:${lineNo}: unexpected character ${JSON.stringify(ch)} in the pattern (expected b, o, $, ! or a run count)`);
      }
      if (x > header.width) throw new UserError(`${source}:${lineNo}: row ${y + 1} is longer than x = ${header.width}`);
    }
  }
  if (!ended) throw new UserError(`${source}: the pattern data does not end with '!'`);
  return { board, ...(name !== undefined ? { name } : {}), comments };
}

function parseHeader(line: string, source: string, lineNo: number): { width: number; height: number } {
  const fields = new Map<string, string>();
  for (const part of line.split(',')) {
    const m = /^\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(part);
    if (!m) throw new UserError(`${source}:${lineNo}: malformed header ${JSON.stringify(line)}; expected "x = <width>, y = <height>, rule = B3/S23"`);
    fields.set(m[1]!.toLowerCase(), m[2]!);
  }
  const side = (key: 'x' | 'y') => {
    const v = fields.get(key);
    if (v === undefined || !/^\d+$/.test(v)) throw new UserError(`${source}:${lineNo}: header needs "${key} = <positive integer>", got ${JSON.stringify(line)}`);
    const n = Number(v);
    if (n < 1 || n > RLE_MAX_SIDE) throw new UserError(`${source}:${lineNo}: ${key} = ${n} is out of range 1..${RLE_MAX_SIDE}`);
    return n;
  };
  const width = side('x');
  const height = side('y');
  const rule = fields.get('rule');
  if (rule !== undefined && !CONWAY.test(rule)) {
    throw new UserError(`${source}:${lineNo}: rule ${rule} is not supported; nca runs Conway's Game of Life (rule = B3/S23)`);
  }
  return { width, height };
}

/**
 * Writes a board as RLE (rule B3/S23), lines of at most 70 characters. The box is the whole board
 * (so a run on a torus can be read back at the same size), trailing dead cells of each row and
 * trailing empty rows are omitted, as usual.
 */
export function formatRle(board: LifeBoard, opts: { name?: string; comments?: string[] } = {}): string {
  const { width: W, height: H, cells } = board;
  const out: string[] = [];
  if (opts.name) out.push(`#N ${opts.name}`);
  for (const c of opts.comments ?? []) out.push(`#C ${c}`);
  out.push(`x = ${W}, y = ${H}, rule = B3/S23`);
  const tokens: string[] = [];
  const run = (n: number, tag: string) => tokens.push((n > 1 ? String(n) : '') + tag);
  let pendingRows = 0;
  for (let y = 0; y < H; y++) {
    let last = -1;
    for (let x = 0; x < W; x++) if (cells[y * W + x]) last = x;
    if (last < 0) {
      pendingRows++;
      continue;
    }
    if (tokens.length > 0 || pendingRows > 0) run(pendingRows + (tokens.length > 0 ? 1 : 0), '$');
    // rows before the first live row: `pendingRows` '$' from the top (no '$' before the first token otherwise)
    pendingRows = 0;
    let x = 0;
    while (x <= last) {
      const v = cells[y * W + x];
      let n = 1;
      while (x + n <= last && cells[y * W + x + n] === v) n++;
      run(n, v ? 'o' : 'b');
      x += n;
    }
  }
  tokens.push('!');
  let line = '';
  for (const t of tokens) {
    if (line.length + t.length > 70) {
      out.push(line);
      line = '';
    }
    line += t;
  }
  out.push(line);
  return out.join('\n') + '\n';
}
