import { MIDIBuilder } from 'spessasynth_core';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { SONG_STYLES, composeSong, midiFileEvents } from '../src/core/audio/song.js';

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
    const b = new MIDIBuilder({ timeDivision: 480, initialTempo: 120, name: 'test' });
    b.programChange(0, 0, 3, 40);
    b.noteOn(0, 0, 3, 60, 100);
    b.noteOff(480, 0, 3, 60);
    b.noteOn(960, 0, 9, 38, 110);
    b.noteOff(1000, 0, 9, 38);
    b.flush();
    const events = await midiFileEvents(new Uint8Array(b.writeMIDI()));
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
});
