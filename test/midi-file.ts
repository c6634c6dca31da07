/** Standard MIDI Files for tests, made with spessasynth's MIDIBuilder. */
import { MIDIBuilder } from 'spessasynth_core';

export interface TestNote {
  key: number;
  /** Note on and off, in ticks: 480 a beat at 120 bpm, so 480 ticks = 0.5 s. */
  on: number;
  off: number;
  /** Default 0 (9 is the drums). */
  channel?: number;
  velocity?: number;
}

/**
 * A one-track file at 120 bpm: each channel's program set at tick 0 (`programs`: channel -> program),
 * then the controller changes and the notes.
 */
export function midiFile(notes: TestNote[], opts: { programs?: Record<number, number>; controllers?: Array<{ ticks: number; controller: number; value: number; channel?: number }> } = {}): Uint8Array {
  const b = new MIDIBuilder({ timeDivision: 480, initialTempo: 120, name: 'test' });
  for (const [channel, program] of Object.entries(opts.programs ?? {})) b.programChange(0, 0, Number(channel), program);
  for (const c of opts.controllers ?? []) b.controllerChange(c.ticks, 0, c.channel ?? 0, c.controller, c.value);
  for (const n of notes) {
    b.noteOn(n.on, 0, n.channel ?? 0, n.key, n.velocity ?? 100);
    b.noteOff(n.off, 0, n.channel ?? 0, n.key);
  }
  b.flush();
  return new Uint8Array(b.writeMIDI());
}
