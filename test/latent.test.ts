import { describe, expect, it } from 'vitest';
import { LATENT_DIM, latentToJson, lerp, meanLatent, norm, parseLatent, randomLatent, slerp, trackAt } from '../src/core/latent.js';
import { UserError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';

const z = (v: number) => new Float32Array(LATENT_DIM).fill(v);
const file = (o: Record<string, unknown>) => JSON.stringify({ format: 'nca-latent', version: 1, dim: 64, provenance: {}, ...o });

describe('latent files', () => {
  it('round-trips a latent and a track exactly', () => {
    const a = randomLatent(new Rng(1));
    const back = parseLatent(latentToJson({ z: a, provenance: { seed: 1 } }), 'a.json');
    expect(Array.from(back.z!)).toEqual(Array.from(a));
    expect(back.provenance).toEqual({ seed: 1 });
    const t = parseLatent(latentToJson({ track: [{ t: 0, z: a }, { t: 0.5, z: z(1) }], provenance: {} }), 't.json');
    expect(t.track!.length).toBe(2);
    expect(t.track![1]!.t).toBe(0.5);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '{oops', /not valid JSON/],
    ['wrong format', file({ format: 'nca-params', z: Array(64).fill(0) }), /format "nca-params".*use --params/],
    ['wrong dimension', file({ z: Array(32).fill(0) }), /32 numbers, expected 64/],
    ['NaN', file({ z: [...Array(63).fill(0), 'NaN'] }), /z\[63\] is "NaN"/],
    ['Infinity (null in JSON)', file({ z: [null, ...Array(63).fill(0)] }), /z\[0\] is null/],
    ['missing vector', file({}), /exactly one of "z".*"track"/],
    ['both z and track', file({ z: Array(64).fill(0), track: [] }), /exactly one/],
    ['missing dim', JSON.stringify({ format: 'nca-latent', version: 1, z: Array(64).fill(0) }), /dim undefined, expected 64/],
    ['wrong version', file({ version: 9, z: Array(64).fill(0) }), /version 9/],
    ['track times not increasing', file({ track: [{ t: 1, z: Array(64).fill(0) }, { t: 1, z: Array(64).fill(0) }] }), /times must increase/],
    ['a JSON array', '[1,2]', /not a latent file/],
  ];
  for (const [name, text, message] of bad) {
    it(`rejects ${name} with a clear UserError`, () => {
      expect(() => parseLatent(text, 'z.json')).toThrow(UserError);
      expect(() => parseLatent(text, 'z.json')).toThrow(message);
    });
  }
});

describe('latent arithmetic', () => {
  it('lerp and mean', () => {
    expect(lerp(z(0), z(2), 0.25)[5]).toBeCloseTo(0.5);
    expect(meanLatent([z(1), z(2), z(6)])[0]).toBeCloseTo(3);
  });

  it('slerp keeps the endpoints and an interpolated norm, unlike lerp which shrinks through the middle', () => {
    const rng = new Rng(2);
    const a = randomLatent(rng), b = randomLatent(rng);
    expect(Array.from(slerp(a, b, 0)).map((v) => v.toFixed(4))).toEqual(Array.from(a).map((v) => v.toFixed(4)));
    expect(Array.from(slerp(a, b, 1)).map((v) => v.toFixed(4))).toEqual(Array.from(b).map((v) => v.toFixed(4)));
    const mid = slerp(a, b, 0.5);
    expect(norm(mid)).toBeCloseTo((norm(a) + norm(b)) / 2, 3);
    expect(norm(lerp(a, b, 0.5))).toBeLessThan(norm(mid) * 0.85);
  });

  it('trackAt interpolates between points and holds the ends', () => {
    const track = [{ t: 1, z: z(0) }, { t: 3, z: z(4) }];
    expect(trackAt(track, 0)[0]).toBe(0);
    expect(trackAt(track, 2)[0]).toBeCloseTo(2);
    expect(trackAt(track, 9)[0]).toBe(4);
  });
});
