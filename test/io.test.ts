import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import pngjs from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { cleanupTempFiles, liveTempFiles, withAtomicOutput, writeFileAtomic } from '../src/core/io/atomic.js';
import { GifWriter, PaletteQuantizer, gifFrameDelayCs, syntheticFrames, writeGif } from '../src/core/io/gif.js';
import { hstack, planarToRgba, upscaleNearest, type RgbaImage } from '../src/core/io/image.js';
import { encodePng, readPng, writePng } from '../src/core/io/png.js';
import { Rng } from '../src/core/rng.js';
import { buildPng } from './png-files.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nca-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Files in `folder`, sorted (temp files start with .nca-tmp-). */
async function listing(folder: string): Promise<string[]> {
  return (await readdir(folder)).sort();
}

// ---------------------------------------------------------------------------------------------
describe('atomic writes', () => {
  it('writes the file, creating parent folders, and leaves no temp file', async () => {
    const target = join(dir, 'a', 'b', 'out.txt');
    await writeFileAtomic(target, 'hello');
    expect(await readFile(target, 'utf8')).toBe('hello');
    expect(await listing(join(dir, 'a', 'b'))).toEqual(['out.txt']);
    await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    expect([...(await readFile(target))]).toEqual([1, 2, 3]);
    expect(await listing(join(dir, 'a', 'b'))).toEqual(['out.txt']);
    expect(liveTempFiles()).toEqual([]);
  });

  it('hands fn a temp path beside the target and returns its result', async () => {
    const target = join(dir, 'beside', 'x.bin');
    const result = await withAtomicOutput(target, async (tmp) => {
      expect(tmp.startsWith(join(dir, 'beside', '.nca-tmp-'))).toBe(true);
      expect(tmp.endsWith('-x.bin')).toBe(true);
      expect(liveTempFiles()).toEqual([tmp]);
      await writeFile(tmp, 'data');
      expect(await listing(join(dir, 'beside'))).toEqual([tmp.slice(tmp.lastIndexOf('/') + 1)]);
      return 42;
    });
    expect(result).toBe(42);
    expect(await readFile(target, 'utf8')).toBe('data');
    expect(await listing(join(dir, 'beside'))).toEqual(['x.bin']);
  });

  it('on a thrown error: rethrows, removes the temp file, leaves the target untouched', async () => {
    const folder = join(dir, 'fail');
    const target = join(folder, 'keep.txt');
    await writeFileAtomic(target, 'original');
    const boom = new Error('boom');
    await expect(
      withAtomicOutput(target, async (tmp) => {
        await writeFile(tmp, 'half-writ');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await readFile(target, 'utf8')).toBe('original');
    expect(await listing(folder)).toEqual(['keep.txt']);
    expect(liveTempFiles()).toEqual([]);
  });

  it('cleanupTempFiles removes temp files still being written (Ctrl-C)', async () => {
    const folder = join(dir, 'interrupt');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const written = new Promise<void>((r) => (started = r));
    const pending = withAtomicOutput(join(folder, 'big.gif'), async (tmp) => {
      await writeFile(tmp, 'partial');
      started();
      await gate;
    });
    await written;
    expect((await listing(folder)).length).toBe(1);
    cleanupTempFiles();
    expect(await listing(folder)).toEqual([]);
    release();
    await expect(pending).rejects.toThrow();
    expect(await listing(folder)).toEqual([]);
  });

  it('a path through a file or onto a folder is a UserError naming the path', async () => {
    const file = join(dir, 'plain.txt');
    await writeFileAtomic(file, 'x');
    await expect(writeFileAtomic(join(file, 'sub', 'out.gif'), 'x')).rejects.toThrow(UserError);
    await expect(writeFileAtomic(join(file, 'sub', 'out.gif'), 'x')).rejects.toThrow(/plain\.txt/);
    const folder = join(dir, 'is-a-folder');
    await mkdir(join(folder, 'child'), { recursive: true });
    const err = await writeFileAtomic(folder, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/cannot write .*is-a-folder: it is a folder/);
    expect((await listing(dir)).filter((f) => f.startsWith('.nca-tmp-'))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('images', () => {
  it('planarToRgba converts [3][H][W] floats to RGBA bytes (rounded, clamped, NaN -> 0, opaque)', () => {
    // 3x2 image, planes R, G, B.
    const R = [0, 0.5, 1, -0.3, 1.7, NaN];
    const G = [1, 0.25, 0, 0.002, 0.998, 0.5];
    const B = [0.1, 0.2, 0.3, 0.4, 0.6, 0.9];
    const img = planarToRgba(new Float32Array([...R, ...G, ...B]), 3, 2);
    expect(img.width).toBe(3);
    expect(img.height).toBe(2);
    const byte = (v: number) => (Number.isNaN(v) ? 0 : Math.min(255, Math.max(0, Math.round(Math.fround(v) * 255))));
    const expected = R.flatMap((r, i) => [byte(r), byte(G[i]!), byte(B[i]!), 255]);
    expect([...img.data]).toEqual(expected);
    expect(expected.slice(0, 8)).toEqual([0, 255, 26, 255, 128, 64, 51, 255]);
  });

  it('planarToRgba with scale draws each cell as a block and reuses out', () => {
    const rng = new Rng(3);
    const planes = new Float32Array(3 * 5 * 4);
    rng.fillUniform(planes);
    const one = planarToRgba(planes, 5, 4);
    const out = new Uint8Array(15 * 12 * 4);
    const three = planarToRgba(planes, 5, 4, 3, out);
    expect(three.data).toBe(out);
    expect(three.width).toBe(15);
    expect(three.height).toBe(12);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 15; x++) {
        const s = ((y / 3) | 0) * 5 + ((x / 3) | 0);
        expect([...out.subarray((y * 15 + x) * 4, (y * 15 + x) * 4 + 4)]).toEqual([...one.data.subarray(s * 4, s * 4 + 4)]);
      }
    }
    expect(upscaleNearest(one, 3).data).toEqual(three.data);
    expect(upscaleNearest(one, 1)).toBe(one);
    expect(() => planarToRgba(planes, 5, 4, 2, new Uint8Array(10))).toThrow(RangeError);
    expect(() => planarToRgba(planes, 5, 5)).toThrow(RangeError);
  });

  it('hstack puts images side by side with a gap, black where uncovered', () => {
    const red: RgbaImage = { width: 2, height: 2, data: new Uint8Array(16).fill(0).map((_, i) => [255, 0, 0, 255][i % 4]!) };
    const blue: RgbaImage = { width: 1, height: 3, data: new Uint8Array(12).map((_, i) => [0, 0, 255, 255][i % 4]!) };
    const img = hstack([red, blue], 1);
    expect(img.width).toBe(4);
    expect(img.height).toBe(3);
    const px = (x: number, y: number) => [...img.data.subarray((y * 4 + x) * 4, (y * 4 + x) * 4 + 4)];
    expect(px(0, 0)).toEqual([255, 0, 0, 255]);
    expect(px(1, 1)).toEqual([255, 0, 0, 255]);
    expect(px(2, 0)).toEqual([0, 0, 0, 255]); // gap
    expect(px(0, 2)).toEqual([0, 0, 0, 255]); // below the shorter image
    expect(px(3, 2)).toEqual([0, 0, 255, 255]);
  });
});

// ---------------------------------------------------------------------------------------------
describe('PNG', () => {
  const noiseImage = (w: number, h: number, seed: number, alpha = false): RgbaImage => {
    const rng = new Rng(seed);
    const data = new Uint8Array(w * h * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i & 3) === 3 && !alpha ? 255 : rng.int(256);
    return { width: w, height: h, data };
  };

  it('round trips opaque and translucent images exactly', async () => {
    for (const alpha of [false, true]) {
      const img = noiseImage(13, 7, alpha ? 2 : 1, alpha);
      const path = join(dir, 'png', `rt-${alpha}.png`);
      await writePng(path, img);
      const back = await readPng(path);
      expect(back.width).toBe(13);
      expect(back.height).toBe(7);
      expect(back.data).toEqual(img.data);
    }
    // Opaque images are stored as RGB (colour type 2), translucent as RGBA (6): byte 25 of the IHDR.
    expect(encodePng(noiseImage(4, 4, 1))[25]).toBe(2);
    expect(encodePng(noiseImage(4, 4, 1, true))[25]).toBe(6);
    expect(await listing(join(dir, 'png'))).toEqual(['rt-false.png', 'rt-true.png']);
  });

  it('reads grey and palette PNGs as RGBA', async () => {
    const { PNG } = pngjs;
    const src = new PNG({ width: 2, height: 1 });
    src.data = Buffer.from([10, 10, 10, 255, 200, 200, 200, 255]);
    const grey = PNG.sync.write(src, { colorType: 0 });
    expect(grey[25]).toBe(0);
    await writeFile(join(dir, 'grey.png'), grey);
    expect([...(await readPng(join(dir, 'grey.png'))).data]).toEqual([10, 10, 10, 255, 200, 200, 200, 255]);
    // A 1x2 palette PNG (colour type 3, bit depth 8) built by hand: palette red, green; pixels 1, 0.
    const palettePng = buildPng(1, 2, 3, [
      ['PLTE', Buffer.from([255, 0, 0, 0, 255, 0])],
      ['IDAT', deflateSync(Buffer.from([0, 1, 0, 0]))],
    ]);
    await writeFile(join(dir, 'pal.png'), palettePng);
    expect([...(await readPng(join(dir, 'pal.png'))).data]).toEqual([0, 255, 0, 255, 255, 0, 0, 255]);
  });

  it('a missing or corrupt file is a UserError naming the file and the problem', async () => {
    const missing = join(dir, 'nope.png');
    await expect(readPng(missing)).rejects.toThrow(UserError);
    await expect(readPng(missing)).rejects.toThrow(`cannot read PNG ${missing}: no such file`);
    const corrupt = join(dir, 'corrupt.png');
    await writeFile(corrupt, 'this is not a png');
    await expect(readPng(corrupt)).rejects.toThrow(UserError);
    await expect(readPng(corrupt)).rejects.toThrow(`${corrupt} is not a valid PNG`);
    const truncated = join(dir, 'truncated.png');
    await writeFile(truncated, encodePng(noiseImage(16, 16, 4)).subarray(0, 60));
    await expect(readPng(truncated)).rejects.toThrow(`${truncated} is not a valid PNG`);
    await expect(readPng(dir)).rejects.toThrow(/it is a folder/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('GIF', () => {
  it('writes GIF89a with a forever loop, one image per frame, delays from fps, and the trailer', () => {
    const frames = syntheticFrames('smooth', 32, 5);
    const gif = new GifWriter({ width: 32, height: 32, fps: 25 });
    for (const f of frames) gif.addFrame(f);
    expect(gif.frameCount).toBe(5);
    const bytes = gif.bytes();
    expect(Buffer.from(bytes.subarray(0, 6)).toString('latin1')).toBe('GIF89a');
    expect(bytes[bytes.length - 1]).toBe(0x3b);
    const decoded = decodeGif(bytes);
    expect(decoded.width).toBe(32);
    expect(decoded.height).toBe(32);
    expect(decoded.loopCount).toBe(0);
    expect(decoded.frames.length).toBe(5);
    expect(decoded.frames.map((f) => f.delayCs)).toEqual([4, 4, 4, 4, 4]);
    expect(() => gif.addFrame(frames[0]!)).toThrow(/after bytes/);
    expect(gif.bytes()).toEqual(bytes);
  });

  it('rounds timestamps, not delays, to 1/100 s: 30 fps plays 100 cs per 30 frames', () => {
    const delays = Array.from({ length: 30 }, (_, k) => gifFrameDelayCs(k, 30));
    expect(delays.reduce((a, b) => a + b, 0)).toBe(100);
    expect(new Set(delays)).toEqual(new Set([3, 4]));
    expect(gifFrameDelayCs(0, 50)).toBe(2);
    expect(gifFrameDelayCs(7, 0.5)).toBe(200);
    const frames = syntheticFrames('smooth', 8, 6);
    const gif = new GifWriter({ width: 8, height: 8, fps: 30 });
    for (const f of frames) gif.addFrame(f);
    expect(decodeGif(gif.bytes()).frames.map((f) => f.delayCs)).toEqual([3, 4, 3, 3, 4, 3]);
  });

  it('rejects fps a GIF cannot play and frames of the wrong size', () => {
    expect(() => new GifWriter({ width: 8, height: 8, fps: 60 })).toThrow(UserError);
    expect(() => new GifWriter({ width: 8, height: 8, fps: 0 })).toThrow(/--fps/);
    const gif = new GifWriter({ width: 8, height: 8, fps: 10 });
    expect(() => gif.addFrame(syntheticFrames('smooth', 9, 1)[0]!)).toThrow(/9x9/);
    expect(() => gif.bytes()).toThrow(/at least one frame/);
  });

  it('is deterministic: the same frames give identical bytes', () => {
    const frames = [...syntheticFrames('noisy', 24, 3, 5), ...syntheticFrames('smooth', 24, 3)];
    const encode = () => {
      const gif = new GifWriter({ width: 24, height: 24, fps: 20 });
      for (const f of frames) gif.addFrame(f);
      return gif.bytes();
    };
    expect(Buffer.from(encode()).equals(Buffer.from(encode()))).toBe(true);
  });

  it('decodes close to the input: exact for few colours, close for smooth frames, fair for noise', () => {
    // Few colours, each in its own histogram bin: reproduced exactly.
    const flat: RgbaImage = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 4) };
    const colours = [[0, 0, 0], [255, 255, 255], [200, 30, 40], [12, 140, 250], [90, 90, 91]];
    for (let i = 0; i < 256; i++) flat.data.set([...colours[(i * 7) % 5]!, 255], i * 4);
    // NCA-like: a smooth field drawn through a colour map (colours on a curve, ~100 histogram bins).
    const ramp: RgbaImage = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 4) };
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const t = 0.5 + 0.25 * Math.sin(x / 7) + 0.25 * Math.cos(y / 11);
        ramp.data.set([Math.round(255 * t), Math.round(255 * t * t), Math.round(255 * (1 - t) * 0.8 + 30), 255], (y * 64 + x) * 4);
      }
    }
    const check = (frames: RgbaImage[]) => {
      const gif = new GifWriter({ width: frames[0]!.width, height: frames[0]!.height, fps: 25 });
      for (const f of frames) gif.addFrame(f);
      const decoded = decodeGif(gif.bytes());
      return frames.map((f, k) => errorStats(f, decoded.frames[k]!.rgba));
    };
    expect(check([flat])[0]!.maxAbs).toBe(0);
    // Over 65536 pixels of one colour in one bin (counts must not wrap).
    const big: RgbaImage = { width: 300, height: 300, data: new Uint8Array(300 * 300 * 4) };
    for (let i = 0; i < 300 * 300; i++) big.data.set(i < 70000 ? [37, 201, 99, 255] : [250, 5, 5, 255], i * 4);
    expect(check([big])[0]!.maxAbs).toBe(0);
    const rampError = check([ramp])[0]!;
    expect(rampError.meanAbs).toBeLessThan(2.5);
    expect(rampError.maxAbs).toBeLessThanOrEqual(8);
    // Full-gamut waves (3 independent channels: the hard smooth case) and uniform noise.
    for (const e of check(syntheticFrames('smooth', 64, 3))) expect(e.psnr).toBeGreaterThan(26.5);
    for (const e of check(syntheticFrames('noisy', 64, 2, 9))) expect(e.psnr).toBeGreaterThan(24);
  });

  it('PaletteQuantizer: at most maxColors colours, every index valid, each colour the mean of its pixels', () => {
    const q = new PaletteQuantizer();
    for (const frame of [syntheticFrames('noisy', 48, 1, 2)[0]!, syntheticFrames('smooth', 48, 1)[0]!]) {
      for (const maxColors of [256, 16, 1]) {
        const indices = new Uint8Array(48 * 48);
        const palette = q.quantize(frame.data, indices, maxColors);
        expect(palette.length).toBe(maxColors);
        const sums = palette.map(() => [0, 0, 0, 0]);
        indices.forEach((p, i) => {
          expect(p).toBeLessThan(palette.length);
          const s = sums[p]!;
          s[0]! += frame.data[i * 4]!;
          s[1]! += frame.data[i * 4 + 1]!;
          s[2]! += frame.data[i * 4 + 2]!;
          s[3]! += 1;
        });
        palette.forEach((c, p) => {
          const s = sums[p]!;
          expect(c).toEqual([Math.round(s[0]! / s[3]!), Math.round(s[1]! / s[3]!), Math.round(s[2]! / s[3]!)]);
        });
      }
    }
  });

  it('writeGif writes the file atomically', async () => {
    const path = join(dir, 'gif', 'anim.gif');
    const frames = syntheticFrames('smooth', 16, 4);
    await writeGif(path, frames, { fps: 10 });
    const decoded = decodeGif(new Uint8Array(await readFile(path)));
    expect(decoded.frames.length).toBe(4);
    expect(decoded.frames[0]!.delayCs).toBe(10);
    expect(await listing(join(dir, 'gif'))).toEqual(['anim.gif']);
  });

  it('streams a long run of noisy frames (speed is measured by nca bench, not here)', () => {
    const frames = syntheticFrames('noisy', 128, 10, 11);
    const gif = new GifWriter({ width: 128, height: 128, fps: 25 });
    for (let k = 0; k < 200; k++) gif.addFrame(frames[k % frames.length]!);
    expect(decodeGif(gif.bytes()).frames.length).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Helpers: an independent GIF decoder (block parser + LZW) and PNG chunk builder.

interface DecodedGif {
  width: number;
  height: number;
  loopCount: number | null;
  frames: { delayCs: number; rgba: Uint8Array }[];
}

function decodeGif(bytes: Uint8Array): DecodedGif {
  let p = 0;
  const u8 = () => bytes[p++]!;
  const u16 = () => u8() | (u8() << 8);
  const header = Buffer.from(bytes.subarray(0, 6)).toString('latin1');
  if (header !== 'GIF89a') throw new Error(`bad header ${header}`);
  p = 6;
  const width = u16();
  const height = u16();
  const flags = u8();
  p += 2;
  let globalTable: Uint8Array | null = null;
  if (flags & 0x80) {
    const n = 3 << ((flags & 7) + 1);
    globalTable = bytes.subarray(p, p + n);
    p += n;
  }
  const subBlocks = (): Uint8Array => {
    const parts: number[] = [];
    for (let n = u8(); n !== 0; n = u8()) for (let i = 0; i < n; i++) parts.push(u8());
    return new Uint8Array(parts);
  };
  let loopCount: number | null = null;
  let delayCs = 0;
  const frames: DecodedGif['frames'] = [];
  for (;;) {
    const block = u8();
    if (block === 0x3b) break;
    if (block === 0x21) {
      const label = u8();
      if (label === 0xf9) {
        p += 2; // size, packed
        delayCs = u16();
        p += 2; // transparent index, terminator
      } else if (label === 0xff) {
        const size = u8();
        const id = Buffer.from(bytes.subarray(p, p + size)).toString('latin1');
        p += size;
        const data = subBlocks();
        if (id === 'NETSCAPE2.0' && data[0] === 1) loopCount = data[1]! | (data[2]! << 8);
      } else {
        subBlocks();
      }
    } else if (block === 0x2c) {
      p += 4;
      const w = u16();
      const h = u16();
      const f = u8();
      let table = globalTable;
      if (f & 0x80) {
        const n = 3 << ((f & 7) + 1);
        table = bytes.subarray(p, p + n);
        p += n;
      }
      const minCodeSize = u8();
      const indices = lzwDecode(subBlocks(), minCodeSize, w * h);
      const rgba = new Uint8Array(w * h * 4);
      indices.forEach((ix, i) => rgba.set([table![ix * 3]!, table![ix * 3 + 1]!, table![ix * 3 + 2]!, 255], i * 4));
      frames.push({ delayCs, rgba });
    } else {
      throw new Error(`unknown block 0x${block.toString(16)} at ${p - 1}`);
    }
  }
  if (p !== bytes.length) throw new Error('bytes after the trailer');
  return { width, height, loopCount, frames };
}

function lzwDecode(data: Uint8Array, minCodeSize: number, pixelCount: number): Uint8Array {
  const out = new Uint8Array(pixelCount);
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  // Code table as (prefix code, last byte, length); entries are written out back to front.
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Int32Array(4096);
  for (let i = 0; i < clear; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    length[i] = 1;
  }
  let codeSize = minCodeSize + 1;
  let next = clear + 2;
  let prev = -1;
  let bitPos = 0;
  let outPos = 0;
  const firstByte = (code: number) => {
    while (prefix[code]! >= 0) code = prefix[code]!;
    return suffix[code]!;
  };
  const emit = (code: number) => {
    const n = length[code]!;
    for (let k = n - 1, c = code; k >= 0; k--, c = prefix[c]!) out[outPos + k] = suffix[c]!;
    outPos += n;
  };
  while (bitPos + codeSize <= data.length * 8) {
    let code = 0;
    for (let i = 0; i < codeSize; i++, bitPos++) code |= ((data[bitPos >> 3]! >> (bitPos & 7)) & 1) << i;
    if (code === clear) {
      codeSize = minCodeSize + 1;
      next = clear + 2;
      prev = -1;
      continue;
    }
    if (code === eoi) break;
    if (code > next || (code === next && prev < 0)) throw new Error(`bad LZW code ${code}`);
    if (prev >= 0 && next < 4096) {
      prefix[next] = prev;
      suffix[next] = code === next ? firstByte(prev) : firstByte(code);
      length[next] = length[prev]! + 1;
      next++;
    }
    if (outPos + length[code]! > pixelCount) throw new Error('LZW data longer than the image');
    emit(code);
    if (next === 1 << codeSize && codeSize < 12) codeSize++;
    prev = code;
  }
  if (outPos !== pixelCount) throw new Error(`LZW gave ${outPos} pixels, expected ${pixelCount}`);
  return out;
}

function errorStats(img: RgbaImage, decoded: Uint8Array): { meanAbs: number; maxAbs: number; psnr: number } {
  let abs = 0, max = 0, sq = 0, n = 0;
  for (let i = 0; i < img.data.length; i++) {
    if ((i & 3) === 3) continue;
    const d = Math.abs(img.data[i]! - decoded[i]!);
    abs += d;
    sq += d * d;
    max = Math.max(max, d);
    n++;
  }
  return { meanAbs: abs / n, maxAbs: max, psnr: sq === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / sq) };
}

