// CPU per frame of renderReactive with the open-loop gamma and the aimed exposure, alternating (docs/music-video.md#the-exposure-aims-at-a-brightness).
// node bench/video-profile.mjs song DIR 20 && node bench/react-exposure-cost.mjs DIR [WxH=480x270] [reps=2]
import { join } from 'node:path';
const dist = new URL('../dist', import.meta.url).pathname;
const [dir, size = '480x270', reps = '2'] = process.argv.slice(2);
const [W, H] = size.split('x').map(Number);
const { readWav } = await import(`${dist}/core/audio/wav.js`);
const { encodeTrack } = await import(`${dist}/core/model/encode.js`);
const { loadModel } = await import(`${dist}/core/sources.js`);
const { renderReactive } = await import(`${dist}/core/react/index.js`);
const { model, protocol } = await loadModel();
const decoded = await readWav(join(dir, 'song.wav'));
const track = await encodeTrack(model, decoded.samples, { fps: 30, sampleRate: decoded.sampleRate });
const out = { gamma: [], aim: [] };
for (let r = 0; r < Number(reps); r++) for (const mode of ['gamma', 'aim']) {
  const c0 = process.cpuUsage(); const t0 = performance.now(); let frames = 0;
  const s = await renderReactive(model, { samples: decoded.samples, sampleRate: decoded.sampleRate, track, width: W, height: H, fps: 30, protocol, threads: 1, exposureMode: mode, onFrame: () => { frames++; } });
  const c = process.cpuUsage(c0);
  out[mode].push({ cpuMsPerFrame: (c.user + c.system) / 1000 / frames, wall: (performance.now() - t0) / 1000, steps: s.steps });
  console.error(mode, out[mode].at(-1));
}
console.log(JSON.stringify(out));
