// The NCA on WebGL2 fragment shaders (docs/play.md): the 16-channel state as four RGBA32F
// textures (channels 4g..4g+3 in texture g), one pass per stage, weights in uniform blocks as
// mat4 blocks, circular padding by wrapped texelFetch.
//
//   h  = relu(conv3x3_circular(x, w1) + b1)        pass "conv1": 4 outputs (MRT), 36 mat4 x vec4 each
//   x' = x + conv3x3_circular(h, w2) + b2          pass "conv2": the carried channels only
//   frame protocol: x = [rgb of the last frame, N(0, noiseStd^2) hidden], rgb' = sigmoid(x'[0..2])
//   free protocol:  the whole state carries; what is shown is sigmoid(x'[0..2])
//
// Parameters: the flat 4640-vector w1[16][16][3][3] (out, in, ky, kx), b1[16], w2, b2 (docs/design.md).

const C = 16;
const G = 4; // RGBA groups of 4 channels

const VERTEX = `#version 300 es
in vec2 pos;
void main() { gl_Position = vec4(pos, 0.0, 1.0); }`;

const HEADER = `#version 300 es
precision highp float;
precision highp int;
uniform ivec2 size;
ivec2 wrap(ivec2 p) { return (p + size) % size; }
`;

// x = the 16-channel input of a step. Frame protocol: rgb from the carried texture, hidden from noise.
const NOISE = HEADER + `
uniform sampler2D rgb;      // carried RGB (frame protocol)
uniform uint seed;          // per step
uniform float noiseStd;
layout(location = 0) out vec4 x0;
layout(location = 1) out vec4 x1;
layout(location = 2) out vec4 x2;
layout(location = 3) out vec4 x3;
uint pcg(uint v) { uint s = v * 747796405u + 2891336453u; uint w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u; return (w >> 22u) ^ w; }
vec2 normals(uint key) {
  // Box-Muller from two 24-bit uniforms in (0, 1]
  uint a = pcg(key), b = pcg(a ^ 0x9e3779b9u);
  float u1 = (float(a >> 8u) + 1.0) / 16777216.0, u2 = float(b >> 8u) / 16777216.0;
  float r = sqrt(-2.0 * log(u1));
  return r * vec2(cos(6.28318530718 * u2), sin(6.28318530718 * u2));
}
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  uint key = pcg(uint(p.x) + uint(size.x) * uint(p.y) + seed * 0x01000193u) * 8u;
  vec2 n01 = normals(key), n23 = normals(key + 1u), n45 = normals(key + 2u), n67 = normals(key + 3u);
  vec2 n89 = normals(key + 4u), nab = normals(key + 5u), ncd = normals(key + 6u);
  x0 = vec4(texelFetch(rgb, p, 0).rgb, n01.x * noiseStd);
  x1 = vec4(n01.y, n23.x, n23.y, n45.x) * noiseStd;
  x2 = vec4(n45.y, n67.x, n67.y, n89.x) * noiseStd;
  x3 = vec4(n89.y, nab.x, nab.y, ncd.x) * noiseStd;
}`;

// Sum over the 9 neighbours and 4 input groups of m[(og * 4 + ig) * 9 + k] * x_ig(neighbour k).
const convSum = (mats, og) => {
  // fully unrolled with constant indices (SwiftShader runs dynamic uniform indexing slowly)
  let body = `\n  vec4 acc = bias[${og}];\n  ivec2 q;`;
  for (let k = 0; k < 9; k++) {
    body += `\n  q = wrap(p + ivec2(${(k % 3) - 1}, ${Math.floor(k / 3) - 1}));`;
    for (let ig = 0; ig < 4; ig++) body += `\n  acc += ${mats}[${(og * 4 + ig) * 9 + k}] * texelFetch(in${ig}, q, 0);`;
  }
  return body;
};

const INPUTS = `uniform sampler2D in0; uniform sampler2D in1; uniform sampler2D in2; uniform sampler2D in3;`;

const CONV1 = HEADER + `
${INPUTS}
layout(std140) uniform Conv1 { mat4 w1[144]; vec4 b1[4]; };
#define bias b1
layout(location = 0) out vec4 h0;
layout(location = 1) out vec4 h1;
layout(location = 2) out vec4 h2;
layout(location = 3) out vec4 h3;
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  { ${convSum('w1', 0)} h0 = max(acc, 0.0); }
  { ${convSum('w1', 1)} h1 = max(acc, 0.0); }
  { ${convSum('w1', 2)} h2 = max(acc, 0.0); }
  { ${convSum('w1', 3)} h3 = max(acc, 0.0); }
}`;

