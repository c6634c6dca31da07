// What the page's modules take from dist/core/audio/wav.js (which reads files with Node): the analysis rate.
export const ANALYSIS_RATE = 22050;
