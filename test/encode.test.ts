import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { midiFile } from './midi-file.js';
import { ncaInProcess } from './nca-in-process.js';
import { readSongAudio } from '../src/core/audio/song-file.js';
import { defaultSoundfontPath } from '../src/core/audio/soundfont.js';
import { synthesize } from '../src/core/audio/synth.js';
import { encodeWav16 as encodeWav } from '../src/core/audio/wav-write.js';
import { writeFileAtomic } from '../src/core/io/atomic.js';
import { readPng } from '../src/core/io/png.js';
import { norm, parseLatent } from '../src/core/latent.js';
import { chooseWindow, contextFrames, encodeClip, encodeTrack, loudestWindowStart } from '../src/core/model/encode.js';
import { createRandomModel, type NeuroModel } from '../src/core/model/networks.js';
import { computeNotes, noteLatent, type NotesManifest } from '../src/core/model/notes.js';
import { Rng } from '../src/core/rng.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
const SR = 22050;

let dir: string;
let model: NeuroModel;
let notes: NotesManifest;

const distance = (a: Float32Array, b: Float32Array) => norm(a.map((v, i) => v - b[i]!));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-encode-'));
  // an untrained model is enough: the encoder is a deterministic function of its input pictures
  model = await createRandomModel(new Rng(4));
  await model.save(join(dir, 'model'));
  notes = computeNotes(model, { instruments: ['piano', 'violin', 'flute'], notes: [65, 69, 72] });
  await writeFileAtomic(join(dir, 'model', 'notes.json'), JSON.stringify(notes));
});

describe('windows', () => {
  it('finds the loudest 2 s of a file and pads short ones', () => {
    const samples = new Float32Array(6 * SR);
    for (let i = 3 * SR; i < 5 * SR; i++) samples[i] = Math.sin(i / 10); // loud between 3 s and 5 s
    expect(loudestWindowStart(samples, 2 * SR) / SR).toBeCloseTo(3, 1);
    expect(chooseWindow(samples)).toMatchObject({ duration: 2, padded: false });
    expect(chooseWindow(samples, { start: 1, duration: 1 })).toEqual({ start: 1, duration: 1, padded: true });
    expect(chooseWindow(samples.subarray(0, SR))).toMatchObject({ start: 0, duration: 1, padded: true });
    expect(() => chooseWindow(samples, { start: 7 })).toThrow(/past the end/);
    // the encoder's input: 4 frames x RGB, the first the spectrogram (grey)
    const ctx = contextFrames(samples.subarray(3 * SR, 5 * SR));
    expect(ctx.length).toBe(12 * 32 * 32);
    expect(ctx.subarray(0, 1024)).toEqual(ctx.subarray(1024, 2048));
    // silence encodes (black pictures), no NaN
    const { z } = encodeClip(model, new Float32Array(SR), { start: 0, duration: 1, padded: true });
    expect(z.every(Number.isFinite)).toBe(true);
  });
});

describe('note manifest', () => {
  it('gives different latents to different instruments and notes', () => {
    const a4piano = noteLatent(notes, 'piano', 'A4');
    const a4violin = noteLatent(notes, 'violin', 'A4');
    const f4piano = noteLatent(notes, 'piano', 'F4');
    expect(distance(a4piano, a4violin)).toBeGreaterThan(1e-3);
    expect(distance(a4piano, f4piano)).toBeGreaterThan(1e-3);
    // all 9 latents distinct
    const all = notes.instruments.flatMap((i) => notes.notes.map((n) => noteLatent(notes, i, n)));
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) expect(distance(all[i]!, all[j]!)).toBeGreaterThan(1e-4);
    expect(() => noteLatent(notes, 'kazoo', 'A4')).toThrow(/piano, violin, flute/);
    expect(() => noteLatent(notes, 'piano', 'B5')).toThrow(/F4\.\.C5/);
  });
});

