/**
 * Worker thread for the exhaustive proofs: runs one range of the outer loop on tables that the
 * main thread built in SharedArrayBuffers (see proof-pool.ts). Messages: ProofJob in, RoundedPart or
 * FreePart out.
 */
import { parentPort } from 'node:worker_threads';
import { runInline, type ProofJob } from './proof-pool.js';

parentPort?.on('message', (job: ProofJob) => {
  parentPort!.postMessage(runInline(job));
});
