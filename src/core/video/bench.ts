/**
 * The music-video benchmark of `nca bench` (docs/video.md#figures): a song composed by code
 * (src/core/audio/song.ts, rendered by the TimGM6mb soundfont) to a 30-fps MP4 with its sound, the
 * whole way (decode, encode the latent track, analyse, NCA, ffmpeg), at 1280 x 720 (320 x 180 cells
 * x 4) and 1920 x 1080 (480 x 270 cells x 4); the realtime factor is the wall time over the song's
 * duration (targets: <= 1.0 at 720p, <= 1.5 at 1080p). By default a 20-s excerpt (the factor of a
 * longer song scales with its length: the work per second of song is constant); `full` renders the
 * whole 3 minutes. Then the peak resident memory of one NCA step on 1920 x 1080 cells, in a child
 * process (target <= 1 GB).
 *
 * Every file is written in a temporary folder, removed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_X264_PRESET, x264Tuning } from './writer.js';

export interface VideoBenchCase {
  name: string;
  cells: { width: number; height: number };
  scale: number;
  /** Output pixels. */
  width: number;
  height: number;
  frames: number;
  steps: number;
  seconds: number;
  /** Wall time over the song's duration. */
  realtimeFactor: number;
  /**
   * CPU seconds of nca and its ffmpeg (user + system, Linux /proc; null elsewhere) over (cores x the
   * song's duration): the factor the run would have on an otherwise idle machine, when it keeps
   * every core busy. A figure to read beside the wall-time factor when the machine is shared.
   */
  cpuFactor: number | null;
  cpuSeconds: number | null;
  /** CPU seconds of ffmpeg alone (its part of cpuSeconds). */
  ffmpegCpuSeconds: number | null;
  /** Seconds the renderer waited for ffmpeg to take frames (ffmpeg was the slower). */
  waitingSeconds: number;
  /** x264 preset. */
  preset: string;
  /** The -x264-params nca added for these frames (x264Tuning), or null. */
  x264Params: string | null;
  target: number;
  bytes: number;
}

export interface VideoBench {
  song: { style: string; seconds: number; full: boolean };
  fps: number;
  cases: VideoBenchCase[];
  /** Peak resident memory of one frame-protocol step on 1920 x 1080 cells, in MB (target <= 1024). */
  peakRssMbAt1080: number;
  loadAverage: { before: number; after: number };
}

export const VIDEO_BENCH_EXCERPT = 20;
export const VIDEO_BENCH_FULL = 180;

const CASES = [
  { name: '1280x720', cells: { width: 320, height: 180 }, scale: 4, target: 1.0 },
  { name: '1920x1080', cells: { width: 480, height: 270 }, scale: 4, target: 1.5 },
] as const;

