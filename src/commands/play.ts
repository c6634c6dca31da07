import type { Command } from 'commander';
import { requireInt } from '../core/errors.js';
import { interruptSignal } from './interrupt.js';
import { modelOption } from './model-option.js';
import { report, sharedOptions, withExamples } from './options.js';
import { progressBar } from './progress.js';

interface PlayOpts {
  port?: string;
  open?: boolean;
  export?: string;
  model?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerPlay(program: Command): void {
  const cmd = program
    .command('play')
    .description('the live demo in a browser: piano keys, chords, instruments, perturbation, random latents, the microphone (served on 127.0.0.1, or --export a static folder)')
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)')
    .option('--open', 'open the page in the default browser')
    .option('--export <dir>', 'write the page as a static folder instead of serving it (host it anywhere: it fetches nothing from the network)')
    .addOption(modelOption())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: PlayOpts) => {
      const play = await import('../core/play/index.js');
      if (o.export !== undefined) {
        const bar = progressBar('export', o);
        const r = await play.exportSite(o.export, { model: o.model, onProgress: bar.onProgress });
        bar.stop();
        await report(o, r, `wrote the page to ${r.dir} (${r.files} files, ${(r.bytes / 1e6).toFixed(1)} MB; model ${r.modelDir}): serve the folder with any static web server`);
        return;
      }
      const port = o.port === undefined ? 0 : requireInt('--port', o.port, 0, 65535);
      const server = await play.playServer({ port, model: o.model });
      await report(o, { url: server.url, port: server.port, model: server.modelDir }, `nca play: ${server.url} (model ${server.modelDir}); Ctrl-C to stop`);
      if (o.open) openBrowser(server.url, o.quiet ?? false);
      // serve until Ctrl-C / SIGTERM
      const signal = interruptSignal();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      await server.close();
      throw signal.reason;
    });
  withExamples(cmd, ['nca play', 'nca play --open --port 8080', 'nca play --model my-model/', 'nca play --export site/']);
}

/** The platform's "open this URL" program, detached; a failure is one line on stderr, the server keeps running. */
function openBrowser(url: string, quiet: boolean): void {
  void import('node:child_process').then(({ spawn }) => {
    const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', (e) => {
      if (!quiet) process.stderr.write(`nca: could not open a browser (${cmd}: ${e.message}); open ${url} yourself\n`);
    });
    child.unref();
  });
}
