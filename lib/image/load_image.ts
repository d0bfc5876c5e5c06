/**
 * Loading PNG and JPEG files as float RGB images in [0, 1], like
 * `torchvision.io.read_image(path, ImageReadMode.RGB) / 255.` in the reference evaluation.
 *
 * Notes
 * -----
 * - The format is detected from the signature, never from the file extension.
 * - Alpha is dropped without compositing (a transparent pixel keeps its stored colour), as
 *   `ImageReadMode.RGB` does. PNG `tRNS` transparency is ignored too.
 * - 8-bit samples map to `v / 255` and 16-bit samples to `v / 65535`, each rounded once to float32.
 *   Grey 1-, 2- and 4-bit samples map to `v / (2^depth - 1)` (the same values libpng's expansion to 8 bits
 *   gives). Palette images are expanded through their `PLTE` colours; grey images are copied to R, G and B.
 * - PNG decoding uses `fast-png` with CRC checks on; JPEG decoding uses `jpeg-js` (baseline, extended
 *   and progressive Huffman coding, 8-bit precision). `jpeg-js` upsamples subsampled chroma by pixel
 *   replication and uses its own IDCT, so JPEG pixels can differ from libjpeg-turbo (torchvision) by a few
 *   levels out of 255. EXIF orientation is not applied (torchvision's default does not apply it either).
 * - Interlaced (Adam7) PNGs with 1-, 2- or 4-bit samples are refused: `fast-png` 8.0.0 does not unpack
 *   them correctly.
 *
 * @module
 */
import { decode as decodePng } from "npm:fast-png@8.0.0";
import jpeg from "npm:jpeg-js@0.4.4";
import type { ImageRGB } from "../types.ts";
import { readRegularFile } from "../io/read_regular_file.ts";
import { type ImageHeader, readImageHeader } from "./image_header.ts";
import { checkImageLimits, type ImageLimits } from "./image_limits.ts";

/** Options for {@linkcode loadImage} and {@linkcode decodeImage}. */
export interface LoadImageOptions {
  /**
   * Largest accepted `width * height`, checked from the header before any pixel is decoded.
   *
   * @default {64_000_000}
   */
  maxPixels?: number;
  /**
   * Largest accepted estimate of the decoders' peak memory in bytes, checked from the header before any pixel
   * is decoded (`jpeg-js` takes about 60 bytes per pixel of a colour JPEG: 2 GiB admits about 35 megapixels).
   *
   * @default {2 ** 31}
   */
  maxDecodeBytes?: number;
}

/** Defaults of {@linkcode LoadImageOptions}. */
export const DEFAULT_LOAD_IMAGE_OPTIONS: Readonly<Required<LoadImageOptions>> = Object.freeze({
  maxPixels: 64_000_000,
  maxDecodeBytes: 2 ** 31,
});

/** `v / 255` rounded to float32, for every 8-bit value. */
const UNIT_FROM_BYTE: Float32Array = (() => {
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v / 255;
  return lut;
})();

/**
 * Reads and decodes a PNG or JPEG file (or in-memory bytes) into an RGB image with values in [0, 1].
 *
 * @example Decode PNG bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRgbPng } from "./encode_png.ts";
 * import { loadImage } from "./load_image.ts";
 *
 * const png = encodeRgbPng({ data: new Float32Array([1, 0, 0, 0, 0, 1]), height: 1, width: 2 });
 * const image = await loadImage(png);
 * assert.deepEqual([image.height, image.width], [1, 2]);
 * assert.deepEqual(Array.from(image.data), [1, 0, 0, 0, 0, 1]);
 * ```
 *
 * @param source A file path, or the file's bytes (then called `"<bytes>"` in messages).
 * @param options Decoding limits.
 * @returns The image, HWC float32 in [0, 1], alpha dropped.
 * @throws {Deno.errors.NotFound} If the file does not exist.
 * @throws {Error} If the file cannot be read (no permission, a symlink loop, ...); Deno's error class is kept.
 * @throws {TypeError} If `source` is neither a string nor a Uint8Array, is not a regular file (folder, FIFO,
 * device), the data is neither PNG nor JPEG, is truncated or corrupt, or uses a coding the decoders do not support.
 * @throws {RangeError} If the image is 0 pixels wide or high, has more than `maxPixels` pixels, the file is larger
 * than its header allows, decoding would need more than `maxDecodeBytes`, or a limit is not a positive integer.
 * All of these are checked from the header, before the body is read.
 */