// Frame protocol: only output group 0 (RGB) of conv2 is used.
const CONV2_FRAME = HEADER + `
${INPUTS}
uniform sampler2D carried;
layout(std140) uniform Conv2 { mat4 w2[144]; vec4 b2[4]; };
#define bias b2
out vec4 rgb;
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  ${convSum('w2', 0)}
  vec3 x = texelFetch(carried, p, 0).rgb + acc.rgb;
  rgb = vec4(1.0 / (1.0 + exp(-x)), 1.0);
}`;

const CONV2_FREE = HEADER + `
${INPUTS}
uniform sampler2D s0; uniform sampler2D s1; uniform sampler2D s2; uniform sampler2D s3;
layout(std140) uniform Conv2 { mat4 w2[144]; vec4 b2[4]; };
#define bias b2
layout(location = 0) out vec4 x0;
layout(location = 1) out vec4 x1;
layout(location = 2) out vec4 x2;
layout(location = 3) out vec4 x3;
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  { ${convSum('w2', 0)} x0 = texelFetch(s0, p, 0) + acc; }
  { ${convSum('w2', 1)} x1 = texelFetch(s1, p, 0) + acc; }
  { ${convSum('w2', 2)} x2 = texelFetch(s2, p, 0) + acc; }
  { ${convSum('w2', 3)} x3 = texelFetch(s3, p, 0) + acc; }
}`;

// What is shown: the carried RGB (frame) or sigmoid of channels 0..2 (free), y flipped so row 0 is the top.
const SHOW = HEADER + `
uniform sampler2D src;
uniform bool squash;
uniform ivec2 view;
out vec4 color;
void main() {
  ivec2 p = ivec2(gl_FragCoord.x, float(view.y) - gl_FragCoord.y) * size / view;
  vec3 v = texelFetch(src, p, 0).rgb;
  color = vec4(squash ? 1.0 / (1.0 + exp(-v)) : v, 1.0);
}`;

/**
 * Packs one conv's weights (OIHW [16][16][3][3]) and bias [16] into the std140 block
 * { mat4 w[144]; vec4 b[4]; }: mat4 (og, ig, k) at (og * 4 + ig) * 9 + k, column c = input 4 ig + c,
 * row r = output 4 og + r (GLSL's mat4 * vec4).
 */
export function packConv(w, b) {
  const block = new Float32Array(144 * 16 + 16);
  for (let og = 0; og < G; og++) for (let ig = 0; ig < G; ig++) for (let k = 0; k < 9; k++) {
    const base = ((og * G + ig) * 9 + k) * 16;
    for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) block[base + c * 4 + r] = w[((og * 4 + r) * C + ig * 4 + c) * 9 + k];
  }
  block.set(b, 144 * 16);
  return block;
}

/**
 * createWebglNca(canvas, { width, height, protocol: 'frame' | 'free', noiseStd })
 * -> { setParams(flat), setState(x [16][H][W]), setNoise(noise [13][H][W] | null), step(n), draw(),
 *      readState() -> [16][H][W] (free) or [3][H][W] (frame), erase(cx, cy, r), reset(seed), dispose() }
 * Everything is allocated here; step() swaps textures.
 */
