// nca play: the seed's live demo (docs/play.md). A latent (a note, a chord, a random point or the
// microphone) -> the hypernetwork (model.js) -> the NCA's 4640 weights -> the NCA under the model's
// protocol on onnxruntime-web (nca-engine.js), one step per frame, drawn scaled to the window.
import { loadModel, loadNotes, createHypernetwork, createEncoder } from './model.js';
import { createNcaEngine } from './nca-engine.js';
import { encodeTrack, LiveTrack } from './audio.js';
import { ANALYSIS_RATE } from './dist/core/audio/spectrogram.js';
import { Rng } from './dist/core/rng.js';

const base = new URL('./', location.href);
const query = new URLSearchParams(location.search);
/** Grid side (64, 128 or 256), unrolled steps per engine call, seed of every random draw. */
const SIZE = Number(query.get('size') ?? 128);
const STEPS_PER_RUN = Number(query.get('steps') ?? 4);
const SEED = Number(query.get('seed') ?? 1);
/** Perturbation: level 1..9 -> sigma 0.1 level (render.ts: level / 9 x PERTURB_SIGMA_MAX 0.9); an AR(1) walk redrawn every 8 steps. */
const PERTURB_MAX = 9;
const PERTURB_INTERVAL = 8;
const PERTURB_SIGMA_MAX = 0.9;
const MIC_FPS = 12;

/** Keyboard -> note, as the seed: A-L white keys, W/E/R/Y/U/O/P black keys, F4..B5 (; [ ' for the top three). */
const KEYMAP = { a: 'F4', w: 'F#4', s: 'G4', e: 'G#4', d: 'A4', r: 'A#4', f: 'B4', g: 'C5', y: 'C#5', h: 'D5', u: 'D#5', j: 'E5', k: 'F5', o: 'F#5', l: 'G5', p: 'G#5', ';': 'A5', '[': 'A#5', "'": 'B5' };
const KEY_OF_NOTE = Object.fromEntries(Object.entries(KEYMAP).map(([k, n]) => [n, k]));

const $ = (id) => document.getElementById(id);
const canvas = $('view');
const ctx = canvas.getContext('2d');

const play = {
  latent: new Float32Array(64),
  name: '',
  instrument: 'piano',
  held: new Set(),
  perturb: PERTURB_MAX,
  perturbKey: '0',
  frames: 0,
  fps: 0,
  mic: null,
  micPoints: 0,
  recording: null,
};

function showError(e) {
  console.error(e);
  $('error').hidden = false;
  $('error').textContent = `nca play: ${e && e.message ? e.message : e}`;
}

/** onnxruntime-web on this thread, loaded when first needed (the test and bench hooks; the loop uses the worker). */
let ortHere = null;
async function loadOrt() {
  if (!ortHere) {
    ortHere = await import('./vendor/ort/ort.wasm.min.mjs');
    ortHere.env.wasm.wasmPaths = new URL('vendor/ort/', base).href;
    ortHere.env.wasm.numThreads = THREADS;
  }
  return ortHere;
}
/**
 * onnxruntime threads: 1 (?threads=2 asks for two, which needs cross-origin isolation, as `nca play` serves the
 * page). Two threads were never faster in this project's measurements on a shared 2-core machine (docs/play.md).
 */
const THREADS = self.crossOriginIsolated ? Math.max(1, Math.min(Number(query.get('threads') ?? 1), navigator.hardwareConcurrency || 1)) : 1;

/** The engine in a worker (engine-worker.js), behind the engine's interface; run() resolves with K frames. */
async function workerEngine(options) {
  const worker = new Worker(new URL('engine-worker.js', base), { type: 'module' });
  let pending = null;
  let failed = null;
  const ready = new Promise((resolve, reject) => {
    worker.onmessage = ({ data: m }) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'frames') pending.resolve(m.frames);
      else if (m.type === 'error') {
        failed = new Error(m.message);
        if (pending) pending.reject(failed);
        else reject(failed);
      }
    };
    worker.onerror = (e) => reject(new Error(`the engine worker failed: ${e.message}`));
  });
  worker.postMessage({ type: 'init', options, threads: Number(query.get('workerThreads') ?? THREADS) });
  await ready;
  return {
    setParams: (flat) => worker.postMessage({ type: 'params', flat }),
    setState: (state) => worker.postMessage({ type: 'state', state }),
    erase: (x, y, radius) => worker.postMessage({ type: 'erase', x, y, radius }),
    run: () =>
      new Promise((resolve, reject) => {
        if (failed) return reject(failed);
        pending = { resolve, reject };
        worker.postMessage({ type: 'run' });
      }),
  };
}

