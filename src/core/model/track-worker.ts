/**
 * The worker thread of `encodeTrack` (encode.ts): encodes one part of a track (its windows'
 * contexts from the shared STFT, then the onnxruntime encoder) and posts the latents back.
 * workerData is a TrackWorkerData; messages out are TrackWorkerMessage.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeTrackPart, type TrackWorkerData, type TrackWorkerMessage } from './encode.js';
import { openOnnxEncoder } from './encoder-onnx.js';

const port = parentPort;
if (port) {
  const data = workerData as TrackWorkerData;
  const post = (m: TrackWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  try {
    const encoder = await openOnnxEncoder(data.graph, data.part.config, { threads: data.threads });
    try {
      const latents = await encodeTrackPart(data.part, encoder, (done) => post({ type: 'progress', done }));
      post({ type: 'done', latents }, [latents.buffer as ArrayBuffer]);
    } finally {
      await encoder.dispose();
    }
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
}
