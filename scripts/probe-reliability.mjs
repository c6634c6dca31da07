#!/usr/bin/env node
// A hostile probe of the built CLI (issue 11): runs bin/nca.js on bad inputs and outputs and checks
// that each case gets a clean answer: exit 2 with one `nca: ...` line on stderr (or exit 0 where the
// case is legitimate), no stack trace, no hang (15 s), no file written that was not asked for, and
// special files (devices) left as they were.
//
//   node scripts/probe-reliability.mjs            # every case, a table on stdout, exit 1 if any failed
//   node scripts/probe-reliability.mjs --json     # the results as JSON
//   node scripts/probe-reliability.mjs --bin /other/checkout/bin/nca.js   # probe another build
//
// Needs a build (npm run build). Writes only under a fresh folder in the OS temp folder, removed at the end.
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, rmSync, statSync, lstatSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, crc32 as zcrc32 } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binArg = process.argv.indexOf('--bin');
const bin = binArg > 0 ? process.argv[binArg + 1] : join(root, 'bin', 'nca.js');
const work = mkdtempSync(join(tmpdir(), 'nca-probe-'));
const asJson = process.argv.includes('--json');

function nca(args, opts = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: opts.cwd ?? work, encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL', input: '', ...opts.spawn });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut: r.error?.code === 'ETIMEDOUT' };
}

// ---- inputs ---------------------------------------------------------------------------------------
const ok = (args) => {
  const r = nca(args);
  if (r.code !== 0) throw new Error(`setup failed: nca ${args.join(' ')}: ${r.stderr}`);
};
ok(['random', '--seed', '1', '--out', 'z.json']);
ok(['random', '--seed', '2', '--out', 'z2.json']);
ok(['random', '--params', '--seed', '1', '--out', 'p.json']);
ok(['synth', '--note', 'A4', '--duration', '1', '--out', 'a4.wav']);
ok(['synth', '--note', 'A4', '--duration', '1', '--out', 'victim.wav']);
mkdirSync(join(work, 'adir'));
writeFileSync(join(work, 'regfile'), 'x');
spawnSync('mkfifo', [join(work, 'fifo')]);
spawnSync('mkfifo', [join(work, 'fifo-in')]);
// Device nodes of our own (as root): the same devices as /dev/null and /dev/full, so that a nca that
// renames over its output harms nothing but this folder.
const devNull = join(work, 'null-device');
const devFull = join(work, 'full-device');
const haveDevices = spawnSync('mknod', [devNull, 'c', '1', '3']).status === 0 && spawnSync('mknod', [devFull, 'c', '1', '7']).status === 0;
if (!haveDevices) process.stderr.write('probe: mknod failed (not root?): the device cases are skipped\n');
const big = JSON.parse(readText('z.json'));
writeFileSync(join(work, 'z-1e308.json'), JSON.stringify({ ...big, z: big.z.map((v, i) => (i === 0 ? 1e308 : v)) }));
const bigp = JSON.parse(readText('p.json'));
const pkey = Object.keys(bigp).find((k) => Array.isArray(bigp[k]));
writeFileSync(join(work, 'p-1e39.json'), JSON.stringify({ ...bigp, [pkey]: bigp[pkey].map((v, i) => (i === 0 ? 1e39 : v)) }));
writeFileSync(join(work, 'bomb-max.png'), pngHeaderOnly(2147483647, 2147483647));
writeFileSync(join(work, 'bomb-20k.png'), pngHeaderOnly(20000, 20000));
let deep = '1';
for (let i = 0; i < 50000; i++) deep = `[${deep}]`;
writeFileSync(join(work, 'deep.json'), `{"format":"nca-gallery-jobs","version":1,"jobs":[{"name":"a","random":1,"x":${deep}}]}`);
writeFileSync(join(work, 'jobs.json'), JSON.stringify({ format: 'nca-gallery-jobs', version: 1, defaults: { steps: 5, size: 16 }, jobs: [{ name: 'a', random: 1 }] }));
writeFileSync(join(work, 'collide.json'), JSON.stringify({ format: 'nca-gallery-jobs', version: 1, defaults: { steps: 5, size: 16 }, jobs: [{ name: 'a', random: 1 }, { name: 'a.gif/b', random: 2 }] }));
writeFileSync(join(work, 'wav65535.wav'), wavHeader(65535));
writeFileSync(join(work, 'nan.wav'), floatWav(new Float32Array(22050).fill(NaN)));
mkdirSync(join(work, 'badset'));
writeFileSync(join(work, 'badset', 'manifest.json'), JSON.stringify({ format: 'nca-dataset', version: 1, clips: 3 }));

