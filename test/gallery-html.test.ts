import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, galleryHtml, imageUrl, jsonForScript } from '../src/core/gallery/html.js';
import type { GalleryFile, GalleryRecord } from '../src/core/gallery/record.js';
import { writePng } from '../src/core/io/png.js';
import { randomParams } from '../src/core/nca/params.js';
import { render } from '../src/core/render.js';
import { Rng } from '../src/core/rng.js';

/**
 * The contact sheet, checked in a real headless browser (Debian's chromium): a gallery folder of
 * real outputs is written to disk, chromium opens index.html from file:// (no server), runs its
 * script and prints the resulting DOM (--dump-dom), in which the test finds every card by its data
 * attributes, sees each image decoded (the page marks data-loaded="1" when naturalWidth > 0), and
 * sees the URL hash's filter and sort applied.
 *
 * Without chromium the browser part is skipped with a loud warning, except in CI (CI or
 * NCA_REQUIRE_BROWSER set), where a missing browser fails the test: .ci/run installs it.
 */

const NASTY = `we<i>rd</i> & "quoted" 'x' #1 50%?.gif</script><!--`;

function findChromium(): string | null {
  const candidates = [process.env.NCA_CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'].filter((c): c is string => !!c);
  for (const c of candidates) {
    if (c.includes('/')) {
      if (existsSync(c)) return c;
    } else if (spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).status === 0) return c;
  }
  return null;
}

const chromium = findChromium();
const browserRequired = !!process.env.CI || !!process.env.NCA_REQUIRE_BROWSER;
if (!chromium && !browserRequired) {
  console.warn('\n*** test/gallery-html.test.ts: NO HEADLESS BROWSER FOUND, the index.html browser checks are SKIPPED.\n*** Install it with `apt-get install -y chromium` (or set NCA_CHROMIUM=/path/to/chrome). In CI this is a failure.\n');
}

