/**
 * Scalar fields as images: the viridis colour map (perceptually uniform, readable in grey), for heatmaps drawn
 * as PNG when a chart of cells would be too large.
 *
 * @module
 */
import type { ImageRGB } from "../types.ts";

/** Viridis sampled at 9 evenly spaced points (matplotlib's values), interpolated linearly in between. */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/**
 * Viridis colour of `t` in [0, 1] (clamped; NaN maps to grey).
 *
 * @param t Position on the colour map.
 * @returns `[r, g, b]` in 0..255.
 *
 * @example
 * ```ts
 * import { viridis } from "./colormap.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(viridis(0), [68, 1, 84]);
 * assert.deepEqual(viridis(1), [253, 231, 37]);
 * ```
 */
export function viridis(t: number): [number, number, number] {
  if (Number.isNaN(t)) return [128, 128, 128];
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + f * (b[c] - a[c]))) as [number, number, number];
}

/** Options of {@linkcode colormapImage}. */
export interface ColormapOptions {
  /** Values mapped to the ends of the colour map. @default {the values' min and max} */
  domain?: [number, number];
  /** Each value becomes a `scale × scale` block of pixels. @default {1} */
  scale?: number;
}

/**
 * Paints a `height × width` field of values with viridis.
 *
 * @param values Row-major values.
 * @param height Rows.
 * @param width Columns.
 * @param options Domain and pixel scale.
 * @returns An RGB image of `height·scale × width·scale` pixels.
 * @throws {RangeError} When `values` does not hold `height·width` entries or `scale` is not a positive integer.
 *
 * @example
 * ```ts
 * import { colormapImage } from "./colormap.ts";
 * import assert from "node:assert/strict";
 * const img = colormapImage([0, 1], 1, 2, { scale: 2 });
 * assert.deepEqual([img.height, img.width], [2, 4]);
 * assert.equal(Math.round(img.data[0] * 255), 68); // the minimum is dark purple
 * ```
 */
export function colormapImage(
  values: ArrayLike<number>,
  height: number,
  width: number,
  options: ColormapOptions = {},
): ImageRGB {
  if (values.length !== height * width) {
    throw new RangeError(
      `Invalid field: ${values.length} values for ${height}×${width}, expected ${height * width}`,
    );
  }
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1) {
    throw new RangeError(`Invalid scale ${scale}: expected an integer ≥ 1`);
  }
  let [lo, hi] = options.domain ?? [Infinity, -Infinity];
  if (!options.domain) {
    for (let i = 0; i < values.length; i++) {
      if (values[i] < lo) lo = values[i];
      if (values[i] > hi) hi = values[i];
    }
  }
  const span = hi - lo || 1;
  const H = height * scale, W = width * scale;
  const data = new Float32Array(H * W * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = viridis((values[Math.floor(y / scale) * width + Math.floor(x / scale)] - lo) / span);
      const o = (y * W + x) * 3;
      data[o] = c[0] / 255;
      data[o + 1] = c[1] / 255;
      data[o + 2] = c[2] / 255;
    }
  }
  return { data, height: H, width: W };
}
