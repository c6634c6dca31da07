import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { parseJobs, sourceLabel, type GalleryPlan, type NoteCatalog } from '../src/core/gallery/jobs.js';
import { checkName } from '../src/core/gallery/paths.js';

/**
 * The jobs file: expansion (defaults, generators, interpolations, order and indices), and
 * validation of the whole file before any work, with errors that name the job and the field.
 */

const KEYS = ['F4', 'F#4', 'G4', 'G#4', 'A4', 'A#4', 'B4', 'C5', 'C#5', 'D5', 'D#5', 'E5', 'F5', 'F#5', 'G5', 'G#5', 'A5', 'A#5', 'B5'];
const CATALOG: NoteCatalog = { instruments: ['piano', 'violin', 'organ'], notes: KEYS };
const JOBS_FILE = '/data/gal/jobs.json';

function parse(body: Record<string, unknown>, catalog: NoteCatalog | null = CATALOG): Promise<GalleryPlan> {
  const text = JSON.stringify({ format: 'nca-gallery-jobs', version: 1, ...body });
  return parseJobs(text, { jobsFile: JOBS_FILE, catalog: catalog ? async () => catalog : undefined });
}

async function errorOf(body: Record<string, unknown>): Promise<string> {
  try {
    await parse(body);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('jobs file: expansion', () => {
  it('applies defaults, resolves inputs relative to the jobs file and numbers jobs in order', async () => {
    const plan = await parse({
      model: '../models/m',
      defaults: { steps: 120, size: '48x32', scale: 2, seed: 5, instrument: 'violin' },
      jobs: [
        { name: 'z', latent: 'lat/z.json' },
        { name: 'chord', notes: 'F4,a4+C5' },
        { name: 'clip', audio: '/abs/song.wav', start: 3, duration: 1.5, fps: 12 },
        { name: 'song', audio: 'song.wav', track: true },
        { name: 'r', random: 9 },
        { name: 'r-own-seed', random: 9, seed: 'word' },
        { name: 'p', params: 'p.json', format: 'png' },
      ],
    });
    expect(plan.model).toBe('/data/models/m');
    expect(plan.jobs.map((j) => [j.index, j.name, j.output])).toEqual([
      [0, 'z', 'z.gif'], [1, 'chord', 'chord.gif'], [2, 'clip', 'clip.gif'], [3, 'song', 'song.gif'], [4, 'r', 'r.gif'], [5, 'r-own-seed', 'r-own-seed.gif'], [6, 'p', 'p.png'],
    ]);
    const [z, chord, clip, song, r, rOwn, p] = plan.jobs;
    expect(z!.source).toEqual({ kind: 'latent', file: '/data/gal/lat/z.json' });
    expect(z!.settings).toEqual({ steps: 120, width: 48, height: 32, scale: 2, fps: 20, every: 1, seed: 5, perturb: 0, format: 'gif' });
    expect(chord!.source).toEqual({ kind: 'notes', instrument: 'violin', notes: ['F4', 'A4', 'C5'] });
    expect(clip!.source).toEqual({ kind: 'audio', file: '/abs/song.wav', start: 3, duration: 1.5 });
    expect(clip!.settings.fps).toBe(12);
    // an audio track plays the whole file unless the job itself sets steps
    expect(song!.source).toEqual({ kind: 'audio', file: '/data/gal/song.wav', track: true });
    expect(song!.settings.steps).toBe('audio');
    // a random job plays with its own seed (the bytes of nca render --random --seed 9) unless it sets one
    expect(r!.source).toEqual({ kind: 'random', seed: 9 });
    expect(r!.settings.seed).toBe(9);
    expect(rOwn!.settings.seed).toBe('word');
    expect(p!.source).toEqual({ kind: 'params', file: '/data/gal/p.json' });
    expect(sourceLabel(chord!.source)).toBe('violin F4+A4+C5');
  });

  it('drops defaults that do not apply to a params job but refuses them on the job itself', async () => {
    const plan = await parse({ defaults: { perturb: 5, init: 'decoder' }, jobs: [{ name: 'p', params: 'p.json' }, { name: 'z', latent: 'z.json' }] });
    expect(plan.jobs[0]!.settings.perturb).toBe(0);
    expect(plan.jobs[0]!.settings.init).toBeUndefined();
    expect(plan.jobs[1]!.settings.perturb).toBe(5);
    expect(plan.jobs[1]!.settings.init).toBe('decoder');
    expect(await errorOf({ jobs: [{ name: 'p', params: 'p.json', perturb: 3 }] })).toBe('jobs[0].perturb: perturbation adds noise to a latent; a params job has none (set it to 0 or remove it)');
    expect(await errorOf({ jobs: [{ name: 'p', params: 'p.json', init: 'decoder' }] })).toMatch(/^jobs\[0\]\.init: "decoder" needs a latent/);
  });

  it('expands an interpolation into one job per latent, or one track job', async () => {
    const plan = await parse({
      jobs: [
        { name: 'walk', interpolate: { from: { notes: 'A4', instrument: 'organ' }, to: { random: 3 }, frames: 3, slerp: true } },
        { name: 'glide', interpolate: { from: { latent: 'a.json' }, to: { audio: 'b.wav', start: 1 }, frames: 12, track: true } },
      ],
    });
    expect(plan.jobs.map((j) => j.name)).toEqual(['walk-00', 'walk-01', 'walk-02', 'glide']);
    expect(plan.jobs[1]!.source).toEqual({ kind: 'interpolate', from: { kind: 'notes', instrument: 'organ', notes: ['A4'] }, to: { kind: 'random', seed: 3 }, frames: 3, slerp: true, track: false, frame: 1 });
    expect(plan.jobs[3]!.source).toMatchObject({ kind: 'interpolate', frames: 12, track: true, to: { kind: 'audio', file: '/data/gal/b.wav', start: 1 } });
    expect(sourceLabel(plan.jobs[1]!.source)).toBe('slerp organ A4 -> random 3 (1/2)');
  });

  it('expands generators: "all", lists and ranges, first field outermost, after the jobs', async () => {
    const plan = await parse({
      jobs: [{ name: 'first', random: 1 }],
      generators: [
        { name: '{instrument}/{note}', instrument: 'all', notes: 'all', steps: 50 },
        { name: 'r{random}-p{perturb}', random: { from: 10, count: 3 }, perturb: [0, 9] },
        { name: 'chord-{i}', notes: [['F4', 'A4'], 'C5,E5'], instrument: 'piano' },
        { name: 'seed-{seed}', latent: 'z.json', seed: { from: 4, to: 5 } },
      ],
    });
    const names = plan.jobs.map((j) => j.name);
    expect(names.length).toBe(1 + 3 * 19 + 6 + 2 + 2);
    expect(names.slice(0, 4)).toEqual(['first', 'piano/F4', 'piano/F#4', 'piano/G4']);
    expect(names[1 + 19]).toBe('violin/F4');
    expect(names.slice(58, 64)).toEqual(['r10-p0', 'r10-p9', 'r11-p0', 'r11-p9', 'r12-p0', 'r12-p9']);
    expect(names.slice(64)).toEqual(['chord-0', 'chord-1', 'seed-4', 'seed-5']);
    expect(plan.jobs.map((j) => j.index)).toEqual(names.map((_, i) => i));
    expect(plan.jobs[1]!.settings.steps).toBe(50);
    expect(plan.jobs[59]!.settings).toMatchObject({ perturb: 9, seed: 10 });
    expect(plan.jobs[65]!.source).toEqual({ kind: 'notes', instrument: 'piano', notes: ['C5', 'E5'] });
    expect(plan.jobs[67]!.settings.seed).toBe(5);
  });

  it('does not need the note manifest unless notes are played', async () => {
    const plan = await parse({ jobs: [{ name: 'r', random: 1 }] }, null);
    expect(plan.jobs).toHaveLength(1);
    expect(await parse({ jobs: [{ name: 'n', notes: 'A4' }] }, null).catch((e: Error) => e.message)).toMatch(/plays notes but no note manifest is available/);
  });
});

describe('jobs file: validation names the job and the field', () => {
  const table: Array<[string, Record<string, unknown>, string | RegExp]> = [
    ['unknown note', { jobs: [{ name: 'a', random: 1 }, { name: 'b', random: 2 }, { name: 'c', random: 3 }, { name: 'd', notes: 'H4' }] }, 'jobs[3].notes: unknown note "H4"; use F4..B5'],
    ['note outside the manifest', { jobs: [{ name: 'd', notes: ['A4', 'C3'] }] }, 'jobs[0].notes: "C3" is not in the note manifest; use F4..B5'],
    ['unknown instrument', { jobs: [{ name: 'd', notes: 'A4', instrument: 'viola' }] }, 'jobs[0].instrument: unknown instrument "viola"; use one of piano, violin, organ'],
    ['no source', { jobs: [{ name: 'a' }] }, 'jobs[0]: give one source: latent, notes, audio, random, params, interpolate'],
    ['two sources', { jobs: [{ name: 'a', latent: 'z.json', random: 4 }] }, 'jobs[0]: give only one source, not both latent and random'],
    ['no name', { jobs: [{ random: 4 }] }, 'jobs[0].name: every job needs a "name" (a string; it names the output file)'],
    ['typo field', { jobs: [{ name: 'a', random: 4, step: 10 }] }, /^jobs\[0\]: unknown field "step"; did you mean "steps"\? the fields are name, latent, notes/],
    ['plural field', { generators: [{ name: '{instrument}', instruments: 'all' }] }, /^generators\[0\]: unknown field "instruments"; did you mean "instrument"\? /],
    ['unrelated field', { jobs: [{ name: 'a', random: 4, colour: 'red' }] }, /^jobs\[0\]: unknown field "colour"; the fields are/],
    ['bad steps', { jobs: [{ name: 'a', random: 4, steps: 0 }] }, 'expected an integer between 1 and 1000000 for jobs[0].steps but received 0'],
    ['bad default', { defaults: { size: '12x' }, jobs: [{ name: 'a', random: 4 }] }, 'expected a size like 128 or 96x64 for defaults.size but received "12x"'],
    ['bad format', { jobs: [{ name: 'a', random: 4, format: 'avi' }] }, 'expected one of gif, png, mp4, webm for jobs[0].format but received "avi"'],
    ['misplaced option', { jobs: [{ name: 'a', random: 4, instrument: 'piano' }] }, 'jobs[0].instrument: applies to notes jobs only (this job\'s source is random)'],
    ['track with window', { jobs: [{ name: 'a', audio: 's.wav', track: true, start: 2 }] }, 'jobs[0].track: a track covers the whole file; drop "start" and "duration"'],
    ['interpolate without frames', { jobs: [{ name: 'w', interpolate: { from: { random: 1 }, to: { random: 2 } } }] }, /^jobs\[0\]\.interpolate\.frames: give the number of latents/],
    ['interpolate from params', { jobs: [{ name: 'w', interpolate: { from: { params: 'p.json' }, to: { random: 2 }, frames: 3 } }] }, /^jobs\[0\]\.interpolate\.from: unknown field "params"/],
    ['swept bad value', { generators: [{ name: 'n-{notes}', notes: ['A4', 'B#9x'] }] }, 'generators[0].notes[1]: unknown note "B#9x"; use F4..B5'],
    ['unknown placeholder', { generators: [{ name: '{instrument}-{colour}', instrument: 'all', notes: 'A4' }] }, 'generators[0].name: unknown placeholder {colour}; use {i} or a field of the generator (instrument, notes)'],
    ['duplicate names', { jobs: [{ name: 'Same', random: 1 }, { name: 'same', random: 2 }] }, 'jobs[1].name: "same" is also the name of a job of jobs[0] (names must be unique, ignoring case)'],
    ['generator name collisions', { generators: [{ name: 'r', random: { from: 0, count: 2 } }] }, /^generators\[0\]\.name: "r" is also the name of a job of generators\[0\].*put the swept fields in the name/],
    ['bad range', { generators: [{ name: 'r{random}', random: { from: 5 } }] }, 'generators[0].random: give a range as { "from": a, "to": b } (inclusive) or { "from": a, "count": n }'],
    ['empty list', { generators: [{ name: 'r{random}', random: [] }] }, 'generators[0].random: an empty list makes no jobs; give at least one value'],
    ['nothing', {}, '/data/gal/jobs.json has no "jobs" and no "generators": nothing to render'],
  ];
  it.each(table)('%s', async (_, body, expected) => {
    const message = await errorOf(body);
    if (typeof expected === 'string') expect(message).toBe(expected);
    else expect(message).toMatch(expected);
  });

  it('reports every problem of the file: the first in full, the others by place', async () => {
    const message = await errorOf({ jobs: [{ name: 'a', random: -1 }, { name: 'b', random: 1 }, { name: 'c', notes: 'Q' }, { name: '../d', random: 1 }] });
    expect(message).toBe('expected an integer between 0 and 4294967295 for jobs[0].random but received -1 (and 2 more problems: jobs[2].notes, jobs[3].name)');
  });

  it('refuses files that are not jobs files', async () => {
    await expect(parseJobs('{"format":"nca-latent"}', { jobsFile: 'x.json' })).rejects.toThrow('x.json has format "nca-latent", expected "nca-gallery-jobs" (see nca gallery --help)');
    await expect(parseJobs('{"format":"nca-gallery-jobs","version":2,"jobs":[]}', { jobsFile: 'x.json' })).rejects.toThrow('x.json has version 2; this nca reads jobs files of version 1');
    await expect(parseJobs('{"jobs": [', { jobsFile: 'x.json' })).rejects.toThrow(/^x\.json is not valid JSON/);
    await expect(parseJobs('{"format":"nca-gallery-jobs","version":1,"jobs":[],"extra":1}', { jobsFile: 'x.json' })).rejects.toThrow('x.json: unknown field "extra"');
  });
});

describe('job names cannot leave the gallery folder', () => {
  it.each([
    ['../up', /may not contain "\.\."/],
    ['a/../../b', /may not contain "\.\."/],
    ['./a', /may not contain "\."/],
    ['/etc/passwd', /is an absolute path/],
    ['C:/x', /is an absolute path/],
    ['\\\\server\\x', /is an absolute path/],
    ['a\\..\\b', /may only hold letters/],
    ['.hidden', /may only hold letters/],
    ['a//b', /empty folder name/],
    ['a/', /empty folder name/],
    ['with space', /may only hold letters/],
    ['nul\0', /may only hold letters/],
    ['', /cannot be empty/],
    ['x'.repeat(201), /longer than 200/],
    ['a/b/c/d/e/f/g/h/i', /nested more than 8/],
  ])('refuses %j', (name, message) => {
    expect(() => checkName(name, 'jobs[0].name')).toThrow(message);
  });

  it('accepts folders and note names', () => {
    for (const ok of ['violin/F#4', 'r-1_2', 'A4+C5', 'a.b/c=d,e@f']) expect(checkName(ok, 'x')).toBe(ok);
  });

  it('checks generated names too', async () => {
    expect(await errorOf({ generators: [{ name: '{latent}/../x{i}', latent: ['a.json'] }] })).toMatch(/^generators\[0\]\.name: "a\/\.\.\/x0" may not contain "\.\."/);
  });
});
