// Makes the training and test videos of docs/reconstruct.md as GIFs in a folder (default
// bench/reconstruct/videos/): circles of synthesised notes, NCA renders and Twemoji landscapes
// (@twemoji/svg, CC-BY 4.0) panned and zoomed. 64 x 64, 48 frames.
// The three NCA renders are copied from fixtures/reconstruct/videos/ (rendered with the look model of
// commit 2dc209d, the videos every figure of docs/reconstruct.md was measured on); RENDER_MODEL=<model
// folder> renders them with that model instead (RENDER_MODEL=fixtures/model: the shipped one).
//   node bench/reconstruct/make-videos.mjs [DIR]      (needs dist/: npx tsc -p tsconfig.json)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { circlesVideo, pannedImageVideo, rasteriseSvg } from '../../dist/core/reconstruct/test-videos.js';
import { writeVideoGif } from '../../dist/core/reconstruct/side-by-side.js';

const dir = process.argv[2] ?? 'bench/reconstruct/videos';
mkdirSync(dir, { recursive: true });
const SIZE = 64, FRAMES = 48;
const emoji = (code) => readFileSync(`node_modules/@twemoji/svg/${code}.svg`);

// [name, split, maker]
const jobs = [
  ['circles-piano-c4', 'train', () => circlesVideo({ instrument: 'piano', midi: 60, frames: FRAMES, size: SIZE, stride: 2 })],
  ['circles-violin-a4', 'train', () => circlesVideo({ instrument: 'violin', midi: 69, frames: FRAMES, size: SIZE, stride: 2 })],
  ['circles-flute-e5', 'train', () => circlesVideo({ instrument: 'flute', midi: 76, frames: FRAMES, size: SIZE, stride: 3 })],
  ['circles-clarinet-g4', 'test', () => circlesVideo({ instrument: 'clarinet', midi: 67, frames: FRAMES, size: SIZE, stride: 2 })],
  ['emoji-sunrise-pan', 'train', async () => pannedImageVideo(await rasteriseSvg(emoji('1f304'), 256, [40, 40, 60]), { frames: FRAMES, size: SIZE, from: [0.3, 0.4], to: [0.7, 0.6], zoomFrom: 0.5, zoomTo: 0.5 })],
  ['emoji-city-zoom', 'train', async () => pannedImageVideo(await rasteriseSvg(emoji('1f3d9'), 256, [30, 30, 30]), { frames: FRAMES, size: SIZE, from: [0.5, 0.5], to: [0.4, 0.55], zoomFrom: 0.9, zoomTo: 0.4 })],
  ['emoji-volcano-pan', 'train', async () => pannedImageVideo(await rasteriseSvg(emoji('1f30b'), 256, [20, 30, 50]), { frames: FRAMES, size: SIZE, from: [0.65, 0.35], to: [0.35, 0.65], zoomFrom: 0.6, zoomTo: 0.7 })],
  ['emoji-park-panzoom', 'test', async () => pannedImageVideo(await rasteriseSvg(emoji('1f3de'), 256, [30, 40, 30]), { frames: FRAMES, size: SIZE, from: [0.35, 0.45], to: [0.6, 0.55], zoomFrom: 0.8, zoomTo: 0.45 })],
];
for (const [name, split, make] of jobs) {
  const out = join(dir, `${split}-${name}.gif`);
  await writeVideoGif(out, await make(), { fps: 20 });
  console.log('wrote', out);
}
// NCA renders: random latents, every 2nd of 96 steps (the committed ones, or of the model folder in $RENDER_MODEL)
for (const [seed, split] of [[1, 'train'], [2, 'train'], [7, 'test']]) {
  const name = `${split}-nca-render-seed${seed}.gif`, out = join(dir, name);
  if (process.env.RENDER_MODEL) {
    execFileSync('node', ['bin/nca.js', 'render', '--random', '--seed', String(seed), '--steps', String(2 * FRAMES - 1), '--every', '2', '--size', String(SIZE), '--out', out, '--quiet', '--model', process.env.RENDER_MODEL], { stdio: 'inherit' });
  } else {
    copyFileSync(join('fixtures/reconstruct/videos', name), out);
  }
  console.log('wrote', out);
}
