import { describe, expect, it } from 'vitest';
import { runStart } from '../src/core/model/training/start.js';
import { resolveSettings, type TrainSettings } from '../src/core/model/training/settings.js';
import type { Checkpoint } from '../src/core/model/training/checkpoint.js';
import type { Tf } from '../src/core/model/tf.js';

/** A checkpoint header written before the look terms existed: its settings lack scaleWeight, travelWeight, travelLag. */
function oldCheckpoint(settings: TrainSettings): Checkpoint {
  const recorded: Record<string, unknown> = { ...settings };
  delete recorded.scaleWeight;
  delete recorded.travelWeight;
  delete recorded.travelLag;
  return { header: { iteration: 10, settings: recorded as unknown as TrainSettings, tensors: [] }, named: new Map() };
}

describe('resuming a checkpoint', () => {
  it('reads a setting the checkpoint does not record as its default, and refuses another value', async () => {
    const base = resolveSettings({ iters: 20 }, 24);
    const tf = null as unknown as Tf; // the settings are checked before any tensor is built
    await expect(runStart(tf, { ...base, scaleWeight: 1 }, oldCheckpoint(base), '/nonexistent')).rejects.toThrow(/trained with scaleWeight 0, not 1: resume with the same settings/);
    await expect(runStart(tf, { ...base, travelLag: 2 }, oldCheckpoint(base), '/nonexistent')).rejects.toThrow(/trained with travelLag 4, not 2/);
    await expect(runStart(tf, { ...base, batch: 3 }, oldCheckpoint(base), '/nonexistent')).rejects.toThrow(/trained with batch 8, not 3/);
    // the same settings get past the check (and then fail on the fake tf, not on a setting)
    await expect(runStart(tf, base, oldCheckpoint(base), '/nonexistent')).rejects.not.toThrow(/trained with/);
  });
});