describe('nca encode (end to end)', () => {
  it('--notes: a chord is the mean of its notes and lies between them', async () => {
    const out = join(dir, 'chord.json');
    // in process (src/cli.ts main, test/nca-in-process.ts); the real bin runs encode in the two tests below and render --audio
    const r = await ncaInProcess(['encode', '--notes', 'F4,A4,C5', '--instrument', 'violin', '--model', join(dir, 'model'), '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const chord = parseLatent(readFileSync(out, 'utf8'), out);
    const parts = ['F4', 'A4', 'C5'].map((n) => noteLatent(notes, 'violin', n));
    const mean = parts[0]!.map((_, i) => (parts[0]![i]! + parts[1]![i]! + parts[2]![i]!) / 3);
    expect(distance(chord.z!, mean)).toBeLessThan(1e-5);
    // between: closer to each note than the notes' largest distance from one another
    const spread = Math.max(distance(parts[0]!, parts[1]!), distance(parts[0]!, parts[2]!), distance(parts[1]!, parts[2]!));
    for (const p of parts) expect(distance(chord.z!, p)).toBeLessThan(spread);
    expect(chord.provenance).toMatchObject({ instrument: 'violin', notes: ['F4', 'A4', 'C5'] });
    const one = await ncaInProcess(['encode', '--note', 'a4', '--instrument', 'violin', '--model', join(dir, 'model'), '--out', join(dir, 'a4.json')]);
    expect(one.status).toBe(0);
    expect(distance(parseLatent(readFileSync(join(dir, 'a4.json'), 'utf8'), 'a4').z!, parts[1]!)).toBeLessThan(1e-5);
    const list = await ncaInProcess(['encode', '--list', '--model', join(dir, 'model'), '--json']);
    expect(JSON.parse(list.stdout)).toEqual({ instruments: ['piano', 'violin', 'flute'], notes: ['F4', 'A4', 'C5'] });
  });

  it('encodes generated WAVs: the loudest window, --context, --track; a short file is padded with a warning', async () => {
    const wav = join(dir, 'two-notes.wav');
    const a = synthesize({ instrument: 'flute', midi: 69, duration: 1.5, velocity: 0.3 });
    const b = synthesize({ instrument: 'trumpet', midi: 60, duration: 2, velocity: 0.9 });
    const song = new Float32Array(a.length + b.length);
    song.set(a);
    song.set(b, a.length);
    await writeFileAtomic(wav, encodeWav(song, SR));
    const m = join(dir, 'model');
    const r = run(['encode', wav, '--model', m, '--out', join(dir, 'z.json'), '--context', join(dir, 'ctx.png'), '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).window.start).toBeGreaterThan(1); // the loud trumpet, not the quiet flute
    const z = parseLatent(readFileSync(join(dir, 'z.json'), 'utf8'), 'z').z!;
    const expected = encodeClip(model, song, chooseWindow(song)).z;
    expect(distance(z, expected)).toBeLessThan(1e-4);
    const ctx = await readPng(join(dir, 'ctx.png'));
    expect([ctx.width, ctx.height]).toEqual([4 * 128 + 3 * 2, 128]);

    const t = await ncaInProcess(['encode', wav, '--track', '--fps', '4', '--model', m, '--out', join(dir, 'track.json')]);
    expect(t.status).toBe(0);
    const track = parseLatent(readFileSync(join(dir, 'track.json'), 'utf8'), 'track').track!;
    expect(track.length).toBe(Math.floor((song.length / SR) * 4) + 1);
    expect(track[1]!.t).toBeCloseTo(0.25);
    expect(distance(track[0]!.z, track[track.length - 1]!.z)).toBeGreaterThan(1e-3);
    const direct = await encodeTrack(model, song, { fps: 4 });
    expect(distance(track[3]!.z, direct[3]!.z)).toBeLessThan(1e-4);

    const short = join(dir, 'short.wav');
    await writeFileAtomic(short, encodeWav(a.subarray(0, SR / 2), SR));
    const s = await ncaInProcess(['encode', short, '--model', m, '--out', join(dir, 'short.json')]);
    expect(s.status).toBe(0);
    expect(s.stderr).toMatch(/^nca: warning: the window of .*short\.wav is 0\.50 s, shorter than 2 s: padded with silence\n$/);
    expect(existsSync(join(dir, 'short.json'))).toBe(true);

    // a MIDI file is played by the soundfont and encoded like the WAV of its render
    const mid = join(dir, 'two.mid');
    await writeFileAtomic(mid, midiFile([{ key: 69, on: 0, off: 960 }, { key: 60, on: 960, off: 1920, velocity: 110 }], { programs: { 0: 40 } }));
    const mt = await ncaInProcess(['encode', mid, '--track', '--fps', '4', '--soundfont', defaultSoundfontPath(), '--model', m, '--out', join(dir, 'mid-track.json')]);
    expect(mt.status, mt.stderr).toBe(0);
    const midTrack = parseLatent(readFileSync(join(dir, 'mid-track.json'), 'utf8'), 'track').track!;
    const played = await readSongAudio(mid);
    expect(midTrack.length).toBe(Math.floor(played.seconds * 4) + 1); // 2 s of notes + 0.5 s of release
    expect(distance(midTrack[2]!.z, (await encodeTrack(model, played.samples, { fps: 4 }))[2]!.z)).toBeLessThan(1e-4);
  });

  it('nca render --audio encodes a track and renders as many frames as the audio lasts at --fps', async () => {
    const wav = join(dir, 'beep.wav');
    await writeFileAtomic(wav, encodeWav(synthesize({ instrument: 'organ', midi: 67, duration: 1.5 }), SR));
    const r = run(['render', '--audio', wav, '--model', join(dir, 'model'), '--fps', '10', '--size', '16', '--threads', '1', '--out', join(dir, 'beep.gif'), '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ steps: 15, framesWritten: 16, protocol: 'frame' });
  });

  it('nca render plays a latent with the protocol in the model\'s config unless --protocol says otherwise', async () => {
    const free = await createRandomModel(new Rng(4), { protocol: 'free' });
    await free.save(join(dir, 'free-model'));
    free.dispose();
    const z = join(dir, 'a4.json');
    const args = ['render', '--latent', z, '--model', join(dir, 'free-model'), '--steps', '4', '--size', '8', '--threads', '1', '--out', join(dir, 'p.png'), '--json'];
    expect(JSON.parse((await ncaInProcess(args)).stdout).protocol).toBe('free'); // in process: render --audio above spawns the bin
    expect(JSON.parse((await ncaInProcess([...args, '--protocol', 'frame'])).stdout).protocol).toBe('frame');
    expect(JSON.parse((await ncaInProcess(['render', '--latent', z, '--model', join(dir, 'model'), '--steps', '4', '--size', '8', '--out', join(dir, 'q.png'), '--json'])).stdout).protocol).toBe('frame');
  });

  it('rejects bad requests with one-line messages', async () => {
    const m = join(dir, 'model');
    const r = run(['encode', '--note', 'H9', '--model', m, '--out', join(dir, 'x.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^nca: [^\n]*\n$/);
    expect((await ncaInProcess(['encode', '--note', 'A4', '--model', m])).stderr).toMatch(/give --out/);
    expect((await ncaInProcess(['encode', '--model', m, '--out', join(dir, 'x.json')])).stderr).toMatch(/give a WAV or MIDI file, --note or --notes/);
    // --soundfont plays MIDI files only, and must be a bank
    const wav = join(dir, 'r.wav'), mid = join(dir, 'r.mid');
    await writeFileAtomic(wav, encodeWav(new Float32Array(SR / 10), SR));
    await writeFileAtomic(mid, midiFile([{ key: 60, on: 0, off: 480 }]));
    expect((await ncaInProcess(['encode', wav, '--soundfont', defaultSoundfontPath(), '--model', m, '--out', join(dir, 'x.json')])).stderr).toMatch(/^nca: --soundfont plays a MIDI file: give a \.mid file \(a WAV file already has its sound\)\n$/);
    expect((await ncaInProcess(['encode', mid, '--soundfont', wav, '--model', m, '--out', join(dir, 'x.json')])).stderr).toMatch(/^nca: .*r\.wav is not a SoundFont nca can read \(.*\); give an \.sf2 or \.sf3 file\n$/);
    expect((await ncaInProcess(['render', '--audio', wav, '--soundfont', defaultSoundfontPath(), '--model', m, '--out', join(dir, 'x.gif')])).stderr).toMatch(/^nca: --soundfont plays a MIDI file: give --audio song\.mid/);
    expect(existsSync(join(dir, 'x.gif'))).toBe(false);
    expect((await ncaInProcess(['encode', '--list', '--model', join(dir, 'nowhere')])).stderr).toMatch(/no note manifest/);
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });
});
