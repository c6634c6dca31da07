// The microphone's samples, posted to the page in chunks of 1024 (audio.js LiveTrack appends them).
class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.chunk = new Float32Array(1024);
    this.filled = 0;
  }
  process(inputs) {
    const channels = inputs[0];
    if (channels && channels.length > 0) {
      const n = channels[0].length;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (const ch of channels) v += ch[i];
        this.chunk[this.filled++] = v / channels.length; // mixed to mono, as nca's WAV reader
        if (this.filled === this.chunk.length) {
          this.port.postMessage(this.chunk.slice());
          this.filled = 0;
        }
      }
    }
    return true;
  }
}
registerProcessor('nca-capture', Capture);
