/**
 * The networks' two convolutions as im2col + MatMul, for training on the tfjs 'wasm' and 'cpu' backends.
 * (The wasm backend has no Conv2DBackpropFilter kernel, so tf.conv2d cannot train there at all; these need
 * only MatMul, Reshape/Transpose and the custom ops below, which it has.)
 *
 * Why: tfjs-cpu's Conv2DBackpropFilter / Conv2DBackpropInput are plain nested loops; at batch 8
 * the encoder's forward + backward took 4.3 s and the decoder's 6.1 s, against 0.09 s and 0.14 s
 * for their forward passes. Built from tfjs Pad/Slice/Concat instead, it was still 2.2-2.5 s
 * (tfjs-cpu's strided slices and inner-axis concats go element by element). So the data
 * rearrangements (im2col, its adjoint col2im, the sub-pixel filter, the phase interleave) are
 * small custom operations (tf.customGrad) with plain loops, and the arithmetic is tfjs MatMul.
 * The results equal tf.conv2d / tf.conv2dTranspose to float rounding (test/train-convs.test.ts).
 *
 * - `conv3x3s2`: conv3x3 stride 2 pad 1 (zero padding), x NHWC [B][H][W][Cin] (H, W even),
 *   filter HWIO [3][3][Cin][Cout] -> [B][H/2][W/2][Cout]. Columns are tap-major (ky, kx, ci), the
 *   order of the HWIO filter reshaped to [9 Cin][Cout].
 * - `deconv4x4s2`: PyTorch ConvTranspose2d k4 stride 2 pad 1, x NHWC [B][H][W][Cin], weight IOHW
 *   [Cin][Cout][4][4] -> [B][2H][2W][Cout], split by output phase: output (2m + a, 2n + b)
 *   reads input rows m + d, d in {-1, 0, 1}, with kernel row k = 3 (a = 0, d = -1), 1 (a = 0,
 *   d = 0), 2 (a = 1, d = 0), 0 (a = 1, d = 1), none otherwise (the same for columns). So each of
 *   the 4 phases is a 2x2-tap convolution: one batched MatMul [4][BHW][4 Cin] x [4][4 Cin][Cout]
 *   (no multiplications by zero taps), then the phases are interleaved into the doubled grid.
 */
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import type { ConvOps } from './networks.js';
import type { Tf } from './tf.js';

/** Kernel index of the transposed conv for output phase a (0, 1) and input offset d (-1, 0, 1); -1 = no tap. */
const DECONV_TAP: readonly (readonly number[])[] = [
  [3, 1, -1],
  [-1, 2, 0],
];

/**
 * For each element of the columns [B][Ho][Wo][9][C] (Ho = H / stride), the index of the input
 * element of x [B][H][W][C] it copies, or -1 for zero padding (pad 1, 3x3 window).
 */
function columnIndex(B: number, H: number, W: number, C: number, stride: number): Int32Array {
  const Ho = H / stride, Wo = W / stride;
  const index = new Int32Array(B * Ho * Wo * 9 * C);
  let i = 0;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        for (let ky = 0; ky < 3; ky++) {
          const y = oy * stride + ky - 1;
          for (let kx = 0; kx < 3; kx++) {
            const x = ox * stride + kx - 1;
            const inside = y >= 0 && y < H && x >= 0 && x < W;
            const base = ((b * H + y) * W + x) * C;
            for (let c = 0; c < C; c++) index[i++] = inside ? base + c : -1;
          }
        }
      }
    }
  }
  return index;
}

/** out[i] = x[index[i]] (0 where index is -1), differentiable: dx[index[i]] += dy[i]. */
function gatherOp(tf: Tf, x: Tensor, index: Int32Array, shape: number[]): Tensor {
  const op = tf.customGrad((...inputs) => {
    const input = inputs[0] as Tensor;
    const src = input.dataSync() as Float32Array;
    const out = new Float32Array(index.length);
    for (let i = 0; i < index.length; i++) {
      const k = index[i]!;
      if (k >= 0) out[i] = src[k]!;
    }
    const size = src.length;
    const inShape = input.shape;
    return {
      value: tf.tensor(out, shape),
      gradFunc: (dy: Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const dx = new Float32Array(size);
        for (let i = 0; i < index.length; i++) {
          const k = index[i]!;
          if (k >= 0) dx[k]! += g[i]!;
        }
        return [tf.tensor(dx, inShape)];
      },
    };
  });
  return op(x) as Tensor;
}

/** Index maps are built once per shape. */
const cache = new Map<string, Int32Array>();
function cached(key: string, make: () => Int32Array): Int32Array {
  let v = cache.get(key);
  if (!v) cache.set(key, (v = make()));
  return v;
}