async function start() {
  const modelBase = new URL('model/', base);
  const [model, notes] = await Promise.all([loadModel(modelBase), loadNotes(modelBase)]);
  const hypernetwork = createHypernetwork(model);
  const encode = createEncoder(model);
  const protocol = model.config.protocol === 'free' ? 'free' : 'frame';
  const noiseStd = model.config.protocolDetails?.noiseStd ?? 0.1;
  const engineOptions = { width: SIZE, height: SIZE, protocol, steps: STEPS_PER_RUN, noiseStd, seed: SEED };
  // The engine on this thread (drawing waits while it computes). ?worker=1 moves it to a worker, which would
  // keep drawing smooth, but here it drew a steady ~1 frame per second (docs/play.md), so it is not the default.
  const engine = query.get('worker') === '1' ? await workerEngine(engineOptions) : await createNcaEngine({ ...engineOptions, ort: await loadOrt(), base });
  canvas.width = canvas.height = SIZE;
  const image = ctx.createImageData(SIZE, SIZE);
  const rng = new Rng(SEED + 1);
  const walk = new Float32Array(64);
  const effective = new Float32Array(64);
  let steps = 0;
  let randomCount = 0;

  // ---- latents
  const setLatent = (z, name) => {
    play.latent = Float32Array.from(z);
    play.name = name;
    $('name').textContent = name;
    updateWeights();
  };
  const updateWeights = () => {
    const sigma = (play.perturb / PERTURB_MAX) * PERTURB_SIGMA_MAX;
    for (let i = 0; i < 64; i++) effective[i] = play.latent[i] + sigma * walk[i];
    engine.setParams(hypernetwork(effective));
  };
  const stepWalk = () => {
    for (let i = 0; i < 64; i++) walk[i] = 0.9 * walk[i] + Math.sqrt(1 - 0.81) * rng.normal();
  };
  const noteLatent = (note) => Float32Array.from(notes.latents[play.instrument][note]);
  const playHeld = () => {
    const held = [...play.held];
    if (held.length === 0) return;
    const z = new Float32Array(64);
    for (const n of held) {
      const v = noteLatent(n);
      for (let i = 0; i < 64; i++) z[i] += v[i] / held.length;
    }
    setLatent(z, `${play.instrument} ${held.join(' + ')}`);
  };
  const press = (note) => {
    if (play.held.has(note)) return;
    play.held.add(note);
    keyElements[note]?.classList.add('down');
    playHeld();
  };
  const release = (note) => {
    play.held.delete(note);
    keyElements[note]?.classList.remove('down');
  };
  const randomLatent = () => {
    randomCount++;
    setLatent(rng.normalArray(new Float32Array(64)), `random latent #${randomCount}`);
  };
  const setPerturb = (key) => {
    const level = key === '0' ? PERTURB_MAX : Number(key);
    play.perturb = key === play.perturbKey && play.perturb !== 0 ? 0 : level;
    play.perturbKey = key;
    $('perturb').textContent = `perturbation ${play.perturb === 0 ? 'off' : play.perturb === PERTURB_MAX ? 'max' : play.perturb}`;
    updateWeights();
  };
  const reset = () => {
    const x = new Float32Array(16 * SIZE * SIZE);
    rng.fillUniform(x.subarray(0, 3 * SIZE * SIZE), 0, 1);
    engine.setState(x);
    queue.length = 0;
  };

  // ---- controls
  const select = $('instrument');
  for (const name of notes.instruments) select.append(new Option(name, name));
  select.addEventListener('change', () => {
    play.instrument = select.value;
    playHeld();
    select.blur();
  });
  const keyElements = buildKeyboard(notes.notes, press, release);
  window.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.target instanceof HTMLSelectElement) return;
    const k = e.key.toLowerCase();
    if (/^[0-9]$/.test(k)) {
      if (!e.repeat) setPerturb(k);
    } else if (KEYMAP[k]) {
      e.preventDefault();
      if (!e.repeat) press(KEYMAP[k]);
    }
  });
  window.addEventListener('keyup', (e) => {
    const n = KEYMAP[e.key.toLowerCase()];
    if (n) release(n);
  });
  window.addEventListener('blur', () => [...play.held].forEach(release));
  $('random').addEventListener('click', randomLatent);
  $('reset').addEventListener('click', reset);
  $('mic').addEventListener('click', () => toggleMic().catch(showError));
  $('record').addEventListener('click', toggleRecording);
  // drag to erase: a disc of radius size / 16 cells under the pointer
  const erase = (e) => {
    if (!(e.buttons & 1)) return;
    const r = canvas.getBoundingClientRect();
    engine.erase(((e.clientX - r.left) / r.width) * SIZE, ((e.clientY - r.top) / r.height) * SIZE, SIZE / 16);
    queue.length = 0;
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    erase(e);
  });
  canvas.addEventListener('pointermove', erase);

  // ---- microphone: audio -> the sliding window of nca encode --track -> the latent
  const toggleMic = async () => {
    if (play.mic) {
      play.mic.stop();
      play.mic = null;
      $('mic').classList.remove('on');
      return;
    }
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 } });
    const audio = new AudioContext({ sampleRate: ANALYSIS_RATE });
    await audio.audioWorklet.addModule(new URL('capture-worklet.js', base));
    const source = audio.createMediaStreamSource(stream);
    const capture = new AudioWorkletNode(audio, 'nca-capture');
    const mute = audio.createGain();
    mute.gain.value = 0;
    source.connect(capture).connect(mute).connect(audio.destination);
    const track = new LiveTrack(encode, MIC_FPS, undefined, model.config.pictures);
    let last = -1;
    capture.port.onmessage = (m) => {
      track.push(m.data);
      const point = track.latest();
      if (point && point.i !== last) {
        last = point.i;
        play.micPoints++;
        setLatent(point.z, `microphone (${point.t.toFixed(1)} s)`);
      }
    };
    if (audio.state !== 'running') await audio.resume();
    play.mic = {
      stop() {
        stream.getTracks().forEach((t) => t.stop());
        void audio.close();
      },
    };
    $('mic').classList.add('on');
  };

  // ---- the loop: frames computed K at a time, one drawn per animation frame
  const queue = [];
  let running = false;
  const compute = async () => {
    running = true;
    try {
      if (play.perturb > 0 && steps % PERTURB_INTERVAL < STEPS_PER_RUN) {
        stepWalk();
        updateWeights();
      }
      queue.push(...(await engine.run()));
      steps += STEPS_PER_RUN;
    } catch (e) {
      showError(e);
    } finally {
      running = false;
    }
  };
  const draw = (rgb) => {
    const d = image.data, plane = SIZE * SIZE;
    for (let i = 0; i < plane; i++) {
      d[4 * i] = rgb[i] * 255;
      d[4 * i + 1] = rgb[plane + i] * 255;
      d[4 * i + 2] = rgb[2 * plane + i] * 255;
      d[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    play.frames++;
    play.lastFrame = rgb;
  };
  let fpsFrames = 0, fpsStart = performance.now();
  const tick = () => {
    if (queue.length > 0) draw(queue.shift());
    if (queue.length < STEPS_PER_RUN && !running && !play.paused) void compute();
    fpsFrames++;
    const now = performance.now();
    if (now - fpsStart >= 1000) {
      play.fps = ((play.frames - (play.fpsBase ?? 0)) * 1000) / (now - fpsStart);
      play.ticksPerSecond = (fpsFrames * 1000) / (now - fpsStart);
      fpsFrames = 0;
      play.fpsBase = play.frames;
      fpsStart = now;
      $('fps').textContent = `${play.fps.toFixed(0)} fps`;
    }
    requestAnimationFrame(tick);
  };

  // ---- the test and bench interface (docs/play.md)
  window.ncaPlay = {
    status: () => ({ latent: Array.from(play.latent), effective: Array.from(effective), name: play.name, instrument: play.instrument, perturb: play.perturb, frames: play.frames, fps: play.fps, micPoints: play.micPoints, mic: play.mic !== null, ticksPerSecond: play.ticksPerSecond, size: SIZE, protocol, threads: THREADS }),
    frame: () => Array.from(play.lastFrame ?? []),
    noteLatent: (instrument, note) => Array.from(Float32Array.from(notes.latents[instrument][note])),
    hypernetwork: (z) => Array.from(hypernetwork(Float32Array.from(z))),
    encodeTrack: (samples, fps) => encodeTrack(encode, Float32Array.from(samples), fps, model.config.pictures).map((p) => ({ t: p.t, z: Array.from(p.z) })),
    /** Steps `steps` of the NCA of `params` from `state` ([16][H][W]) with the noise of Rng(seed), on a separate engine: the frames. */
    async runNca({ params, state, seed, steps, width, height }) {
      const e = await createNcaEngine({ ort: await loadOrt(), base, width, height, protocol, steps: 1, noiseStd, seed });
      e.setParams(Float32Array.from(params));
      e.setState(Float32Array.from(state));
      const frames = [];
      for (let s = 0; s < steps; s++) frames.push(Array.from((await e.run())[0]));
      await e.dispose();
      return frames;
    },
    /** Frames drawn per second over `seconds` (the page's own loop). */
    async measureFps(seconds = 3) {
      const f0 = play.frames, t0 = performance.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      return { framesPerSecond: ((play.frames - f0) * 1000) / (performance.now() - t0), size: SIZE, stepsPerRun: STEPS_PER_RUN, threads: THREADS };
    },
    /** Engine throughput without drawing or pacing: NCA steps per second over `seconds`. */
    async measureEngine(seconds = 2) {
      play.paused = true; // the page's own loop waits meanwhile
      const e = await createNcaEngine({ ort: await loadOrt(), base, width: SIZE, height: SIZE, protocol, steps: STEPS_PER_RUN, noiseStd, seed: 5 });
      e.setParams(hypernetwork(play.latent));
      await e.run();
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000) {
        await e.run();
        n += STEPS_PER_RUN;
      }
      const s = (performance.now() - t0) / 1000;
      await e.dispose();
      play.paused = false;
      return { stepsPerSecond: n / s, size: SIZE, stepsPerRun: STEPS_PER_RUN, threads: THREADS };
    },
  };

  const first = notes.notes.includes('A4') ? 'A4' : notes.notes[0];
  setLatent(noteLatent(first), `${play.instrument} ${first}`);
  reset();
  requestAnimationFrame(tick);
  window.ncaPlayReady = true;
}

