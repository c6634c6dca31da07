/**
 * `nca bench`'s figures for the page (docs/play.md): in headless Chromium (browser.ts), the page's
 * own frame rate at 128 x 128 (frames drawn per second by its loop, which draws one NCA step per
 * display frame, so at most the display rate) and its engine's throughput (NCA steps per second,
 * no drawing), then the bench page's engines side by side in one run: onnxruntime-web (the page's,
 * 1, 4 and 8 steps per call; 1 and 2 threads), WebGL2 fragment shaders (SwiftShader), plain JS.
 */
import { loadavg } from 'node:os';
import { launchBrowser } from './browser.js';
import { playServer } from './index.js';

export interface PlayBench {
  size: number;
  /** The page: frames drawn per second, and its engine's steps per second. */
  page: { framesPerSecond: number; engineStepsPerSecond: number; threads: number; stepsPerRun: number };
  /** Each engine of the bench page, in the order run. */
  engines: Array<{ engine: string; renderer: string; threads: number; steps: number; stepsPerSecond: number }>;
  loadAverage: { before: number; after: number };
  browser: string;
}

interface EngineSpec {
  engine: 'ort' | 'webgl' | 'js';
  threads?: number;
  steps?: number;
}

const ENGINES: EngineSpec[] = [
  { engine: 'ort', threads: 1, steps: 1 },
  { engine: 'ort', threads: 1, steps: 4 },
  { engine: 'ort', threads: 1, steps: 8 },
  { engine: 'ort', threads: 2, steps: 4 },
  { engine: 'webgl' },
  { engine: 'js' },
];

/** Measure the page at `size` (128) for `seconds` per figure (quick: 2, else 4). */
export async function benchmarkPlay(opts: { quick?: boolean; size?: number; onProgress?: (s: string) => void } = {}): Promise<PlayBench> {
  const size = opts.size ?? 128;
  const seconds = opts.quick ? 2 : 4;
  const before = loadavg()[0]!;
  const server = await playServer();
  const browser = await launchBrowser();
  try {
    opts.onProgress?.(`play: the page at ${size}x${size} in headless Chromium`);
    let page = await browser.newPage();
    await page.goto(`${server.url}?size=${size}`);
    await page.waitForFunction('window.ncaPlayReady === true', { timeout: 120_000 });
    const fps = await page.evaluate((s) => (globalThis as unknown as PageApi).ncaPlay.measureFps(s), seconds);
    const engine = await page.evaluate((s) => (globalThis as unknown as PageApi).ncaPlay.measureEngine(s), seconds);
    await page.close();
    const engines: PlayBench['engines'] = [];
    for (const spec of ENGINES) {
      opts.onProgress?.(`play: engine ${spec.engine}${spec.threads ? `, ${spec.threads} thread(s)` : ''}${spec.steps ? `, ${spec.steps} step(s) per call` : ''}`);
      // a fresh page per engine: onnxruntime-web fixes its thread count when it first starts
      page = await browser.newPage();
      await page.goto(`${server.url}bench/index.html`);
      await page.waitForFunction('window.benchReady === true', { timeout: 60_000 });
      const r = await page.evaluate((s) => (globalThis as unknown as BenchApi).runBench(s), { ...spec, size, seconds: Math.max(1, seconds / 2) });
      engines.push({ engine: r.engine, renderer: r.renderer, threads: r.threads, steps: r.steps, stepsPerSecond: r.stepsPerSecond });
      await page.close();
    }
    return {
      size,
      page: { framesPerSecond: fps.framesPerSecond, engineStepsPerSecond: engine.stepsPerSecond, threads: fps.threads, stepsPerRun: fps.stepsPerRun },
      engines,
      loadAverage: { before, after: loadavg()[0]! },
      browser: await browser.version(),
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

/** What the page (web/main.js) and the bench page (web/bench/bench.js) expose to puppeteer. */
interface PageApi {
  ncaPlay: {
    measureFps(seconds: number): Promise<{ framesPerSecond: number; threads: number; stepsPerRun: number }>;
    measureEngine(seconds: number): Promise<{ stepsPerSecond: number }>;
  };
}
interface BenchApi {
  runBench(spec: EngineSpec & { size: number; seconds: number }): Promise<{ engine: string; renderer: string; threads: number; steps: number; stepsPerSecond: number }>;
}
