import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { basename, extname } from 'node:path';
import { parseSize, requireInt } from '../core/errors.js';
import { report, sharedOptions, withExamples } from './options.js';

interface VisualizeOpts {
  size: string;
  frames: string;
  stride: string;
  fps: string;
  scale: string;
  sequence?: boolean;
  pictures: string;
  strict?: boolean;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerVisualize(program: Command): void {
  const cmd = program
    .command('visualize')
    .description('draw the training pictures of a sound (circles or motifs: the frames the NCA learns to produce) as an animated GIF')
    .argument('<wav>', 'a WAV file')
    .addOption(sharedOptions.size('128'))
    .option('--frames <n>', 'number of pictures (training uses 24)', '24')
    .option('--stride <n>', 'analysis frames (hop 512, 23 ms) between pictures', '1')
    .option('--fps <n>', 'GIF frames per second', '12')
    .option('--scale <n>', 'draw each cell as n x n pixels', '1')
    .option('--pictures <style>', 'circles (the first training pictures) or motifs (docs/design.md#training-pictures)', 'circles')
    .option('--sequence', 'start with the spectrogram frame, as a training sequence does (frame 0)')
    .option('--strict', 'refuse truncated files instead of decoding what is there')
    .addOption(sharedOptions.out())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (wav: string, o: VisualizeOpts) => {
      const { width, height } = parseSize('--size', o.size, 8, 1024);
      const frames = requireInt('--frames', o.frames, 1, 10000);
      const stride = requireInt('--stride', o.stride, 1, 1000);
      const fps = requireInt('--fps', o.fps, 1, 100);
      const scale = requireInt('--scale', o.scale, 1, 32);
      const { parsePictureStyle, trainingPictures } = await import('../core/audio/pictures.js');
      const style = parsePictureStyle(o.pictures, '--pictures');
      const out = o.out ?? `${basename(wav, extname(wav))}.${style}.gif`;
      await checkOutputPath(out, { extensions: ['.gif'], what: `the ${style} animation`, inputs: [wav] });
      const { readWav } = await import('../core/audio/wav.js');
      const { clipFeatures } = await import('../core/audio/features.js');
      const { spectrogramImage } = await import('../core/audio/spectrogram.js');
      const { planarToRgba } = await import('../core/io/image.js');
      const { GifWriter } = await import('../core/io/gif.js');
      const { writeFileAtomic } = await import('../core/io/atomic.js');
      const decoded = await readWav(wav, { strict: o.strict });
      const features = clipFeatures(decoded.samples, { sampleRate: decoded.sampleRate });
      const pictures = trainingPictures(features, style, { width, height, frames, stride });
      const warnings = [...decoded.warnings];
      const plane = width * height;
      const gif = new GifWriter({ width: width * scale, height: height * scale, fps });
      if (o.sequence) {
        const spec = spectrogramImage(decoded.samples, { sampleRate: decoded.sampleRate, width, height });
        warnings.push(...spec.warnings);
        const grey = new Float32Array(3 * plane);
        for (let c = 0; c < 3; c++) grey.set(spec.data, c * plane);
        gif.addFrame(planarToRgba(grey, width, height, scale));
      }
      for (let t = 0; t < frames; t++) gif.addFrame(planarToRgba(pictures.subarray(t * 3 * plane, (t + 1) * 3 * plane), width, height, scale));
      for (const w of warnings) if (!o.quiet) process.stderr.write(`nca: warning: ${w}\n`);
      await writeFileAtomic(out, gif.bytes());
      const result = {
        out,
        width: width * scale,
        height: height * scale,
        frames: frames + (o.sequence ? 1 : 0),
        fps,
        harmonics: features.harmonics.map((h) => ({ frequency: Number(h.frequency.toFixed(2)), relative: Number(h.relative.toFixed(4)) })),
        warnings,
      };
      await report(o, result, `wrote ${out}: ${result.frames} frames at ${width * scale}x${height * scale}, ${features.harmonics.length} harmonic circles`);
    });
  withExamples(cmd, ['nca visualize a4.wav --out circles.gif', 'nca visualize a4.wav --size 32 --scale 8 --sequence --out training.gif', 'nca visualize song.wav --frames 200 --stride 4 --size 256 --out song.gif']);
}
