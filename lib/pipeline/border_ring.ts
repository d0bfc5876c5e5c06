/**
 * Keeping the grid's outer patch rings out of the partition graph. Encoders that pad their input (ISNet: zero
 * padding in every convolution) give border patches features unlike the interior's, and the normalized cut then
 * takes thin strips along the image's edges as segments. With `borderRing: r` the tree is built on the interior
 * `(h − 2r) × (w − 2r)` patches; each border patch then joins the segment whose mean (L2-normalised) feature is the
 * most similar to its own, the same rule as the pixel-level concept assignment.
 *
 * @module
 */
import type { FeatureMap } from "../types.ts";

/**
 * Whether a ring of `ring` patches can be left out of this grid (at least 2×2 patches must remain).
 *
 * @param f The feature grid's size.
 * @param ring Rings to leave out.
 * @returns True when `ring > 0` and the interior has at least 2×2 patches.
 */
export function ringApplies(f: { height: number; width: number }, ring: number): boolean {
  return ring > 0 && f.height - 2 * ring >= 2 && f.width - 2 * ring >= 2;
}

/**
 * The interior patches of a feature map.
 *
 * @param f Features `[h, w, c]`.
 * @param ring Rings left out.
 * @returns Features `[h − 2r, w − 2r, c]` (a copy).
 */
export function interiorFeatures(f: FeatureMap, ring: number): FeatureMap {
  const h = f.height - 2 * ring, w = f.width - 2 * ring, c = f.channels;
  const data = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) {
    const from = ((y + ring) * f.width + ring) * c;
    data.set(f.data.subarray(from, from + w * c), y * w * c);
  }
  return { data, height: h, width: w, channels: c };
}

/**
 * Grid labels of the whole grid from the interior's: interior patches keep their label; each border patch takes
 * the label whose mean normalised interior feature has the largest dot product with its normalised feature (ties:
 * the lower label).
 *
 * @param f The whole feature map.
 * @param inner Labels `0..K−1` of the interior grid (row-major).
 * @param ring Rings left out.
 * @returns Labels of the whole grid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { extendRingLabels } from "./border_ring.ts";
 * // 4×4 grid, 1 channel... two channels: left half (1, 0), right half (0, 1); interior 2×2 labelled 0 | 1.
 * const data = new Float32Array(32);
 * for (let i = 0; i < 16; i++) data.set((i % 4) < 2 ? [1, 0] : [0, 1], 2 * i);
 * const full = extendRingLabels({ data, height: 4, width: 4, channels: 2 }, new Int32Array([0, 1, 0, 1]), 1);
 * assert.deepEqual([...full], [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
 * ```
 */
export function extendRingLabels(f: FeatureMap, inner: Int32Array, ring: number): Int32Array {
  const { height: H, width: W, channels: C } = f;
  const w = W - 2 * ring;
  let k = 0;
  for (const v of inner) if (v + 1 > k) k = v + 1;
  const norm = (i: number) => {
    let s = 0;
    for (let c = 0; c < C; c++) s += f.data[i * C + c] ** 2;
    return Math.sqrt(s) || 1;
  };
  const mean = new Float64Array(k * C);
  const full = new Int32Array(H * W).fill(-1);
  inner.forEach((label, j) => {
    const i = (Math.floor(j / w) + ring) * W + (j % w) + ring;
    full[i] = label;
    const n = norm(i);
    for (let c = 0; c < C; c++) mean[label * C + c] += f.data[i * C + c] / n;
  });
  for (let l = 0; l < k; l++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += mean[l * C + c] ** 2;
    s = Math.sqrt(s) || 1;
    for (let c = 0; c < C; c++) mean[l * C + c] /= s;
  }
  for (let i = 0; i < H * W; i++) {
    if (full[i] >= 0) continue;
    let best = 0, bestValue = -Infinity;
    for (let l = 0; l < k; l++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += f.data[i * C + c] * mean[l * C + c];
      if (s > bestValue) [best, bestValue] = [l, s];
    }
    full[i] = best;
  }
  return full;
}