// ---- record: MediaRecorder on the canvas -> a WebM download
function toggleRecording() {
  const button = $('record');
  if (play.recording) {
    play.recording.stop();
    return;
  }
  const chunks = [];
  const recorder = new MediaRecorder(canvas.captureStream(30), { mimeType: MediaRecorder.isTypeSupported('video/webm;codecs=vp9') ? 'video/webm;codecs=vp9' : 'video/webm' });
  recorder.ondataavailable = (e) => e.data.size > 0 && chunks.push(e.data);
  recorder.onstop = () => {
    play.recording = null;
    button.classList.remove('on');
    button.textContent = 'Record';
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob(chunks, { type: 'video/webm' }));
    a.download = `nca-play-${new Date().toISOString().replace(/[:.]/g, '-')}.webm`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  };
  recorder.start(250);
  play.recording = recorder;
  button.classList.add('on');
  button.textContent = 'Stop recording';
}

/** The 19 on-screen keys: white keys side by side, black keys over their gaps; pointer down/up = key down/up. */
function buildKeyboard(noteNames, press, release) {
  const board = $('keyboard');
  const whites = noteNames.filter((n) => !n.includes('#'));
  const width = 100 / whites.length;
  const elements = {};
  let w = 0;
  for (const note of noteNames) {
    const black = note.includes('#');
    const el = document.createElement('div');
    el.className = `key ${black ? 'black' : 'white'}`;
    el.dataset.note = note;
    el.textContent = `${note}${KEY_OF_NOTE[note] ? ` ${KEY_OF_NOTE[note].toUpperCase()}` : ''}`;
    el.style.left = `${black ? w * width - width * 0.3 : w * width}%`;
    el.style.width = `${black ? width * 0.6 : width}%`;
    if (!black) w++;
    el.addEventListener('pointerdown', (e) => {
      el.setPointerCapture(e.pointerId);
      press(note);
    });
    el.addEventListener('pointerup', () => release(note));
    el.addEventListener('pointercancel', () => release(note));
    board.append(el);
    elements[note] = el;
  }
  return elements;
}

start().catch(showError);
