// The model in the browser (docs/play.md): the weights of model.json + weights.bin (the format of
// docs/model.md), and the two networks the page needs, in plain JavaScript with float64 sums:
//   encoder      context [12][32][32] -> mu [64]: 3 x (conv3x3 stride 2 pad 1, BatchNorm with the
//                running statistics, LeakyReLU), flatten channel-major, linear 2048 -> 64
//   hypernetwork z [64] -> NCA parameters [4640]: linear, LayerNorm, ReLU, linear, LayerNorm, ReLU,
//                linear, times hyper.scale
// Both are small (3.4 M and 1.3 M multiply-adds): a few milliseconds here, no engine needed.

/** Loads `<base>/model.json` and its weights: { config, tensors: Map(name -> Float32Array), shapes }. */
export async function loadModel(base) {
  const manifest = await fetchJson(new URL('model.json', base));
  if (manifest.format !== 'nca-model' || manifest.version !== 1) throw new Error(`${base}model.json is not an nca model (format ${manifest.format})`);
  const tensors = new Map();
  const shapes = new Map();
  for (const group of manifest.weightsManifest) {
    const bytes = await fetchBytes(new URL(group.paths[0], base));
    let offset = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (offset + n * 4 > bytes.byteLength) throw new Error(`${group.paths[0]} is shorter than its manifest`);
      tensors.set(w.name, new Float32Array(bytes, offset, n));
      shapes.set(w.name, w.shape);
      offset += n * 4;
    }
  }
  return { config: manifest.config, tensors, shapes };
}

/** Loads `<base>/notes.json`: { instruments, notes, latents: { instrument: { note: [64] } } }. */
export async function loadNotes(base) {
  const m = await fetchJson(new URL('notes.json', base));
  if (m.format !== 'nca-notes' || m.version !== 1) throw new Error(`${base}notes.json is not an nca note manifest`);
  return m;
}

async function fetchJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}
async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

/** y = W x + b for W [out][in]. */
function linear(W, b, x, out) {
  const nIn = x.length, nOut = out.length;
  for (let o = 0; o < nOut; o++) {
    let acc = b[o];
    const row = o * nIn;
    for (let i = 0; i < nIn; i++) acc += W[row + i] * x[i];
    out[o] = acc;
  }
  return out;
}

/** LayerNorm (biased variance) then ReLU, in place. */
function layerNormRelu(x, gamma, beta, eps) {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let variance = 0;
  for (let i = 0; i < x.length; i++) variance += (x[i] - mean) ** 2;
  variance /= x.length;
  const inv = 1 / Math.sqrt(variance + eps);
  for (let i = 0; i < x.length; i++) x[i] = Math.max(0, (x[i] - mean) * inv * gamma[i] + beta[i]);
  return x;
}

/** The hypernetwork: z [64] -> Float32Array [4640] (w1, b1, w2, b2). Buffers allocated once per model. */
export function createHypernetwork(model) {
  const t = (name) => model.tensors.get(name);
  const eps = model.config.layerNormEps ?? 1e-5;
  const hidden = t('hyper.fc1.bias').length;
  const h1 = new Float64Array(hidden), h2 = new Float64Array(hidden);
  const out64 = new Float64Array(t('hyper.fc3.bias').length);
  return (z) => {
    linear(t('hyper.fc1.weight'), t('hyper.fc1.bias'), z, h1);
    layerNormRelu(h1, t('hyper.ln1.weight'), t('hyper.ln1.bias'), eps);
    linear(t('hyper.fc2.weight'), t('hyper.fc2.bias'), h1, h2);
    layerNormRelu(h2, t('hyper.ln2.weight'), t('hyper.ln2.bias'), eps);
    linear(t('hyper.fc3.weight'), t('hyper.fc3.bias'), h2, out64);
    const scale = t('hyper.scale')[0];
    const params = new Float32Array(out64.length);
    for (let i = 0; i < params.length; i++) params[i] = out64[i] * scale;
    return params;
  };
}

/** conv3x3 stride 2, zero padding 1, + bias, BatchNorm (running statistics), LeakyReLU: [cin][s][s] -> [cout][s/2][s/2]. */
function encoderBlock(x, cin, s, W, b, bn, eps, slope) {
  const cout = b.length, so = s / 2;
  const out = new Float32Array(cout * so * so);
  for (let o = 0; o < cout; o++) {
    const scale = bn.gamma[o] / Math.sqrt(bn.variance[o] + eps);
    for (let y = 0; y < so; y++) for (let xx = 0; xx < so; xx++) {
      let acc = b[o];
      for (let i = 0; i < cin; i++) {
        for (let ky = 0; ky < 3; ky++) {
          const sy = 2 * y + ky - 1;
          if (sy < 0 || sy >= s) continue;
          for (let kx = 0; kx < 3; kx++) {
            const sx = 2 * xx + kx - 1;
            if (sx < 0 || sx >= s) continue;
            acc += W[((o * cin + i) * 3 + ky) * 3 + kx] * x[(i * s + sy) * s + sx];
          }
        }
      }
      const v = (acc - bn.mean[o]) * scale + bn.beta[o];
      out[(o * so + y) * so + xx] = v >= 0 ? v : slope * v;
    }
  }
  return out;
}

/** The encoder: context Float32Array [12][32][32] -> mu Float32Array [64]. */
export function createEncoder(model) {
  const t = (name) => model.tensors.get(name);
  const eps = model.config.batchNormEps ?? 1e-5;
  const slope = model.config.leakyReluSlope ?? 0.2;
  const size = model.config.frameSize ?? 32;
  const bn = (k) => ({ gamma: t(`encoder.bn${k}.weight`), beta: t(`encoder.bn${k}.bias`), mean: t(`encoder.bn${k}.running_mean`), variance: t(`encoder.bn${k}.running_var`) });
  return (context) => {
    let x = context, cin = 3 * (model.config.contextFrames ?? 4), s = size;
    for (const k of [1, 2, 3]) {
      const W = t(`encoder.conv${k}.weight`);
      x = encoderBlock(x, cin, s, W, t(`encoder.conv${k}.bias`), bn(k), eps, slope);
      cin = t(`encoder.conv${k}.bias`).length;
      s /= 2;
    }
    return Float32Array.from(linear(t('encoder.fc_mu.weight'), t('encoder.fc_mu.bias'), x, new Float64Array(t('encoder.fc_mu.bias').length)));
  };
}
