import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * End-to-end tests spawn bin/nca.js, which runs dist/: build it before the suite.
 * `npm test` type-checks first (and fails on type errors); here tsc emits even with errors so a
 * single test file can run while another part of the tree is mid-edit.
 *
 * tsc (~15 s on 2 cores) is skipped when dist/ is already newer than every input: `npm test` has
 * just run the same tsc, which rewrites every output, so building again would only repeat it. Any
 * edit under src/ (or of tsconfig.json) after the last build makes the check fail and tsc run.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (distIsFresh(root)) return;
  const r = spawnSync(process.execPath, [root + 'node_modules/typescript/bin/tsc', '-p', root + 'tsconfig.json'], { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`global-setup: tsc reported errors (dist/ was still emitted):\n${r.stdout.split('\n').slice(0, 10).join('\n')}\n`);
}

/** Every src/**\/*.ts (not .d.ts) has its dist/**\/*.js, and the oldest of those is newer than the newest input. */
function distIsFresh(root: string): boolean {
  const src = join(root, 'src');
  let newestInput = statSync(join(root, 'tsconfig.json')).mtimeMs;
  let oldestOutput = Infinity;
  const visit = (dir: string): boolean => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!visit(path)) return false;
        continue;
      }
      newestInput = Math.max(newestInput, statSync(path).mtimeMs);
      if (!e.name.endsWith('.ts') || e.name.endsWith('.d.ts')) continue;
      const out = join(root, 'dist', relative(src, path).replace(/\.ts$/, '.js'));
      try {
        oldestOutput = Math.min(oldestOutput, statSync(out).mtimeMs);
      } catch {
        return false; // never built
      }
    }
    return true;
  };
  return visit(src) && newestInput < oldestOutput;
}
