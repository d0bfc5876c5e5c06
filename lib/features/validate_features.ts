/**
 * Shape and value checks for feature maps.
 *
 * @module
 */
import type { FeatureMap } from "../types.ts";
import { squaredNorms } from "./squared_norms.ts";

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
  const { sums, finite } = squaredNorms(f.data, h * w, c);
  // No product of finite float32 values underflows in float64: a row sums to 0 exactly when it is all zeros.
  if (finite && sums.every((s) => s !== 0)) return;
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
