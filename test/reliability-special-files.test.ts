/**
 * Special files: devices, FIFOs, sockets and folders as inputs are refused before a byte is read
 * (no endless read of /dev/zero, no wait on a FIFO); as outputs, a character device or a FIFO is
 * written into and stays what it was, a block device or a socket is refused. PNG headers that
 * declare a huge image are refused before decoding (decompression bombs).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ncaInProcess } from './nca-in-process.js';
import { pngDeclaring } from './png-files.js';
import { expectUserError, listing, nca, ncaAll, ncaAsync } from './reliability-cli.js';

let dir: string;
let p: string;
let fifo: string;
let folder: string;
const fast = ['--steps', '2', '--size', '8'];

function mknod(path: string, type: 'c' | 'b' | 'p', major?: number, minor?: number): boolean {
  try {
    execFileSync('mknod', [path, type, ...(major === undefined ? [] : [String(major), String(minor)])], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-rel-special-'));
  p = join(dir, 'p.json');
  expect((await ncaInProcess(['random', '--params', '--seed', '1', '--out', p])).status).toBe(0); // the input; random is spawned below
  fifo = join(dir, 'fifo');
  expect(mknod(fifo, 'p')).toBe(true);
  folder = join(dir, 'folder');
  mkdirSync(folder);
}, 30_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('special files as inputs', () => {
  it('/dev/zero, /dev/urandom, a FIFO and a folder are refused at once as a latent, parameters, an init image, a WAV and a pattern', async () => {
    const zero: [string, RegExp] = ['/dev/zero', /it is a character device, not a regular file/];
    const urandom: [string, RegExp] = ['/dev/urandom', /it is a character device, not a regular file/];
    const pipe: [string, RegExp] = [fifo, /it is a FIFO \(named pipe\), not a regular file/];
    const dirIn: [string, RegExp] = [folder, /it is a folder/];
    // each reader gets two kinds of special file, each kind at least three readers
    const readers: Array<[(input: string) => string[], Array<[string, RegExp]>]> = [
      [(input) => ['render', '--latent', input, ...fast, '--out', 'o.gif'], [zero, dirIn]],
      [(input) => ['render', '--params', input, ...fast, '--out', 'o.gif'], [pipe, urandom]],
      [(input) => ['render', '--params', p, '--init', `image:${input}`, ...fast, '--out', 'o.gif'], [zero, pipe]],
      [(input) => ['spectrogram', input, '--out', 's.png'], [urandom, dirIn]],
      [(input) => ['encode', input, '--out', 'z.json'], [pipe, zero]],
      [(input) => ['gol', input, '--out', 'g.rle'], [dirIn, urandom]],
    ];
    const cases: Array<[string[], RegExp]> = readers.flatMap(([args, kinds]) => kinds.map(([input, why]): [string[], RegExp] => [args(input), why]));
    const before = listing(dir);
    const runs = await ncaAll(cases.map(([args]) => args), { cwd: dir, timeout: 10_000 });
    runs.forEach((r, i) => expectUserError(r, new RegExp(`^nca: cannot read [^\\n]*${cases[i]![1].source}`)));
    expect(listing(dir)).toEqual(before);
    expect(statSync(fifo).isFIFO()).toBe(true);
  }, 120_000);
});

describe('special files as outputs', () => {
  it('a character device (a copy of /dev/null) is written into, and stays a device', () => {
    const devnull = join(dir, 'null');
    if (!mknod(devnull, 'c', 1, 3)) return; // not root
    const r = nca(['random', '--out', devnull]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = nca(['synth', '--duration', '0.1', '--out', devnull, '--json']);
    expect(s.status).toBe(0);
    expect(JSON.parse(s.stdout).out).toBe(devnull);
    expect(statSync(devnull).isCharacterDevice()).toBe(true);
    rmSync(devnull);
  }, 30_000);

  it('a FIFO is written into (a reader gets the bytes), and stays a FIFO', async () => {
    const out = join(dir, 'out-fifo');
    expect(mknod(out, 'p')).toBe(true);
    const chunks: Buffer[] = [];
    const reader = new Promise<void>((resolve, reject) => {
      createReadStream(out).on('data', (c) => chunks.push(c as Buffer)).on('end', resolve).on('error', reject);
    });
    const r = await ncaAsync(['synth', '--duration', '0.1', '--out', out], { timeout: 20_000 });
    await reader;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(Buffer.concat(chunks).subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(statSync(out).isFIFO()).toBe(true);
    expect(listing(dir).filter((f) => f.startsWith('.nca-tmp-'))).toEqual([]);
  }, 30_000);

  it('a block device and a socket are refused, and stay what they were', async () => {
    const blk = join(dir, 'blk.json');
    const haveBlock = mknod(blk, 'b', 7, 200);
    const sock = join(dir, 'sock.json');
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const runs = await ncaAll([['random', '--out', sock], ...(haveBlock ? [['random', '--out', blk]] : [])], { cwd: dir });
      expectUserError(runs[0]!, /sock\.json: it is a socket/);
      expect(statSync(sock).isSocket()).toBe(true);
      if (haveBlock) {
        expectUserError(runs[1]!, /blk\.json: it is a block device/);
        expect(statSync(blk).isBlockDevice()).toBe(true);
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(blk, { force: true });
    }
  }, 30_000);
});


describe('PNG decompression bombs', () => {
  it('an --init image whose header declares more than 8192 pixels a side is refused before decoding', async () => {
    const bombs: Array<[string, number, number, number]> = [
      ['huge.png', 2147483647, 2147483647, 1],
      ['wide.png', 20000, 20000, 64],
      ['tall.png', 1, 8193, 8193],
    ];
    for (const [name, w, h, rows] of bombs) writeFileSync(join(dir, name), pngDeclaring(w, h, rows * (1 + (name === 'tall.png' ? 1 : Math.min(w, 4096))), 0));
    const before = listing(dir);
    const runs = await ncaAll(bombs.map(([name]) => ['render', '--params', p, '--init', `image:${name}`, ...fast, '--out', 'o.gif']), { cwd: dir, timeout: 30_000 });
    runs.forEach((r, i) => {
      const [name, w, h] = bombs[i]!;
      expectUserError(r, new RegExp(`^nca: cannot read PNG ${name}: it declares ${w}x${h} pixels, more than nca decodes \\(at most 8192 pixels a side`));
    });
    expect(listing(dir)).toEqual(before);
  }, 90_000);
});
