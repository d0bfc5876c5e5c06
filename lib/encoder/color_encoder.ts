/**
 * A raw-colour baseline encoder, `"rgb-grid"`: the mean RGB of each cell of a square grid laid over the image.
 * No model, no sidecar; cheap enough for tests and the notebooks' baseline.
 *
 * @module
 */

import type { Encoder, EncoderDefaults, FeatureMap, ImageRGB } from "../types.ts";
import { checkImage } from "./preprocess.ts";

/** Options of {@linkcode createColorEncoder}. */
export interface ColorEncoderOptions {
  /**
   * Side of the square grid of cells.
   * @default {32}
   */
  grid?: number;
}

/** Clustering defaults of the colour encoder (`inputSize` 1024: 32-pixel cells on a 1024² image, as ISNet's). */
export const COLOR_ENCODER_DEFAULTS: EncoderDefaults = Object.freeze({
  tau: 0.5,
  alpha: 10,
  inputSize: 1024,
});

/**
 * Mean RGB of each cell of a `grid × grid` partition of the image. Cell `(gy, gx)` covers rows
 * `floor(gy·H/grid) … floor((gy+1)·H/grid) − 1` (at least one row; likewise for columns), so images smaller than
 * the grid repeat pixels instead of leaving cells empty. Sums are taken in float64.
 *
 * @param image RGB values in [0, 1], HWC.
 * @param grid Side of the grid.
 * @returns A `grid × grid × 3` feature map.
 * @throws {RangeError} If `grid` or an image size is not a positive integer.
 * @throws {TypeError} If `image.data` has the wrong type or length.
 *
 * @example A 2×2 image on a 1×1 grid averages all four pixels
 * ```ts
 * import { meanColorGrid } from "./color_encoder.ts";
 * import assert from "node:assert/strict";
 * const image = { height: 2, width: 2, data: new Float32Array([0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]) };
 * assert.deepEqual(Array.from(meanColorGrid(image, 1).data), [0.5, 0.5, 0.5]);
 * ```
 */
export function meanColorGrid(image: ImageRGB, grid: number): FeatureMap {
  if (!Number.isInteger(grid) || grid < 1) {
    throw new RangeError(`Grid must be a positive integer, got ${grid}`);
  }
  checkImage(image);
  const { height, width, data } = image;
  const span = (cell: number, size: number): [number, number] => {
    const start = Math.min(Math.floor((cell * size) / grid), size - 1);
    return [start, Math.max(start + 1, Math.floor(((cell + 1) * size) / grid))];
  };
  const out = new Float32Array(grid * grid * 3);
  for (let gy = 0; gy < grid; gy++) {
    const [y0, y1] = span(gy, height);
    for (let gx = 0; gx < grid; gx++) {
      const [x0, x1] = span(gx, width);
      let r = 0, g = 0, b = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * 3;
          r += data[i];
          g += data[i + 1];
          b += data[i + 2];
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (gy * grid + gx) * 3;
      out[o] = r / n;
      out[o + 1] = g / n;
      out[o + 2] = b / n;
    }
  }
  return { data: out, height: grid, width: grid, channels: 3 };
}

/**
 * Creates the `"rgb-grid"` encoder: mean RGB per cell of a 32×32 grid (see {@linkcode meanColorGrid}).
 *
 * @param options Grid size.
 * @returns An encoder with id `"rgb-grid"` and defaults τ 0.5, α 10.
 * @throws {RangeError} If `grid` is not a positive integer.
 *
 * @example
 * ```ts
 * import { createColorEncoder } from "./color_encoder.ts";
 * import assert from "node:assert/strict";
 * const encoder = createColorEncoder();
 * const map = await encoder.encode({ height: 64, width: 64, data: new Float32Array(64 * 64 * 3).fill(0.5) });
 * assert.deepEqual([encoder.id, map.height, map.width, map.channels], ["rgb-grid", 32, 32, 3]);
 * ```
 */
export function createColorEncoder(options: ColorEncoderOptions = {}): Encoder {
  const grid = options.grid ?? 32;
  if (!Number.isInteger(grid) || grid < 1) {
    throw new RangeError(`Grid must be a positive integer, got ${grid}`);
  }
  return {
    id: "rgb-grid",
    defaults: COLOR_ENCODER_DEFAULTS,
    encode: (image: ImageRGB) => Promise.resolve().then(() => meanColorGrid(image, grid)),
    dispose: () => Promise.resolve(),
  };
}