function readText(name) {
  return spawnSync('cat', [join(work, name)], { encoding: 'utf8' }).stdout;
}

// ---- the cases ------------------------------------------------------------------------------------
// expect: 'error' (exit 2, one nca: line) | 'ok' (exit 0); check(): extra condition, returns a problem or ''.
const charDevice = (p) => () => (statSync(p).isCharacterDevice() ? '' : `${p} is no longer a character device`);
const absent = (...names) => () => names.filter((n) => existsSync(join(work, n))).map((n) => `${n} was written`).join(', ');
const noStrayFiles = () => {
  const stray = readdirSync(work).filter((n) => n.startsWith('.nca-tmp-') || n.startsWith('frame-'));
  return stray.length ? `stray files: ${stray.slice(0, 3).join(', ')}` : '';
};
const cases = [
  // destructive
  { name: 'random --out a null device', args: ['random', '--out', devNull], expect: 'ok', check: charDevice(devNull), device: true },
  { name: 'random --out a full device', args: ['random', '--out', devFull], expect: 'error', check: charDevice(devFull), device: true },
  { name: 'render --out a null device', args: ['render', '--random', '--steps', '3', '--size', '16', '--out', devNull], expect: 'error-or-ok', check: charDevice(devNull), device: true },
  { name: 'random --out a FIFO with a reader', args: ['random', '--out', 'fifo'], expect: 'ok', reader: 'fifo', check: () => (lstatSync(join(work, 'fifo')).isFIFO() ? '' : 'the FIFO was replaced') },
  { name: 'encode victim.wav --out victim.wav', args: ['encode', 'victim.wav', '--out', 'victim.wav'], expect: 'error', check: () => (statSync(join(work, 'victim.wav')).size > 1000 ? '' : 'victim.wav replaced') },
  { name: 'encode --out x.gif (wrong extension)', args: ['encode', 'a4.wav', '--out', 'x.gif'], expect: 'error', check: absent('x.gif') },
  { name: "render --out ''", args: ['render', '--random', '--steps', '3', '--size', '16', '--out', ''], expect: 'error', check: noStrayFiles },
  { name: "synth --out ''", args: ['synth', '--out', ''], expect: 'error' },
  { name: 'interpolate --out z.json (an input)', args: ['interpolate', 'z.json', 'z2.json', '--mean', '--out', 'z.json'], expect: 'error' },
  // file-system errors
  { name: 'render --out /proc/x.gif', args: ['render', '--random', '--steps', '3', '--size', '16', '--out', '/proc/x.gif'], expect: 'error' },
  { name: 'render --out /proc/sub/x.gif (hang)', args: ['render', '--random', '--steps', '3', '--size', '16', '--out', '/proc/sub/x.gif'], expect: 'error' },
  { name: 'gallery --out /proc/gal (hang)', args: ['gallery', 'jobs.json', '--out', '/proc/gal'], expect: 'error', message: /proc/ },
  { name: 'dataset --out regfile', args: ['dataset', '--instruments', 'piano', '--notes', 'A4', '--velocities', '0.5', '--out', 'regfile'], expect: 'error' },
  { name: 'render --out regfile/x.gif', args: ['render', '--random', '--steps', '3', '--size', '16', '--out', 'regfile/x.gif'], expect: 'error' },
  { name: 'render --out adir (a folder: PNG sequence)', args: ['render', '--random', '--steps', '2', '--size', '16', '--out', 'adir/'], expect: 'ok' },
  { name: 'spectrogram --out a full device', args: ['spectrogram', 'a4.wav', '--out', devFull], expect: 'error', check: charDevice(devFull), device: true },
  { name: 'random > /dev/full (stdout)', args: ['random'], stdoutTo: '/dev/full', expect: 'error' },
  // special files as inputs
  { name: 'spectrogram /dev/zero', args: ['spectrogram', '/dev/zero', '--out', 's.png'], expect: 'error', check: absent('s.png') },
  { name: 'render --latent /dev/urandom', args: ['render', '--latent', '/dev/urandom', '--out', 'r.gif'], expect: 'error', check: absent('r.gif') },
  { name: 'render --params a FIFO', args: ['render', '--params', 'fifo-in', '--out', 'r.gif'], expect: 'error', check: absent('r.gif') },
  { name: 'render --init image:/dev/zero', args: ['render', '--random', '--steps', '2', '--size', '16', '--init', 'image:/dev/zero', '--out', 'r.gif'], expect: 'error', check: absent('r.gif') },
  { name: 'encode adir (a folder)', args: ['encode', 'adir', '--out', 'e.json'], expect: 'error', check: absent('e.json') },
  { name: 'gol /dev/zero', args: ['gol', '/dev/zero', '--out', 'g.gif'], expect: 'error', check: absent('g.gif') },
  // limits
  { name: 'render 2048x2048 --scale 16 .png', args: ['render', '--random', '--steps', '1', '--size', '2048x2048', '--scale', '16', '--out', 'huge.png'], expect: 'error', check: absent('huge.png') },
  { name: 'spectrogram --size 2048 --scale 64', args: ['spectrogram', 'a4.wav', '--size', '2048', '--scale', '64', '--out', 'huge-s.png'], expect: 'error', check: absent('huge-s.png') },
  { name: 'init image: 2^31 x 2^31 header', args: ['render', '--random', '--steps', '2', '--size', '16', '--init', 'image:bomb-max.png', '--out', 'r.gif'], expect: 'error' },
  { name: 'init image: 20000 x 20000 bomb', args: ['render', '--random', '--steps', '2', '--size', '16', '--init', 'image:bomb-20k.png', '--out', 'r.gif'], expect: 'error' },
  { name: 'gallery jobs nested 50000 deep', args: ['gallery', 'deep.json', '--out', 'gal-deep'], expect: 'error' },
  // usage
  { name: 'render --bogus', args: ['render', '--bogus'], expect: 'error' },
  { name: 'unknown command', args: ['bogus'], expect: 'error' },
  { name: 'render --steps (no value)', args: ['render', '--steps'], expect: 'error' },
  { name: 'render --protocol x', args: ['render', '--random', '--protocol', 'x'], expect: 'error' },
  { name: 'random extra argument', args: ['random', 'extra'], expect: 'error' },
  { name: 'spectrogram (missing argument)', args: ['spectrogram'], expect: 'error' },
  { name: '--help', args: ['render', '--help'], expect: 'ok' },
  { name: 'render --random --model /nonexistent/typo', args: ['render', '--random', '--steps', '2', '--size', '16', '--model', '/nonexistent/typo', '--out', 'm.gif'], expect: 'error', check: absent('m.gif') },
  // float32 range
  { name: 'render --latent z[0]=1e308', args: ['render', '--latent', 'z-1e308.json', '--steps', '2', '--size', '16', '--out', 'f.gif'], expect: 'error', check: absent('f.gif') },
  { name: 'render --params w=1e39', args: ['render', '--params', 'p-1e39.json', '--steps', '2', '--size', '16', '--out', 'f2.gif'], expect: 'error', check: absent('f2.gif') },
  { name: 'interpolate 1e308 latent', args: ['interpolate', 'z-1e308.json', 'z2.json', '--frames', '3', '--out', 'walk.json'], expect: 'error', check: absent('walk.json') },
  // model and data
  { name: 'train on manifest clips: 3', args: ['train', '--data', 'badset', '--iters', '1', '--out', 'm1'], expect: 'error', check: absent('m1') },
  { name: 'eval on manifest clips: 3', args: ['eval', '--data', 'badset', '--n', '1', '--no-write'], expect: 'error' },
  // smaller
  { name: 'synth --duration 0x1 (hex)', args: ['synth', '--duration', '0x1', '--out', 'd.wav'], expect: 'error', check: absent('d.wav') },
  { name: 'synth --note A#b4', args: ['synth', '--note', 'A#b4', '--out', 'n.wav'], expect: 'error', check: absent('n.wav') },
  { name: 'interpolate --slerp --mean', args: ['interpolate', 'z.json', 'z2.json', '--slerp', '--mean', '--out', 'sm.json'], expect: 'error', check: absent('sm.json') },
  { name: 'spectrogram 65535-channel WAV', args: ['spectrogram', 'wav65535.wav', '--out', 'c.png'], expect: 'error', check: absent('c.png'), message: /channel/ },
  { name: 'spectrogram NaN WAV warns', args: ['spectrogram', 'nan.wav', '--out', 'nan.png'], expect: 'error-or-ok', message: /NaN|non-finite|not a number/i },
  { name: 'gallery a and a.gif/b collide', args: ['gallery', 'collide.json', '--out', 'gal-collide'], expect: 'error' },
];

