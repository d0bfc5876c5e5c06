/**
 * IEEE 754 half-precision (float16) conversion, for model outputs and inputs stored as fp16 bit patterns.
 *
 * ONNX Runtime hands fp16 tensors back as a `Float16Array` where the runtime has one and as a `Uint16Array` of
 * raw bit patterns otherwise; {@linkcode float16ToFloat32} decodes the bit patterns, and
 * {@linkcode float32ToFloat16} encodes them (round to nearest, ties to even, as `Math.f16round` does).
 *
 * @module
 */

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * Decodes float16 bit patterns to float32 values (exact: every half value is a float32 value).
 *
 * @param bits Half-precision bit patterns, one per value.
 * @returns The decoded values; subnormals, ±0, ±Infinity and NaN are preserved.
 *
 * @example Decode 1, -2 and +Infinity
 * ```ts
 * import { float16ToFloat32 } from "./float16.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(float16ToFloat32(new Uint16Array([0x3c00, 0xc000, 0x7c00]))), [1, -2, Infinity]);
 * ```
 */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      // Zero or subnormal: mantissa * 2^-24.
      const value = mantissa * 5.960464477539063e-8;
      out[i] = sign ? -value : value;
    } else if (exponent === 0x1f) {
      U32[0] = sign | 0x7f800000 | (mantissa << 13);
      out[i] = F32[0];
    } else {
      U32[0] = sign | ((exponent + 112) << 23) | (mantissa << 13);
      out[i] = F32[0];
    }
  }
  return out;
}

/**
 * Encodes float32 values as float16 bit patterns, rounding to nearest with ties to even; values beyond the half
 * range become ±Infinity and NaN stays NaN.
 *
 * @param values The values to encode.
 * @returns One half-precision bit pattern per value.
 *
 * @example Round-trip through half precision
 * ```ts
 * import { float16ToFloat32, float32ToFloat16 } from "./float16.ts";
 * import assert from "node:assert/strict";
 * const bits = float32ToFloat16(new Float32Array([1, 0.1, 70000]));
 * assert.deepEqual(Array.from(bits), [0x3c00, 0x2e66, 0x7c00]);
 * assert.equal(float16ToFloat32(bits)[1], 0.0999755859375);
 * ```
 */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    F32[0] = values[i];
    const x = U32[0];
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    let mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);
      continue;
    }
    const e = exponent - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      // Subnormal half: shift the mantissa (with its implicit bit) right, rounding to nearest even.
      mantissa |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mantissa & ((1 << shift) - 1);
      let h = mantissa >>> shift;
      if (rest > half || (rest === half && (h & 1))) h++;
      out[i] = sign | h;
    } else {
      let h = (e << 10) | (mantissa >>> 13);
      const rest = mantissa & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent: still correct
      out[i] = sign | h;
    }
  }
  return out;
}