/** Runs the music-video benchmark (see the module comment). `quick`: a 6-s excerpt and 720p only. */
export async function benchVideo(opts: { full?: boolean; quick?: boolean; onProgress?: (what: string) => void } = {}): Promise<VideoBench> {
  const log = opts.onProgress ?? (() => {});
  const loadBefore = loadavg()[0]!;
  const seconds = opts.full ? VIDEO_BENCH_FULL : opts.quick ? 6 : VIDEO_BENCH_EXCERPT;
  const fps = 30;
  const dir = await mkdtemp(join(tmpdir(), 'nca-video-bench-'));
  try {
    log(`video: composing a ${seconds}-s rock song (TimGM6mb)`);
    const { Soundfont } = await import('../audio/soundfont.js');
    const { renderSong } = await import('../audio/song.js');
    const { encodeWav16 } = await import('../audio/wav-write.js');
    const sf = await Soundfont.load();
    const { samples } = await renderSong(sf, { style: 'rock', seconds, seed: 1 }, 44100);
    const wav = join(dir, 'song.wav');
    await writeFile(wav, encodeWav16(samples, 44100));

    const { loadModel } = await import('../sources.js');
    const { model, protocol } = await loadModel();
    const cases: VideoBenchCase[] = [];
    try {
      for (const c of opts.quick ? CASES.slice(0, 1) : CASES) {
        log(`video: ${seconds}-s song to a ${c.name} ${fps}-fps MP4`);
        const t0 = performance.now();
        const cpu0 = await cpuTicks();
        const { readWav } = await import('../audio/wav.js');
        const { encodeTrack } = await import('../model/encode.js');
        const { writeMusicVideo } = await import('./music-video.js');
        const decoded = await readWav(wav);
        const track = await encodeTrack(model, decoded.samples, { fps, sampleRate: decoded.sampleRate });
        const out = join(dir, `${c.name}.mp4`);
        const r = await writeMusicVideo(model, {
          sound: { kind: 'file', path: wav }, samples: decoded.samples, sampleRate: decoded.sampleRate, track,
          width: c.cells.width, height: c.cells.height, scale: c.scale, fps, protocol, out,
        });
        const wall = (performance.now() - t0) / 1000;
        const cpu1 = await cpuTicks();
        const cpuSeconds = cpu0 === null || cpu1 === null ? null : (cpu1.total - cpu0.total) / 100;
        const ffmpegCpuSeconds = cpu0 === null || cpu1 === null ? null : (cpu1.children - cpu0.children) / 100;
        const { stat } = await import('node:fs/promises');
        cases.push({
          name: c.name, cells: c.cells, scale: c.scale, width: r.video.width, height: r.video.height, frames: r.frames, steps: r.steps,
          seconds: wall, realtimeFactor: wall / r.duration, cpuSeconds, ffmpegCpuSeconds, waitingSeconds: r.seconds.waiting, preset: DEFAULT_X264_PRESET, x264Params: x264Tuning(DEFAULT_X264_PRESET, 'smooth', c.scale), cpuFactor: cpuSeconds === null ? null : cpuSeconds / (availableParallelism() * r.duration), target: c.target, bytes: (await stat(out)).size,
        });
      }
    } finally {
      model.dispose();
    }
    log('video: peak memory of a step on 1920x1080 cells');
    const peakRssMbAt1080 = await peakRssOfHdStep();
    return { song: { style: 'rock', seconds, full: opts.full ?? false }, fps, cases, peakRssMbAt1080, loadAverage: { before: loadBefore, after: loadavg()[0]! } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The bench as lines for `nca bench`. */
export function videoBenchLines(b: VideoBench): string[] {
  const scaled = b.song.full ? '' : ` (a ${b.song.seconds}-s excerpt; the factor is per second of song, so a 3-minute song scales with it; --full renders all 3 minutes)`;
  return [
    `| music video, ${b.song.seconds}-s ${b.song.style} song, ${b.fps} fps MP4 (x264 ${b.cases[0]?.preset ?? DEFAULT_X264_PRESET}${b.cases[0]?.x264Params ? ` ${b.cases[0].x264Params}` : ''})${scaled} | cells x scale | frames | NCA steps | seconds | realtime factor | CPU s / (cores x song) | of it ffmpeg | waited for ffmpeg | target |`,
    '|---|---|---|---|---|---|---|---|---|---|',
    ...b.cases.map((c) => `| ${c.width}x${c.height} | ${c.cells.width}x${c.cells.height} x ${c.scale} | ${c.frames} | ${c.steps} | ${c.seconds.toFixed(1)} | ${c.realtimeFactor.toFixed(2)}x | ${c.cpuFactor === null ? '-' : c.cpuFactor.toFixed(2) + 'x'} | ${c.ffmpegCpuSeconds === null || !c.cpuSeconds ? '-' : ((100 * c.ffmpegCpuSeconds) / c.cpuSeconds).toFixed(0) + '%'} | ${c.waitingSeconds.toFixed(1)} s | <= ${c.target.toFixed(1)}x |`),
    `peak resident memory of one step on 1920x1080 cells: ${b.peakRssMbAt1080.toFixed(0)} MB (target <= 1024); load average ${b.loadAverage.before.toFixed(2)} before, ${b.loadAverage.after.toFixed(2)} after`,
  ];
}

/** Peak RSS (MB) of a child process that creates a 1920 x 1080 frame-protocol engine and runs one step (its own memory, not the parent's). */
function peakRssOfHdStep(): Promise<number> {
  const engineUrl = new URL('../nca/engine.js', import.meta.url).href;
  const graphUrl = new URL('../nca/graph.js', import.meta.url).href;
  const paramsUrl = new URL('../nca/params.js', import.meta.url).href;
  const rngUrl = new URL('../rng.js', import.meta.url).href;
  const script = `
    const { createEngine } = await import(${JSON.stringify(engineUrl)});
    const { FRAME_PROTOCOL } = await import(${JSON.stringify(graphUrl)});
    const { randomParams } = await import(${JSON.stringify(paramsUrl)});
    const { Rng } = await import(${JSON.stringify(rngUrl)});
    const W = 1920, H = 1080;
    const e = await createEngine(randomParams(new Rng(1)), { width: W, height: H, protocol: FRAME_PROTOCOL, rng: new Rng(2) });
    await e.run(new Float32Array(16 * W * H).fill(0.5), 1);
    await e.dispose();
    // The child's own peak (VmHWM of its memory since exec): getrusage's maxRSS also counts the parent's RSS
    // at the fork, which after the music-video runs is larger than the step's.
    const { readFileSync } = await import('node:fs');
    const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    process.stdout.write(String(hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS));`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('.', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(Number(out) / 1024) : reject(new Error(`the 1920x1080 memory probe failed: ${err.trim().split('\n').at(-1) ?? code}`))));
  });
}

/** CPU of this process and its waited-for children (utime + stime + cutime + cstime) and of the children alone, in clock ticks (1/100 s), from /proc/self/stat; null when unreadable. */
async function cpuTicks(): Promise<{ total: number; children: number } | null> {
  try {
    const { readFile } = await import('node:fs/promises');
    const stat = await readFile('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (field 3); utime is field 14 -> index 11
    const children = Number(fields[13]) + Number(fields[14]);
    return { total: Number(fields[11]) + Number(fields[12]) + children, children };
  } catch {
    return null;
  }
}