export function createWebglNca(canvas, opts) {
  const W = opts.width, H = opts.height;
  const free = opts.protocol === 'free';
  const noiseStd = opts.noiseStd ?? 0.1;
  const gl = canvas.getContext('webgl2', { antialias: false, preserveDrawingBuffer: true, alpha: false });
  if (!gl) throw new Error('WebGL2 is not available in this browser');
  if (!gl.getExtension('EXT_color_buffer_float')) throw new Error('this browser cannot render to float textures (EXT_color_buffer_float)');

  const compile = (src, type) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s)}`);
    return s;
  };
  const vs = compile(VERTEX, gl.VERTEX_SHADER);
  const program = (src) => {
    const p = gl.createProgram();
    gl.attachShader(p, vs);
    gl.attachShader(p, compile(src, gl.FRAGMENT_SHADER));
    gl.bindAttribLocation(p, 0, 'pos');
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(p)}`);
    return p;
  };
  const quad = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, quad);
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
  gl.enableVertexAttribArray(0);
  gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);

  const texture = () => {
    const t = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, W, H);
    for (const [k, v] of [[gl.TEXTURE_MIN_FILTER, gl.NEAREST], [gl.TEXTURE_MAG_FILTER, gl.NEAREST]]) gl.texParameteri(gl.TEXTURE_2D, k, v);
    return t;
  };
  const target = (textures) => {
    const fb = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    textures.forEach((t, i) => gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, gl.TEXTURE_2D, t, 0));
    gl.drawBuffers(textures.map((_, i) => gl.COLOR_ATTACHMENT0 + i));
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) throw new Error('incomplete framebuffer');
    return { fb, textures };
  };
  const group = () => [texture(), texture(), texture(), texture()];
  // Frame: x (input of a step, 4 textures), h (4), rgb ping-pong (2 x 1). Free: state ping-pong (2 x 4), h (4).
  const x = target(group());
  const h = target(group());
  const states = free ? [target(group()), target(group())] : [target([texture()]), target([texture()])];
  let cur = 0;

  const progs = {
    noise: free ? null : program(NOISE),
    conv1: program(CONV1),
    conv2: program(free ? CONV2_FREE : CONV2_FRAME),
    show: program(SHOW),
  };
  const uniforms = new Map();
  const loc = (p, name) => {
    const key = p;
    if (!uniforms.has(key)) uniforms.set(key, new Map());
    const m = uniforms.get(key);
    if (!m.has(name)) m.set(name, gl.getUniformLocation(p, name));
    return m.get(name);
  };
  const blocks = [gl.createBuffer(), gl.createBuffer()];
  for (const [i, p, name] of [[0, progs.conv1, 'Conv1'], [1, progs.conv2, 'Conv2']]) {
    gl.uniformBlockBinding(p, gl.getUniformBlockIndex(p, name), i);
    gl.bindBuffer(gl.UNIFORM_BUFFER, blocks[i]);
    gl.bufferData(gl.UNIFORM_BUFFER, (144 * 16 + 16) * 4, gl.DYNAMIC_DRAW);
    gl.bindBufferBase(gl.UNIFORM_BUFFER, i, blocks[i]);
  }
  const bindInputs = (p, textures, names, unit0 = 0) => {
    textures.forEach((t, i) => {
      gl.activeTexture(gl.TEXTURE0 + unit0 + i);
      gl.bindTexture(gl.TEXTURE_2D, t);
      gl.uniform1i(loc(p, names[i]), unit0 + i);
    });
  };
  const pass = (p, out) => {
    gl.useProgram(p);
    gl.uniform2i(loc(p, 'size'), W, H);
    return () => {
      gl.bindFramebuffer(gl.FRAMEBUFFER, out.fb);
      gl.viewport(0, 0, W, H);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    };
  };

  let seed = 1;
  let fixedNoise = false;
  const api = {
    width: W,
    height: H,
    protocol: free ? 'free' : 'frame',
    renderer: `WebGL2 fragment shaders on ${gl.getParameter(gl.getExtension('WEBGL_debug_renderer_info')?.UNMASKED_RENDERER_WEBGL ?? gl.RENDERER)}`,
    setParams(flat) {
      const w1 = flat.subarray(0, 2304), b1 = flat.subarray(2304, 2320), w2 = flat.subarray(2320, 4624), b2 = flat.subarray(4624, 4640);
      gl.bindBuffer(gl.UNIFORM_BUFFER, blocks[0]);
      gl.bufferSubData(gl.UNIFORM_BUFFER, 0, packConv(w1, b1));
      gl.bindBuffer(gl.UNIFORM_BUFFER, blocks[1]);
      gl.bufferSubData(gl.UNIFORM_BUFFER, 0, packConv(w2, b2));
    },
    /** x: Float32Array [16][H][W] (CHW); frame protocol keeps channels 0..2. Row 0 is the top. */
    setState(state) {
      const groups = free ? G : 1;
      const rgba = new Float32Array(W * H * 4);
      for (let g = 0; g < groups; g++) {
        rgba.fill(0);
        for (let c = 0; c < 4; c++) {
          const ch = g * 4 + c;
          if (!free && ch >= 3) continue;
          for (let i = 0; i < W * H; i++) rgba[i * 4 + c] = state[ch * W * H + i];
        }
        gl.bindTexture(gl.TEXTURE_2D, states[cur].textures[g]);
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, W, H, gl.RGBA, gl.FLOAT, rgba);
      }
    },
    /**
     * Frame protocol: the hidden noise of the next step, Float32Array [13][H][W] already scaled
     * (tests: the Node engine's noise), or null to go back to noise drawn on the GPU.
     */
    setNoise(noise) {
      fixedNoise = noise !== null;
      if (!noise) return;
      const rgba = new Float32Array(W * H * 4);
      for (let g = 0; g < G; g++) {
        rgba.fill(0);
        for (let c = 0; c < 4; c++) {
          const ch = g * 4 + c - 3; // hidden channel index; x0 holds rgb + hidden 0
          if (ch < 0) continue;
          for (let i = 0; i < W * H; i++) rgba[i * 4 + c] = noise[ch * W * H + i];
        }
        gl.bindTexture(gl.TEXTURE_2D, x.textures[g]);
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, W, H, gl.RGBA, gl.FLOAT, rgba);
      }
    },
    /** n NCA steps. */
    step(n = 1) {
      for (let s = 0; s < n; s++) {
        const src = states[cur], dst = states[1 - cur];
        let input = src.textures;
        if (!free) {
          if (fixedNoise) {
            // copy the carried rgb into x0's rgb, keeping x0.a (hidden 0) from setNoise
            gl.bindFramebuffer(gl.READ_FRAMEBUFFER, src.fb);
            gl.bindTexture(gl.TEXTURE_2D, x.textures[0]);
            const keep = new Float32Array(W * H * 4);
            gl.bindFramebuffer(gl.FRAMEBUFFER, x.fb);
            gl.readBuffer(gl.COLOR_ATTACHMENT0);
            gl.readPixels(0, 0, W, H, gl.RGBA, gl.FLOAT, keep);
            gl.bindFramebuffer(gl.FRAMEBUFFER, src.fb);
            gl.readBuffer(gl.COLOR_ATTACHMENT0);
            const rgb = new Float32Array(W * H * 4);
            gl.readPixels(0, 0, W, H, gl.RGBA, gl.FLOAT, rgb);
            for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) keep[i * 4 + c] = rgb[i * 4 + c];
            gl.bindTexture(gl.TEXTURE_2D, x.textures[0]);
            gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, W, H, gl.RGBA, gl.FLOAT, keep);
          } else {
            const draw = pass(progs.noise, x);
            bindInputs(progs.noise, [src.textures[0]], ['rgb']);
            gl.uniform1ui(loc(progs.noise, 'seed'), seed++ >>> 0);
            gl.uniform1f(loc(progs.noise, 'noiseStd'), noiseStd);
            draw();
          }
          input = x.textures;
        }
        let draw = pass(progs.conv1, h);
        bindInputs(progs.conv1, input, ['in0', 'in1', 'in2', 'in3']);
        draw();
        draw = pass(progs.conv2, dst);
        bindInputs(progs.conv2, h.textures, ['in0', 'in1', 'in2', 'in3']);
        if (free) bindInputs(progs.conv2, src.textures, ['s0', 's1', 's2', 's3'], 4);
        else bindInputs(progs.conv2, [src.textures[0]], ['carried'], 4);
        draw();
        cur = 1 - cur;
      }
    },
    /** Draws the visible RGB to the canvas (its drawing buffer size). */
    draw() {
      const p = progs.show;
      gl.useProgram(p);
      gl.uniform2i(loc(p, 'size'), W, H);
      gl.uniform2i(loc(p, 'view'), canvas.width, canvas.height);
      gl.uniform1i(loc(p, 'squash'), free ? 1 : 0);
      bindInputs(p, [states[cur].textures[0]], ['src']);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      gl.viewport(0, 0, canvas.width, canvas.height);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    },
    /** The visible planes: [3][H][W] sigmoid RGB (free: the whole state [16][H][W]), row 0 the top. */
    readState() {
      const groups = free ? G : 1;
      const out = new Float32Array((free ? C : 3) * W * H);
      const rgba = new Float32Array(W * H * 4);
      gl.bindFramebuffer(gl.FRAMEBUFFER, states[cur].fb);
      for (let g = 0; g < groups; g++) {
        gl.readBuffer(gl.COLOR_ATTACHMENT0 + g);
        gl.readPixels(0, 0, W, H, gl.RGBA, gl.FLOAT, rgba);
        for (let c = 0; c < 4; c++) {
          const ch = g * 4 + c;
          if (ch >= (free ? C : 3)) continue;
          for (let i = 0; i < W * H; i++) out[ch * W * H + i] = rgba[i * 4 + c];
        }
      }
      return out;
    },
    /** Zeroes the cells of the square [cx - r, cx + r] x [cy - r, cy + r] (grid coordinates, row 0 the top). */
    erase(cx, cy, r) {
      gl.bindFramebuffer(gl.FRAMEBUFFER, states[cur].fb);
      gl.enable(gl.SCISSOR_TEST);
      gl.scissor(Math.round(cx - r), Math.round(cy - r), Math.round(2 * r + 1), Math.round(2 * r + 1));
      const zero = new Float32Array(4);
      for (let g = 0; g < (free ? G : 1); g++) gl.clearBufferfv(gl.COLOR, g, zero);
      gl.disable(gl.SCISSOR_TEST);
    },
    /** Waits until the GPU has finished the queued work (for timing). */
    finish() {
      const px = new Float32Array(4);
      gl.bindFramebuffer(gl.FRAMEBUFFER, states[cur].fb);
      gl.readBuffer(gl.COLOR_ATTACHMENT0);
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, px);
    },
    dispose() {
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    },
  };
  return api;
}
