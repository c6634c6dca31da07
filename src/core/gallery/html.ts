import type { GalleryFile, GalleryRecord } from './record.js';

/**
 * gallery/index.html: a contact sheet of a gallery that opens from disk (file://) with no server and
 * no external assets: the CSS and the script are inline, images are the gallery's own outputs by
 * relative path, loaded lazily.
 *
 * The cards are plain HTML written here (every user string escaped), so the sheet reads even
 * without scripts. The script sorts and filters them in place, by reordering and hiding nodes, with
 * the sort values taken from the data embedded as JSON (`<script type="application/json">`, with
 * `<`, `>`, `&`, U+2028 and U+2029 written as \u escapes so no string can close the element).
 *
 * Each card is `<figure class="card" data-key data-index data-name data-alive data-status>` (key: its
 * position in job order, what the script sorts); its image
 * gets `data-loaded="1"` once decoded (or `"error"`), which is what the browser test looks for.
 *
 * State lives in the URL hash, read on load and rewritten as the controls change, so a view can be
 * bookmarked or opened directly:
 *   #alive=alive,static   show only these classes (alive, static, noise, dead, failed)
 *   &coherent=1           only coherent runs
 *   &q=violin             names or sources containing the text (case-insensitive)
 *   &sort=change&dir=desc sort key: index (job order, default), name, alive, change, std,
 *                         correlation, drift, seconds; dir asc (default) or desc
 */
