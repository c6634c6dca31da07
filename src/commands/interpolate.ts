import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { join } from 'node:path';
import { UserError, requireInt } from '../core/errors.js';
import { report, sharedOptions, withExamples } from './options.js';

interface InterpolateOpts {
  frames: string;
  slerp?: boolean;
  mean?: boolean;
  fps: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerInterpolate(program: Command): void {
  const cmd = program
    .command('interpolate')
    .description('paths through latent space: a walk from a to b (linear or --slerp), or the mean of several latents (--mean, a chord)')
    .argument('<latents...>', 'latent files: two for a walk, one or more with --mean')
    .option('--frames <n>', 'number of latents on the walk, both ends included', '30')
    .option('--slerp', 'spherical interpolation (keeps the typical norm of N(0, I) latents)')
    .option('--mean', 'write the mean of the latents (a chord) to --out')
    .option('--fps <n>', 'when --out is a .json file: the walk becomes a track with this many latents per second', '12')
    .addOption(sharedOptions.out())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (files: string[], o: InterpolateOpts) => {
      if (o.out === undefined) throw new UserError('--out is required: a folder for a walk, a .json file for a chord or a track');
      if (o.mean && o.slerp) throw new UserError('--slerp and --mean do not go together: --slerp walks from one latent to another along a great circle, --mean averages latents into a chord; drop one of them');
      const outKind = await checkOutputPath(o.out, { kind: o.mean ? 'file' : 'either', extensions: ['.json'], what: o.mean ? 'the mean latent' : 'a .json track or a folder of latents', inputs: files });
      const { loadLatent, latentToJson, meanLatent, lerp, slerp } = await import('../core/latent.js');
      const { writeFileAtomic } = await import('../core/io/atomic.js');
      const latents = await Promise.all(files.map((f) => loadLatent(f)));
      latents.forEach((l, i) => {
        if (!l.z) throw new UserError(`${files[i]} is a track; interpolate takes single latents`);
      });
      const zs = latents.map((l) => l.z!);
      if (o.mean) {
        const text = latentToJson({ z: meanLatent(zs), provenance: { command: 'nca interpolate --mean', sources: files } });
        await writeFileAtomic(o.out, text);
        await report(o, { out: o.out, kind: 'mean', sources: files }, `wrote the mean of ${files.length} latents to ${o.out}`);
        return;
      }
      if (files.length !== 2) throw new UserError(`a walk needs exactly two latents, got ${files.length} (use --mean for a chord)`);
      const frames = requireInt('--frames', o.frames, 2, 100_000);
      const fps = requireInt('--fps', o.fps, 1, 1000);
      const path = Array.from({ length: frames }, (_, i) => (o.slerp ? slerp : lerp)(zs[0]!, zs[1]!, i / (frames - 1)));
      const provenance = { command: `nca interpolate${o.slerp ? ' --slerp' : ''}`, from: files[0], to: files[1], frames };
      if (outKind === 'file') {
        await writeFileAtomic(o.out, latentToJson({ track: path.map((z, i) => ({ t: i / fps, z })), provenance: { ...provenance, fps } }));
        await report(o, { out: o.out, kind: 'track', frames, fps }, `wrote a track of ${frames} latents (${(frames / fps).toFixed(2)} s) to ${o.out}`);
        return;
      }
      const width = String(frames - 1).length;
      const outputs = path.map((_, i) => join(o.out!, `${String(i).padStart(Math.max(3, width), '0')}.json`));
      const { samePath } = await import('../core/io/output-path.js');
      for (const input of files) {
        for (const output of outputs) if (await samePath(output, input)) throw new UserError(`cannot write ${output}: it is also an input of this command (${input}); choose another output folder`);
      }
      await Promise.all(path.map((z, i) => writeFileAtomic(outputs[i]!, latentToJson({ z, provenance: { ...provenance, index: i, t: i / (frames - 1) } }))));
      await report(o, { out: o.out, kind: 'walk', frames, files: outputs }, `wrote ${frames} latents to ${o.out}`);
    });
  withExamples(cmd, [
    'nca interpolate a.json b.json --frames 30 --out walk/',
    'nca interpolate a.json b.json --frames 60 --slerp --out walk.json   # a track: nca render --latent walk.json',
    'nca interpolate --mean c4.json e4.json g4.json --out chord.json',
  ]);
}