/** Loads `url` in headless chromium and returns the DOM after the page's scripts ran. */
function dumpDom(url: string, profile: string): Promise<string> {
  const args = [
    '--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-quic', `--user-data-dir=${profile}`, '--window-size=1400,3000',
    // Virtual time: chromium waits (in page time) for lazy images to load before dumping.
    '--virtual-time-budget=1000', '--dump-dom', url,
  ];
  return new Promise((resolve, reject) => {
    execFile(chromium!, args, { encoding: 'utf8', timeout: 30_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`chromium failed: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

interface DumpedCard { index: number; name: string; alive: string; status: string; hidden: boolean; imgLoaded: string | null; imgSrc: string | null }

/** The cards of a dumped DOM, in document order (chromium serialises attributes with " quotes). */
function cardsOf(dom: string): DumpedCard[] {
  const out: DumpedCard[] = [];
  const re = /<figure ([^>]*)>([\s\S]*?)<\/figure>/g;
  const attr = (tag: string, name: string) => {
    const m = new RegExp(`(?:^|\\s)${name}(?:="([^"]*)")?(?=\\s|$)`).exec(tag);
    return m ? (m[1] ?? '') : null;
  };
  for (let m; (m = re.exec(dom)); ) {
    const tag = m[1]!;
    const img = /<img ([^>]*)>/.exec(m[2]!)?.[1] ?? null;
    out.push({
      index: Number(attr(tag, 'data-index')),
      name: unescapeHtml(attr(tag, 'data-name') ?? ''),
      alive: attr(tag, 'data-alive') ?? '',
      status: attr(tag, 'data-status') ?? '',
      hidden: attr(tag, 'hidden') !== null,
      imgLoaded: img ? attr(img, 'data-loaded') : null,
      imgSrc: img ? unescapeHtml(attr(img, 'src') ?? '') : null,
    });
  }
  return out;
}

function unescapeHtml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|#(\d+));/g, (_, e: string, n?: string) => (n ? String.fromCharCode(Number(n)) : { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" }[e]!));
}

let dir: string;
let file: GalleryFile;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nca-gallery-html-'));
  const rng = new Rng(11);
  const records: GalleryRecord[] = [];
  // Real renders (tiny): GIFs and a PNG, with their real motion metrics.
  const outputs = ['alpha.gif', 'sub/beta.png', NASTY, 'gamma.gif'];
  for (const [i, output] of outputs.entries()) {
    const params = randomParams(rng);
    const s = await render({ kind: 'params', params }, { width: 16, height: 16, steps: 12, scale: 2, seed: i, out: join(dir, output), threads: 1 });
    const { change: _change, ...motion } = s.motion;
    records.push({
      name: output.replace(/\.(gif|png)$/, ''), index: i, source: { kind: 'random', label: `seed ${i}` }, job: {}, hash: String(i),
      output, status: 'ok', seconds: s.seconds.total, motion, width: 32, height: 32, steps: 12, frames: s.framesWritten,
    });
  }
  // A flat grey frame, written directly: dead by the alive measure's definition (std 0).
  await writePng(join(dir, 'flat.png'), { width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(128) });
  records.push({
    name: 'flat', index: 4, source: { kind: 'params', label: 'flat.json' }, job: {}, hash: '4', output: 'flat.png', status: 'ok', seconds: 0.01,
    motion: { meanChange: 0, lastChange: 0, lastStd: 0, correlation: 0, drift: 0, alive: 'dead', coherent: false }, width: 8, height: 8, steps: 1, frames: 1,
  });
  records.push({ name: 'broken <job>', index: 5, source: { kind: 'latent', label: 'missing.json' }, job: {}, hash: '5', output: 'broken.gif', status: 'failed', error: 'missing.json: no such file <here>' });
  // Job order differs from record order: the sheet sorts by index.
  records.reverse();
  file = {
    format: 'nca-gallery', version: 1, jobsFile: 'jobs <test>.json', created: '2026-01-01T00:00:00Z', records,
    summary: { jobs: 6, ok: 5, failed: 1, skipped: 0, seconds: 1.5, workers: 2 },
  };
  writeFileSync(join(dir, 'index.html'), galleryHtml(file));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('index.html text', () => {
  it('escapes every user string and embeds the data so no string can close the script', () => {
    const html = galleryHtml(file);
    expect(html).not.toContain('<i>rd');
    expect(html).not.toContain('broken <job>');
    expect(html).not.toContain('<here>');
    expect(html).not.toContain('jobs <test>');
    expect(html).toContain(escapeHtml('broken <job>'));
    // Exactly the page's own two scripts; one comment-free document.
    expect(html.match(/<\/script/gi)).toHaveLength(2);
    expect(html).not.toContain('<!--');
    // No external assets: nothing fetched but the gallery's own relative image paths.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(/);
    const data = /<script type="application\/json" id="gallery-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(data).map((d: { name: string }) => d.name)).toEqual([...file.records].reverse().map((r) => r.name));
  });

  it('a gallery.json from elsewhere (--merge) cannot inject markup through its enum or number fields', () => {
    const evil = { ...file.records[0]!, index: '1"><x' as unknown as number, status: 'ok"><x' as 'ok', width: '9"><x' as unknown as number,
      motion: { ...file.records[0]!.motion!, alive: 'dead"><x' as 'dead', meanChange: '<x' as unknown as number } };
    const html = galleryHtml({ ...file, records: [evil] });
    expect(html).not.toContain('<x');
    expect(html).toContain('data-alive="failed"');
    // Cards are keyed by position, so even a duplicated index (a bad merge) keeps every card.
    const twice = galleryHtml({ ...file, records: [file.records[0]!, { ...file.records[1]!, index: file.records[0]!.index }] });
    expect(twice.match(/data-key="\d+"/g)).toEqual(['data-key="0"', 'data-key="1"']);
  });

  it('jsonForScript round-trips strings with </script>, <!--, & and U+2028/2029 without emitting them', () => {
    const value = { s: '</script><!-- a & b \u2028 \u2029 >' };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('image URLs are relative and percent-encoded per segment; PNG sequences show their last frame', () => {
    const base: GalleryRecord = { name: 'n', index: 0, source: { kind: 'random', label: '' }, job: {}, hash: '', output: 'a b/c#1.gif', status: 'ok' };
    expect(imageUrl(base)).toBe('a%20b/c%231.gif');
    expect(imageUrl({ ...base, output: 'seq', frames: 11 })).toBe('seq/frame-000010.png');
    expect(imageUrl({ ...base, status: 'failed' })).toBeNull();
    expect(imageUrl({ ...base, output: '../up.gif' })).toBeNull();
    expect(imageUrl({ ...base, output: '/etc/x.png' })).toBeNull();
    expect(imageUrl({ ...base, output: 'javascript:alert(1).gif' })).toBe('javascript%3Aalert(1).gif');
    // a video job's card plays its video
    expect(imageUrl({ ...base, output: 'v/song.mp4' })).toBe('v/song.mp4');
    const html = galleryHtml({ ...file, records: [{ ...base, output: 'v/song.webm', width: 8, height: 8 }] });
    expect(html).toMatch(/<video src="v\/song\.webm" title="n" muted loop autoplay playsinline controls preload="metadata" width="8" height="8"><\/video>/);
    expect(html).not.toMatch(/<img src="v\/song\.webm"/);
  });
});

describe.skipIf(!chromium && !browserRequired)('index.html in headless chromium, from disk', () => {
  let profile: string;
  let views: Record<string, DumpedCard[]>;
  beforeAll(async () => {
    if (!chromium) throw new Error('no headless browser (chromium) found, and CI/NCA_REQUIRE_BROWSER requires one: apt-get install -y chromium');
    profile = mkdtempSync(join(tmpdir(), 'nca-chromium-'));
    const url = pathToFileURL(join(dir, 'index.html')).href;
    const hashes = { plain: '', dead: '#alive=dead', nameDesc: '#sort=name&dir=desc', text: '#q=ALPH&alive=alive,static,noise,dead' };
    // The four views load at once, each browser with its own profile folder.
    const dumps = await Promise.all(Object.entries(hashes).map(async ([k, h]) => [k, cardsOf(await dumpDom(url + h, join(profile, k)))] as const));
    views = Object.fromEntries(dumps);
  }, 90_000);
  afterAll(() => {
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('finds every job as a card, in job order, with each image loaded from its relative path', () => {
    const cards = views.plain!;
    expect(cards.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(cards.map((c) => c.name)).toEqual(['alpha', 'sub/beta', NASTY.replace(/\.gif$/, ''), 'gamma', 'flat', 'broken <job>']);
    expect(cards.every((c) => !c.hidden)).toBe(true);
    for (const c of cards.filter((c) => c.status === 'ok')) expect({ name: c.name, loaded: c.imgLoaded }).toEqual({ name: c.name, loaded: '1' });
    const failed = cards.find((c) => c.index === 5)!;
    expect(failed).toMatchObject({ status: 'failed', alive: 'failed', imgSrc: null });
    const records = new Map(file.records.map((r) => [r.index, r]));
    for (const c of cards.filter((c) => c.status === 'ok')) expect(c.alive).toBe(records.get(c.index)!.motion!.alive);
  });

  it('applies the hash filter #alive=dead: only the dead runs are shown', () => {
    const expected = file.records.filter((r) => r.motion?.alive === 'dead').map((r) => r.index).sort();
    expect(expected).toContain(4);
    const shown = views.dead!.filter((c) => !c.hidden).map((c) => c.index).sort();
    expect(shown).toEqual(expected);
    expect(views.dead!).toHaveLength(6);
  });

  it('applies the hash sort #sort=name&dir=desc and the text filter #q=', () => {
    const byName = [...file.records].sort((a, b) => b.name.localeCompare(a.name, undefined, { numeric: true })).map((r) => r.index);
    expect(views.nameDesc!.map((c) => c.index)).toEqual(byName);
    // q matches names case-insensitively; the class filter excludes the failed job.
    expect(views.text!.filter((c) => !c.hidden).map((c) => c.name)).toEqual(['alpha']);
  });
});