// ---- run ------------------------------------------------------------------------------------------
const results = [];
for (const c of cases) {
  if (c.device && !haveDevices) continue;
  let r;
  const reader = c.reader ? spawn('cat', [join(work, c.reader)], { stdio: ['ignore', 'ignore', 'ignore'] }) : null;
  if (c.stdoutTo) r = await runToFile(c.args, c.stdoutTo);
  else r = nca(c.args);
  reader?.kill();
  const problems = [];
  if (r.timedOut) problems.push('hang (15 s)');
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  const wantsError = c.expect === 'error' || (c.expect === 'error-or-ok' && r.code !== 0);
  if (!r.timedOut) {
    if (wantsError) {
      if (r.code !== 2) problems.push(`exit ${r.code ?? r.signal}`);
      const errLines = lines.filter((l) => !l.startsWith('nca: warning:'));
      if (errLines.length !== 1 || !errLines[0].startsWith('nca: ')) problems.push(`stderr: ${JSON.stringify(r.stderr.slice(0, 200))}`);
    } else if (r.code !== 0) problems.push(`exit ${r.code ?? r.signal}: ${r.stderr.split('\n')[0]}`);
    if (/\n\s+at /.test(r.stderr)) problems.push('stack trace');
    if (c.message && !c.message.test(r.stderr)) problems.push(`message lacks ${c.message}: ${JSON.stringify(r.stderr.slice(0, 160))}`);
  }
  const extra = c.check?.();
  if (extra) problems.push(extra);
  results.push({ name: c.name, ok: problems.length === 0, code: r.code, stderr: r.stderr.split('\n')[0].slice(0, 140), problems });
}
rmSync(work, { recursive: true, force: true });

