import type { Command } from 'commander';
import { checkOutputPath } from '../core/io/output-path.js';
import { Option } from 'commander';
import { requireNumber } from '../core/errors.js';
import { INSTRUMENTS, midiToHz, noteName, parseInstrument, parseNote } from '../core/audio/synth.js';
import { parseSeed, report, sharedOptions, withExamples } from './options.js';

interface SynthOpts {
  instrument: string;
  note: string;
  duration: string;
  velocity: string;
  rate: string;
  seed: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerSynth(program: Command): void {
  const cmd = program
    .command('synth')
    .description('synthesise one note of an instrument to a 16-bit WAV file (the sounds the model is trained on)')
    .addOption(new Option('-i, --instrument <name>', `instrument: ${INSTRUMENTS.join(', ')}`).default('piano'))
    .option('-n, --note <note>', 'note: a name (A4, F#4, Bb3: one accidental, octave -1..9, optional detune like A4+25c) or a MIDI number (69; 69.5 is a detuned note, named A#4-50c)', 'A4')
    .option('-d, --duration <s>', 'length in seconds (0 to 60]', '2')
    .option('--velocity <v>', 'how hard the note is played, 0..1 (loudness and brightness)', '0.8')
    .option('--rate <hz>', 'sample rate in Hz', '22050')
    .addOption(sharedOptions.seed())
    .addOption(sharedOptions.out())
    .addOption(sharedOptions.json())
    .addOption(sharedOptions.quiet())
    .action(async (o: SynthOpts) => {
      const instrument = parseInstrument(o.instrument);
      const midi = parseNote(o.note);
      const duration = requireNumber('--duration', o.duration, 0.01, 60);
      const velocity = requireNumber('--velocity', o.velocity, 0, 1);
      const sampleRate = requireNumber('--rate', o.rate, 8000, 192000);
      const seed = parseSeed(o.seed);
      const out = o.out ?? `${instrument}-${noteName(midi).replace('#', 's')}.wav`;
      await checkOutputPath(out, { extensions: ['.wav'], what: 'the sound' });
      const { synthesize } = await import('../core/audio/synth.js');
      const { encodeWav16 } = await import('../core/audio/wav-write.js');
      const { writeFileAtomic } = await import('../core/io/atomic.js');
      const samples = synthesize({ instrument, midi, duration, velocity, sampleRate: Math.round(sampleRate), seed });
      await writeFileAtomic(out, encodeWav16(samples, Math.round(sampleRate)));
      const result = { out, instrument, midi, note: noteName(midi), frequency: midiToHz(midi), duration, velocity, sampleRate: Math.round(sampleRate), seed, samples: samples.length };
      await report(o, result, `wrote ${out}: ${instrument} ${noteName(midi)} (${midiToHz(midi).toFixed(1)} Hz), ${duration} s, velocity ${velocity}`);
    });
  withExamples(cmd, ['nca synth --instrument violin --note A4 --duration 2 --out a4.wav', 'nca synth -i guitar -n Bb3 --velocity 0.5 --seed 3 --out bb3.wav', 'nca synth -i xylophone -n 84 --out c6.wav']);
}
