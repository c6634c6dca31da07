// Profile of a music video's stages (docs/video.md#profile): NCA steps, weights, effects, RGBA/YUV
// conversion, and ffmpeg alone on the same frames with several settings.
// node bench/video-profile.mjs song DIR [seconds=20]           -> DIR/song.wav (the rock song of nca bench)
// node bench/video-profile.mjs prepare DIR [seconds=20]        -> DIR/song.wav, DIR/frames-WxH.rgba (reactive frames)
// node bench/video-profile.mjs stages DIR WxH [threads]          -> per-stage seconds of the frame producer
// node bench/video-profile.mjs ffmpeg DIR WxH scale "args"       -> CPU and wall seconds of ffmpeg on the saved frames (FRAMES=n: the first n; SSIM=1: quality)
// node bench/video-profile.mjs full DIR WxH scale [threads] [preset] -> the whole music video of DIR/song.wav (track, reactions, ffmpeg)
// node bench/video-profile.mjs exposure DIR WxH [reps=2]        -> CPU ms per frame of the frame producer with the open-loop gamma and the aimed exposure, alternating
import os from 'node:os';
import { spawn } from 'node:child_process';
import { readFile, writeFile, open, stat } from 'node:fs/promises';
import { join } from 'node:path';

const [cmd, dir, a1, a2, a3] = process.argv.slice(2);
const cpu = async () => {
  const s = await readFile('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { self: (Number(f[11]) + Number(f[12])) / 100, children: (Number(f[13]) + Number(f[14])) / 100 };
};

async function song(seconds) {
  const { Soundfont } = await import('../dist/core/audio/soundfont.js');
  const { renderSong } = await import('../dist/core/audio/song.js');
  const { encodeWav16 } = await import('../dist/core/audio/wav-write.js');
  const sf = await Soundfont.load();
  const { samples } = await renderSong(sf, { style: 'rock', seconds, seed: 1 }, 44100);
  await writeFile(join(dir, 'song.wav'), encodeWav16(samples, 44100));
}

async function setup(size) {
  const [W, H] = size.split('x').map(Number);
  const { readWav } = await import('../dist/core/audio/wav.js');
  const { encodeTrack } = await import('../dist/core/model/encode.js');
  const { loadModel } = await import('../dist/core/sources.js');
  const { model, protocol } = await loadModel();
  const decoded = await readWav(join(dir, 'song.wav'));
  const track = await encodeTrack(model, decoded.samples, { fps: 30, sampleRate: decoded.sampleRate });
  return { W, H, model, protocol, decoded, track };
}

if (cmd === 'song') {
  await song(Number(a1 ?? 20));
} else if (cmd === 'prepare') {
  await song(Number(a1 ?? 20));
  for (const size of ['320x180', '480x270']) {
    const { W, H, model, protocol, decoded, track } = await setup(size);
    const { renderReactive } = await import('../dist/core/react/index.js');
    const fh = await open(join(dir, `frames-${size}.rgba`), 'w');
    const t0 = performance.now();
    const r = await renderReactive(model, { samples: decoded.samples, sampleRate: decoded.sampleRate, track, width: W, height: H, fps: 30, protocol, onFrame: async (rgba) => { await fh.write(rgba); } });
    await fh.close();
    console.log(JSON.stringify({ size, frames: r.frames, steps: r.steps, seconds: (performance.now() - t0) / 1000, load: os.loadavg()[0] }));
    model.dispose();
  }
} else if (cmd === 'stages') {
  const { W, H, model, protocol, decoded, track } = await setup(a1);
  const threads = a2 ? Number(a2) : undefined;
  const { frameFeatures } = await import('../dist/core/react/features.js');
  const { reactPlan } = await import('../dist/core/react/plan.js');
  const { trackLatents } = await import('../dist/core/react/index.js');
  const { applyExposure, applyPulse, rotateHue } = await import('../dist/core/react/effects.js');
  const { createEngine } = await import('../dist/core/nca/engine.js');
  const { protocolSteps } = await import('../dist/core/nca/graph.js');
  const { ncaParams } = await import('../dist/core/nca/params.js');
  const { planarToRgba } = await import('../dist/core/io/image.js');
  const { Rng } = await import('../dist/core/rng.js');
  const T = {}, C = {};
  const time = async (k, f) => { const t = performance.now(), c = process.cpuUsage(); const r = await f(); const d = process.cpuUsage(c); T[k] = (T[k] ?? 0) + (performance.now() - t) / 1000; C[k] = (C[k] ?? 0) + (d.user + d.system) / 1e6; return r; };
  const c0 = await cpu(), w0 = performance.now();
  const features = await time('features', () => frameFeatures(decoded.samples, { sampleRate: decoded.sampleRate, fps: 30 }));
  const frames = features.frames;
  const plan = await time('plan', () => reactPlan(features, { track: trackLatents(track, frames, 30), seed: 1 }));
  const params = await time('hypernetworkTfjs', () => model.hypernetwork(plan.latents, frames));
  const { frameWeights } = await import('../dist/core/react/weights.js');
  const { showFrame } = await import('../dist/core/react/effects.js');
  await time('hypernetworkOnnx', async () => {
    const w = await frameWeights(model, plan.latents, frames, threads);
    for (let i = 0; i < frames; i++) await w.at(i);
    await w.dispose();
  });
  const engine = await createEngine(ncaParams(params.slice(0, 4640)), { width: W, height: H, protocol: protocolSteps(protocol), threads, dynamicWeights: true, rng: new Rng(2) });
  let x = new Float32Array(16 * W * H).fill(0.5);
  const rgb = new Float32Array(3 * W * H), rgba = new Uint8Array(4 * W * H);
  const rng = new Rng(3);
  let steps = 0;
  for (let i = 0; i < frames; i++) {
    await time('setParams', () => engine.setParams(ncaParams(params.slice(i * 4640, (i + 1) * 4640))));
    const n = plan.steps[i];
    if (n > 0) x = await time('nca', () => engine.run(x, n));
    steps += n;
    await time('pulse', () => {
      rgb.set(x.subarray(0, rgb.length));
      if (plan.pulse[i] > 0) { applyPulse(rgb, W, H, plan.pulse[i], 'rings', i / 60, rng); x.set(rgb); }
    });
    await time('showFrame', () => showFrame(rgb, W * H, plan.hue[i], plan.exposure[i], rgba));
    await time('hueExposureThreePasses', () => {
      rotateHue(rgb, W * H, plan.hue[i]);
      applyExposure(rgb, plan.exposure[i]);
    });
    await time('toRgbaThreePasses', () => planarToRgba(rgb, W, H, 1, rgba));
  }
  // the noise alone
  const noise = new Float32Array(13 * W * H);
  await time('noiseOnly', () => { for (let k = 0; k < steps; k++) rng.fillNormal(noise, 0, 0.1); });
  const c1 = await cpu();
  console.log(JSON.stringify({ size: a1, threads: threads ?? os.availableParallelism(), frames, steps, seconds: Object.fromEntries(Object.entries(T).map(([k, v]) => [k, +v.toFixed(2)])), cpuSeconds: Object.fromEntries(Object.entries(C).map(([k, v]) => [k, +v.toFixed(2)])), wall: +((performance.now() - w0) / 1000).toFixed(2), cpu: +(c1.self - c0.self).toFixed(2), load: os.loadavg()[0] }));
  await engine.dispose();
  model.dispose();
} else if (cmd === 'full') {
  // node bench/video-profile.mjs full DIR WxH scale threads preset: the whole music video as nca bench runs it
  const t0 = performance.now(), c0 = await cpu();
  const { W, H, model, protocol, decoded, track } = await setup(a1);
  const tTrack = (performance.now() - t0) / 1000;
  const { writeMusicVideo } = await import('../dist/core/video/music-video.js');
  const threads = process.argv[6] ? Number(process.argv[6]) : undefined;
  const preset = process.argv[7] || undefined;
  const r = await writeMusicVideo(model, { sound: { kind: 'file', path: join(dir, 'song.wav') }, samples: decoded.samples, sampleRate: decoded.sampleRate, track, width: W, height: H, scale: Number(a2), fps: 30, protocol, threads, preset, out: join(dir, 'full.mp4') });
  const c1 = await cpu(), wall = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ size: a1, scale: Number(a2), threads: threads ?? os.availableParallelism(), preset: preset ?? 'default', frames: r.frames, steps: r.steps, duration: +r.duration.toFixed(2), wall: +wall.toFixed(2), realtime: +(wall / r.duration).toFixed(2), setupAndTrack: +tTrack.toFixed(2), simulate: +r.seconds.simulate.toFixed(2), waiting: +(r.seconds.waiting ?? 0).toFixed(2), ncaCpu: +(c1.self - c0.self).toFixed(2), ffmpegCpu: +(c1.children - c0.children).toFixed(2), cpuFactor: +((c1.self - c0.self + c1.children - c0.children) / (2 * r.duration)).toFixed(2), bytes: (await stat(join(dir, "full.mp4"))).size, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), load: os.loadavg().map((x) => +x.toFixed(1)) }));
  model.dispose();
} else if (cmd === 'exposure') {
  // the aimed exposure's cost (docs/music-video.md#the-exposure-aims-at-a-brightness): the same render, one thread, both modes in turn
  const { W, H, model, protocol, decoded, track } = await setup(a1);
  const { renderReactive } = await import('../dist/core/react/index.js');
  const out = { gamma: [], aim: [] };
  for (let r = 0; r < Number(a2 ?? 2); r++) for (const mode of ['gamma', 'aim']) {
    const c0 = process.cpuUsage();
    let frames = 0;
    const s = await renderReactive(model, { samples: decoded.samples, sampleRate: decoded.sampleRate, track, width: W, height: H, fps: 30, protocol, threads: 1, exposureMode: mode, onFrame: () => { frames++; } });
    const c = process.cpuUsage(c0);
    out[mode].push({ cpuMsPerFrame: +((c.user + c.system) / 1000 / frames).toFixed(2), steps: s.steps });
  }
  console.log(JSON.stringify({ size: a1, ...out, load: os.loadavg().map((x) => +x.toFixed(1)) }));
  model.dispose();
} else if (cmd === 'ffmpeg') {
  const [W, H] = a1.split('x').map(Number);
  const scale = Number(a2);
  const file = join(dir, `frames-${a1}.rgba`);
  const frames = Math.min(Number(process.env.FRAMES ?? Infinity), (await stat(file)).size / (W * H * 4));
  const extra = (a3 ?? '').split(' ').filter(Boolean);
  const FF = new URL('../node_modules/@ffmpeg-installer/linux-x64/ffmpeg', import.meta.url).pathname;
  // input pix_fmt may be overridden by "-in yuv444p" (frames converted in JS first)
  let inFmt = 'rgba';
  const i = extra.indexOf('-in');
  if (i >= 0) { inFmt = extra[i + 1]; extra.splice(i, 2); }
  const out = join(dir, 'out.mp4');
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', inFmt, '-s', `${W}x${H}`, '-framerate', '30', '-i', 'pipe:0', ...extra, '-an', out];
  const c0 = await cpu(), w0 = performance.now();
  const child = spawn(FF, args, { stdio: ['pipe', 'ignore', 'inherit'] });
  const raw = (await readFile(file)).subarray(0, frames * W * H * 4);
  let src = raw;
  if (inFmt !== 'rgba') {
    // BT.601 limited range as swscale's default, planar 4:4:4, per frame
    const plane = W * H;
    src = Buffer.allocUnsafe(frames * 3 * plane);
    for (let f = 0; f < frames; f++) {
      const o = f * 3 * plane, p = f * 4 * plane;
      for (let i = 0; i < plane; i++) {
        const r = raw[p + 4 * i], g = raw[p + 4 * i + 1], b = raw[p + 4 * i + 2];
        src[o + i] = Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
        src[o + plane + i] = Math.round(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
        src[o + 2 * plane + i] = Math.round(128 + (112 * r - 93.786 * g - 18.214 * b) / 255);
      }
    }
  }
  const tConv = (performance.now() - w0) / 1000;
  child.stdin.end(src);
  await new Promise((r) => child.on('close', r));
  const c1 = await cpu();
  // quality: SSIM and PSNR (luma) of the file against the frames scaled losslessly with Lanczos to the same size
  const [ow, oh] = [W * scale + ((W * scale) % 2), H * scale + ((H * scale) % 2)];
  const q = process.env.SSIM !== '1' ? [] : await new Promise((resolve) => {
    const c = spawn(FF, ['-hide_banner', '-nostdin', '-i', out, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${W}x${H}`, '-framerate', '30', '-i', file, '-frames:v', String(frames),
      '-lavfi', `[1:v]scale=${ow}:${oh}:flags=lanczos,format=yuv420p[ref];[0:v]format=yuv420p[d];[d][ref]ssim`, '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('close', () => resolve(/SSIM Y:([\d.]+).*All:([\d.]+)/.exec(err)?.slice(1).map(Number) ?? err.slice(-300)));
  });
  console.log(JSON.stringify({ size: a1, scale, args: a3, frames, ssimY: q[0], ssimAll: q[1], wall: +((performance.now() - w0) / 1000).toFixed(2), conv: +tConv.toFixed(2), ffmpegCpu: +(c1.children - c0.children).toFixed(2), bytes: (await stat(out)).size, load: os.loadavg()[0] }));
}
