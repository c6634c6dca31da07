import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { midiFile } from './midi-file.js';
import { SONG_STYLES, composeSong, midiFileEvents, parseMidiFile } from '../src/core/audio/song.js';
import { Soundfont } from '../src/core/audio/soundfont.js';
import { MIDI_SOUND_RATE, readSongAudio } from '../src/core/audio/song-file.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('songs composed by code', () => {
  it('are deterministic for a seed, differ between seeds and styles, and have drums, bass, chords and a melody', () => {
    for (const style of SONG_STYLES) {
      const a = composeSong({ style, seconds: 20, seed: 1 });
      expect(JSON.stringify(composeSong({ style, seconds: 20, seed: 1 }))).toBe(JSON.stringify(a));
      expect(JSON.stringify(composeSong({ style, seconds: 20, seed: 2 }).events)).not.toBe(JSON.stringify(a.events));
      expect(a.events.some((e) => e.drum)).toBe(true);
      expect(new Set(a.events.filter((e) => !e.drum).map((e) => e.program)).size).toBeGreaterThanOrEqual(3);
      expect(Math.max(...a.events.map((e) => e.start))).toBeLessThan(20);
      expect(a.sections.map((s) => s.name)).toContain('chorus');
    }
    const tempi = SONG_STYLES.map((style) => composeSong({ style, seed: 1 }).tempo);
    expect(Math.min(...tempi)).toBeLessThan(90); // the ballad
    expect(Math.max(...tempi)).toBeGreaterThan(110);
  });

  it('reads a Standard MIDI File: programs per channel, drums on channel 10, times in seconds', async () => {
    const events = await midiFileEvents(midiFile([{ key: 60, on: 0, off: 480, channel: 3 }, { key: 38, on: 960, off: 1000, channel: 9, velocity: 110 }], { programs: { 3: 40 } }));
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ program: 40, midi: 60, velocity: 100, start: 0, drum: false });
    expect(events[0]!.duration).toBeCloseTo(0.5, 6); // 480 ticks at 120 bpm
    expect(events[1]).toMatchObject({ midi: 38, drum: true });
    expect(events[1]!.start).toBeCloseTo(1, 6);
    const err = await midiFileEvents(new Uint8Array([1, 2, 3]), 'x.mid').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^x\.mid is not a Standard MIDI File nca can read \(.*\); give a \.mid file$/);
    expect((err as Error).message).not.toContain('\n');
  });

  it('plays a MIDI file with its controllers (the sustain pedal), from a given time, and reads it as a song', async () => {
    // one piano note of 0.25 s at 120 bpm (480 ticks = 0.5 s); with the pedal down from the start to 1.5 s it sounds on
    // (a second note at 2 s, so that both files last as long)
    const file = (pedal: boolean) => midiFile([{ key: 60, on: 0, off: 240 }, { key: 72, on: 1920, off: 2160 }], {
      programs: { 0: 0 },
      controllers: pedal ? [{ ticks: 0, controller: 64, value: 127 }, { ticks: 1440, controller: 64, value: 0 }] : [],
    });
    const sf = await Soundfont.load();
    const rms = (x: Float32Array, from: number, to: number) => Math.sqrt(x.subarray(from * 22050, to * 22050).reduce((a, v) => a + v * v, 0) / ((to - from) * 22050));
    const dry = await sf.renderMidi(await parseMidiFile(file(false)), { sampleRate: 22050 });
    const held = await sf.renderMidi(await parseMidiFile(file(true)), { sampleRate: 22050 });
    expect(dry.length).toBe(held.length);
    expect(dry.length / 22050).toBeCloseTo(2.25 + 0.5, 1); // the last note's end + 0.5 s of release
    expect(rms(held, 0.8, 1.3)).toBeGreaterThan(4 * rms(dry, 0.8, 1.3));
    expect(rms(held, 0, 0.2)).toBeCloseTo(rms(dry, 0, 0.2), 3); // the same note before its note-off
    // an excerpt is the whole render from that time on (up to the synthesiser's per-block envelopes: its blocks start elsewhere)
    const part = await sf.renderMidi(await parseMidiFile(file(true)), { sampleRate: 22050, fromSeconds: 1, seconds: 1 });
    expect(part.length).toBe(22050);
    let diff = 0;
    for (let i = 0; i < part.length; i++) diff = Math.max(diff, Math.abs(part[i]! - held[22050 + i]!));
    expect(diff).toBeLessThan(0.01 * Math.max(...held.map(Math.abs)));
    expect(rms(part, 0, 0.3)).toBeGreaterThan(0.5 * rms(held, 1, 1.3));

    const dir = mkdtempSync(join(tmpdir(), 'nca-song-file-'));
    try {
      writeFileSync(join(dir, 'a.mid'), file(true));
      const song = await readSongAudio(join(dir, 'a.mid'));
      expect(song.sampleRate).toBe(22050);
      expect(song.samples.length).toBe(Math.round(2.75 * 22050));
      expect(song.seconds).toBeCloseTo(2.75, 3);
      if (song.sound.kind !== 'samples') throw new Error('a MIDI song carries its render');
      expect(song.sound).toMatchObject({ sampleRate: MIDI_SOUND_RATE, channels: 2 });
      expect(song.sound.samples.length).toBe(2 * Math.round(2.75 * MIDI_SOUND_RATE)); // left, right interleaved
      expect(song.sound.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBeCloseTo(10 ** (-1 / 20), 4); // -1 dBFS
      writeFileSync(join(dir, 'silent.mid'), midiFile([], { controllers: [{ ticks: 0, controller: 64, value: 127 }] }));
      await expect(readSongAudio(join(dir, 'silent.mid'))).rejects.toThrow(/silent\.mid holds no notes; give a MIDI file with note events/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
