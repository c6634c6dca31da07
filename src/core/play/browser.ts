/**
 * Headless Chromium for the page's tests, its screenshot and `nca bench` (docs/play.md), driven by
 * puppeteer-core (a dev dependency: imported only here, when asked for). Never downloads a browser:
 * it runs /usr/bin/chromium, or $NCA_CHROMIUM. WebGL2 runs on SwiftShader (software) through ANGLE.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'puppeteer-core';
import { UserError } from '../errors.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export interface BrowserOptions {
  /** A WAV file played as the microphone (Chromium's fake capture device). */
  fakeMicrophone?: string;
  /** Window size (default 1280 x 800). */
  width?: number;
  height?: number;
}

/** The Chromium to run: $NCA_CHROMIUM or /usr/bin/chromium (a UserError naming both when absent). */
export function chromiumPath(): string {
  const path = process.env.NCA_CHROMIUM || DEFAULT_CHROMIUM;
  if (!existsSync(path)) throw new UserError(`no Chromium at ${path}: install Debian's chromium (apt-get install chromium) or set NCA_CHROMIUM to a Chromium binary`);
  return path;
}

/** Chromium's flags: headless, WebGL2 on SwiftShader, autoplay, and the fake microphone when given. */
export function chromiumArgs(opts: BrowserOptions = {}): string[] {
  const args = [
    '--no-sandbox',
    '--headless=new',
    '--use-gl=angle',
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
    '--ignore-gpu-blocklist',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
    `--window-size=${opts.width ?? 1280},${opts.height ?? 800}`,
  ];
  if (opts.fakeMicrophone) args.push('--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${opts.fakeMicrophone}`);
  return args;
}

/** Launch headless Chromium. */
export async function launchBrowser(opts: BrowserOptions = {}): Promise<Browser> {
  const executablePath = chromiumPath();
  let launch: typeof import('puppeteer-core').launch;
  try {
    ({ launch } = await import('puppeteer-core'));
  } catch {
    throw new UserError('driving Chromium needs puppeteer-core (a dev dependency of nca): npm install puppeteer-core');
  }
  return launch({
    executablePath,
    args: chromiumArgs(opts),
    defaultViewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
  });
}