if (asJson) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
else {
  for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name.padEnd(46)} exit ${String(r.code).padEnd(4)} ${r.ok ? r.stderr : r.problems.join('; ')}\n`);
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`\n${results.length - failed} of ${results.length} cases handled well, ${failed} not\n`);
}
process.exitCode = results.every((r) => r.ok) ? 0 : 1;

// ---- helpers --------------------------------------------------------------------------------------
function runToFile(args, path) {
  return new Promise((resolve) => {
    const out = spawnSync('sh', ['-c', `exec "${process.execPath}" "${bin}" ${args.map((a) => `'${a}'`).join(' ')} > ${path}`], { cwd: work, encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL' });
    resolve({ code: out.status, signal: out.signal, stdout: '', stderr: out.stderr ?? '', timedOut: out.error?.code === 'ETIMEDOUT' });
  });
}

function crc(buf) {
  if (zcrc32) return zcrc32(buf) >>> 0;
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const c = Buffer.alloc(4);
  c.writeUInt32BE(crc(td));
  return Buffer.concat([len, td, c]);
}

/** A PNG that declares width x height (8-bit RGBA) with a little compressed data: decoding it would need the whole size. */
function pngHeaderOnly(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const rows = deflateSync(Buffer.alloc(1 << 20)); // 1 MiB of zeros: the start of the image
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', Buffer.alloc(0))]);
}

/** A 16-bit PCM WAV header declaring `channels` channels with a few bytes of data. */
function wavHeader(channels) {
  const data = Buffer.alloc(channels * 2 * 4);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8);
  h.write('fmt ', 12); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(22050, 24); h.writeUInt32LE(22050 * channels * 2, 28); h.writeUInt16LE((channels * 2) & 0xffff, 32); h.writeUInt16LE(16, 34);
  h.write('data', 36); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** A mono 32-bit float WAV of `samples`. */
function floatWav(samples) {
  const data = Buffer.from(samples.buffer);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8);
  h.write('fmt ', 12); h.writeUInt32LE(16, 16); h.writeUInt16LE(3, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(22050, 24); h.writeUInt32LE(22050 * 4, 28); h.writeUInt16LE(4, 32); h.writeUInt16LE(32, 34);
  h.write('data', 36); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
