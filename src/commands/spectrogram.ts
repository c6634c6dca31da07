import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { Option } from 'commander';
import { basename, extname } from 'node:path';
import { parseSize, requireChoice, requireInt, requireNumber } from '../core/errors.js';
import { COLORMAPS, type ColormapName } from '../core/audio/colormap.js';
import { report, sharedOptions, withExamples } from './options.js';

interface SpectrogramOpts {
  size: string;
  duration: string;
  colormap: string;
  scale?: string;
  strict?: boolean;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

const round = (v: number, digits = 4): number => Number(v.toPrecision(digits));

export function registerSpectrogram(program: Command): void {
  const cmd = program
    .command('spectrogram')
    .description('draw the mel spectrogram the encoder sees (frame 0 of a training sequence) as a PNG; --json prints the audio features')
    .argument('<wav>', 'a WAV file (any common encoding, rate and channel count)')
    .addOption(new Option('--size <n|WxH>', 'picture size: time columns x mel bands (the encoder sees 32x32)').default('32'))
    .option('--duration <s|all>', 'seconds from the start to show, or "all" (the encoder sees 2)', '2')
    .addOption(new Option('--colormap <name>', 'perceptual colour map').choices(COLORMAPS as string[]).default('magma'))
    .option('--scale <n>', 'draw each cell as n x n pixels (default: at least 256 pixels wide)')
    .option('--strict', 'refuse truncated files instead of decoding what is there')
    .addOption(sharedOptions.out())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (wav: string, o: SpectrogramOpts) => {
      const { width, height } = parseSize('--size', o.size, 4, 2048);
      const duration = o.duration === 'all' ? null : requireNumber('--duration', o.duration, 0.05, 3600);
      const colormapName = requireChoice('--colormap', o.colormap, COLORMAPS) as ColormapName;
      const scale = o.scale === undefined ? Math.max(1, Math.ceil(256 / Math.max(width, height))) : requireInt('--scale', o.scale, 1, 64);
      const { checkSpectrogramSize } = await import('../core/audio/spectrogram.js');
      checkSpectrogramSize(width, height, scale);
      const out = o.out ?? `${basename(wav, extname(wav))}.spec.png`;
      await checkOutputPath(out, { extensions: ['.png'], what: 'the spectrogram picture', inputs: [wav] });
      const { readWav } = await import('../core/audio/wav.js');
      const { spectrogramImage } = await import('../core/audio/spectrogram.js');
      const { clipFeatures } = await import('../core/audio/features.js');
      const { colorize } = await import('../core/audio/colormap.js');
      const { encodePng } = await import('../core/io/png.js');
      const { writeFileAtomic } = await import('../core/io/atomic.js');
      const decoded = await readWav(wav, { strict: o.strict });
      const image = spectrogramImage(decoded.samples, { sampleRate: decoded.sampleRate, width, height, durationSeconds: duration });
      const warnings = [...decoded.warnings, ...image.warnings];
      for (const w of warnings) if (!o.quiet) process.stderr.write(`nca: warning: ${w}\n`);
      await writeFileAtomic(out, encodePng(colorize(image.data, width, height, colormapName, scale)));
      const window = duration === null ? decoded.samples : decoded.samples.subarray(0, Math.round(duration * decoded.sampleRate));
      const features = o.json ? clipFeatures(window, { sampleRate: decoded.sampleRate }) : null;
      const result = {
        out,
        source: decoded.source,
        seconds: image.seconds,
        image: { width, height, hop: image.hop, colormap: colormapName, scale },
        warnings,
        ...(features && {
          features: {
            sampleRate: features.sampleRate,
            hop: features.hop,
            frames: features.nFrames,
            harmonics: features.harmonics.map((h) => ({ frequency: round(h.frequency, 6), amplitude: round(h.amplitude), relative: round(h.relative) })),
            rms: Array.from(features.rms, (v) => round(v)),
            centroidHz: Array.from(features.centroid, (v) => round(v)),
            onset: Array.from(features.onset, (v) => round(v)),
          },
        }),
      };
      await report(o, result, `wrote ${out}: ${width}x${height} mel spectrogram of ${image.seconds.toFixed(2)} s of ${wav} (${decoded.source.codec}, ${decoded.source.channels} ch, ${decoded.source.sampleRate} Hz)`);
    });
  withExamples(cmd, ['nca spectrogram song.wav --out spec.png', 'nca spectrogram song.wav --size 512x128 --duration all --colormap viridis --out song.png', 'nca spectrogram a4.wav --out spec.png --json > features.json']);
}
