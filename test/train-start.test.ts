import { describe, expect, it } from 'vitest';
import { runStart } from '../src/core/model/training/start.js';
import { resolveSettings, type TrainSettings } from '../src/core/model/training/settings.js';
import type { Checkpoint } from '../src/core/model/training/checkpoint.js';
import type { Tf } from '../src/core/model/tf.js';

/** A checkpoint header written before the look terms and the pool grid existed: its settings lack scaleWeight, travelWeight, travelLag, poolGrid. */
function oldCheckpoint(settings: TrainSettings): Checkpoint {
  const recorded: Record<string, unknown> = { ...settings };
  delete recorded.scaleWeight;
  delete recorded.travelWeight;
  delete recorded.travelLag;
  delete recorded.poolGrid;
  return { header: { iteration: 10, settings: recorded as unknown as TrainSettings, tensors: [] }, named: new Map() };
}

describe('resuming a checkpoint', () => {
  it('reads a setting the checkpoint does not record as its default, and refuses another value', async () => {
    const base = resolveSettings({ iters: 20 }, 24);
    const tf = null as unknown as Tf; // the settings are checked before any tensor is built
    await expect(runStart(tf, { ...base, scaleWeight: 1 }, oldCheckpoint(base), '/nonexistent')).rejects.toThrow(/trained with scaleWeight 0, not 1: resume with the same settings/);
    await expect(runStart(tf, { ...base, travelLag: 2 }, oldCheckpoint(base), '/nonexistent')).rejects.toThrow(/trained with travelLag 4, not 2/);
    await expect(runStart(tf, { ...base, batch: 3 }, oldCheckpoint(base), '/nonexistent')).rejects.toThrow(/trained with batch 8, not 3/);
    await expect(runStart(tf, { ...base, poolGrid: 48 }, oldCheckpoint(base), '/nonexistent')).rejects.toThrow(/trained with poolGrid 32, not 48/);
    // the same settings get past the check (and then fail on the fake tf, not on a setting)
    await expect(runStart(tf, base, oldCheckpoint(base), '/nonexistent')).rejects.not.toThrow(/trained with/);
  });
});

describe('the pool grid setting', () => {
  it('defaults to the clips\' 32 cells and takes integers 16..128 only', () => {
    expect(resolveSettings({ iters: 20 }, 24).poolGrid).toBe(32);
    expect(resolveSettings({ iters: 20, poolGrid: 48 }, 24).poolGrid).toBe(48);
    for (const bad of [8, 129, 40.5]) expect(() => resolveSettings({ iters: 20, poolGrid: bad }, 24)).toThrow(/poolGrid must be an integer in 16..128/);
  });
});
