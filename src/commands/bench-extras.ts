/** Benchmarks contributed by other parts of nca: GIF encoding, audio decoding and the dataset build, track encoding, the training rollout. */
export async function extraBenchmarks(log: (s: string) => void, quick: boolean): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  log('gif encoding');
  const gif = await import('../core/io/gif.js');
  out.gif = await gif.benchmarkGif(quick);
  log('audio: decode + mel of a 3-minute 44.1 kHz stereo file, dataset build');
  const audio = await import('../core/audio/bench.js');
  out.audio = await audio.benchmarkAudio(quick ? { repeats: 1, sampleClips: 24 } : {});
  log(`encode track: ${quick ? '3 min of audio (extrapolated to 10 min)' : '10 min of audio'} at 12 fps, shared STFT + onnxruntime encoder`);
  const { loadModel } = await import('../core/model/networks.js');
  const encodeBench = await import('../core/model/bench-encode.js');
  const model = await loadModel();
  try {
    // quick: 3 minutes, still long enough (2161 points) for the worker thread that 10 minutes get
    out.encodeTrack = await encodeBench.benchmarkTrackEncoding(model, quick ? { audioSeconds: 180, repeats: 1 } : {});
  } finally {
    model.dispose();
  }
  log('training rollout: 32 steps, batch 8, 32x32, forward + backward on onnxruntime');
  const train = await import('../core/model/bench-train.js');
  out.trainingRollout = await train.benchmarkTrainingRollout(quick ? { repeats: 2 } : {});
  // the training iteration on onnx (the default), tfjs wasm and tfjs cpu, split into NCA forward / backward, networks and optimizer
  out.trainingIteration = await train.benchmarkTrainingBackends({ ...(quick ? { iters: 6, rounds: 2 } : { iters: 12, rounds: 3 }), onProgress: log });
  return out;
}
