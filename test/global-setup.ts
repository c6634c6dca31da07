import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * End-to-end tests spawn bin/nca.js, which runs dist/: build it once before the suite.
 * `npm test` type-checks first (and fails on type errors); here tsc emits even with errors so a
 * single test file can run while another part of the tree is mid-edit.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, [root + 'node_modules/typescript/bin/tsc', '-p', root + 'tsconfig.json'], { encoding: 'utf8' });
  if (r.status !== 0) process.stderr.write(`global-setup: tsc reported errors (dist/ was still emitted):\n${r.stdout.split('\n').slice(0, 10).join('\n')}\n`);
}
