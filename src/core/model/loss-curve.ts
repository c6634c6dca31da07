/**
 * The loss-curve picture of a training run: a PNG plot, no text (the numbers are in the JSON-lines
 * log). x: iteration, linear, 0 .. last; y: log10 of the loss, from the decade below the smallest
 * value to the decade above the largest, a grey line at every decade (darker at 1e-2). Curves,
 * each smoothed by a centred moving average over 2% of the run:
 * - black: total loss; blue: rollout MSE (frames 4..24); orange: first-frame decoder MSE;
 *   green: the persistence loss (unweighted; absent when persistence training is off);
 * - beta * KL is not drawn (it is tiny); the KL itself is in the log.
 */
import { encodePng } from '../io/png.js';

export interface CurvePoint {
  iteration: number;
  loss: number;
  rollout: number;
  decoder: number;
  persist?: number;
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = 12;

const SERIES: Array<{ key: 'loss' | 'rollout' | 'decoder' | 'persist'; rgb: [number, number, number] }> = [
  { key: 'persist', rgb: [30, 160, 60] },
  { key: 'decoder', rgb: [230, 120, 20] },
  { key: 'rollout', rgb: [30, 90, 220] },
  { key: 'loss', rgb: [0, 0, 0] },
];

function smooth(values: number[], radius: number): number[] {
  const out: number[] = [];
  let sum = 0, n = 0, lo = 0, hi = -1;
  for (let i = 0; i < values.length; i++) {
    while (hi < Math.min(values.length - 1, i + radius)) {
      hi++;
      if (Number.isFinite(values[hi]!)) (sum += values[hi]!), n++;
    }
    while (lo < i - radius) {
      if (Number.isFinite(values[lo]!)) (sum -= values[lo]!), n--;
      lo++;
    }
    out.push(n ? sum / n : NaN);
  }
  return out;
}

/** The plot as PNG bytes (a blank plot for an empty log). */
export function lossCurvePng(points: readonly CurvePoint[]): Uint8Array {
  const data = new Uint8Array(WIDTH * HEIGHT * 4).fill(255);
  const put = (x: number, y: number, [r, g, b]: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= WIDTH || y >= HEIGHT) return;
    const o = (y * WIDTH + x) * 4;
    data[o] = r;
    data[o + 1] = g;
    data[o + 2] = b;
  };
  const positive = points.flatMap((p) => SERIES.map((s) => p[s.key] ?? NaN)).filter((v) => Number.isFinite(v) && v > 1e-5); // hinge losses touch 0: keep the axis to the decades that matter
  if (positive.length) {
    const lo = Math.floor(Math.log10(Math.min(...positive)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
    const lastIter = Math.max(1, points[points.length - 1]!.iteration);
    const px = (iteration: number) => Math.round(MARGIN + ((WIDTH - 2 * MARGIN - 1) * iteration) / lastIter);
    const py = (v: number) => Math.round(HEIGHT - MARGIN - 1 - ((HEIGHT - 2 * MARGIN - 1) * (Math.log10(v) - lo)) / (hi - lo));
    for (let d = lo; d <= hi; d++) {
      const y = py(10 ** d);
      const shade: [number, number, number] = d === -2 ? [150, 150, 150] : [215, 215, 215];
      for (let x = MARGIN; x < WIDTH - MARGIN; x++) put(x, y, shade);
    }
    for (let y = MARGIN; y < HEIGHT - MARGIN; y++) put(MARGIN - 1, y, [150, 150, 150]);
    const radius = Math.max(1, Math.round(points.length / 100));
    for (const { key, rgb } of SERIES) {
      const ys = smooth(points.map((p) => p[key] ?? NaN), radius);
      let prev: [number, number] | null = null;
      points.forEach((p, i) => {
        const v = ys[i]!;
        if (!(Number.isFinite(v) && v > 0)) return (prev = null);
        const cur: [number, number] = [px(p.iteration), py(v)];
        if (prev) drawLine(prev, cur, (x, y) => put(x, y, rgb));
        else put(cur[0], cur[1], rgb);
        prev = cur;
      });
    }
  }
  return encodePng({ width: WIDTH, height: HEIGHT, data });
}

function drawLine([x0, y0]: [number, number], [x1, y1]: [number, number], put: (x: number, y: number) => void): void {
  const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
  for (let i = 0; i <= steps; i++) put(Math.round(x0 + ((x1 - x0) * i) / steps), Math.round(y0 + ((y1 - y0) * i) / steps));
}
