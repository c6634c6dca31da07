/**
 * The dominant spatial wavelength of a frame: the peak of its radial power spectrum.
 *
 * The frame (Float32Array [3][H][W], CHW, values 0..1) is a picture on a torus, so its discrete
 * Fourier transform needs no window. Each channel's mean is removed, its 2-D DFT taken, and the power
 * |F(kx, ky)|^2 summed over the three channels. Each frequency lies at the radius
 * f = sqrt((kx / W)^2 + (ky / H)^2) cycles per cell (kx, ky the signed frequency indices); the power
 * is summed in shells of width 1 / min(W, H) (the energy spectrum E(f): where the picture's variance
 * lies, not the power per frequency, which favours the lowest frequencies). The peak shell is refined
 * to the power-weighted mean radius of it and its two neighbours, and the wavelength is 1 / f in
 * cells, between 2 (the grid's Nyquist limit) and min(W, H).
 *
 * The DFT is separable (rows, then columns) with cosine/sine tables, so any size works:
 * O(W H (W + H)) per channel (64 x 64: ~0.5 M multiply-adds).
 */

export interface SpectrumPeak {
  /** The dominant wavelength in cells (1 / the peak radial frequency). */
  wavelength: number;
  /** Share of the frame's (mean-removed) power in the peak shell and its two neighbours, 0..1; 0 for a flat frame. */
  peakShare: number;
}

/** Reusable buffers for one grid size. */
export class RadialSpectrum {
  private readonly cosW: Float64Array;
  private readonly sinW: Float64Array;
  private readonly cosH: Float64Array;
  private readonly sinH: Float64Array;
  private readonly re: Float64Array; // [H][W] after the row transforms
  private readonly im: Float64Array;
  private readonly colRe: Float64Array; // one column, [H]
  private readonly colIm: Float64Array;
  /** Power per shell; shell s holds radii in [s - 0.5, s + 0.5) / min(W, H). */
  readonly shells: Float64Array;

  constructor(readonly width: number, readonly height: number) {
    const twiddles = (n: number) => {
      const c = new Float64Array(n), s = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        c[k] = Math.cos((2 * Math.PI * k) / n);
        s[k] = Math.sin((2 * Math.PI * k) / n);
      }
      return [c, s] as const;
    };
    [this.cosW, this.sinW] = twiddles(width);
    [this.cosH, this.sinH] = twiddles(height);
    this.re = new Float64Array(width * height);
    this.im = new Float64Array(width * height);
    this.colRe = new Float64Array(height);
    this.colIm = new Float64Array(height);
    const m = Math.min(width, height);
    this.shells = new Float64Array(Math.ceil(m * Math.SQRT1_2) + 2);
  }

  /** The peak of the radial power spectrum of `frame` ([3][H][W]). */
  peak(frame: Float32Array): SpectrumPeak {
    const { width: W, height: H, shells } = this;
    const plane = W * H, m = Math.min(W, H);
    shells.fill(0);
    for (let c = 0; c < 3; c++) this.addChannel(frame.subarray(c * plane, (c + 1) * plane));
    // shell 0 holds only the (removed) mean; the peak is searched from shell 1
    let best = 1, total = 0;
    for (let s = 1; s < shells.length; s++) {
      total += shells[s]!;
      if (shells[s]! > shells[best]!) best = s;
    }
    if (!(total > 1e-12)) return { wavelength: m, peakShare: 0 };
    let mass = 0, moment = 0;
    for (let s = Math.max(1, best - 1); s <= Math.min(shells.length - 1, best + 1); s++) {
      mass += shells[s]!;
      moment += s * shells[s]!;
    }
    const f = moment / mass / m; // cycles per cell
    return { wavelength: Math.min(m, Math.max(2, 1 / f)), peakShare: mass / total };
  }

  /** Adds one channel's power (mean removed) to the shells. */
  private addChannel(x: Float32Array): void {
    const { width: W, height: H, re, im, cosW, sinW, cosH, sinH, colRe, colIm, shells } = this;
    const plane = W * H, m = Math.min(W, H);
    let mean = 0;
    for (let i = 0; i < plane; i++) mean += x[i]!;
    mean /= plane;
    // rows: X[y][k] = sum_x x[y][x] e^{-2 pi i k x / W}
    for (let y = 0; y < H; y++) {
      const row = y * W;
      for (let k = 0; k < W; k++) {
        let sr = 0, si = 0, idx = 0;
        for (let j = 0; j < W; j++) {
          const v = x[row + j]! - mean;
          sr += v * cosW[idx]!;
          si -= v * sinW[idx]!;
          idx += k;
          if (idx >= W) idx -= W;
        }
        re[row + k] = sr;
        im[row + k] = si;
      }
    }
    // columns, then the power of each frequency into its shell
    for (let k = 0; k < W; k++) {
      for (let y = 0; y < H; y++) {
        colRe[y] = re[y * W + k]!;
        colIm[y] = im[y * W + k]!;
      }
      const kx = (k <= W / 2 ? k : k - W) / W;
      for (let l = 0; l < H; l++) {
        let sr = 0, si = 0, idx = 0;
        for (let y = 0; y < H; y++) {
          const a = colRe[y]!, b = colIm[y]!, c = cosH[idx]!, s = sinH[idx]!;
          sr += a * c + b * s; // (a + ib)(c - is)
          si += b * c - a * s;
          idx += l;
          if (idx >= H) idx -= H;
        }
        const ky = (l <= H / 2 ? l : l - H) / H;
        const shell = Math.round(Math.sqrt(kx * kx + ky * ky) * m);
        if (shell < shells.length) shells[shell]! += sr * sr + si * si;
      }
    }
  }
}
