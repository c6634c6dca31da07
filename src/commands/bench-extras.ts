/** Benchmarks contributed by other parts of nca: GIF encoding, audio decoding and the dataset build, the training rollout. */
export async function extraBenchmarks(log: (s: string) => void, quick: boolean): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  log('gif encoding');
  const gif = await import('../core/io/gif.js');
  out.gif = await gif.benchmarkGif(quick);
  log('audio: decode + mel of a 3-minute 44.1 kHz stereo file, dataset build');
  const audio = await import('../core/audio/bench.js');
  out.audio = await audio.benchmarkAudio(quick ? { repeats: 1, sampleClips: 24 } : {});
  log('training rollout: 32 steps, batch 8, 32x32, forward + backward on onnxruntime');
  const train = await import('../core/model/bench-train.js');
  out.trainingRollout = await train.benchmarkTrainingRollout(quick ? { repeats: 2 } : {});
  log('training iteration: seconds split into NCA forward, NCA backward and the rest (tfjs)');
  const trainer = await import('../core/model/train.js');
  out.trainingIteration = await trainer.benchmarkTraining(quick ? { iters: 3 } : {});
  return out;
}