export function galleryHtml(file: GalleryFile): string {
  const records = [...file.records].sort((a, b) => a.index - b.index);
  const counts = classCounts(records);
  const s = file.summary;
  const title = file.jobsFile ? `nca gallery: ${file.jobsFile}` : 'nca gallery';
  const summaryParts = [
    `${s.jobs} ${plural(s.jobs, 'job')}: ${s.ok} ok, ${s.failed} failed` + (s.skipped ? `, ${s.skipped} kept from an earlier run` : ''),
    `alive ${counts.alive} (coherent ${counts.coherent}), static ${counts.static}, noise ${counts.noise}, dead ${counts.dead}`,
    `${formatNumber(s.seconds)} s with ${s.workers} ${plural(s.workers, 'worker')}`,
    `made ${file.created}`,
  ];
  const chips = (['alive', 'static', 'noise', 'dead', 'failed'] as const)
    .map((c) => `<button type="button" class="chip ${c}" data-class="${c}" aria-pressed="false">${c} <span>${counts[c]}</span></button>`)
    .join('');
  const sortOptions = SORT_KEYS.map((k) => `<option value="${k}">${k}</option>`).join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="nca gallery">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p id="summary">${escapeHtml(summaryParts.join(' · '))}</p>
<form id="controls" onsubmit="return false">
<input id="q" type="search" placeholder="filter by name or source" aria-label="filter by name or source">
<span class="chips" role="group" aria-label="alive class">${chips}</span>
<label><input id="coherent" type="checkbox"> coherent only</label>
<label>sort <select id="sort">${sortOptions}</select></label>
<button type="button" id="dir" data-dir="asc" aria-label="sort direction">↑</button>
<output id="showing">${records.length} shown</output>
</form>
</header>
<main id="grid">
${records.map((r, key) => card(r, key)).join('\n')}
</main>
<script type="application/json" id="gallery-data">${jsonForScript(records.map((r, key) => sortValues(r, key)))}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** The sort keys, in the order the menu shows them. */
export const SORT_KEYS = ['index', 'name', 'alive', 'change', 'std', 'correlation', 'drift', 'seconds'] as const;

/** HTML-escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that can sit inside a `<script>` element: `<`, `>` and `&` (so no `</script` or `<!--`) and
 * the JavaScript line terminators U+2028/U+2029 are written as \u escapes. These characters only
 * occur inside JSON strings, where the escapes mean the same characters.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The picture a card shows, as a relative URL: the output itself for .gif/.png/.mp4/.webm, the last frame of a PNG
 * sequence folder, or null (also for a path that would leave the gallery folder). Each path segment is percent-encoded (names may hold '#', '?', '%', spaces).
 */
export function imageUrl(record: GalleryRecord): string | null {
  if (record.status !== 'ok' || typeof record.output !== 'string' || !record.output) return null;
  let path = record.output;
  // Only paths inside the gallery folder (the runner never writes others; a merged gallery.json might).
  if (path.startsWith('/') || path.split('/').includes('..')) return null;
  if (!/\.(gif|png|mp4|webm)$/i.test(path)) {
    if (!record.frames) return null;
    path = `${path.replace(/\/+$/, '')}/frame-${String(record.frames - 1).padStart(6, '0')}.png`;
  }
  return path.split('/').map(encodeURIComponent).join('/');
}

type AliveOrFailed = 'alive' | 'static' | 'noise' | 'dead' | 'failed' | 'unknown';

const CLASSES: readonly string[] = ['alive', 'static', 'noise', 'dead'];

/** The card's class. gallery.json may come from another machine (--merge): unknown values become 'unknown'. */
function aliveOf(r: GalleryRecord): AliveOrFailed {
  if (r.status !== 'ok') return 'failed';
  const alive = r.motion?.alive;
  return alive !== undefined && CLASSES.includes(alive) ? alive : 'unknown';
}

function classCounts(records: GalleryRecord[]) {
  const counts = { alive: 0, static: 0, noise: 0, dead: 0, failed: 0, unknown: 0, coherent: 0 };
  for (const r of records) {
    counts[aliveOf(r)]++;
    if (r.motion?.coherent) counts.coherent++;
  }
  return counts;
}

/** Per card, the values the script sorts by (full precision; the cards show rounded ones). */
function sortValues(r: GalleryRecord, key: number) {
  const m = r.motion;
  return {
    key,
    index: r.index,
    name: r.name,
    source: `${r.source.kind} ${r.source.label}`,
    alive: aliveOf(r),
    coherent: m?.coherent ?? false,
    change: m?.meanChange ?? null,
    std: m?.lastStd ?? null,
    correlation: m?.correlation ?? null,
    drift: m?.drift ?? null,
    seconds: r.seconds ?? null,
  };
}

function card(r: GalleryRecord, key: number): string {
  const alive = aliveOf(r);
  const name = escapeHtml(r.name);
  const url = imageUrl(r);
  const size = isCount(r.width) && isCount(r.height) ? ` width="${r.width}" height="${r.height}"` : '';
  const picture = url && /\.(mp4|webm)$/i.test(url)
    ? `<video src="${escapeHtml(url)}" title="${name}" muted loop autoplay playsinline controls preload="metadata"${size}></video>`
    : url
    ? `<img src="${escapeHtml(url)}" alt="${name}" loading="lazy" decoding="async"${size}>`
    : `<div class="placeholder">${r.status === 'failed' ? 'failed' : 'no image'}</div>`;
  const m = r.motion;
  const metrics: [string, string][] = [];
  if (m) metrics.push(['change', formatNumber(m.meanChange)], ['std', formatNumber(m.lastStd)], ['corr', formatNumber(m.correlation)]);
  if (r.seconds !== undefined) metrics.push(['time', `${formatNumber(r.seconds)} s`]);
  const details = [r.width && r.height ? `${r.width}x${r.height}` : '', r.steps !== undefined ? `${r.steps} steps` : '', r.shard ? `shard ${r.shard}` : '']
    .filter(Boolean)
    .join(', ');
  return `<figure class="card ${alive}" data-key="${key}" data-index="${escapeHtml(String(r.index))}" data-name="${name}" data-alive="${alive}" data-status="${r.status === 'ok' ? 'ok' : 'failed'}"${details ? ` title="${escapeHtml(details)}"` : ''}>
${picture}
<figcaption><b class="name">${name}</b><span class="badge ${alive}">${alive}</span>${m?.coherent ? '<span class="badge coherent">coherent</span>' : ''}
<span class="source">${escapeHtml(r.source.kind)}: ${escapeHtml(r.source.label)}</span>
${metrics.length ? `<span class="metrics">${metrics.map(([k, v]) => `<span>${k}</span><b>${v}</b>`).join('')}</span>` : ''}${r.status === 'failed' ? `\n<span class="error">${escapeHtml(r.error ?? 'failed')}</span>` : ''}</figcaption>
</figure>`;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function formatNumber(v: number): string {
  if (typeof v !== 'number') return escapeHtml(String(v));
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString();
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

const CSS = `
:root{--bg:#f6f6f4;--fg:#1d1d1f;--muted:#6b6b70;--card:#fff;--line:#e2e2e0;--alive:#1f9d55;--static:#3f6fd8;--noise:#c77c02;--dead:#8a8a8a;--failed:#d64040}
@media (prefers-color-scheme:dark){:root{--bg:#151517;--fg:#ececec;--muted:#9a9aa0;--card:#1f1f22;--line:#333337}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--fg)}
header{position:sticky;top:0;z-index:1;background:var(--bg);border-bottom:1px solid var(--line);padding:12px 20px}
h1{font-size:18px;margin:0 0 4px;word-break:break-all}
#summary{margin:0 0 8px;color:var(--muted)}
#controls{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center}
#q{min-width:220px;padding:5px 8px;border:1px solid var(--line);border-radius:6px;background:var(--card);color:inherit}
select,#dir{padding:4px 6px;border:1px solid var(--line);border-radius:6px;background:var(--card);color:inherit}
.chips{display:inline-flex;gap:6px}
.chip{border:1px solid var(--line);background:var(--card);color:inherit;border-radius:99px;padding:3px 10px;cursor:pointer}
.chip span{color:var(--muted)}
.chip[aria-pressed=true]{color:#fff;border-color:transparent}
.chip.alive[aria-pressed=true]{background:var(--alive)}.chip.static[aria-pressed=true]{background:var(--static)}
.chip.noise[aria-pressed=true]{background:var(--noise)}.chip.dead[aria-pressed=true]{background:var(--dead)}
.chip.failed[aria-pressed=true]{background:var(--failed)}.chip[aria-pressed=true] span{color:#fff}
#showing{color:var(--muted)}
#grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:14px;padding:16px 20px}
.card{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden;content-visibility:auto;contain-intrinsic-size:auto 300px}
.card img,.placeholder{display:block;width:100%;height:auto;aspect-ratio:1;object-fit:contain;image-rendering:pixelated;background:#000}
.placeholder{display:flex;align-items:center;justify-content:center;color:var(--failed);background:repeating-linear-gradient(45deg,transparent 0 8px,rgba(214,64,64,.08) 8px 16px)}
figcaption{padding:8px 10px;display:flex;flex-wrap:wrap;gap:4px 6px;align-items:baseline}
.name{flex:1 1 auto;min-width:0;word-break:break-all}
.badge{font-size:11px;padding:0 7px;border-radius:99px;color:#fff;background:var(--dead)}
.badge.alive{background:var(--alive)}.badge.static{background:var(--static)}.badge.noise{background:var(--noise)}
.badge.failed{background:var(--failed)}.badge.coherent{background:none;color:var(--alive);border:1px solid var(--alive)}
.source{flex:1 1 100%;color:var(--muted);font-size:12px;word-break:break-all}
.metrics{flex:1 1 100%;display:grid;grid-template-columns:auto 1fr auto 1fr;gap:0 6px;font-size:12px;color:var(--muted);white-space:nowrap}
.metrics b{color:var(--fg);font-weight:600;font-variant-numeric:tabular-nums}
.error{color:var(--failed);font-size:12px;word-break:break-word}
[hidden]{display:none!important}
`;

/** The page's script (plain ES2017, no modules, nothing fetched). */
const SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('gallery-data').textContent);
  var grid = document.getElementById('grid');
  var cards = {};
  Array.prototype.forEach.call(grid.querySelectorAll('.card'), function (el) { cards[el.getAttribute('data-key')] = el; });
  var RANK = { alive: 0, static: 1, noise: 2, dead: 3, unknown: 4, failed: 5 };
  var KEYS = ${JSON.stringify(SORT_KEYS)};
  var q = document.getElementById('q'), coherent = document.getElementById('coherent');
  var sort = document.getElementById('sort'), dir = document.getElementById('dir');
  var chips = Array.prototype.slice.call(document.querySelectorAll('.chip'));
  var state = { alive: [], coherent: false, q: '', sort: 'index', desc: false };

  // Images: mark them once decoded (or broken), including those that finished before this ran.
  Array.prototype.forEach.call(grid.querySelectorAll('img'), function (img) {
    var mark = function () { img.setAttribute('data-loaded', img.naturalWidth > 0 ? '1' : 'error'); };
    if (img.complete && img.naturalWidth > 0) mark();
    img.addEventListener('load', mark);
    img.addEventListener('error', function () { img.setAttribute('data-loaded', 'error'); });
  });

  function value(d, key) {
    if (key === 'alive') return RANK[d.alive] * 2 + (d.coherent ? 0 : 1);
    return d[key];
  }
  function compare(a, b) {
    var x = value(a, state.sort), y = value(b, state.sort);
    // Missing values (failed jobs) last in either direction.
    if (x === null || y === null) return x === null && y === null ? a.key - b.key : x === null ? 1 : -1;
    var c = typeof x === 'string' ? x.localeCompare(y, undefined, { numeric: true }) : x - y;
    if (c === 0) c = a.key - b.key;
    return state.desc ? -c : c;
  }
  function apply() {
    var text = state.q.toLowerCase(), shown = 0;
    data.slice().sort(compare).forEach(function (d) {
      var el = cards[d.key];
      var visible = (state.alive.length === 0 || state.alive.indexOf(d.alive) >= 0) && (!state.coherent || d.coherent) &&
        (text === '' || d.name.toLowerCase().indexOf(text) >= 0 || d.source.toLowerCase().indexOf(text) >= 0);
      if (visible) { el.removeAttribute('hidden'); shown++; } else el.setAttribute('hidden', '');
      grid.appendChild(el);
    });
    document.getElementById('showing').textContent = shown === data.length ? shown + ' shown' : shown + ' of ' + data.length + ' shown';
    chips.forEach(function (c) { c.setAttribute('aria-pressed', String(state.alive.indexOf(c.getAttribute('data-class')) >= 0)); });
    q.value = state.q; coherent.checked = state.coherent; sort.value = state.sort;
    dir.setAttribute('data-dir', state.desc ? 'desc' : 'asc'); dir.textContent = state.desc ? '\\u2193' : '\\u2191';
  }
  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ''));
    state.alive = (params.get('alive') || '').split(',').filter(function (c) { return c in RANK; });
    state.coherent = params.get('coherent') === '1';
    state.q = params.get('q') || '';
    state.sort = KEYS.indexOf(params.get('sort')) >= 0 ? params.get('sort') : 'index';
    state.desc = params.get('dir') === 'desc';
  }
  function writeHash() {
    var params = new URLSearchParams();
    if (state.alive.length) params.set('alive', state.alive.join(','));
    if (state.coherent) params.set('coherent', '1');
    if (state.q) params.set('q', state.q);
    if (state.sort !== 'index') params.set('sort', state.sort);
    if (state.desc) params.set('dir', 'desc');
    var hash = params.toString();
    history.replaceState(null, '', hash ? '#' + hash : location.pathname + location.search);
  }
  function update() { writeHash(); apply(); }

  q.addEventListener('input', function () { state.q = q.value; update(); });
  coherent.addEventListener('change', function () { state.coherent = coherent.checked; update(); });
  sort.addEventListener('change', function () { state.sort = sort.value; update(); });
  dir.addEventListener('click', function () { state.desc = !state.desc; update(); });
  chips.forEach(function (c) {
    c.addEventListener('click', function () {
      var k = c.getAttribute('data-class'), i = state.alive.indexOf(k);
      if (i >= 0) state.alive.splice(i, 1); else state.alive.push(k);
      update();
    });
  });
  window.addEventListener('hashchange', function () { readHash(); apply(); });
  readHash();
  apply();
})();
`;
