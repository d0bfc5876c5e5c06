/**
 * Unit-length patch vectors, shared by the affinity and the concept assignment (one definition, so the two stages
 * cannot drift apart).
 *
 * @module
 */
import type { FeatureMap } from "../types.ts";

/**
 * L2-normalises every patch vector like `F.normalize(dim=channels, eps=1e-12)` in float32: the squared norm is
 * summed in float64, then each value is multiplied by `1 / max(‖f‖, 1e-12)` — what the WGSL twin
 * (`shaders/features/normalize_rows.wgsl`) computes in f32. The affinity and the concept assignment both
 * normalise with it, so their unit rows are the same.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeRows } from "./normalize_rows.ts";
 * const unit = normalizeRows({ height: 1, width: 2, channels: 2, data: new Float32Array([3, 4, 0, 0]) });
 * assert.deepEqual([...unit], [0.6, 0.8, 0, 0].map(Math.fround));
 * ```
 *
 * @param features Feature map `[h, w, c]`.
 * @returns Unit rows, `Float32Array` of `h·w·c` values.
 */
export function normalizeRows(features: FeatureMap): Float32Array {
  const { data, channels: c } = features;
  const n = features.height * features.width;
  const out = new Float32Array(n * c);
  const scale = (o: number, s: number) => {
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < c; k++) out[o + k] = data[o + k] * inv;
  };
  // Four rows at a time: each row's sum of squares is still added channel by channel in order (the same bits),
  // but the four sums are independent, so they do not wait on one another's additions (~3× faster).
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o0 = i * c, o1 = o0 + c, o2 = o1 + c, o3 = o2 + c;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < c; k++) {
      const a = data[o0 + k], b = data[o1 + k], d = data[o2 + k], e = data[o3 + k];
      s0 += a * a;
      s1 += b * b;
      s2 += d * d;
      s3 += e * e;
    }
    scale(o0, s0), scale(o1, s1), scale(o2, s2), scale(o3, s3);
  }
  for (; i < n; i++) {
    const o = i * c;
    let s = 0;
    for (let k = 0; k < c; k++) s += data[o + k] * data[o + k];
    scale(o, s);
  }
  return out;
}
