/**
 * nca render to video, end to end (bin/nca.js): a music video with the song's sound, a WebM of a
 * parameters file, and the failures that must leave no file: a bad NCA_FFMPEG, a --model that is not
 * a model, Ctrl-C mid-encode.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav16 } from '../src/core/audio/wav-write.js';
import { probeVideo } from '../src/core/video/probe.js';
import { midiFile } from './midi-file.js';
import { BIN, expectUserError, ncaAll, ncaAllInProcess } from './reliability-cli.js';

let dir: string;
let song: string;
let midiSong: string;
const SR = 22050;
const SECONDS = 1.6;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nca-video-cli-'));
  // a tone with a click every 0.4 s
  const s = Float32Array.from({ length: Math.round(SECONDS * SR) }, (_, i) => 0.2 * Math.sin((2 * Math.PI * 330 * i) / SR) + (i % (0.4 * SR) < 200 ? 0.7 : 0));
  song = join(dir, 'song.wav');
  writeFileSync(song, encodeWav16(s, SR));
  // a MIDI file: three piano notes 0.4 s apart, each 0.3 s (480 ticks = 0.5 s at 120 bpm), the last off at 1.1 s
  midiSong = join(dir, 'three.mid');
  writeFileSync(midiSong, midiFile([60, 64, 67].map((key, k) => ({ key, on: 384 * k, off: 384 * k + 288 })), { programs: { 0: 0 } }));
  writeFileSync(join(dir, 'text.mid'), 'not a MIDI file');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const leftovers = () => readdirSync(dir).filter((f) => f.startsWith('.nca-tmp'));

describe('nca render to video', () => {
  it('a music video, a WebM, an animated sheet and a gallery video are written with the right streams; bad ffmpeg, a bad model and refused options leave no file', async () => {
    const mp4 = join(dir, 'song.mp4'), midiMp4 = join(dir, 'three.mp4'), webm = join(dir, 'p.webm'), p = join(dir, 'p.json'), sheet = join(dir, 'sheet.mp4');
    // the inputs and the refusals in process (src/cli.ts main); the videos, and the missing ffmpeg, from the real bin
    const [random] = await ncaAllInProcess([['random', '--params', '--seed', '2', '--out', p]]);
    expect(random!.status).toBe(0);
    const jobs = join(dir, 'jobs.json');
    writeFileSync(jobs, JSON.stringify({ format: 'nca-gallery-jobs', version: 1, defaults: { steps: 12, size: 16, format: 'mp4', fps: 60 }, jobs: [{ name: 'p', params: 'p.json' }, { name: 'm', audio: midiSong, track: true, steps: 30, fps: 25 }] }));
    const runs = await ncaAll([
      ['render', '--audio', song, '--size', '48x27', '--scale', '2', '--fps', '25', '--out', mp4, '--quiet'],
      ['render', '--params', p, '--size', '33x17', '--steps', '20', '--scale', '2', '--filter', 'nearest', '--out', webm, '--quiet'],
      ['sheet', '--random', '3', '--frames', '0,12', '--size', '16', '--fps', '12', '--no-labels', '--gutter', '0', '--out', sheet, '--quiet'],
      ['gallery', jobs, '--out', join(dir, 'gallery'), '--jobs', '1', '--quiet'],
      ['render', '--audio', midiSong, '--size', '32x18', '--fps', '25', '--init', 'decoder', '--out', midiMp4, '--quiet'],
    ], { parallel: 2, timeout: 120_000 });
    const refused = await ncaAllInProcess([
      ['render', '--random', '--model', join(dir, 'typo'), '--steps', '2', '--out', join(dir, 'typo.mp4')],
      ['render', '--params', p, '--steps', '2', '--filter', 'smooth', '--out', join(dir, 'f.gif')],
      ['render', '--params', p, '--steps', '2', '--out', join(dir, 'x.avi')],
      ['render', '--audio', join(dir, 'text.mid'), '--size', '32x18', '--out', join(dir, 'text.mp4')],
      ['render', '--audio', song, '--init', 'zeros', '--size', '32x18', '--out', join(dir, 'zeros.mp4')],
    ]);
    expect(runs[2]!.status, runs[2]!.stderr).toBe(0);
    expect(runs[3]!.status, runs[3]!.stderr).toBe(0);
    // three 16 x 16 rows one above the other (no labels, no gutter), steps 0..12 at 12 fps
    expect((await probeVideo(sheet)).streams[0]).toMatchObject({ codec: 'h264', width: 16, height: 48, fps: 12, frames: 13 });
    expect((await probeVideo(join(dir, 'gallery', 'p.mp4'))).streams[0]).toMatchObject({ codec: 'h264', width: 16, height: 16, fps: 60, frames: 13 });
    // a gallery job of a MIDI track carries the MIDI file's render, not the .mid file
    const gm = await probeVideo(join(dir, 'gallery', 'm.mp4'));
    expect(gm.streams.find((x) => x.type === 'audio')).toMatchObject({ codec: 'aac', sampleRate: 44100 });
    expect(runs[0]!.status, runs[0]!.stderr).toBe(0);
    expect(runs[1]!.status, runs[1]!.stderr).toBe(0);
    expectUserError(refused[0]!, /no model folder at .*typo: no such file or folder/);
    expectUserError(refused[1]!, /--filter chooses how a video is upscaled/);
    expectUserError(refused[2]!, /must be a \.gif file, a \.png file, a \.mp4 file, a \.webm file or a folder/);
    expectUserError(refused[3]!, /text\.mid is not a Standard MIDI File nca can read \(.*\); give a \.mid file/);
    expectUserError(refused[4]!, /--init zeros does not apply to a music video; it starts from noise \(the default\) or --init decoder/);

    const m = await probeVideo(mp4);
    const mv = m.streams.find((s) => s.type === 'video')!, ma = m.streams.find((s) => s.type === 'audio')!;
    expect(mv).toMatchObject({ codec: 'h264', width: 96, height: 54, fps: 25, frames: Math.ceil(SECONDS * 25) });
    expect(ma).toMatchObject({ codec: 'aac', sampleRate: SR });
    expect(Math.abs(mv.duration - SECONDS)).toBeLessThan(1 / 25);
    expect(Math.abs(ma.duration - SECONDS)).toBeLessThan(1 / 25);

    // the MIDI file's video carries its render (44.1 kHz stereo) as long as the notes and their 0.5 s of release
    expect(runs[4]!.status, runs[4]!.stderr).toBe(0);
    const mm = await probeVideo(midiMp4);
    const mmv = mm.streams.find((s) => s.type === 'video')!, mma = mm.streams.find((s) => s.type === 'audio')!;
    expect(mma).toMatchObject({ codec: 'aac', sampleRate: 44100, channels: 'stereo' });
    expect(Math.abs(mma.duration - 1.6)).toBeLessThan(0.05);
    expect(Math.abs(mmv.duration - mma.duration)).toBeLessThan(1 / 25);

    const w = await probeVideo(webm);
    expect(w.streams.map((s) => s.type)).toEqual(['video']);
    expect(w.streams[0]).toMatchObject({ codec: 'vp9', width: 66, height: 34, fps: 30, frames: 21 });

    // no ffmpeg: one line, exit 2, no file; before the model is loaded
    const env = { ...process.env, FORCE_COLOR: '0' };
    const bad = await Promise.all([join(dir, 'missing-ffmpeg'), '/bin/true'].map((ff) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [BIN, 'render', '--params', p, '--steps', '2', '--out', join(dir, 'noff.mp4')], { env: { ...env, NCA_FFMPEG: ff } });
      let stderr = '';
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('close', (status) => resolve({ status, stderr }));
    })));
    expect(bad[0]!.status).toBe(2);
    expect(bad[0]!.stderr).toMatch(/^nca: NCA_FFMPEG=.*missing-ffmpeg does not exist; point it at an ffmpeg binary or unset it\n$/);
    expect(bad[1]!.status).toBe(2);
    expect(bad[1]!.stderr).toMatch(/^nca: NCA_FFMPEG=\/bin\/true does not run as ffmpeg/);
    for (const f of ['typo.mp4', 'f.gif', 'x.avi', 'noff.mp4', 'text.mp4', 'zeros.mp4']) expect(existsSync(join(dir, f)), f).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 240_000);

  it('Ctrl-C mid-encode: exit 130, ffmpeg stopped, no file and no temporary file', async () => {
    const out = join(dir, 'int.mp4');
    const p = join(dir, 'int-p.json');
    const [made] = await ncaAllInProcess([['random', '--params', '--seed', '5', '--out', p]]);
    expect(made!.status).toBe(0);
    const child = spawn(process.execPath, [BIN, 'render', '--params', p, '--steps', '1000000', '--size', '64', '--out', out]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    // wait until ffmpeg is writing (its temporary file exists), then interrupt
    for (let i = 0; i < 1200 && leftovers().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(leftovers().length).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    expect(existsSync(out)).toBe(false);
    expect(leftovers()).toEqual([]);
    // an ffmpeg left running would finish its file (faststart reopens it by name): none appears later
    await new Promise((r) => setTimeout(r, 1500));
    expect(readdirSync(dir).filter((f) => f.includes('int.mp4'))).toEqual([]);
  }, 240_000);
});
