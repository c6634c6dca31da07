// Reactive renders of code-composed songs and their scores (development; nca bench runs src/core/react/bench.ts).
// node bench/react-measure.mjs [styles=rock,jazz,electronic,ballad] [seconds=30] [size=96x54] [fps=30] [variant JSON] [strip.png]
import os from 'node:os';
import { runReactMeasure } from '../dist/core/react/bench.js';

const [styles = 'rock,jazz,electronic,ballad', seconds = '30', size = '96x54', fps = '30', variant = '{}', strip] = process.argv.slice(2);
const [w, h] = size.split('x').map(Number);
const r = await runReactMeasure({
  styles: styles.split(','), seconds: Number(seconds), width: w, height: h ?? w, fps: Number(fps), ...JSON.parse(variant),
  stripPath: strip, onProgress: (s) => process.stderr.write(`  ${s}\n`),
});
console.log(JSON.stringify({ load: os.loadavg(), ...r }, null, 1));
