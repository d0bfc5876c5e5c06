/**
 * Format sniffing and header parsing for PNG and JPEG, without decoding pixels.
 *
 * The format comes from the file signature, never from a file extension. Reading the header first lets
 * {@linkcode decodeImage} refuse empty or oversized images before a codec allocates memory for them.
 *
 * @module
 */

/** The image formats this project decodes. */
export type ImageFormat = "png" | "jpeg";

/** What the header of a PNG or JPEG file says about its pixels. */
export interface ImageHeader {
  /** Container format, from the signature. */
  format: ImageFormat;
  /** Width in pixels (may be 0 in a malformed file; {@linkcode decodeImage} rejects that). */
  width: number;
  /** Height in pixels (may be 0 in a malformed file or a JPEG that defers it to a DNL marker). */
  height: number;
  /** PNG bits per sample (1, 2, 4, 8 or 16), or JPEG sample precision (8 or 12). */
  bitDepth: number;
  /** Samples per pixel as stored: PNG 1 (grey or palette), 2, 3 or 4; JPEG component count. */
  channels: number;
  /** PNG: Adam7 interlaced. JPEG: progressive coding (SOF2, SOF6, SOF10 or SOF14). */
  interlaced: boolean;
  /** PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA), or JPEG start-of-frame marker (0xC0 to 0xCF). */
  codingType: number;
}

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10] as const;

/** Bit depths the PNG specification allows for each colour type. */
const PNG_DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
const PNG_CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Tells the image format from the leading bytes (PNG: the 8-byte signature; JPEG: `FF D8 FF`).
 *
 * @example Sniff a PNG signature
 * ```ts
 * import assert from "node:assert/strict";
 * import { sniffImageFormat } from "./image_header.ts";
 *
 * assert.equal(sniffImageFormat(new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10])), "png");
 * assert.equal(sniffImageFormat(new TextEncoder().encode("hello")), undefined);
 * ```
 *
 * @param bytes The start of the file (at least 8 bytes to recognise a PNG, 3 for a JPEG).
 * @returns `"png"`, `"jpeg"`, or `undefined` when neither signature matches.
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  return undefined;
}

/**
 * Reads the size and coding of a PNG (IHDR chunk) or JPEG (first start-of-frame segment) without
 * decoding any pixels.
 *
 * @example Read a JPEG header
 * ```ts
 * import assert from "node:assert/strict";
 * import { readImageHeader } from "./image_header.ts";
 *
 * // SOI, then a baseline SOF0 segment for a 3-component 8-bit image of 2 rows x 5 columns.
 * const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0, 2, 0, 5, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
 * const header = readImageHeader(jpeg);
 * assert.deepEqual([header.format, header.height, header.width, header.channels], ["jpeg", 2, 5, 3]);
 * ```
 *
 * @param bytes The whole file, or at least its header.
 * @param name How to call the input in error messages (a path, or `"<bytes>"`).
 * @returns The header fields; width or height may be 0 if the file says so.
 * @throws {TypeError} If the bytes are neither PNG nor JPEG, or the header is truncated or malformed.
 */
export function readImageHeader(bytes: Uint8Array, name = "<bytes>"): ImageHeader {
  const format = sniffImageFormat(bytes);
  if (format === "png") return readPngHeader(bytes, name);
  if (format === "jpeg") return readJpegHeader(bytes, name);
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  const got = bytes.length === 0 ? "an empty file" : `first bytes ${head}`;
  throw new TypeError(`Cannot decode image ${JSON.stringify(name)}: expected PNG or JPEG data, got ${got}`);
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function readPngHeader(bytes: Uint8Array, name: string): ImageHeader {
  const where = `Cannot decode PNG ${JSON.stringify(name)}`;
  // Signature (8), IHDR length (4), "IHDR" (4), 13 data bytes.
  if (bytes.length < 8 + 8 + 13) {
    throw new TypeError(`${where}: file is truncated, ${bytes.length} bytes is shorter than the PNG header`);
  }
  const type = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  const length = readUint32(bytes, 8);
  if (type !== "IHDR" || length !== 13) {
    throw new TypeError(
      `${where}: expected an IHDR chunk of 13 bytes first, got ${JSON.stringify(type)} of ${length}`,
    );
  }
  const width = readUint32(bytes, 16);
  const height = readUint32(bytes, 20);
  const bitDepth = bytes[24];
  const colorType = bytes[25];
  const allowed = PNG_DEPTHS[colorType];
  if (allowed === undefined || !allowed.includes(bitDepth)) {
    throw new TypeError(`${where}: invalid colour type ${colorType} with bit depth ${bitDepth}`);
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28] > 1) {
    throw new TypeError(
      `${where}: invalid compression, filter or interlace method (${bytes[26]}, ${bytes[27]}, ${bytes[28]})`,
    );
  }
  return {
    format: "png",
    width,
    height,
    bitDepth,
    channels: PNG_CHANNELS[colorType],
    interlaced: bytes[28] === 1,
    codingType: colorType,
  };
}

function readJpegHeader(bytes: Uint8Array, name: string): ImageHeader {
  const where = `Cannot decode JPEG ${JSON.stringify(name)}`;
  let pos = 2; // after SOI
  while (pos < bytes.length) {
    if (bytes[pos] !== 0xff) {
      throw new TypeError(`${where}: expected a marker at byte ${pos}, got 0x${bytes[pos].toString(16)}`);
    }
    while (pos < bytes.length && bytes[pos] === 0xff) pos++; // fill bytes
    if (pos >= bytes.length) break;
    const marker = bytes[pos++];
    // Stand-alone markers carry no length field.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) {
      throw new TypeError(`${where}: no start-of-frame segment before ${marker === 0xd9 ? "EOI" : "SOS"}`);
    }
    if (pos + 2 > bytes.length) break;
    const length = (bytes[pos] << 8) | bytes[pos + 1];
    if (length < 2) throw new TypeError(`${where}: invalid segment length ${length} at byte ${pos}`);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (pos + 8 > bytes.length) break;
      return {
        format: "jpeg",
        bitDepth: bytes[pos + 2],
        height: (bytes[pos + 3] << 8) | bytes[pos + 4],
        width: (bytes[pos + 5] << 8) | bytes[pos + 6],
        channels: bytes[pos + 7],
        interlaced: (marker & 0x03) === 0x02,
        codingType: marker,
      };
    }
    pos += length;
  }
  throw new TypeError(
    `${where}: file is truncated before the start-of-frame segment (${bytes.length} bytes)`,
  );
}
