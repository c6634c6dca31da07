// The loss curve of a chain of `nca grow` runs, each resuming the last (fixtures/grow/lizard/log-N.json):
// their logs end to end on one iteration axis, log10 scale (src/core/model/loss-curve.ts).
//   node bench/grow/chain-loss-curve.mjs OUT.png log-1.json log-2.json ...
import { readFileSync, writeFileSync } from 'node:fs';
import { lossCurvePng } from '../../dist/core/model/loss-curve.js';

const [out, ...logs] = process.argv.slice(2);
if (!out || logs.length === 0) throw new Error('usage: node bench/grow/chain-loss-curve.mjs OUT.png log-1.json ...');
const points = [];
for (const file of logs) {
  const offset = points.length;
  for (const entry of JSON.parse(readFileSync(file, 'utf8')).log) points.push({ iteration: offset + entry.iteration, loss: entry.loss, rollout: NaN, decoder: NaN });
}
writeFileSync(out, lossCurvePng(points));
console.log(`${out}: ${logs.length} logs, ${points.length} iterations`);
