/**
 * A feature map seen as colours: its first three principal components mapped to red, green and blue, so patches
 * with similar features get similar colours.
 *
 * @module
 */
import type { FeatureMap, ImageRGB } from "../types.ts";

/**
 * Top principal directions of the centred patch features, by power iteration with deflation on the C×C
 * covariance (float64, 200 iterations, deterministic start), signs fixed so the largest entry is positive.
 *
 * @param features Feature map.
 * @param count Components wanted (≤ channels).
 * @returns `count` unit vectors of length C, and the variance along each.
 */
export function principalComponents(
  features: FeatureMap,
  count: number,
): { vectors: Float64Array[]; variances: number[] } {
  const n = features.height * features.width, c = features.channels;
  const mean = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) mean[k] += features.data[i * c + k] / n;
  const cov = new Float64Array(c * c);
  const row = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) row[k] = features.data[i * c + k] - mean[k];
    for (let a = 0; a < c; a++) {
      const ra = row[a];
      if (ra === 0) continue;
      for (let b = 0; b < c; b++) cov[a * c + b] += ra * row[b];
    }
  }
  const vectors: Float64Array[] = [], variances: number[] = [];
  for (let m = 0; m < Math.min(count, c); m++) {
    let v = Float64Array.from({ length: c }, (_, k) => 1 + ((k * 7919) % 13) / 13);
    let lambda = 0;
    for (let it = 0; it < 200; it++) {
      const w = new Float64Array(c);
      for (let a = 0; a < c; a++) {
        let s = 0;
        for (let b = 0; b < c; b++) s += cov[a * c + b] * v[b];
        w[a] = s;
      }
      for (const u of vectors) {
        let d = 0;
        for (let k = 0; k < c; k++) d += w[k] * u[k];
        for (let k = 0; k < c; k++) w[k] -= d * u[k];
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      lambda = norm / (n - 1 || 1);
      v = w.map((x) => x / norm);
    }
    let big = 0;
    for (let k = 1; k < c; k++) if (Math.abs(v[k]) > Math.abs(v[big])) big = k;
    if (v[big] < 0) v = v.map((x) => -x);
    vectors.push(v);
    variances.push(lambda);
  }
  return { vectors, variances };
}

/**
 * Colours each patch by its projection on the first three principal components (each min-max scaled to [0, 1]).
 * Maps with fewer than three channels leave the missing colours at 0.5.
 *
 * @param features Feature map.
 * @returns An RGB image of `height × width` pixels (one per patch).
 *
 * @example
 * ```ts
 * import { featurePcaImage } from "./feature_pca.ts";
 * import assert from "node:assert/strict";
 * // Two kinds of patch: their colours differ.
 * const data = new Float32Array([1, 0, 1, 0, 0, 1, 0, 1]);
 * const img = featurePcaImage({ height: 2, width: 2, channels: 2, data });
 * assert.notEqual(img.data[0], img.data[6]);
 * ```
 */
export function featurePcaImage(features: FeatureMap): ImageRGB {
  const n = features.height * features.width, c = features.channels;
  const { vectors } = principalComponents(features, 3);
  const out = new Float32Array(n * 3).fill(0.5);
  vectors.forEach((v, m) => {
    const proj = new Float64Array(n);
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += features.data[i * c + k] * v[k];
      proj[i] = s;
      lo = Math.min(lo, s);
      hi = Math.max(hi, s);
    }
    for (let i = 0; i < n; i++) out[i * 3 + m] = hi > lo ? (proj[i] - lo) / (hi - lo) : 0.5;
  });
  return { data: out, height: features.height, width: features.width };
}
