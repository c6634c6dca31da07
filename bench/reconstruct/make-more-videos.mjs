// Makes the extra videos of docs/reconstruct.md step 17 ("More videos of each kind") as GIFs in a folder: 54 more
// training videos (x-*: 28 circles of 7 instruments x 4 notes, no clarinet; 6 Twemoji pans of other landscapes;
// 20 NCA renders, random latents 10-29) and 11 validation videos (val-*: 4 circles, 2 pans, renders 30-34), none of
// them a test video of make-videos.mjs. 64 x 64, 48 frames, as make-videos.mjs.
//   RENDER_MODEL=<model folder> node bench/reconstruct/make-more-videos.mjs DIR
// The renders of step 17 were made with the look model of commit 2dc209d (the model of the committed render videos):
// `git show 2dc209d:fixtures/model/weights.bin > M/weights.bin` and the same for model.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { circlesVideo, pannedImageVideo, rasteriseSvg } from '../../dist/core/reconstruct/test-videos.js';
import { writeVideoGif } from '../../dist/core/reconstruct/side-by-side.js';

const dir = process.argv[2];
if (!dir || !process.env.RENDER_MODEL) throw new Error('usage: RENDER_MODEL=<model folder> node bench/reconstruct/make-more-videos.mjs DIR');
mkdirSync(dir, { recursive: true });
const SIZE = 64, FRAMES = 48;
const emoji = (code) => readFileSync(`node_modules/@twemoji/svg/${code}.svg`);
const jobs = [];
let k = 0;
for (const instrument of ['piano', 'violin', 'guitar', 'flute', 'xylophone', 'organ', 'trumpet']) {
  for (const midi of [50, 57, 64, 71]) {
    const stride = [2, 2, 3, 2][k++ % 4];
    jobs.push([`x-circles-${instrument}-${midi}`, () => circlesVideo({ instrument, midi, frames: FRAMES, size: SIZE, stride })]);
  }
}
for (const [instrument, midi, stride] of [['guitar', 62, 2], ['organ', 67, 2], ['trumpet', 59, 3], ['xylophone', 74, 2]]) {
  jobs.push([`val-circles-${instrument}-${midi}`, () => circlesVideo({ instrument, midi, frames: FRAMES, size: SIZE, stride })]);
}
// sunrise over mountains, cityscape at dusk, sunset, bridge at night, desert, desert island; snow-capped mountain, milky way
[['1f305', 'x'], ['1f306', 'x'], ['1f307', 'x'], ['1f309', 'x'], ['1f3dc', 'x'], ['1f3dd', 'x'], ['1f3d4', 'val'], ['1f30c', 'val']].forEach(([code, split], j) => {
  const path = { frames: FRAMES, size: SIZE, from: [0.3 + 0.05 * (j % 3), 0.4], to: [0.6, 0.55 - 0.05 * (j % 2)], zoomFrom: [0.8, 0.5, 0.6, 0.9][j % 4], zoomTo: [0.5, 0.5, 0.75, 0.45][j % 4] };
  jobs.push([`${split}-emoji-${code}`, async () => pannedImageVideo(await rasteriseSvg(emoji(code), 256, [30, 35, 40]), path)]);
});
for (const [name, make] of jobs) {
  await writeVideoGif(join(dir, `${name}.gif`), await make(), { fps: 20 });
  console.log('wrote', join(dir, `${name}.gif`));
}
for (let seed = 10; seed <= 34; seed++) {
  const out = join(dir, `${seed < 30 ? 'x' : 'val'}-render-${seed}.gif`);
  execFileSync('node', ['bin/nca.js', 'render', '--random', '--seed', String(seed), '--steps', String(2 * FRAMES - 1), '--every', '2', '--size', String(SIZE), '--out', out, '--quiet', '--model', process.env.RENDER_MODEL], { stdio: 'inherit' });
  console.log('wrote', out);
}
