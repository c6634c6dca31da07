import { describe, expect, it } from 'vitest';
import { builtWorkerScript } from '../src/core/worker-script.js';

describe('builtWorkerScript', () => {
  const here = new URL(import.meta.url);
  const missing = new URL('./no-such-worker.js', import.meta.url);

  it('gives the script when it exists and there is more than one thread', () => {
    expect(builtWorkerScript(here, 2)?.href).toBe(here.href);
  });

  it('gives null (run inline) for one thread or a script that is not built', () => {
    expect(builtWorkerScript(here, 1)).toBeNull();
    expect(builtWorkerScript(missing, 4)).toBeNull();
  });

  it('the built gol proof pool and track worker scripts exist next to their modules in dist/', async () => {
    // the callers' URLs, resolved against dist/ as the CLI runs them
    const dist = new URL('../dist/core/', import.meta.url);
    expect(builtWorkerScript(new URL('gol/proof-worker.js', dist), 2)).not.toBeNull();
    expect(builtWorkerScript(new URL('model/track-worker.js', dist), 2)).not.toBeNull();
  });
});
