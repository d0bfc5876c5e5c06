/**
 * PNG encoders for RGB images and label maps, and the PASCAL VOC colour map.
 *
 * @module
 */
import { encode } from "npm:fast-png@8.0.0";
import type { ImageRGB, LabelMap } from "../types.ts";
import { checkImageRGB, checkLabelMap } from "./_check_shapes.ts";

/**
 * The PASCAL VOC colour map: colour `i` spreads the bits of `i` over the three channels, bit `3j + k`
 * of `i` becoming bit `7 - j` of channel `k` (R, G, B). Index 0 is black, 1 is (128, 0, 0), 15 (person)
 * is (192, 128, 128) and 255 (void) is (224, 224, 192).
 *
 * @example The first colours
 * ```ts
 * import assert from "node:assert/strict";
 * import { vocPalette } from "./encode_png.ts";
 *
 * const palette = vocPalette();
 * assert.deepEqual(Array.from(palette.subarray(0, 9)), [0, 0, 0, 128, 0, 0, 0, 128, 0]);
 * ```
 *
 * @returns A fresh `256 * 3` array of R, G, B bytes.
 */
export function vocPalette(): Uint8Array {
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) {
      for (let k = 0; k < 3; k++) palette[i * 3 + k] |= ((c >> k) & 1) << (7 - j);
      c >>= 3;
    }
  }
  return palette;
}

/**
 * Encodes an RGB image as an 8-bit RGB PNG. Each value becomes `Math.round(v * 255)` clamped to
 * [0, 255] (NaN becomes 0), so images decoded from 8-bit files round-trip exactly.
 *
 * @example Round trip through the encoder
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode } from "npm:fast-png@8.0.0";
 * import { encodeRgbPng } from "./encode_png.ts";
 *
 * const png = encodeRgbPng({ data: new Float32Array([0, 0.5, 1.2]), height: 1, width: 1 });
 * assert.deepEqual(Array.from(decode(png).data), [0, 128, 255]);
 * ```
 *
 * @param image The image, HWC float values nominally in [0, 1].
 * @returns The PNG file bytes.
 * @throws {RangeError} If a size is not a positive integer.
 * @throws {TypeError} If `image.data` is not a Float32Array of `height * width * 3` values.
 */
export function encodeRgbPng(image: ImageRGB): Uint8Array {
  checkImageRGB(image);
  const src = image.data;
  const bytes = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = Math.round(src[i] * 255);
    bytes[i] = v > 255 ? 255 : v > 0 ? v : 0; // NaN fails both tests and becomes 0
  }
  return encode({ width: image.width, height: image.height, data: bytes, channels: 3, depth: 8 });
}

/**
 * Encodes a label map as an 8-bit indexed (palette) PNG whose stored pixel values are the labels, the
 * usual format of segmentation ground truth (PASCAL VOC, COCO-Stuff). The `PLTE` chunk holds all 256
 * colours, so any viewer shows the labels in colour while tools that read raw indices get the labels back.
 *
 * @example Labels survive as raw indices
 * ```ts
 * import assert from "node:assert/strict";
 * import { decode } from "npm:fast-png@8.0.0";
 * import { encodeLabelPng } from "./encode_png.ts";
 *
 * const png = encodeLabelPng({ data: new Int32Array([0, 1, 15, 255]), height: 2, width: 2 });
 * const decoded = decode(png);
 * assert.deepEqual(Array.from(decoded.data), [0, 1, 15, 255]);
 * assert.deepEqual(decoded.palette?.[15], [192, 128, 128]);
 * ```
 *
 * @param labels The label map; every label must be an integer in [0, 255].
 * @param palette `256 * 3` R, G, B bytes; defaults to {@linkcode vocPalette}.
 * @returns The PNG file bytes.
 * @throws {RangeError} If a size is not a positive integer or a label lies outside [0, 255].
 * @throws {TypeError} If `labels.data` is not an Int32Array of `height * width` values, or `palette` is not
 * a Uint8Array of 768 bytes.
 */
export function encodeLabelPng(labels: LabelMap, palette: Uint8Array = vocPalette()): Uint8Array {
  checkLabelMap(labels);
  if (!(palette instanceof Uint8Array) || palette.length !== 256 * 3) {
    const got = palette instanceof Uint8Array ? `${palette.length} bytes` : typeof palette;
    throw new TypeError(`Invalid palette: expected a Uint8Array of 768 bytes (256 RGB colours), got ${got}`);
  }
  const src = labels.data;
  const indices = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v < 0 || v > 255) {
      const y = Math.floor(i / labels.width);
      throw new RangeError(
        `Invalid label ${v} at (${y}, ${i - y * labels.width}): expected an integer in [0, 255]`,
      );
    }
    indices[i] = v;
  }
  const colours: number[][] = [];
  for (let i = 0; i < 256; i++) colours.push([palette[i * 3], palette[i * 3 + 1], palette[i * 3 + 2]]);
  return encode({
    width: labels.width,
    height: labels.height,
    data: indices,
    channels: 1,
    depth: 8,
    palette: colours,
  });
}
