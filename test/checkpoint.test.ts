/** The checkpoint.bin format (src/core/model/training/checkpoint.ts): round trip, the byte layout, damaged files refused. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { decodeCheckpoint, encodeCheckpoint, readCheckpoint, tensorsUnder } from '../src/core/model/training/checkpoint.js';
import { DEFAULT_SETTINGS, type TrainSettings } from '../src/core/model/training/settings.js';
import type { NamedArrays } from '../src/core/model/weights.js';

const settings: TrainSettings = { ...DEFAULT_SETTINGS, iters: 10, steps: 21 };
const named = (): NamedArrays =>
  new Map([
    ['encoder.conv1.weight', { shape: [2, 3], data: Float32Array.from([1, -2, 0.5, 1e-30, -0, 3.25]) }],
    ['adam.m/encoder.conv1.weight', { shape: [2, 3], data: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) }],
    ['pool/mu', { shape: [0, 64], data: new Float32Array(0) }],
    ['pool/age', { shape: [2], data: Float32Array.from([-1, 7]) }],
  ]);

/** The UserError `fn` throws (fails the test when it throws something else or nothing). */
function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

describe('checkpoint format', () => {
  it('round-trips the iteration, the settings and every tensor (names, order, shapes, exact float32 values)', () => {
    const bytes = encodeCheckpoint(7, settings, named());
    const { header, named: back } = decodeCheckpoint(bytes, 'mem');
    expect(header.iteration).toBe(7);
    expect(header.settings).toEqual(settings);
    expect(header.tensors).toEqual([...named()].map(([name, a]) => ({ name, shape: a.shape })));
    expect([...back.keys()]).toEqual([...named().keys()]);
    for (const [name, a] of named()) {
      expect(back.get(name)!.shape).toEqual(a.shape);
      expect(Array.from(back.get(name)!.data)).toEqual(Array.from(a.data));
    }
    expect(Object.is(back.get('encoder.conv1.weight')!.data[4], -0)).toBe(true);
    expect([...tensorsUnder(back, 'adam.m/').keys()]).toEqual(['encoder.conv1.weight']);
  });

  it('lays out magic, padded header length, JSON header and float32 little-endian tensors', () => {
    const bytes = encodeCheckpoint(1, settings, new Map([['w', { shape: [2], data: Float32Array.from([1, -2]) }]]));
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('NCACKPT1');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const len = view.getUint32(8, true);
    expect((12 + len) % 4).toBe(0); // the tensors start aligned
    expect(bytes.length).toBe(12 + len + 8);
    const json = new TextDecoder().decode(bytes.subarray(12, 12 + len));
    expect(json.trimEnd()).toBe(JSON.stringify({ iteration: 1, settings, tensors: [{ name: 'w', shape: [2] }] }));
    expect(json.slice(json.trimEnd().length)).toMatch(/^ *$/);
    expect([view.getFloat32(12 + len, true), view.getFloat32(12 + len + 4, true)]).toEqual([1, -2]);
    expect(Array.from(bytes.subarray(12 + len, 12 + len + 4))).toEqual([0, 0, 0x80, 0x3f]); // 1.0f, little-endian
  });

  it('refuses damaged bytes with a UserError naming the file and why', () => {
    // iteration 30: the damaged headers below (iteration -1, ...) are no longer than its, whatever padding the settings give
    const good = encodeCheckpoint(30, settings, named());
    const len = new DataView(good.buffer).getUint32(8, true);
    const damaged = (edit: (b: Uint8Array) => Uint8Array) => edit(Uint8Array.from(good));
    const cases: Array<[string, Uint8Array]> = [
      ['wrong magic', damaged((b) => (b.set(new TextEncoder().encode('NCACKPT2'), 0), b))],
      ['wrong magic', good.subarray(0, 10)],
      ['truncated header', damaged((b) => (new DataView(b.buffer).setUint32(8, good.length, true), b))],
      ['header is not JSON', damaged((b) => ((b[12] = 0x7b), (b[13] = 0x7b), b))],
      ['truncated', good.subarray(0, good.length - 4)],
      ['size mismatch', Uint8Array.from([...good, 0, 0, 0, 0])],
    ];
    for (const [why, bytes] of cases) {
      const e = userError(() => decodeCheckpoint(bytes, '/runs/a/checkpoint.bin'));
      expect(e.message).toBe(`/runs/a/checkpoint.bin is not a usable checkpoint (${why}); train again without --resume`);
    }
    // a header that is JSON but not a checkpoint's
    const withHeader = (header: unknown): Uint8Array => {
      const json = new TextEncoder().encode(JSON.stringify(header).padEnd(len, ' '));
      const b = Uint8Array.from(good);
      expect(json.length).toBe(len);
      b.set(json, 12);
      return b;
    };
    const { tensors } = decodeCheckpoint(good, 'mem').header;
    expect(userError(() => decodeCheckpoint(withHeader({ iteration: -1, settings, tensors }), 'c')).message).toMatch(/no iteration in the header/);
    expect(userError(() => decodeCheckpoint(withHeader({ iteration: 30, tensors }), 'c')).message).toMatch(/no settings in the header/);
    expect(userError(() => decodeCheckpoint(withHeader({ iteration: 30, settings, tensors: [{ name: 'w', shape: [1.5] }] }), 'c')).message).toMatch(/no tensor list in the header/);
  });

  it('reads a checkpoint file, and says `missing` when there is none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-ckpt-'));
    const path = join(dir, 'checkpoint.bin');
    await expect(readCheckpoint(path, 'no checkpoint here')).rejects.toThrow(new UserError('no checkpoint here'));
    writeFileSync(path, encodeCheckpoint(5, settings, named()));
    expect((await readCheckpoint(path, 'no checkpoint here')).header.iteration).toBe(5);
    writeFileSync(path, 'not a checkpoint at all');
    await expect(readCheckpoint(path, 'x')).rejects.toThrow(`${path} is not a usable checkpoint (wrong magic)`);
  });
});
