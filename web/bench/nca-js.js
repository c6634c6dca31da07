// The NCA in plain JavaScript (frame protocol), for the bench page: per cell, its 16 x 3 x 3
// neighbourhood gathered once, then the 16 dot products of conv1 and the 3 of conv2.
const C = 16;

export function createJsNca(canvas, { width: W, height: H, noiseStd = 0.1 }) {
  const plane = W * H;
  let rgb = new Float32Array(3 * plane);
  let next = new Float32Array(3 * plane);
  const x = new Float32Array(C * plane);
  const h = new Float32Array(C * plane);
  const patch = new Float32Array(C * 9);
  // weights regrouped per output as [in * 9 + k] (OIHW already is); conv2 keeps 3 outputs
  let w1 = new Float32Array(2304), b1 = new Float32Array(16), w2 = new Float32Array(3 * 144), b2 = new Float32Array(3);
  let seed = 99;
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) + 0.5) / 4294967296;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(W, H);
  const gather = (src, xx, yy) => {
    for (let k = 0; k < 9; k++) {
      const sy = (yy + ((k / 3) | 0) - 1 + H) % H, sx = (xx + (k % 3) - 1 + W) % W;
      const at = sy * W + sx;
      for (let i = 0; i < C; i++) patch[i * 9 + k] = src[i * plane + at];
    }
  };
  return {
    renderer: 'plain JavaScript',
    setParams(flat) {
      w1 = flat.slice(0, 2304); b1 = flat.slice(2304, 2320); w2 = flat.slice(2320, 2320 + 432); b2 = flat.slice(4624, 4627);
    },
    setState(s) { rgb = s.slice(0, 3 * plane); },
    step(n = 1) {
      for (let s = 0; s < n; s++) {
        x.set(rgb);
        for (let i = 3 * plane; i < C * plane; i += 2) {
          const r = Math.sqrt(-2 * Math.log(rand())) * noiseStd, t = 6.283185307179586 * rand();
          x[i] = r * Math.cos(t); x[i + 1] = r * Math.sin(t);
        }
        for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) {
          gather(x, xx, yy);
          for (let o = 0; o < C; o++) {
            let acc = b1[o];
            const base = o * 144;
            for (let j = 0; j < 144; j++) acc += w1[base + j] * patch[j];
            h[o * plane + yy * W + xx] = acc > 0 ? acc : 0;
          }
        }
        for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) {
          gather(h, xx, yy);
          for (let o = 0; o < 3; o++) {
            let acc = b2[o];
            const base = o * 144;
            for (let j = 0; j < 144; j++) acc += w2[base + j] * patch[j];
            const at = o * plane + yy * W + xx;
            next[at] = 1 / (1 + Math.exp(-(rgb[at] + acc)));
          }
        }
        [rgb, next] = [next, rgb];
      }
    },
    draw() {
      const d = image.data;
      for (let i = 0; i < plane; i++) {
        d[i * 4] = rgb[i] * 255; d[i * 4 + 1] = rgb[plane + i] * 255; d[i * 4 + 2] = rgb[2 * plane + i] * 255; d[i * 4 + 3] = 255;
      }
      ctx.putImageData(image, 0, 0);
    },
    finish() {},
    dispose() {},
  };
}
