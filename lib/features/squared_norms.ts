/**
 * The squared norm of every row of a row-major float32 matrix, each summed channel by channel in order in
 * float64 (the bits of the one-row loop), four rows at a time so that the four sums do not wait on one another's
 * additions (~3× faster than one row at a time on a 4,096 × 1,280 map). Shared by the feature checks and the row
 * normalisation.
 *
 * @module
 */

/**
 * Squared row norms, and whether every value is finite.
 *
 * @param data Row-major values, `n × c`.
 * @param n Rows.
 * @param c Values per row.
 * @returns `sums[i] = Σ_k data[i·c + k]²` in float64, and `finite`: no NaN or infinite value (`0·v` is NaN
 * exactly for those, so one multiply-add per value finds out).
 *
 * @example
 * ```ts
 * import { squaredNorms } from "./squared_norms.ts";
 * const { sums, finite } = squaredNorms(new Float32Array([3, 4, 0, 0, 1, 1]), 3, 2);
 * if (sums.join() !== "25,0,2" || !finite) throw new Error("wrong sums");
 * ```
 */
export function squaredNorms(
  data: Float32Array,
  n: number,
  c: number,
): { sums: Float64Array; finite: boolean } {
  const sums = new Float64Array(n);
  let probe = 0, i = 0;
  // One call per four rows: V8 optimises a function called this often, whereas this function's own loops (it runs
  // a few times per image) ran interpreted until on-stack replacement and deoptimised at every inner loop's end.
  for (; i + 4 <= n; i += 4) probe += fourRows(data, i, c, sums);
  for (; i < n; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) {
      const v = data[i * c + k];
      s += v * v;
      probe += 0 * v;
    }
    sums[i] = s;
  }
  return { sums, finite: probe === 0 };
}

/** Rows i..i+3: their squared norms into `sums`; returns `Σ 0·v` over their values (NaN if one is not finite). */
function fourRows(data: Float32Array, i: number, c: number, sums: Float64Array): number {
  const o0 = i * c, o1 = o0 + c, o2 = o1 + c, o3 = o2 + c;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, probe = 0;
  for (let k = 0; k < c; k++) {
    const a = data[o0 + k], b = data[o1 + k], d = data[o2 + k], e = data[o3 + k];
    s0 += a * a;
    s1 += b * b;
    s2 += d * d;
    s3 += e * e;
    probe += 0 * a + 0 * b + 0 * d + 0 * e;
  }
  sums[i] = s0, sums[i + 1] = s1, sums[i + 2] = s2, sums[i + 3] = s3;
  return probe;
}
