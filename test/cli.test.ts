import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ncaInProcess } from './nca-in-process.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const run = (args: string[], cwd?: string) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, FORCE_COLOR: '0' } });
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nca-cli-'));
});

/** Minimal GIF structure reader: frame count, loop extension, delays. */
function gifInfo(buf: Buffer) {
  expect(buf.subarray(0, 6).toString('latin1')).toBe('GIF89a');
  expect(buf[buf.length - 1]).toBe(0x3b);
  const loop = buf.indexOf(Buffer.from('NETSCAPE2.0', 'latin1'));
  const loopCount = loop >= 0 ? buf.readUInt16LE(loop + 13) : -1;
  const width = buf.readUInt16LE(6), height = buf.readUInt16LE(8);
  // Count image descriptors by walking the blocks.
  let p = 13;
  if (buf[10]! & 0x80) p += 3 * (1 << ((buf[10]! & 7) + 1));
  let frames = 0;
  const delays: number[] = [];
  while (p < buf.length && buf[p] !== 0x3b) {
    if (buf[p] === 0x21) {
      if (buf[p + 1] === 0xf9) delays.push(buf.readUInt16LE(p + 4));
      p += 2;
      while (buf[p] !== 0) p += buf[p]! + 1;
      p++;
    } else if (buf[p] === 0x2c) {
      frames++;
      const packed = buf[p + 9]!;
      p += 10;
      if (packed & 0x80) p += 3 * (1 << ((packed & 7) + 1));
      p++; // LZW min code size
      while (buf[p] !== 0) p += buf[p]! + 1;
      p++;
    } else throw new Error(`bad GIF block 0x${buf[p]!.toString(16)} at ${p}`);
  }
  return { width, height, frames, loopCount, delays };
}

describe('nca render (end to end)', () => {
  it('writes a valid looping GIF, byte-identical on a second run with the same seed', async () => {
    const a = join(dir, 'a.gif'), b = join(dir, 'b.gif');
    const r1 = run(['render', '--random', '--seed', '1', '--steps', '40', '--size', '32', '--fps', '25', '--out', a]);
    expect(r1.stderr).toBe('');
    expect(r1.status).toBe(0);
    const r2 = run(['render', '--random', '--seed', '1', '--steps', '40', '--size', '32', '--fps', '25', '--out', b, '--quiet']);
    expect(r2.status).toBe(0);
    expect(r2.stdout).toBe('');
    const info = gifInfo(readFileSync(a));
    expect(info).toMatchObject({ width: 32, height: 32, frames: 41, loopCount: 0 });
    expect(info.delays.every((d) => d === 4)).toBe(true);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const c = join(dir, 'c.gif');
    expect((await ncaInProcess(['render', '--random', '--seed', '2', '--steps', '40', '--size', '32', '--out', c])).status).toBe(0); // in process: another seed
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('.nca-tmp'))).toEqual([]);
  });

  it('renders a parameters file to the last-frame PNG and a PNG sequence, with a --json summary', async () => {
    const p = join(dir, 'p.json');
    expect((await ncaInProcess(['random', '--params', '--seed', '3', '--out', p])).status).toBe(0);
    const r = run(['render', '--params', p, '--steps', '20', '--size', '24x16', '--scale', '2', '--out', join(dir, 'last.png'), '--json']);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ format: 'png', width: 24, height: 16, steps: 20, framesWritten: 1 });
    expect(summary.motion.change.length).toBe(20);
    const png = readFileSync(join(dir, 'last.png'));
    expect(png.readUInt32BE(16)).toBe(48); // IHDR width = 24 * scale 2
    expect(png.readUInt32BE(20)).toBe(32);
    const seq = join(dir, 'seq');
    expect((await ncaInProcess(['render', '--params', p, '--steps', '10', '--every', '5', '--size', '16', '--out', seq])).status).toBe(0);
    expect(readdirSync(seq).sort()).toEqual(['frame-000000.png', 'frame-000001.png', 'frame-000002.png']);
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['no source', ['render'], /give one of --latent, --params, --random/],
    ['two sources', ['render', '--random', '--params', 'x.json'], /only one of --params, --random/],
    ['bad size', ['render', '--random', '--size', '0'], /for --size/],
    ['absurd size', ['render', '--random', '--size', '4000'], /cells, more than/],
    ['bad steps', ['render', '--random', '--steps', 'ten'], /integer between 1 and 1000000 for --steps but received "ten"/],
    ['bad perturb', ['render', '--random', '--perturb', '12'], /for --perturb/],
    ['missing latent file', ['render', '--latent', 'nope.json'], /(cannot read latent file nope.json|no trained model)/],
    ['missing params file', ['render', '--params', 'nope.json'], /cannot read parameters file nope.json: no such file/],
    ['unknown output type', ['render', '--random', '--out', 'a.avi'], /--out must be a \.gif file, a \.png file, a \.mp4 file, a \.webm file or a folder/],
    ['bad init', ['render', '--random', '--init', 'lava'], /for --init/],
  ];
  // in process (src/cli.ts main: the bin's parsing and error mapping); the real bin's one-line errors: the malformed
  // latent below and test/reliability-usage.test.ts
  for (const [name, args, message] of bad) {
    it(`bad input (${name}): one line on stderr, non-zero exit, no stack`, async () => {
      const r = await ncaInProcess(args, { cwd: dir });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    });
  }

  it('a malformed latent file is a clear error', () => {
    const z = join(dir, 'bad.json');
    writeFileSync(z, JSON.stringify({ format: 'nca-latent', version: 1, dim: 64, z: [1, 2, 3] }));
    const r = run(['interpolate', '--mean', z, '--out', join(dir, 'm.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`nca: ${z}: z has 3 numbers, expected 64 (nca latents are 64-d)\n`);
  });

  it('stops cleanly on Ctrl-C without leaving a partial file', async () => {
    const out = join(dir, 'int.gif');
    const child = spawn(process.execPath, [BIN, 'render', '--random', '--steps', '1000000', '--size', '64', '--every', '1000', '--out', out]);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // interrupt once the child is surely past its start-up (its handlers are installed after the imports):
    // 1.5 s of its own CPU time, read from /proc, not wall time, which a loaded machine stretches
    const cpuSeconds = () => {
      try {
        const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(f[11]) + Number(f[12])) / 100;
      } catch {
        return 0;
      }
    };
    for (let waited = 0; cpuSeconds() < 1.5 && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('.nca-tmp'))).toEqual([]);
  });
});

