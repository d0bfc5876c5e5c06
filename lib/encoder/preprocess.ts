/**
 * Image → model input tensor: stretch to the encoder's square input with PyTorch-exact bilinear resizing
 * (`align_corners=False`, no antialiasing), reorder channels, normalise `(x * scale - mean[c]) / std[c]` and lay the
 * values out as NCHW or NHWC float32.
 *
 * @module
 */

import type { ImageRGB } from "../types.ts";
import { eachResizedRow } from "../image/resize.ts";
import type { SidecarInput } from "./sidecar.ts";
import type { FloatTensor } from "../onnx/ort_session.ts";

/**
 * Checks that an image has positive integer sizes and `height * width * 3` float values.
 *
 * @param image The image to check.
 * @throws {RangeError} If a size is not a positive integer.
 * @throws {TypeError} If `image.data` is not a Float32Array of `height * width * 3` values.
 *
 * @example
 * ```ts
 * import { checkImage } from "./preprocess.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkImage({ height: 2, width: 2, data: new Float32Array(3) }), TypeError);
 * ```
 */
export function checkImage(image: ImageRGB): void {
  for (const [what, value] of [["height", image.height], ["width", image.width]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`Image ${what} must be a positive integer, got ${value}`);
    }
  }
  if (!(image.data instanceof Float32Array)) throw new TypeError("Image data must be a Float32Array");
  const expected = image.height * image.width * 3;
  if (image.data.length !== expected) {
    throw new TypeError(
      `Image data has ${image.data.length} values, expected ${image.height}x${image.width}x3 = ${expected}`,
    );
  }
}

/**
 * Turns an image into the input tensor a sidecar describes.
 *
 * @param image RGB values in [0, 1], HWC.
 * @param input The sidecar's `input` section (size, layout, channel order, normalisation).
 * @returns A `[1, 3, size, size]` (NCHW) or `[1, size, size, 3]` (NHWC) float32 tensor.
 * @throws {RangeError} If an image size is not a positive integer.
 * @throws {TypeError} If `image.data` has the wrong type or length.
 *
 * @example ISNet-style normalisation of a 1×1 image, no resize
 * ```ts
 * import { preprocessImage } from "./preprocess.ts";
 * import assert from "node:assert/strict";
 * const tensor = preprocessImage({ height: 1, width: 1, data: new Float32Array([0, 0.5, 1]) }, {
 *   name: "input", size: 1, layout: "NCHW", channelOrder: "RGB",
 *   normalisation: { scale: 255, mean: [128, 128, 128], std: [256, 256, 256] },
 * });
 * assert.deepEqual(tensor.dims, [1, 3, 1, 1]);
 * assert.deepEqual(Array.from(tensor.data), [-0.5, -0.001953125, 0.49609375]);
 * ```
 */
export function preprocessImage(image: ImageRGB, input: SidecarInput): FloatTensor {
  checkImage(image);
  const size = input.size;
  const pixels = size * size;
  const { scale, mean, std } = input.normalisation;
  const [r, g, b] = input.channelOrder === "RGB" ? [0, 1, 2] : [2, 1, 0];
  const [m0, m1, m2] = mean, [s0, s1, s2] = std;
  const out = new Float32Array(3 * pixels);
  const nchw = input.layout === "NCHW";
  // Each resized row is normalised as it comes, each value read once: no resized copy of the image is kept.
  const normalise = (oy: number, rgb: Float32Array) => {
    for (let x = 0, j = 0, i = oy * size; x < size; x++, j += 3, i++) {
      const v0 = (rgb[j + r] * scale - m0) / s0, v1 = (rgb[j + g] * scale - m1) / s1;
      const v2 = (rgb[j + b] * scale - m2) / s2;
      if (nchw) {
        out[i] = v0;
        out[pixels + i] = v1;
        out[2 * pixels + i] = v2;
      } else {
        out[3 * i] = v0;
        out[3 * i + 1] = v1;
        out[3 * i + 2] = v2;
      }
    }
  };
  if (image.height === size && image.width === size) {
    for (let oy = 0; oy < size; oy++) normalise(oy, image.data.subarray(oy * size * 3, (oy + 1) * size * 3));
  } else eachResizedRow(image.data, image.height, image.width, 3, size, size, normalise);
  return { data: out, dims: input.layout === "NCHW" ? [1, 3, size, size] : [1, size, size, 3] };
}