export async function loadImage(
  source: string | Uint8Array,
  options: LoadImageOptions = {},
): Promise<ImageRGB> {
  if (source instanceof Uint8Array) return decodeImage(source, "<bytes>", options);
  if (typeof source !== "string") {
    throw new TypeError(`Invalid image source ${typeof source}: expected a file path string or a Uint8Array`);
  }
  const limits = checkLimits(options);
  // Only a regular file is opened, and its header and size are checked before the body is read.
  const bytes = await readRegularFile(source, {
    what: "image",
    checkHead: ({ bytes, size, last }) => {
      let header: ImageHeader;
      try {
        header = readImageHeader(bytes, source);
      } catch (error) {
        if (!last && error instanceof TypeError && /truncated/.test(error.message)) return false;
        throw error;
      }
      checkImageLimits(header, size, source, limits);
      return true;
    },
  });
  return decodeImage(bytes, source, options);
}

/**
 * Decodes PNG or JPEG bytes into an RGB image with values in [0, 1]; the synchronous core of
 * {@linkcode loadImage}.
 *
 * @example Decode a 1x1 grey PNG
 * ```ts
 * import assert from "node:assert/strict";
 * import { encode } from "npm:fast-png@8.0.0";
 * import { decodeImage } from "./load_image.ts";
 *
 * const png = encode({ width: 1, height: 1, channels: 1, depth: 8, data: new Uint8Array([51]) });
 * assert.deepEqual(Array.from(decodeImage(png, "grey.png").data), [0.2, 0.2, 0.2].map(Math.fround));
 * ```
 *
 * @param bytes The whole file.
 * @param name How to call the input in error messages, e.g. its path.
 * @param options Decoding limits.
 * @returns The image, HWC float32 in [0, 1], alpha dropped.
 * @throws {TypeError} If the data is neither PNG nor JPEG, is truncated or corrupt, or uses an unsupported
 * coding (12-bit, lossless or arithmetic-coded JPEG; interlaced PNG below 8 bits).
 * @throws {RangeError} If the image is 0 pixels wide or high, has more than `maxPixels` pixels, the data is larger
 * than its header allows, decoding would need more than `maxDecodeBytes`, or a limit is not a positive integer.
 */
