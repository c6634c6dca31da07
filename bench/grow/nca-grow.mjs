// The growing NCA's training iteration (src/core/grow/bench.ts) alone, for pairing with pytorch-grow.py.
// Usage: node bench/grow/nca-grow.mjs [iterations] [threads]   (after npx tsc -p tsconfig.json)
import { benchGrowIteration } from '../../dist/core/grow/bench.js';
const iterations = Number(process.argv[2] ?? 6), threads = Number(process.argv[3] ?? 2);
console.log(JSON.stringify(await benchGrowIteration({ iterations, threads })));
