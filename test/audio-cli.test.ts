import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ncaInProcess } from './nca-in-process.js';
import { decodeWav } from '../src/core/audio/wav.js';
import { openDataset } from '../src/core/audio/dataset.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nca-audio-cli-'));
});

// Each command spawns the real bin at least once; further calls run in process (src/cli.ts main, test/nca-in-process.ts).
describe('nca synth / spectrogram / visualize / dataset (end to end)', () => {
  it('synth writes a standard 16-bit WAV of the note', async () => {
    const out = join(dir, 'a4.wav');
    const r = run(['synth', '--instrument', 'violin', '--note', 'A4', '--duration', '1', '--seed', '3', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ instrument: 'violin', midi: 69, note: 'A4', frequency: 440, sampleRate: 22050, samples: 22050 });
    const decoded = decodeWav(readFileSync(out));
    expect(decoded.source).toMatchObject({ codec: '16-bit PCM', channels: 1, sampleRate: 22050, frames: 22050 });
    // same seed, same bytes
    const again = join(dir, 'again.wav');
    await ncaInProcess(['synth', '-i', 'violin', '-n', '69', '-d', '1', '--seed', '3', '--out', again]);
    expect(readFileSync(again).equals(readFileSync(out))).toBe(true);
  });

  it('synth rejects a bad note and instrument with exit code 2 and a one-line message', async () => {
    const r = run(['synth', '--note', 'H9', '--out', join(dir, 'x.wav')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^nca: expected a note name like A4, F#4, Bb3 \(a letter, at most one accidental, an octave from -1 to 9\) or a MIDI number like 69 for --note but received "H9"\n$/);
    const s = await ncaInProcess(['synth', '--instrument', 'kazoo', '--out', join(dir, 'x.wav')]);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/piano, violin, guitar, flute, clarinet, xylophone, organ, trumpet/);
    expect(existsSync(join(dir, 'x.wav'))).toBe(false);
  });

  it('spectrogram writes a PNG and --json prints the features', async () => {
    const wav = join(dir, 'g.wav');
    expect((await ncaInProcess(['synth', '-i', 'guitar', '-n', 'E4', '-d', '1', '--out', wav])).status).toBe(0);
    const png = join(dir, 'spec.png');
    const r = run(['spectrogram', wav, '--out', png, '--json']);
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(readFileSync(png).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(result.image).toMatchObject({ width: 32, height: 32, hop: 512, scale: 8 });
    expect(result.features.frames).toBe(44);
    expect(result.features.rms).toHaveLength(44);
    expect(Math.abs(result.features.harmonics[0].frequency - 329.63)).toBeLessThan(2);
    // the 1 s clip is padded to the 2 s window: a warning on stderr, also in the JSON
    expect(r.stderr).toMatch(/warning: the clip is 1\.00 s long; padded with silence/);
    expect(result.warnings).toHaveLength(1);
  });

  it('spectrogram of a file that is not a WAV fails clearly', async () => {
    const bad = join(dir, 'bad.wav');
    writeFileSync(bad, 'ID3\u0003 this is an mp3');
    const r = await ncaInProcess(['spectrogram', bad, '--out', join(dir, 'bad.png')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^nca: bad\.wav is an MP3 file, not a WAV file; convert it/);
  });

  it('visualize writes an animated GIF of the circles (with the spectrogram frame when asked)', async () => {
    const wav = join(dir, 'f.wav');
    expect((await ncaInProcess(['synth', '-i', 'flute', '-n', 'C5', '-d', '2', '--out', wav])).status).toBe(0);
    const gif = join(dir, 'c.gif');
    const r = run(['visualize', wav, '--out', gif, '--size', '48', '--frames', '10', '--sequence', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ width: 48, height: 48, frames: 11 });
    const bytes = readFileSync(gif);
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(bytes.readUInt16LE(6)).toBe(48);
  });

  it('dataset builds a small set that openDataset reads', async () => {
    const out = join(dir, 'data');
    const r = run(['dataset', '--instruments', 'piano,clarinet', '--notes', 'F4..G4', '--velocities', '0.8', '--held-out', '0.25', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ clips: 6, train: 4, test: 2, framesPerClip: 25 });
    const ds = await openDataset(out);
    expect(ds.manifest.clips.map((c) => c.note)).toEqual(['F4', 'F#4', 'G4', 'F4', 'F#4', 'G4']);
    const bad = await ncaInProcess(['dataset', '--notes', 'B5..F4', '--out', out]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/a rising range like F4\.\.B5 for --notes/);
  });
});
