/**
 * Encoder outputs as patch rows: the reference of `shaders/encoder/feature_rows.wgsl`, which turns an encoder's
 * output tensor (NCHW, NHWC, or tokens after CLS/register tokens; float32 or float16) into float32 rows
 * `[height·width, channels]`, channels last, and flags each patch that is all zero or holds NaN/±Inf. The GPU path
 * runs it on ONNX Runtime's output buffer so that the features never leave the device
 * (`feature_rows_gpu.ts`); this module is its specification and is used by its tests.
 *
 * Values are converted exactly, bit for bit: float32 is copied, float16 widened with integer arithmetic
 * (subnormals kept, NaN payloads kept).
 *
 * @module
 */

import type { DeviceFeatures } from "../types.ts";

/** Layout of an encoder output: what {@linkcode featureRows} needs besides the values. */
export type FeatureRowsLayout = Pick<
  DeviceFeatures,
  "layout" | "height" | "width" | "channels" | "prefixTokens"
>;

/** Where patch `p`, channel `k` sits in the source: element `offset + p·pStride + k·cStride`. */
export interface FeatureRowsStrides {
  /** Element index of patch 0, channel 0. */
  offset: number;
  /** Elements between consecutive patches. */
  pStride: number;
  /** Elements between consecutive channels. */
  cStride: number;
  /** Elements the source must hold. */
  elements: number;
}

/** Patch status: all channels are ±0. Other codes: 0 fine, `2 + k` channel k is the first NaN/±Inf. */
export const ROW_ZERO = 1;

/**
 * The strides of a layout.
 *
 * @param layout The output's layout and sizes.
 * @returns Offset, strides and the number of elements the source must hold.
 * @throws {RangeError} If a size is not a positive integer (prefix tokens: a non-negative one).
 *
 * @example
 * ```ts
 * import { featureRowsStrides } from "./feature_rows.ts";
 * import assert from "node:assert/strict";
 * const s = featureRowsStrides({ layout: "tokens", height: 2, width: 2, channels: 3, prefixTokens: 1 });
 * assert.deepEqual(s, { offset: 3, pStride: 3, cStride: 1, elements: 15 });
 * ```
 */