describe('nca random and interpolate', () => {
  it('random latents are N(0, I) draws, deterministic by seed; walks and chords are written', async () => {
    const a = join(dir, 'za.json'), b = join(dir, 'zb.json');
    // the real bin for random (a file and stdout) and for interpolate (the malformed latent above); the rest in process
    expect(run(['random', '--seed', '7', '--out', a]).status).toBe(0);
    expect((await ncaInProcess(['random', '--seed', '8', '--out', b])).status).toBe(0);
    const za = JSON.parse(readFileSync(a, 'utf8'));
    expect(za).toMatchObject({ format: 'nca-latent', version: 1, dim: 64 });
    expect(run(['random', '--seed', '7']).stdout).toBe(readFileSync(a, 'utf8'));
    const walk = join(dir, 'walk');
    expect((await ncaInProcess(['interpolate', a, b, '--frames', '5', '--slerp', '--out', walk])).status).toBe(0);
    const files = readdirSync(walk).sort();
    expect(files).toEqual(['000.json', '001.json', '002.json', '003.json', '004.json']);
    const zb = JSON.parse(readFileSync(b, 'utf8'));
    expect(JSON.parse(readFileSync(join(walk, '004.json'), 'utf8')).z[0]).toBeCloseTo(zb.z[0], 5);
    const chord = join(dir, 'chord.json');
    expect((await ncaInProcess(['interpolate', '--mean', a, b, '--out', chord])).status).toBe(0);
    expect(JSON.parse(readFileSync(chord, 'utf8')).z[3]).toBeCloseTo((za.z[3] + zb.z[3]) / 2, 5);
    const track = join(dir, 'track.json');
    expect((await ncaInProcess(['interpolate', a, b, '--frames', '4', '--fps', '2', '--out', track])).status).toBe(0);
    expect(JSON.parse(readFileSync(track, 'utf8')).track.map((p: { t: number }) => p.t)).toEqual([0, 0.5, 1, 1.5]);
  });

  it('--help lists the commands with examples', () => {
    const r = run(['render', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Examples:\n\s+\$ nca render --random --seed 1/);
  });
});
