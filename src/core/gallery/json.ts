/**
 * The JSON the gallery reads (jobs files, gallery.json, state-log lines) is parsed here, with a
 * limit on nesting. JSON.parse itself copes with any depth, but everything that walks the value
 * afterwards (validation, hashing, JSON.stringify, structuredClone) recurses and would overflow the
 * stack on a file nested tens of thousands of levels deep. The depth is measured iteratively.
 */
import { UserError } from '../errors.js';

/** Deepest nesting of arrays and objects accepted (a jobs file needs about 6). */
export const MAX_JSON_DEPTH = 32;

/**
 * How deep `value` nests arrays and objects, and where the first value deeper than `limit` is
 * (e.g. "jobs[0].comment[0][0]...", the first few steps of the path); `at` is null within the limit.
 */
export function jsonDepth(value: unknown, limit: number = MAX_JSON_DEPTH): { depth: number; at: string | null } {
  interface Entry { v: unknown; depth: number; parent: Entry | null; key: string | number | null }
  const stack: Entry[] = [{ v: value, depth: 0, parent: null, key: null }];
  let deepest = 0;
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (typeof e.v !== 'object' || e.v === null) continue; // a primitive at the top level
    const depth = e.depth + 1;
    deepest = Math.max(deepest, depth);
    if (depth > limit) return { depth, at: pathOf(e) };
    // only arrays and objects go on the stack: a long list of numbers costs nothing here
    const push = (v: unknown, key: string | number) => {
      if (typeof v === 'object' && v !== null) stack.push({ v, depth, parent: e, key });
    };
    if (Array.isArray(e.v)) e.v.forEach((v, i) => push(v, i));
    else for (const [k, v] of Object.entries(e.v)) push(v, k);
  }
  return { depth: deepest, at: null };

  function pathOf(e: Entry): string {
    const keys: Array<string | number> = [];
    for (let p: Entry | null = e; p && p.key !== null; p = p.parent) keys.push(p.key);
    keys.reverse();
    const shown = keys.slice(0, 4).map((k, i) => (typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `${i ? '.' : ''}${k}` : `[${JSON.stringify(k)}]`)).join('');
    return (shown || 'the top level') + (keys.length > 4 ? '...' : '');
  }
}

/**
 * Parse `text` as JSON and check its nesting. Throws a UserError naming `what` for invalid JSON
 * (with `hint` appended) and for nesting deeper than MAX_JSON_DEPTH.
 * @param what how the error names the text, e.g. "/data/jobs.json"
 */
export function parseJsonLimited(text: string, what: string, hint = ''): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${what} is not valid JSON (${(e as Error).message})${hint}`);
  }
  const { at } = jsonDepth(value);
  if (at !== null) throw new UserError(`${what} nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep (at ${at}); nothing nca reads needs that many`);
  return value;
}