export function featureRowsStrides(layout: FeatureRowsLayout): FeatureRowsStrides {
  const { height, width, channels: c } = layout;
  const prefix = layout.layout === "tokens" ? layout.prefixTokens : 0;
  for (const [name, v] of [["height", height], ["width", width], ["channels", c]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Feature ${name} must be a positive integer, received ${v}`);
    }
  }
  if (!Number.isInteger(prefix) || prefix < 0) {
    throw new RangeError(`Prefix tokens must be a non-negative integer, received ${prefix}`);
  }
  const n = height * width;
  switch (layout.layout) {
    case "NCHW":
      return { offset: 0, pStride: 1, cStride: n, elements: n * c };
    case "NHWC":
      return { offset: 0, pStride: c, cStride: 1, elements: n * c };
    case "tokens":
      return { offset: prefix * c, pStride: c, cStride: 1, elements: (prefix + n) * c };
    default:
      throw new RangeError(
        `Feature layout must be "NCHW", "NHWC" or "tokens", received ${JSON.stringify(layout.layout)}`,
      );
  }
}

/**
 * float16 bits → float32 bits, exactly (the WGSL kernel's `half_to_float_bits`).
 *
 * @param h float16 bit pattern (low 16 bits).
 * @returns The float32 bit pattern of the same value.
 *
 * @example
 * ```ts
 * import { halfToFloatBits } from "./feature_rows.ts";
 * import assert from "node:assert/strict";
 * assert.equal(halfToFloatBits(0x3c00), 0x3f800000); // 1
 * assert.equal(halfToFloatBits(0x0001), 0x33800000); // 2^-24, the smallest subnormal
 * ```
 */
export function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return (sign | 0x7f800000 | (m << 13)) >>> 0;
  if (e !== 0) return (sign | ((e + 112) << 23) | (m << 13)) >>> 0;
  if (m === 0) return sign >>> 0;
  const top = 31 - Math.clz32(m);
  return (sign | ((top + 103) << 23) | ((m << (23 - top)) & 0x7fffff)) >>> 0;
}

/**
 * Encoder output → float32 patch rows `[height·width, channels]` and a status per patch.
 *
 * @param source The output's values: float32, or float16 bit patterns.
 * @param layout The output's layout and sizes.
 * @returns `rows` (channels last) and `status` (0 fine, {@linkcode ROW_ZERO} all ±0, `2 + k` channel k is the
 * first NaN/±Inf of the patch).
 * @throws {RangeError} If `source` holds fewer values than the layout needs (see {@linkcode featureRowsStrides}).
 *
 * @example NCHW `[1, 2, 1, 2]` → two rows of two channels
 * ```ts
 * import { featureRows } from "./feature_rows.ts";
 * import assert from "node:assert/strict";
 * const layout = { layout: "NCHW", height: 1, width: 2, channels: 2, prefixTokens: 0 } as const;
 * const { rows, status } = featureRows(new Float32Array([1, 2, 0, NaN]), layout);
 * assert.deepEqual([rows[0], rows[1], rows[2]], [1, 0, 2]);
 * assert.deepEqual(Array.from(status), [0, 2 + 1]);
 * ```
 */
export function featureRows(
  source: Float32Array | Uint16Array,
  layout: FeatureRowsLayout,
): { rows: Float32Array; status: Uint32Array } {
  const { offset, pStride, cStride, elements } = featureRowsStrides(layout);
  if (source.length < elements) {
    throw new RangeError(
      `Encoder output holds ${source.length} values, expected at least ${elements} for layout ${layout.layout}`,
    );
  }
  const half = source instanceof Uint16Array;
  const words = half ? source : new Uint32Array(source.buffer, source.byteOffset, source.length);
  const n = layout.height * layout.width;
  const c = layout.channels;
  const bits = new Uint32Array(n * c);
  const status = new Uint32Array(n);
  for (let p = 0; p < n; p++) {
    let state = ROW_ZERO;
    for (let k = 0; k < c; k++) {
      const w = words[offset + p * pStride + k * cStride];
      const b = half ? halfToFloatBits(w) : w;
      bits[p * c + k] = b;
      if ((b & 0x7f800000) >>> 0 === 0x7f800000) {
        if (state < 2) state = 2 + k;
      } else if (state === ROW_ZERO && (b & 0x7fffffff) !== 0) state = 0;
    }
    status[p] = state;
  }
  return { rows: new Float32Array(bits.buffer), status };
}

/**
 * Throws for the first flagged patch of a {@linkcode featureRows} status, with the errors the host path gives: a
 * NaN/±Inf is an invalid model output (RangeError, as `outputToFeatureMap`), an all-zero patch cannot be
 * normalised (TypeError, as the affinity's feature check).
 *
 * @param status One code per patch.
 * @param width Grid columns (to name the patch by row and column).
 * @param what Names the output, e.g. `"Model output 'y' of encoder 'isnet'"`.
 * @throws {RangeError} If a patch holds NaN or ±Inf.
 * @throws {TypeError} If a patch is all zero.
 *
 * @example
 * ```ts
 * import { checkFeatureRowStatus } from "./feature_rows.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => checkFeatureRowStatus(new Uint32Array([0, 1]), 2, "Output"), /patch \(0, 1\) is a zero vector/);
 * ```
 */
export function checkFeatureRowStatus(status: Uint32Array, width: number, what: string): void {
  for (let p = 0; p < status.length; p++) {
    const s = status[p];
    if (s >= 2) {
      throw new RangeError(
        `${what} has a NaN or infinite value at patch (${Math.floor(p / width)}, ${p % width}), channel ${
          s - 2
        }; expected finite features`,
      );
    }
  }
  for (let p = 0; p < status.length; p++) {
    if (status[p] === ROW_ZERO) {
      throw new TypeError(
        `Invalid features: patch (${Math.floor(p / width)}, ${
          p % width
        }) is a zero vector; expected non-zero features`,
      );
    }
  }
}
