import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ncaInProcess } from './nca-in-process.js';
import { nca } from './reliability-cli.js';

const run = (args: string[]) => nca(args, { timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'nca-grow-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nca grow / render of its parameters (end to end, tiny)', () => {
  it('trains, evaluates, writes its folder; render plays it with a cut; mistakes are one-line errors', async () => {
    const out = join(dir, 'circle');
    const g = run(['grow', '--circle', '12', '--iterations', '2', '--batch', '2', '--pool', '4', '--min-steps', '4', '--max-steps', '6', '--cuts', '2', '--threads', '1', '--json', '--out', out]);
    expect(g.status, g.stderr).toBe(0);
    const summary = JSON.parse(g.stdout);
    expect(summary.iterations).toBe(2);
    expect(summary.evaluation.regeneration.cuts).toBe(2);
    for (const f of ['params.json', 'log.json', 'eval.json', 'growth.gif', 'regeneration.gif', 'strip.png']) expect(existsSync(join(out, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'params.json'), 'utf8')).architecture).toBe('growing-nca');

    const gif = join(dir, 'play.gif');
    const r = run(['render', '--params', join(out, 'params.json'), '--steps', '6', '--damage', '3,disc,0.3', '--threads', '1', '--out', gif]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/7 frames/);
    expect(readFileSync(gif).subarray(0, 6).toString()).toBe('GIF89a');

    const none = run(['grow', '--out', join(dir, 'x')]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^nca: give one target/);
    // the real bin for grow and render above; the further refusals in process (src/cli.ts main, test/nca-in-process.ts)
    const emoji = await ncaInProcess(['grow', '--emoji', 'x', '--out', join(dir, 'y')]);
    expect(emoji.status).toBe(2);
    expect(emoji.stderr).toMatch(/^nca: no Twemoji graphic/);
    const badReseed = await ncaInProcess(['grow', '--circle', '12', '--batch', '2', '--reseed', '3', '--out', join(dir, 'r')]);
    expect(badReseed.status).toBe(2);
    expect(badReseed.stderr).toMatch(/^nca: .*--reseed/);
    expect(badReseed.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'r'))).toBe(false);
    const badLossFrom = await ncaInProcess(['grow', '--circle', '12', '--min-steps', '8', '--loss-from', '9', '--out', join(dir, 'l')]);
    expect(badLossFrom.status).toBe(2);
    expect(badLossFrom.stderr).toMatch(/^nca: .*--loss-from/);
    expect(badLossFrom.stderr.trim().split('\n')).toHaveLength(1);
    const warmNoInit = await ncaInProcess(['grow', '--circle', '12', '--warm-pool', '100', '--out', join(dir, 'w')]);
    expect(warmNoInit.status).toBe(2);
    expect(warmNoInit.stderr).toMatch(/^nca: --warm-pool .*--init/);
    expect(existsSync(join(dir, 'w'))).toBe(false);
    const badDamage = await ncaInProcess(['render', '--params', join(out, 'params.json'), '--damage', '3,blob', '--out', join(dir, 'z.gif')]);
    expect(badDamage.status).toBe(2);
    expect(badDamage.stderr.trim().split('\n')).toHaveLength(1);
  });
});
