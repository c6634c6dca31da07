import { describe, expect, it } from 'vitest';
import { PARAM_COUNT, PARAM_LAYOUT, RANDOM_PARAMS_BOUND, ncaParams, paramsToJson, parseParams, randomParams } from '../src/core/nca/params.js';
import { parseSize, requireInt } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';

describe('NCA parameter vector', () => {
  it('has the docs/design.md layout: w1 (2304), b1 (16), w2 (2304), b2 (16) = 4640', () => {
    expect(PARAM_COUNT).toBe(4640);
    expect(PARAM_LAYOUT.b1.offset).toBe(2304);
    expect(PARAM_LAYOUT.w2.offset).toBe(2320);
    expect(PARAM_LAYOUT.b2.offset).toBe(4624);
    const flat = Float32Array.from({ length: PARAM_COUNT }, (_, i) => i);
    const p = ncaParams(flat);
    expect(p.b1[0]).toBe(2304);
    expect(p.w2[0]).toBe(2320);
    expect(p.b2[15]).toBe(4639);
  });

  it('random weights lie within the documented bound and round-trip through JSON exactly', () => {
    const p = randomParams(new Rng(7));
    expect(Math.max(...Array.from(p.flat, Math.abs))).toBeLessThanOrEqual(RANDOM_PARAMS_BOUND);
    const back = parseParams(paramsToJson(p, { protocol: 'free' }), 'p.json');
    expect(Array.from(back.params.flat)).toEqual(Array.from(p.flat));
    expect(back.protocol).toBe('free');
  });

  it('rejects malformed files with one-line messages', () => {
    const good = JSON.parse(paramsToJson(randomParams(new Rng(1))));
    expect(() => parseParams('nope', 'p.json')).toThrow(/not valid JSON/);
    expect(() => parseParams(JSON.stringify({ ...good, format: 'nca-latent' }), 'p.json')).toThrow(/format "nca-latent".*use --latent/);
    expect(() => parseParams(JSON.stringify({ ...good, params: good.params.slice(1) }), 'p.json')).toThrow(/4639 params, expected 4640/);
    expect(() => parseParams(JSON.stringify({ ...good, params: [null, ...good.params.slice(1)] }), 'p.json')).toThrow(/params\[0\] is null/);
  });
});

describe('option validators', () => {
  it('parse sizes and integers with uniform messages', () => {
    expect(parseSize('--size', '96x64')).toEqual({ width: 96, height: 64 });
    expect(parseSize('--size', '32')).toEqual({ width: 32, height: 32 });
    expect(() => parseSize('--size', 'big')).toThrow('expected a size like 128 or 96x64 for --size but received "big"');
    expect(() => parseSize('--size', '99999')).toThrow(/sides between 4 and 4096/);
    expect(requireInt('--steps', '12', 1, 100)).toBe(12);
    expect(() => requireInt('--steps', '1.5', 1, 100)).toThrow('expected an integer between 1 and 100 for --steps but received "1.5"');
  });
});
