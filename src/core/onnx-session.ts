import type ort from 'onnxruntime-node';

/**
 * The one set of onnxruntime session options every nca session uses (the renderer's engine, the
 * training rollout, the encoder, the networks' training graphs):
 * - `threads` intra-op threads, one inter-op thread, sequential execution: nca's graphs are chains;
 * - no spinning: a spinning thread pool collapses when the second core is busy with other work;
 * - all graph optimisations; onnxruntime's own log at errors only (its warnings are not for users).
 * Plain data, so it can be posted to a worker thread.
 */
export function onnxSessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}
