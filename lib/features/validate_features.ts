/**
 * Shape and value checks for feature maps.
 *
 * @module
 */
import type { FeatureMap } from "../types.ts";

/**
 * Checks that a feature map's shape matches its data and that every patch vector is finite and non-zero.
 *
 * @param f Feature map to check.
 * @param name How to call it in messages.
 * @throws {TypeError} On a bad shape, a length mismatch, NaN/Inf values or an all-zero patch vector.
 */
export function validateFeatureMap(f: FeatureMap, name = "features"): void {
  const { height: h, width: w, channels: c } = f;
  for (const [k, v] of [["height", h], ["width", w], ["channels", c]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new TypeError(`Invalid ${name} ${k} ${v}: expected a positive integer`);
    }
  }
  if (!(f.data instanceof Float32Array)) throw new TypeError(`Invalid ${name} data: expected a Float32Array`);
  if (f.data.length !== h * w * c) {
    throw new TypeError(
      `Invalid ${name}: data has ${f.data.length} values, expected ${h}×${w}×${c} = ${h * w * c}`,
    );
  }
  if (finiteNonZeroRows(f.data, h * w, c)) return;
  // Something is wrong: find the first bad patch, for the message.
  for (let i = 0; i < h * w; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) {
      const v = f.data[i * c + k];
      if (!Number.isFinite(v)) {
        throw new TypeError(
          `Invalid ${name}: patch (${Math.floor(i / w)}, ${i % w}) holds ${v}; expected finite values`,
        );
      }
      s += v * v;
    }
    if (s === 0) {
      throw new TypeError(
        `Invalid ${name}: patch (${Math.floor(i / w)}, ${
          i % w
        }) is a zero vector; expected non-zero features`,
      );
    }
  }
}

/**
 * Whether every value is finite and no row is all zeros, in one pass: `0·v` is NaN exactly for a NaN or infinite
 * v, and a row is all zeros exactly when its sum of squares is 0 (no product of finite float32 values underflows
 * in float64). Four rows at a time, so the sums do not wait on one another.
 */
function finiteNonZeroRows(data: Float32Array, n: number, c: number): boolean {
  let probe = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    const o0 = i * c, o1 = o0 + c, o2 = o1 + c, o3 = o2 + c;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < c; k++) {
      const a = data[o0 + k], b = data[o1 + k], d = data[o2 + k], e = data[o3 + k];
      s0 += a * a;
      s1 += b * b;
      s2 += d * d;
      s3 += e * e;
      probe += 0 * a + 0 * b + 0 * d + 0 * e;
    }
    if (s0 === 0 || s1 === 0 || s2 === 0 || s3 === 0) return false;
  }
  for (; i < n; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) {
      const v = data[i * c + k];
      s += v * v;
      probe += 0 * v;
    }
    if (s === 0) return false;
  }
  return probe === 0;
}
