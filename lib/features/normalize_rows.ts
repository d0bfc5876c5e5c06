/**
 * Unit-length patch vectors, shared by the affinity and the concept assignment (one definition, so the two stages
 * cannot drift apart).
 *
 * @module
 */
import type { FeatureMap } from "../types.ts";
import { squaredNorms } from "./squared_norms.ts";

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
  const { sums } = squaredNorms(data, n, c);
  for (let i = 0; i < n; i++) scaleRow(data, out, i * c, c, 1 / Math.max(Math.sqrt(sums[i]), 1e-12));
  return out;
}

/** `out[o + k] = data[o + k] · inv` for one row: a call per row, which V8 optimises after a few hundred calls (as an
 * inner loop of a function called once per image it deoptimised at every row's end). */
function scaleRow(data: Float32Array, out: Float32Array, o: number, c: number, inv: number): void {
  for (let k = 0; k < c; k++) out[o + k] = data[o + k] * inv;
}