export function decodeImage(bytes: Uint8Array, name = "<bytes>", options: LoadImageOptions = {}): ImageRGB {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Invalid image bytes for ${JSON.stringify(name)}: expected a Uint8Array`);
  }
  const limits = checkLimits(options);
  const header = readImageHeader(bytes, name);
  checkImageLimits(header, bytes.length, name, limits);
  const quoted = JSON.stringify(name);
  return header.format === "png" ? decodePngRgb(bytes, header, quoted) : decodeJpegRgb(bytes, header, quoted);
}

function checkLimits(options: LoadImageOptions): ImageLimits {
  const limits = { ...DEFAULT_LOAD_IMAGE_OPTIONS, ...stripUndefined(options) };
  for (const key of ["maxPixels", "maxDecodeBytes"] as const) {
    const value = limits[key];
    if (!(value === Infinity || (Number.isInteger(value) && value > 0))) {
      throw new RangeError(`Invalid ${key} ${value}: expected a positive integer`);
    }
  }
  return limits;
}

function stripUndefined(options: LoadImageOptions): LoadImageOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** The message of `error` and of its causes, on one line, without a final period or colon. */
function oneLine(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 4; depth++) {
    const text = e instanceof Error ? e.message : String(e);
    parts.push(/outside the bounds of the DataView/.test(text) ? "unexpected end of data" : text);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(" ").replace(/\s+/g, " ").trim().replace(/[.:]$/, "");
}

function corrupt(format: string, quoted: string, error: unknown): TypeError {
  return new TypeError(
    `Cannot decode ${format} ${quoted}: data is truncated or corrupt (${oneLine(error)})`,
    {
      cause: error,
    },
  );
}

function decodePngRgb(bytes: Uint8Array, header: ImageHeader, quoted: string): ImageRGB {
  const { width, height, bitDepth } = header;
  if (header.interlaced && bitDepth < 8) {
    throw new TypeError(
      `Cannot decode PNG ${quoted}: interlaced images with ${bitDepth}-bit samples are not supported, expected 8 or 16 bits`,
    );
  }
  let png: ReturnType<typeof decodePng>;
  try {
    png = decodePng(bytes, { checkCrc: true });
  } catch (error) {
    throw corrupt("PNG", quoted, error);
  }
  const n = width * height;
  const out = new Float32Array(n * 3);
  const src = png.data;
  const isPalette = header.codingType === 3;
  if (bitDepth === 16) {
    const c = png.channels;
    if (src.length < n * c) throw corrupt("PNG", quoted, `expected ${n * c} samples, got ${src.length}`);
    for (let p = 0, o = 0, s = 0; p < n; p++, o += 3, s += c) {
      const r = src[s] / 65535;
      if (c >= 3) {
        out[o] = r;
        out[o + 1] = src[s + 1] / 65535;
        out[o + 2] = src[s + 2] / 65535;
      } else {
        out[o] = out[o + 1] = out[o + 2] = r;
      }
    }
    return { data: out, height, width };
  }
  if (bitDepth === 8 && !isPalette) {
    const c = png.channels;
    if (src.length < n * c) throw corrupt("PNG", quoted, `expected ${n * c} samples, got ${src.length}`);
    const lut = UNIT_FROM_BYTE;
    if (c >= 3) {
      for (let p = 0, o = 0, s = 0; p < n; p++, o += 3, s += c) {
        out[o] = lut[src[s]];
        out[o + 1] = lut[src[s + 1]];
        out[o + 2] = lut[src[s + 2]];
      }
    } else {
      for (let p = 0, o = 0, s = 0; p < n; p++, o += 3, s += c) {
        out[o] = out[o + 1] = out[o + 2] = lut[src[s]];
      }
    }
    return { data: out, height, width };
  }
  // One sample per pixel, packed at 1, 2, 4 or 8 bits: grey or palette indices.
  let lut: Float32Array; // 3 floats per possible sample value
  const levels = 1 << bitDepth;
  if (isPalette) {
    const palette = png.palette;
    if (palette === undefined || palette.length === 0) {
      throw corrupt("PNG", quoted, "palette image without a PLTE chunk");
    }
    lut = new Float32Array(levels * 3).fill(NaN);
    for (let i = 0; i < Math.min(levels, palette.length); i++) {
      for (let k = 0; k < 3; k++) lut[i * 3 + k] = UNIT_FROM_BYTE[palette[i][k]];
    }
  } else {
    lut = new Float32Array(levels * 3);
    const scale = 255 / (levels - 1); // libpng's expansion to 8 bits: 255, 85 or 17 per step
    for (let v = 0; v < levels; v++) lut[v * 3] = lut[v * 3 + 1] = lut[v * 3 + 2] = UNIT_FROM_BYTE[v * scale];
  }
  const rowBytes = Math.ceil((width * bitDepth) / 8);
  if (src.length < rowBytes * height) {
    throw corrupt("PNG", quoted, `expected ${rowBytes * height} bytes of samples, got ${src.length}`);
  }
  const mask = levels - 1;
  for (let y = 0, o = 0; y < height; y++) {
    const row = y * rowBytes;
    for (let x = 0; x < width; x++, o += 3) {
      const bit = x * bitDepth;
      const v = (src[row + (bit >> 3)] >> (8 - bitDepth - (bit & 7))) & mask;
      const r = lut[v * 3];
      if (r !== r) {
        throw corrupt(
          "PNG",
          quoted,
          `palette index ${v} at (${y}, ${x}) is outside the ${png.palette?.length}-colour PLTE`,
        );
      }
      out[o] = r;
      out[o + 1] = lut[v * 3 + 1];
      out[o + 2] = lut[v * 3 + 2];
    }
  }
  return { data: out, height, width };
}

function decodeJpegRgb(bytes: Uint8Array, header: ImageHeader, quoted: string): ImageRGB {
  const { width, height, bitDepth, codingType } = header;
  if (bitDepth !== 8) {
    throw new TypeError(`Cannot decode JPEG ${quoted}: sample precision is ${bitDepth} bits, expected 8`);
  }
  if (codingType !== 0xc0 && codingType !== 0xc1 && codingType !== 0xc2) {
    const process = `SOF${codingType - 0xc0} (lossless, arithmetic or hierarchical)`;
    throw new TypeError(
      `Cannot decode JPEG ${quoted}: coding process ${process} is not supported, expected SOF0, SOF1 or SOF2`,
    );
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: Infinity, // the header check above already applied maxPixels
      // Coefficients (4 bytes), component planes and the RGB output for up to 4 components, with margin.
      maxMemoryUsageInMB: Math.max(512, Math.ceil((width * height * 40) / 2 ** 20)),
    });
  } catch (error) {
    throw corrupt("JPEG", quoted, error);
  }
  const n = width * height * 3;
  if (decoded.width !== width || decoded.height !== height || decoded.data.length !== n) {
    throw corrupt(
      "JPEG",
      quoted,
      `decoded ${decoded.width}x${decoded.height}, header says ${width}x${height}`,
    );
  }
  const out = new Float32Array(n);
  const src = decoded.data;
  for (let i = 0; i < n; i++) out[i] = UNIT_FROM_BYTE[src[i]];
  return { data: out, height, width };
}
