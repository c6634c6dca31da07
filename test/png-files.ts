/**
 * Hand-made PNG files for tests: valid chunks (length, type, data, CRC) around any IHDR and data,
 * so tests can build what encoders never write (palettes with transparency, headers that claim
 * billions of pixels over a tiny image stream).
 */
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data, CRC-32 of type + data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A PNG of 8-bit samples: signature, IHDR (width, height, colour type), the given chunks, IEND. */
export function buildPng(width: number, height: number, colorType: number, chunks: [string, Buffer][]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colorType; // 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA
  return Buffer.concat([SIGNATURE, pngChunk('IHDR', ihdr), ...chunks.map(([t, d]) => pngChunk(t, d)), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A PNG whose header declares width x height (colour type `colorType`) but whose image stream
 * holds only `bytes` zero bytes: a decoder that trusts the header allocates the whole declared size.
 */
export function pngDeclaring(width: number, height: number, bytes = 64, colorType = 6): Buffer {
  return buildPng(width, height, colorType, [['IDAT', deflateSync(Buffer.alloc(bytes))]]);
}
