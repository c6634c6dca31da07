import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { LATENT_BOUND, LATENT_DIM, latentToJson, lerp, meanLatent, parseLatent, perturbLatent, requireLatentVector, slerp, trackAt } from '../src/core/latent.js';
import { PARAM_COUNT, ncaParams, paramsToJson, parseParams } from '../src/core/nca/params.js';
import { Rng } from '../src/core/rng.js';

/**
 * Float32 range (issue 11): numbers finite in JSON but not in float32 (1e308, 1e39) are refused
 * where latents and parameters are read, and nothing that computes latents can emit NaN or null.
 */
const BIN = join(import.meta.dirname, '..', 'bin', 'nca.js');
const run = (args: string[]) =>
  new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stderr }));
  });
const latentFile = (z: number[]) => JSON.stringify({ format: 'nca-latent', version: 1, dim: LATENT_DIM, z });
const paramsFile = (params: number[]) => JSON.stringify({ format: 'nca-params', version: 1, channels: 16, params });
const zeros = (n: number) => Array.from({ length: n }, () => 0);

describe('latents are within +-LATENT_BOUND', () => {
  it('parseLatent refuses 1e308, -1e39 and 1001, naming the file, the index and the value', () => {
    const z = zeros(LATENT_DIM);
    z[0] = 1e308;
    expect(() => parseLatent(latentFile(z), 'z.json')).toThrow(new UserError('z.json: z[0] is 1e+308, expected a number between -1000 and 1000 (latents are z ~ N(0, I))'));
    z[0] = 0;
    z[63] = -1e39;
    expect(() => parseLatent(latentFile(z), 'z.json')).toThrow(/^z\.json: z\[63\] is -1e\+39, expected a number between -1000 and 1000/);
    const track = { format: 'nca-latent', version: 1, dim: 64, track: [{ t: 0, z: zeros(64) }, { t: 1, z: zeros(64).map((v, i) => (i === 5 ? 1001 : v)) }] };
    expect(() => parseLatent(JSON.stringify(track), 't.json')).toThrow(/^t\.json: track\[1\]\.z\[5\] is 1001, expected a number between/);
    // the bound itself is fine
    expect(parseLatent(latentFile(zeros(64).map(() => -LATENT_BOUND)), 'ok.json').z![0]).toBe(-1000);
  });

  it('the functions that compute latents refuse what would make NaN, Infinity or null, with the API names', () => {
    const ok = new Float32Array(LATENT_DIM).fill(0.5);
    const inf = ok.slice();
    inf[3] = Infinity;
    const nan = ok.slice();
    nan[0] = NaN;
    expect(() => meanLatent([inf, ok])).toThrow(/^zs\[0\]\[3\] is Infinity/);
    expect(() => lerp(ok, nan, 0.5)).toThrow(/^b\[0\] is NaN/);
    expect(() => slerp(nan, ok, 0.5)).toThrow(/^a\[0\] is NaN/);
    expect(() => lerp(ok, ok, NaN)).toThrow(/for t but received NaN/);
    expect(() => perturbLatent(ok, 1e39, new Rng(1))).toThrow(/for sigma but received 1e\+39/);
    expect(() => trackAt([{ t: 0, z: ok }, { t: 1, z: nan }], 0.5)).toThrow(/^track\[1\]\.z\[0\] is NaN/);
    // the writer is the last guard: never "null" in a latent file
    expect(() => latentToJson({ z: nan, provenance: {} })).toThrow(/^latent\.z\[0\] is NaN/);
    expect(() => latentToJson({ track: [{ t: 0, z: inf }], provenance: {} })).toThrow(/^latent\.track\[0\]\.z\[3\] is Infinity/);
    expect(latentToJson({ z: ok, provenance: {} })).not.toMatch(/null/);
  });

  it('the shipped notes manifest stays within the bound', () => {
    const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'model', 'notes.json'), 'utf8')) as unknown;
    let vectors = 0;
    const visit = (v: unknown, where: string): void => {
      if (Array.isArray(v) && v.length === LATENT_DIM && v.every((x) => typeof x === 'number')) {
        requireLatentVector(where, v);
        vectors++;
      } else if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${where}[${i}]`));
      else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) visit(x, `${where}.${k}`);
    };
    visit(manifest, 'notes.json');
    expect(vectors).toBeGreaterThan(10);
  });
});

describe('parameters are finite as float32', () => {
  it('parseParams refuses 1e39 and keeps the largest float32 nca writes', () => {
    const p = zeros(PARAM_COUNT);
    p[7] = 1e39;
    expect(() => parseParams(paramsFile(p), 'p.json')).toThrow(/^p\.json: params\[7\] is 1e\+39, expected a number that is finite as a float32/);
    p[7] = -3.5e38;
    expect(() => parseParams(paramsFile(p), 'p.json')).toThrow(/params\[7\] is -3\.5e\+38/);
    const flat = new Float32Array(PARAM_COUNT);
    flat[0] = 3.4028234663852886e38;
    const text = paramsToJson(ncaParams(flat));
    expect(parseParams(text, 'max.json').params.flat[0]).toBe(3.4028234663852886e38);
    expect(() => ncaParams(new Float32Array(PARAM_COUNT).fill(NaN))).toThrow(/^params\[0\] is NaN/);
  });
});

describe('the CLI refuses them with one line, writing nothing', () => {
  it('nca interpolate with z[0] = 1e308, nca render --params with a weight of 1e39', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nca-f32-'));
    const a = join(dir, 'a.json'), b = join(dir, 'b.json'), p = join(dir, 'p.json');
    const z = zeros(LATENT_DIM);
    writeFileSync(b, latentFile(z));
    z[0] = 1e308;
    writeFileSync(a, latentFile(z));
    const params = zeros(PARAM_COUNT);
    params[100] = 1e39;
    writeFileSync(p, paramsFile(params));
    const [walk, chord, rendered] = await Promise.all([
      run(['interpolate', a, b, '--frames', '3', '--out', join(dir, 'walk.json')]),
      run(['interpolate', '--mean', a, b, '--out', join(dir, 'chord.json')]),
      run(['render', '--params', p, '--size', '8', '--steps', '2', '--out', join(dir, 'r.png')]),
    ]);
    for (const r of [walk, chord]) {
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`nca: ${a}: z[0] is 1e+308, expected a number between -1000 and 1000 (latents are z ~ N(0, I))\n`);
    }
    expect(rendered.status).toBe(2);
    expect(rendered.stderr).toBe(`nca: ${p}: params[100] is 1e+39, expected a number that is finite as a float32 (|x| <= 3.4028235e38)\n`);
    for (const f of ['walk.json', 'chord.json', 'r.png']) expect(existsSync(join(dir, f))).toBe(false);
  });
});
