#!/usr/bin/env node
// Runs the latent-meaning measure (src/core/model/latent-meaning.ts) outside the CLI, on the built
// dist/: `npx tsc -p . && node scripts/latent-meaning.mjs [--model DIR] [--seeds 4] [--steps 300]
// [--size 64] [--threads 1] [--seed 0] [--instruments piano,violin] [--notes F4,A4,C5]`.
// Prints the result as JSON on stdout and a progress count on stderr.
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    seeds: { type: 'string', default: '4' },
    steps: { type: 'string', default: '300' },
    size: { type: 'string', default: '64' },
    threads: { type: 'string' },
    seed: { type: 'string', default: '0' },
    instruments: { type: 'string' },
    notes: { type: 'string' },
  },
});
const networks = await import('../dist/core/model/networks.js');
const { loadNotes } = await import('../dist/core/model/notes.js');
const { latentMeaning } = await import('../dist/core/model/latent-meaning.js');
const dir = values.model ?? networks.DEFAULT_MODEL_DIR;
const model = await networks.loadModel(dir);
const notes = await loadNotes(dir);
const result = await latentMeaning(model, {
  notes,
  seeds: Number(values.seeds),
  steps: Number(values.steps),
  size: Number(values.size),
  seed: values.seed,
  threads: values.threads ? Number(values.threads) : undefined,
  instruments: values.instruments?.split(','),
  noteNames: values.notes?.split(','),
  onProgress: (done, total) => process.stderr.write(`\r${done}/${total}`),
});
process.stderr.write('\n');
model.dispose();
process.stdout.write(JSON.stringify(result, null, 1) + '\n');
