/**
 * What an image may cost before any pixel is decoded, from its header alone: its pixel count, the largest file
 * that can honestly hold such an image (so a multi-gigabyte file with a small header is refused before it is
 * read), and the memory the decoders will take.
 *
 * Notes
 * -----
 * The memory model was measured with `VmHWM` while decoding 9-megapixel noise images: `jpeg-js` peaks at about
 * 60 bytes per pixel for a 3-component JPEG (coefficients and planes per component, RGB bytes, then the float
 * output's 12), `fast-png` at about 22 for 8-bit RGB (inflated rows, unfiltered samples, float output).
 *
 * @module
 */
import type { ImageHeader } from "./image_header.ts";

/** Limits checked by {@linkcode checkImageLimits}. */
export interface ImageLimits {
  /** Largest accepted `width * height`. */
  maxPixels: number;
  /** Largest accepted estimate of the decoders' memory, in bytes. */
  maxDecodeBytes: number;
}

/** Room for metadata (EXIF, ICC profiles, text chunks) beyond what the pixels need. */
const METADATA_ALLOWANCE = 64 * 1024 * 1024;

function rawPngBytes(h: ImageHeader): number {
  return h.height * (1 + Math.ceil((h.width * h.channels * h.bitDepth) / 8));
}

/**
 * The largest file that can hold an image with this header: twice the raw sample bytes (deflate's stored
 * blocks and tiny IDAT chunks stay well below that; so do JPEG's entropy-coded data) plus 64 MiB of metadata.
 *
 * @param header The image's header.
 * @returns Bytes.
 */
export function maxEncodedBytes(header: ImageHeader): number {
  const raw = header.format === "png" ? rawPngBytes(header) : header.width * header.height * header.channels;
  return 2 * raw + METADATA_ALLOWANCE;
}

/**
 * Estimated peak memory of decoding an image with this header into float RGB (see the module notes).
 *
 * @param header The image's header.
 * @returns Bytes.
 */
export function decodeMemoryBytes(header: ImageHeader): number {
  const pixels = header.width * header.height;
  const floatRgb = 12 * pixels;
  if (header.format === "jpeg") return floatRgb + pixels * (3 + 15 * header.channels);
  const samples = header.width * header.height * header.channels * (header.bitDepth === 16 ? 2 : 1);
  return floatRgb + rawPngBytes(header) + samples + 3 * pixels;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${bytes} bytes`;
}

/**
 * Refuses an image whose header promises more than the limits allow, before any pixel is decoded.
 *
 * @example A small header in a huge file
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkImageLimits } from "./image_limits.ts";
 *
 * const header = { format: "png", width: 100, height: 100, bitDepth: 8, channels: 3, interlaced: false, codingType: 2 } as const;
 * const limits = { maxPixels: 64e6, maxDecodeBytes: 2 ** 31 };
 * checkImageLimits(header, 30_000, "a.png", limits);
 * assert.throws(() => checkImageLimits(header, 3e9, "big.png", limits), /file is 3.0 GB, expected at most 67.2 MB/);
 * ```
 *
 * @param header The parsed header.
 * @param fileBytes The file's size (the byte count for in-memory input).
 * @param name How to call the input in messages.
 * @param limits Pixel and memory limits.
 * @throws {RangeError} If the image is 0 pixels wide or high, has more than `maxPixels` pixels, is larger than
 * its header allows, or needs more than `maxDecodeBytes` to decode; the message gives the sizes.
 */
export function checkImageLimits(
  header: ImageHeader,
  fileBytes: number,
  name: string,
  limits: ImageLimits,
): void {
  const { width, height } = header;
  const where = `Cannot decode image ${JSON.stringify(name)}`;
  if (width === 0 || height === 0) {
    throw new RangeError(`${where}: size is ${width}x${height}, expected at least 1x1`);
  }
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    const size = `${width}x${height} = ${pixels} pixels`;
    throw new RangeError(`${where}: ${size}, expected at most ${limits.maxPixels} (maxPixels)`);
  }
  const format = header.format === "png" ? "PNG" : "JPEG";
  const bound = maxEncodedBytes(header);
  if (fileBytes > bound) {
    throw new RangeError(
      `${where}: file is ${formatBytes(fileBytes)}, expected at most ${
        formatBytes(bound)
      } for a ${width}x${height} ${format}`,
    );
  }
  const memory = decodeMemoryBytes(header);
  if (memory > limits.maxDecodeBytes) {
    throw new RangeError(
      `${where}: a ${width}x${height} ${format} needs about ${
        formatBytes(memory)
      } to decode, expected at most ${
        formatBytes(limits.maxDecodeBytes)
      } (maxDecodeBytes); downscale it first`,
    );
  }
}
