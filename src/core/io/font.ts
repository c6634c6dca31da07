/**
 * A tiny built-in bitmap font for labels on generated images (contact sheets): 3 x 5 pixel glyphs
 * for 0-9, A-Z (lower case is drawn as upper case) and `# + - . _ : /` and space, one blank column
 * between characters. Unknown characters are drawn as `?`.
 */
import type { RgbaImage } from './image.js';

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;
/** Horizontal advance per character, in font pixels (glyph + one blank column). */
export const GLYPH_ADVANCE = GLYPH_WIDTH + 1;

// Each glyph: 5 rows of 3 characters, '#' = ink.
const GLYPHS: Record<string, string> = {
  '0': '### #.# #.# #.# ###', '1': '.#. ##. .#. .#. ###', '2': '### ..# ### #.. ###', '3': '### ..# .## ..# ###',
  '4': '#.# #.# ### ..# ..#', '5': '### #.. ### ..# ###', '6': '### #.. ### #.# ###', '7': '### ..# .#. .#. .#.',
  '8': '### #.# ### #.# ###', '9': '### #.# ### ..# ###',
  A: '.#. #.# ### #.# #.#', B: '##. #.# ##. #.# ##.', C: '.## #.. #.. #.. .##', D: '##. #.# #.# #.# ##.',
  E: '### #.. ##. #.. ###', F: '### #.. ##. #.. #..', G: '.## #.. #.# #.# .##', H: '#.# #.# ### #.# #.#',
  I: '### .#. .#. .#. ###', J: '..# ..# ..# #.# .#.', K: '#.# #.# ##. #.# #.#', L: '#.. #.. #.. #.. ###',
  M: '#.# ### ### #.# #.#', N: '##. #.# #.# #.# #.#', O: '.#. #.# #.# #.# .#.', P: '##. #.# ##. #.. #..',
  Q: '.#. #.# #.# ##. .##', R: '##. #.# ##. #.# #.#', S: '.## #.. .#. ..# ##.', T: '### .#. .#. .#. .#.',
  U: '#.# #.# #.# #.# ###', V: '#.# #.# #.# #.# .#.', W: '#.# #.# ### ### #.#', X: '#.# #.# .#. #.# #.#',
  Y: '#.# #.# .#. .#. .#.', Z: '### ..# .#. #.. ###',
  '#': '#.# ### #.# ### #.#', '+': '... .#. ### .#. ...', '-': '... ... ### ... ...', '.': '... ... ... ... .#.',
  _: '... ... ... ... ###', ':': '... .#. ... .#. ...', '/': '..# ..# .#. #.. #..', ' ': '... ... ... ... ...',
  '?': '### ..# .## ... .#.',
};

/** Width in image pixels of `text` drawn at `scale` (no trailing blank column). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * GLYPH_ADVANCE - 1) * scale;
}

/**
 * Draws `text` into `img` with its top-left corner at (x, y), each font pixel a `scale` x `scale`
 * block of `color` (RGB bytes, opaque). Pixels outside the image are clipped.
 */
export function drawText(img: RgbaImage, text: string, x: number, y: number, color: readonly [number, number, number], scale = 1): void {
  for (let k = 0; k < text.length; k++) {
    const glyph = GLYPHS[text[k]!.toUpperCase()] ?? GLYPHS['?']!;
    const rows = glyph.split(' ');
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (rows[gy]![gx] !== '#') continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = x + (k * GLYPH_ADVANCE + gx) * scale + sx, py = y + gy * scale + sy;
            if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
            const o = (py * img.width + px) * 4;
            img.data[o] = color[0];
            img.data[o + 1] = color[1];
            img.data[o + 2] = color[2];
            img.data[o + 3] = 255;
          }
        }
      }
    }
  }
}