function conv3x3s2(tf: Tf, x: Tensor4D, filter: Tensor4D): Tensor4D {
  const [B, H, W, C] = x.shape;
  if (H % 2 || W % 2) throw new Error(`conv3x3s2: the grid must have even sides, got ${H} x ${W}`);
  const cout = filter.shape[3];
  const rows = B * (H / 2) * (W / 2);
  const cols = gatherOp(tf, x, cached(`c2/${B}/${H}/${W}/${C}`, () => columnIndex(B, H, W, C, 2)), [rows, 9 * C]) as Tensor2D;
  return tf.reshape(tf.matMul(cols, tf.reshape(filter, [9 * C, cout]) as Tensor2D), [B, H / 2, W / 2, cout]) as Tensor4D;
}

/** Input offsets (dy + 1 in 0..2) and kernel rows used by output phase a: the taps of DECONV_TAP that exist. */
function phaseTaps(a: number): Array<{ d: number; k: number }> {
  return DECONV_TAP[a]!.map((k, d) => ({ d, k })).filter((t) => t.k >= 0);
}

/** Columns per phase [4][B][H][W][4 taps][Cin]: index into x [B][H][W][Cin] or -1 (zero padding). */
function phaseColumnIndex(B: number, H: number, W: number, C: number): Int32Array {
  const index = new Int32Array(4 * B * H * W * 4 * C);
  let i = 0;
  for (let a = 0; a < 2; a++) {
    for (let p = 0; p < 2; p++) {
      const rowsTaps = phaseTaps(a), colTaps = phaseTaps(p);
      for (let b = 0; b < B; b++) {
        for (let m = 0; m < H; m++) {
          for (let n = 0; n < W; n++) {
            for (const ty of rowsTaps) {
              const y = m + ty.d - 1;
              for (const tx of colTaps) {
                const x = n + tx.d - 1;
                const inside = y >= 0 && y < H && x >= 0 && x < W;
                const base = ((b * H + y) * W + x) * C;
                for (let c = 0; c < C; c++) index[i++] = inside ? base + c : -1;
              }
            }
          }
        }
      }
    }
  }
  return index;
}

/** Filters per phase [4][4 taps x Cin][Cout]: index into the IOHW weight [Cin][Cout][4][4]. */
function phaseFilterIndex(cin: number, cout: number): Int32Array {
  const index = new Int32Array(4 * 4 * cin * cout);
  let i = 0;
  for (let a = 0; a < 2; a++) {
    for (let p = 0; p < 2; p++) {
      for (const ty of phaseTaps(a)) {
        for (const tx of phaseTaps(p)) {
          for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) index[i++] = ((ci * cout + co) * 4 + ty.k) * 4 + tx.k;
        }
      }
    }
  }
  return index;
}

/** For y [B][2H][2W][C]: the index in the per-phase products [4 = (a, p)][B][H][W][C]. */
function interleaveIndex(B: number, H: number, W: number, C: number): Int32Array {
  const index = new Int32Array(B * 4 * H * W * C);
  let i = 0;
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < 2 * H; y++) {
      const m = y >> 1, a = y & 1;
      for (let x = 0; x < 2 * W; x++) {
        const n = x >> 1, p = x & 1;
        const base = ((a * 2 + p) * B * H * W + (b * H + m) * W + n) * C;
        for (let c = 0; c < C; c++) index[i++] = base + c;
      }
    }
  }
  return index;
}

function deconv4x4s2(tf: Tf, x: Tensor4D, weight: Tensor4D): Tensor4D {
  const [B, H, W, C] = x.shape;
  const cout = weight.shape[1];
  const cols = gatherOp(tf, x, cached(`pc/${B}/${H}/${W}/${C}`, () => phaseColumnIndex(B, H, W, C)), [4, B * H * W, 4 * C]) as Tensor3D;
  const filters = gatherOp(tf, weight, cached(`pf/${C}/${cout}`, () => phaseFilterIndex(C, cout)), [4, 4 * C, cout]) as Tensor3D;
  const phased = tf.matMul(cols, filters); // [4][(b, m, n)][co]
  return gatherOp(tf, phased, cached(`il/${B}/${H}/${W}/${cout}`, () => interleaveIndex(B, H, W, cout)), [B, 2 * H, 2 * W, cout]) as Tensor4D;
}

/** ConvOps for `encoderForward` / `decoderForward` with cheap gradients on tfjs-cpu. */
export function im2colConvs(tf: Tf): ConvOps {
  return {
    conv3x3s2: (x, filter) => conv3x3s2(tf, x, filter),
    deconv4x4s2: (x, weight) => deconv4x4s2(tf, x, weight),
  };
}
