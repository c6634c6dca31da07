/**
 * File-system errors on outputs, in every command that writes: each is one line `nca: ...` with
 * exit 2 (never a stack trace, never a hang), and nca writes nothing it was not asked to write.
 * Device nodes are made with mknod in a temporary folder (never the machine's own /dev/full).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ncaInProcess } from './nca-in-process.js';
import { BIN, expectUserError, listing, nca, ncaAll, ncaAllInProcess, sha } from './reliability-cli.js';

let dir: string;
let p: string, wav: string, rle: string, png: string, z1: string, z2: string;
const fast = ['--steps', '2', '--size', '8'];
const smallDataset = ['dataset', '--instruments', 'piano', '--notes', 'A4', '--velocities', '0.8', '--frames', '4', '--held-out', '0'];

function mknod(path: string, type: 'c' | 'b', major: number, minor: number): boolean {
  try {
    execFileSync('mknod', [path, type, String(major), String(minor)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-rel-fs-'));
  p = join(dir, 'p.json');
  z1 = join(dir, 'z1.json');
  z2 = join(dir, 'z2.json');
  wav = join(dir, 'a4.wav');
  // the inputs, in process (random and synth are spawned below)
  const inputs = await ncaInProcess(['random', '--params', '--seed', '1', '--out', p]);
  expect(inputs.status).toBe(0);
  expect((await ncaInProcess(['random', '--seed', '1', '--out', z1])).status).toBe(0);
  expect((await ncaInProcess(['random', '--seed', '2', '--out', z2])).status).toBe(0);
  expect((await ncaInProcess(['synth', '--duration', '2', '--out', wav])).status).toBe(0);
  rle = join(dir, 'pat.rle');
  copyFileSync(join(import.meta.dirname, '..', 'fixtures', 'gol', 'blinker.rle'), rle);
  png = join(dir, 'img.png');
  const img = new pngjs.PNG({ width: 8, height: 8 });
  img.data.fill(128);
  writeFileSync(png, pngjs.PNG.sync.write(img));
}, 30_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('outputs nca cannot create', () => {
  it('under /proc: one line and exit 2 at once (no endless mkdir loop), in every command', async () => {
    const t0 = performance.now();
    const runs = await ncaAll(
      [
        ['random', '--out', '/proc/x.json'],
        ['render', '--params', p, ...fast, '--out', '/proc/x.gif'],
        ['render', '--params', p, ...fast, '--out', '/proc/sub/x.gif'],
        ['synth', '--duration', '0.1', '--out', '/proc/sub/deeper/a.wav'],
        ['gol', rle, '--generations', '2', '--out', '/proc/sub/g.rle'],
        ['interpolate', z1, z2, '--frames', '2', '--out', '/proc/sub/walk/'],
        [...smallDataset, '--out', '/proc/sub/data'],
      ],
      { timeout: 15_000, cwd: dir },
    );
    for (const r of runs) expectUserError(r, /^nca: cannot (write|create the output folder) \/proc\/(x|sub)/);
    expect(performance.now() - t0).toBeLessThan(40_000);
  }, 60_000);

  it('a full disk (a copy of /dev/full): "no space left on the device", and the device stays a device', async () => {
    const full = join(dir, 'full');
    if (!mknod(full, 'c', 1, 7)) return; // not root: nothing to test here
    const runs = await ncaAll(
      [
        ['random', '--out', full],
        ['synth', '--duration', '0.1', '--out', full],
        ['spectrogram', wav, '--out', full],
        ['gol', rle, '--generations', '2', '--out', full],
        ['interpolate', '--mean', z1, z2, '--out', full],
      ],
      { cwd: dir },
    );
    for (const r of runs) expectUserError(r, /^nca: cannot write \S*full: no space left on the device/);
    expect(statSync(full).isCharacterDevice()).toBe(true);
    rmSync(full);
  }, 60_000);

  it('a read-only file system: "read-only file system", nothing written', async () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]).status === 0;
    if (!mounted) return; // not root: EROFS cannot be simulated here
    try {
      const runs = await ncaAll(
        [
          ['random', '--out', join(ro, 'z.json')],
          ['render', '--params', p, ...fast, '--out', join(ro, 'frames/')],
            ['synth', '--duration', '0.1', '--out', join(ro, 'a.wav')],
          [...smallDataset, '--out', join(ro, 'data')],
        ],
        { cwd: dir },
      );
      for (const r of runs) expectUserError(r, /read-only file system/);
      expect(listing(ro)).toEqual([]);
    } finally {
      spawnSync('umount', [ro]);
    }
  }, 60_000);

  it('a file where a folder is expected, a folder where a file is expected: named, and left as they were', async () => {
    const regfile = join(dir, 'regfile');
    writeFileSync(regfile, 'keep me');
    const folder = join(dir, 'folder.wav');
    mkdirSync(join(folder, 'child'), { recursive: true });
    const runs = await ncaAll(
      [
        [...smallDataset, '--out', regfile],
        ['train', '--data', join(dir, 'nowhere'), '--out', regfile],
        ['random', '--out', join(regfile, 'x.json')],
        ['render', '--params', p, ...fast, '--out', join(regfile, 'frames/')],
        ['random', '--out', folder],
        ['synth', '--duration', '0.1', '--out', folder],
      ],
      { cwd: dir },
    );
    const [dataset, train, ...rest] = runs;
    expectUserError(dataset!, /regfile: it is a file, not a folder/);
    expectUserError(train!, /regfile: it is a file, not a folder/);
    for (const r of rest.slice(0, 2)) expectUserError(r, /regfile is a file, not a folder/);
    for (const r of rest.slice(2)) expectUserError(r, /folder\.wav: it is a folder/);
    expect(readFileSync(regfile, 'utf8')).toBe('keep me');
    expect(listing(folder)).toEqual(['child']);
    expect(listing(dir).filter((f) => f.startsWith('.nca-tmp-'))).toEqual([]);
  }, 60_000);
});

describe('standard output', () => {
  it('that cannot be written (> /dev/full): one line "cannot write to standard output", exit 2', () => {
    const fd = openSync('/dev/full', 'w');
    try {
      for (const args of [['random'], ['random', '--out', join(dir, 'so.json'), '--json'], ['synth', '--duration', '0.1', '--out', join(dir, 'so.wav')], ['random', '--help']]) {
        expectUserError(nca(args, { stdoutFd: fd }), /^nca: cannot write to standard output: no space left on the device/);
      }
    } finally {
      closeSync(fd);
    }
  }, 30_000);

  it('closed early by the reader (| head): a quiet success', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" random --params | head -c 1 > /dev/null; exit \${PIPESTATUS[0]}`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('output paths', () => {
  // the refusals of this describe run in process (each command is spawned as the real bin above or in its own test file)
  it('an empty --out is an error in every command, and nothing is written into the working folder', async () => {
    const cwd = join(dir, 'empty-out');
    mkdirSync(cwd);
    const runs = await ncaAllInProcess(
      [
        ['random', '--out', ''],
        ['synth', '--out', ''],
        ['render', '--params', p, ...fast, '--out', ''],
        ['encode', wav, '--out', ''],
        ['spectrogram', wav, '--out', ''],
        ['gol', rle, '--out', ''],
        ['interpolate', '--mean', z1, z2, '--out', ''],
        [...smallDataset, '--out', ''],
        ['sheet', '--random', '1', '--out', ''],
      ],
      { cwd },
    );
    for (const r of runs) expectUserError(r, /^nca: --out is empty/);
    expect(listing(cwd)).toEqual([]);
  }, 60_000);

  it('an output that is one of the command\'s inputs is refused, and the input is unchanged', async () => {
    const link = join(dir, 'link.json');
    symlinkSync(wav, link);
    const linkPng = join(dir, 'a4-link.png');
    symlinkSync(wav, linkPng);
    const before = [wav, rle, png, z1].map(sha);
    const runs = await ncaAllInProcess(
      [
        ['encode', wav, '--out', link],
        ['spectrogram', wav, '--out', linkPng],
        ['gol', rle, '--generations', '2', '--out', rle],
        ['render', '--params', p, ...fast, '--init', `image:${png}`, '--out', png],
        ['interpolate', '--mean', z1, z2, '--out', z1],
      ],
      { cwd: dir },
    );
    for (const r of runs) expectUserError(r, /it is also an input of this command/);
    expect([wav, rle, png, z1].map(sha)).toEqual(before);
    expect(statSync(link).isFile() && statSync(linkPng).isFile()).toBe(true);
    rmSync(link);
    rmSync(linkPng);
  }, 60_000);

  it('wrong extensions are refused, naming the accepted ones; nothing is written', async () => {
    const cwd = join(dir, 'ext');
    mkdirSync(cwd);
    const cases: Array<[string[], RegExp]> = [
      [['encode', wav, '--out', 'a4.txt'], /--out must be a \.json file/],
      [['synth', '--duration', '0.1', '--out', 'x.mp3'], /--out must be a \.wav file/],
      [['random', '--out', 'z.txt'], /--out must be a \.json file/],
      [['spectrogram', wav, '--out', 's.gif'], /--out must be a \.png file/],
      [['interpolate', z1, z2, '--out', 'walk.txt'], /--out must be a \.json file or a folder/],
      [['render', '--params', p, ...fast, '--out', 'x.jpg'], /--out must be a \.gif file, a \.png file, a \.mp4 file, a \.webm file or a folder/],
      [['gol', rle, '--out', 'g.txt'], /--out must be a \.rle file or a \.gif file/],
      [['sheet', '--random', '1', '--out', 's.gif'], /--out must be a \.png file/],
    ];
    const runs = await ncaAllInProcess(cases.map(([args]) => args), { cwd });
    runs.forEach((r, i) => expectUserError(r, cases[i]![1]));
    expect(listing(cwd)).toEqual([]);
  }, 60_000);
});

describe('temporary files', () => {
  it('those left by a killed process are removed by the next write into the folder; nothing else is', () => {
    const folder = join(dir, 'stale');
    mkdirSync(folder);
    const deadPid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1; // no process can have it
    const dead = `.nca-tmp-${deadPid}-deadbeef-z.json`;
    const alive = `.nca-tmp-${process.pid}-cafebabe-z.json`;
    const others = [`.nca-tmp-${deadPid}-nothex!!-z.json`, `my.nca-tmp-${deadPid}-deadbeef-z.json`, `.nca-tmp-${deadPid}-deadbeef-dir`];
    for (const f of [dead, alive, others[0]!, others[1]!]) writeFileSync(join(folder, f), 'partial');
    mkdirSync(join(folder, others[2]!));
    const r = nca(['random', '--out', join(folder, 'z.json')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(listing(folder)).toEqual([alive, ...others, 'z.json'].sort());
  });
});

describe('PNG sequences', () => {
  it('a shorter sequence into the same folder removes the older frames past it (and only those), and says so', () => {
    const frames = join(dir, 'frames');
    expect(nca(['render', '--params', p, '--steps', '5', '--size', '8', '--out', frames + '/']).status).toBe(0);
    expect(listing(frames)).toHaveLength(6);
    writeFileSync(join(frames, 'keep.txt'), 'mine');
    writeFileSync(join(frames, 'frame-9.png'), 'not an nca name');
    const r = nca(['render', '--params', p, '--steps', '2', '--size', '8', '--out', frames + '/', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).removedStaleFrames).toBe(3);
    expect(listing(frames)).toEqual(['frame-000000.png', 'frame-000001.png', 'frame-000002.png', 'frame-9.png', 'keep.txt']);
  }, 30_000);
});
