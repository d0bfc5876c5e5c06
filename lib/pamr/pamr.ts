/**
 * PAMR: pixel-adaptive mask refinement (Araslanov & Roth 2020), as DiffCut uses it (REFERENCE.md §4).
 *
 * Label masks are repeatedly replaced by an affinity-weighted average of their values at `8·L` neighbours
 * (offsets `d·(dy, dx)` for every dilation `d`, replicate padding). The affinities come from the image: a
 * softmax over neighbours of `−|I(x) − I(nb)| / (1e-8 + 0.1·σ)`, averaged over the colour channels, where
 * `σ` is the local standard deviation of each channel.
 *
 * Notes
 * -----
 * Neighbour order, used by {@linkcode pamrAffinity}: for each dilation in the order given, the offsets
 * `(−1,−1), (−1,0), (−1,1), (0,−1), (0,1), (1,−1), (1,0), (1,1)` as `(dy, dx)`, so neighbour `p = 8·l + j`.
 *
 * Arithmetic: storage is float32 throughout. The affinity logits follow the reference's float32 steps
 * (each difference, scale, quotient and the channel mean rounded to float32); the local standard
 * deviation (unbiased) and the softmax are computed in float64 and rounded to float32. In each
 * propagation step a pixel's new value is accumulated in float64: for each dilation in order, the eight
 * terms `w_p · M(nb_p)` are summed in neighbour order and the sum is added to the running total; the total
 * is rounded to float32 when stored. The reference sums float32 products on the GPU in an unspecified
 * order, so values agree to float32 rounding, not bit for bit; a label can differ only where two
 * propagated masks are within rounding of each other.
 *
 * Speed: where the runtime has WebAssembly SIMD, the affinity and the propagation steps run in the kernels of
 * `pamr_simd.ts` (engine `"wasm"`, the default), which perform exactly these operations in this order, several
 * pixels per instruction, so every value is bit-identical to the TypeScript functions here (engine
 * `"typescript"`), which remain the specification and the fallback.
 *
 * References
 * ----------
 * Araslanov & Roth, "Single-Stage Semantic Segmentation from Image Labels", CVPR 2020,
 * doi:10.1109/CVPR42600.2020.00431.
 *
 * @module
 */

import type { Backend, FeatureMap, ImageRGB } from "../types.ts";
import { medianFilter3x3 } from "./median_filter.ts";
import { type PamrWorkspace, pamrWorkspace, startAffinityAhead } from "./pamr_simd.ts";
import { rankLabels } from "../rank_labels.ts";

/** Options of `refinePamr` (`lib/stages.ts`). */
export interface PamrOptions {
  /**
   * Number of propagation steps; a non-negative integer.
   *
   * @default {10}
   */
  iterations?: number;
  /**
   * Neighbourhood dilations in pixels, in order; a non-empty list of positive integers.
   *
   * @default {[1, 2, 4, 8]}
   */
  dilations?: readonly number[];
  /**
   * Apply a 3×3 median filter (scipy `reflect` borders) to the refined labels.
   *
   * @default {true}
   */
  median?: boolean;
  /**
   * Where to run: `"cpu"` (TypeScript), `"webgpu"` (WGSL kernels, CPU fallback with a notice when no adapter
   * exists), or `"auto"` (the faster of the two on this adapter, measured; small work stays on the CPU).
   *
   * @default {"auto"}
   */
  backend?: Backend;
}

/** Default options of `refinePamr` (`lib/stages.ts`): DiffCut's benchmark settings. */
export const DEFAULT_PAMR_OPTIONS: Readonly<{
  iterations: number;
  dilations: readonly number[];
  median: boolean;
  backend: Backend;
}> = Object.freeze({
  iterations: 10,
  dilations: Object.freeze([1, 2, 4, 8]),
  median: true,
  backend: "auto",
});

/**
 * Which CPU implementation runs: `"wasm"` (WebAssembly SIMD kernels, or the TypeScript ones where the runtime lacks
 * SIMD) or `"typescript"` (always the reference). Both give bit-identical results; the choice is for tests and
 * benchmarks.
 */
export type PamrEngine = "wasm" | "typescript";

const f32 = Math.fround;
const STD_EPS = f32(1e-8);
const STD_SCALE = f32(0.1);

/**
 * Names the type of a value for error messages.
 *
 * @param v Any value.
 * @returns The constructor name, or `typeof` for primitives and `null`.
 */
function typeName(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

/**
 * Checks that `image` is a finite HWC RGB image.
 *
 * @param image The value to check.
 * @throws {TypeError} If `image.data` is not a Float32Array.
 * @throws {RangeError} If a size is not a positive integer, the length is not `height·width·3`, or a value is not finite.
 */
function validateImage(image: ImageRGB): void {
  if (image === null || typeof image !== "object" || !(image.data instanceof Float32Array)) {
    throw new TypeError(`Image data must be a Float32Array, received ${typeName(image?.data)}`);
  }
  const { data, height, width } = image;
  if (!Number.isInteger(height) || height < 1 || !Number.isInteger(width) || width < 1) {
    throw new RangeError(`Image size must be positive integers, received ${height}×${width}`);
  }
  if (data.length !== height * width * 3) {
    throw new RangeError(
      `Image data must hold ${height}×${width}×3 = ${height * width * 3} values, received ${data.length}`,
    );
  }
  // 0·v is NaN exactly when v is NaN or infinite: one multiply-add per value finds whether to look further.
  let probe = 0;
  for (let i = 0; i < data.length; i++) probe += 0 * data[i];
  if (probe === 0) return;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new RangeError(`Image values must be finite, received ${data[i]} at index ${i}`);
    }
  }
}

/**
 * Checks a dilation list.
 *
 * @param dilations The value to check.
 * @throws {TypeError} If it is not an array.
 * @throws {RangeError} If it is empty or holds a value that is not a positive integer.
 */
function validateDilations(dilations: readonly number[]): void {
  if (!Array.isArray(dilations)) {
    throw new TypeError(`Dilations must be an array of positive integers, received ${typeName(dilations)}`);
  }
  if (dilations.length === 0) {
    throw new RangeError("Dilations must not be empty, received []");
  }
  for (const d of dilations) {
    if (!Number.isInteger(d) || d < 1) {
      throw new RangeError(`Dilations must be positive integers, received ${JSON.stringify(dilations)}`);
    }
  }
}

/**
 * Checks an iteration count.
 *
 * @param iterations The value to check.
 * @throws {RangeError} If it is not a non-negative integer.
 */
function validateIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < 0) {
    throw new RangeError(`Iterations must be a non-negative integer, received ${iterations}`);
  }
}

/**
 * Per-pixel, per-channel unbiased standard deviation over the `9·L` taps of the 3×3 windows at every
 * dilation (the centre counted once per dilation), replicate borders (`LocalStDev` in the reference).
 * Computed in float64 in one pass over the values minus the centre pixel (exact shift, so no
 * cancellation worth noting), then rounded to float32.
 *
 * @param image The image.
 * @param dilations Dilations.
 * @returns `height × width × 3` float32 standard deviations.
 */
function localStd(image: ImageRGB, dilations: readonly number[]): Float32Array {
  const { data, height: H, width: W } = image;
  const L = dilations.length;
  const n = 9 * L;
  const dMax = Math.max(...dilations);
  // Tap offsets (in values) of an interior pixel; border pixels clamp each tap (replicate padding).
  const interior = new Int32Array(n);
  let t = 0;
  for (let l = 0; l < L; l++) {
    const d = dilations[l];
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) interior[t++] = (dy * d * W + dx * d) * 3;
    }
  }
  const idx = new Int32Array(n);
  const out = new Float32Array(H * W * 3);
  for (let y = 0; y < H; y++) {
    const innerRow = y >= dMax && y < H - dMax;
    for (let x = 0; x < W; x++) {
      const ci = (y * W + x) * 3;
      if (innerRow && x >= dMax && x < W - dMax) {
        for (let j = 0; j < n; j++) idx[j] = ci + interior[j];
      } else {
        t = 0;
        for (let l = 0; l < L; l++) {
          const d = dilations[l];
          for (let dy = -1; dy <= 1; dy++) {
            const yy = clamp(y + dy * d, H);
            for (let dx = -1; dx <= 1; dx++) idx[t++] = (yy * W + clamp(x + dx * d, W)) * 3;
          }
        }
      }
      // One pass over values shifted by the centre pixel, in float64, the three channels side by side.
      const c0 = data[ci], c1 = data[ci + 1], c2 = data[ci + 2];
      let a1 = 0, a2 = 0, b1 = 0, b2 = 0, e1 = 0, e2 = 0;
      for (let j = 0; j < n; j++) {
        const q = idx[j];
        const u = data[q] - c0;
        const v = data[q + 1] - c1;
        const w = data[q + 2] - c2;
        a1 += u;
        a2 += u * u;
        b1 += v;
        b2 += v * v;
        e1 += w;
        e2 += w * w;
      }
      out[ci] = Math.sqrt(Math.max(a2 - (a1 * a1) / n, 0) / (n - 1));
      out[ci + 1] = Math.sqrt(Math.max(b2 - (b1 * b1) / n, 0) / (n - 1));
      out[ci + 2] = Math.sqrt(Math.max(e2 - (e1 * e1) / n, 0) / (n - 1));
    }
  }
  return out;
}

/**
 * Pixel indices of the 8 neighbours of `(y, x)` at dilation `d`, in the order `(−1,−1), (−1,0), (−1,1), (0,−1), (0,1), (1,−1), (1,0), (1,1)` of `(dy, dx)`, with
 * replicate borders.
 *
 * @param y Row.
 * @param x Column.
 * @param d Dilation.
 * @param H Height.
 * @param W Width.
 * @param out Receives the 8 indices.
 */
function neighbourIndices(y: number, x: number, d: number, H: number, W: number, out: Int32Array): void {
  const rm = (y - d < 0 ? 0 : y - d) * W;
  const r0 = y * W;
  const rp = (y + d >= H ? H - 1 : y + d) * W;
  const cm = x - d < 0 ? 0 : x - d;
  const cp = x + d >= W ? W - 1 : x + d;
  out[0] = rm + cm;
  out[1] = rm + x;
  out[2] = rm + cp;
  out[3] = r0 + cm;
  out[4] = r0 + cp;
  out[5] = rp + cm;
  out[6] = rp + x;
  out[7] = rp + cp;
}

/**
 * Clamps an index to `[0, size − 1]` (replicate padding).
 *
 * @param i Index.
 * @param size Length of the axis.
 * @returns The clamped index.
 */
function clamp(i: number, size: number): number {
  return i < 0 ? 0 : i >= size ? size - 1 : i;
}

/**
 * The PAMR affinity of every pixel to its `8·L` neighbours: softmax over neighbours `p` of
 * `mean_c(−|I_c(x) − I_c(nb_p(x))| / (1e-8 + 0.1·σ_c(x)))`, where `σ_c` is the unbiased standard deviation of
 * channel `c` over the `9·L` taps of the 3×3 windows at all dilations (replicate borders). Neighbour order is
 * described in the module notes; each pixel's weights sum to 1.
 *
 * @example A constant image gives uniform weights
 * ```ts
 * import assert from "node:assert/strict";
 * import { pamrAffinity } from "./pamr.ts";
 * const image = { data: new Float32Array(2 * 2 * 3).fill(0.5), height: 2, width: 2 };
 * const w = pamrAffinity(image, { dilations: [1] });
 * assert.equal(w.length, 2 * 2 * 8);
 * assert.ok(w.every((v) => v === 0.125));
 * ```
 *
 * @param image RGB image `[height, width, 3]`, finite values (DiffCut feeds [0, 1] RGB, no normalisation).
 * @param options `dilations` (default `[1, 2, 4, 8]`).
 * @param engine CPU implementation (bit-identical results); see {@linkcode PamrEngine}.
 * @returns `height × width × 8L` float32 weights, pixel-major.
 * @throws {TypeError} If `image.data` is not a Float32Array or `dilations` is not an array.
 * @throws {RangeError} If the image size or length is wrong, a value is not finite, or a dilation is not a positive integer.
 */
export function pamrAffinity(
  image: ImageRGB,
  options: { dilations?: readonly number[] } = {},
  engine: PamrEngine = "wasm",
): Float32Array {
  validateImage(image);
  const dilations = options.dilations ?? DEFAULT_PAMR_OPTIONS.dilations;
  validateDilations(dilations);
  const { height: H, width: W } = image;
  const ws = engine === "wasm" ? pamrWorkspace(H, W, 0, dilations) : null;
  if (!ws) return affinityUnchecked(image, dilations, false);
  ws.affinity(image);
  // Neighbour-major planes to pixel-major rows.
  const P = 8 * dilations.length, n = H * W;
  const out = new Float32Array(n * P);
  for (let p = 0; p < P; p++) {
    const plane = ws.weights.subarray(p * n, p * n + n);
    for (let i = 0; i < n; i++) out[i * P + p] = plane[i];
  }
  return out;
}

/**
 * Body of {@linkcode pamrAffinity} without validation.
 *
 * @param image The image.
 * @param dilations Dilations.
 * @param planar Lay the weights out neighbour-major (`8L × H × W`, what the propagation reads row by row)
 * instead of pixel-major (`H × W × 8L`).
 * @returns Softmax weights.
 */
function affinityUnchecked(image: ImageRGB, dilations: readonly number[], planar: boolean): Float32Array {
  const { data, height: H, width: W } = image;
  const L = dilations.length;
  const P = 8 * L;
  const n = H * W;
  const std = localStd(image, dilations);
  const out = new Float32Array(n * P);
  const pixelStride = planar ? 1 : P;
  const neighbourStride = planar ? n : 1;
  const logits = new Float64Array(P);
  const nb = new Int32Array(P);
  const dMax = Math.max(...dilations);
  const interior = new Int32Array(P);
  for (let l = 0; l < L; l++) {
    const d = dilations[l];
    neighbourIndices(d, d, d, 2 * d + 1, 2 * d + 1, interior.subarray(8 * l, 8 * l + 8));
    for (let j = 0; j < 8; j++) {
      const v = interior[8 * l + j];
      interior[8 * l + j] = (Math.floor(v / (2 * d + 1)) - d) * W + (v % (2 * d + 1)) - d;
    }
  }
  for (let y = 0; y < H; y++) {
    const innerRow = y >= dMax && y < H - dMax;
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (innerRow && x >= dMax && x < W - dMax) {
        for (let p = 0; p < P; p++) nb[p] = i + interior[p];
      } else {
        for (let l = 0; l < L; l++) neighbourIndices(y, x, dilations[l], H, W, nb.subarray(8 * l, 8 * l + 8));
      }
      const ci = i * 3;
      const den0 = f32(STD_EPS + f32(STD_SCALE * std[ci]));
      const den1 = f32(STD_EPS + f32(STD_SCALE * std[ci + 1]));
      const den2 = f32(STD_EPS + f32(STD_SCALE * std[ci + 2]));
      const v0 = data[ci], v1 = data[ci + 1], v2 = data[ci + 2];
      let max = -Infinity;
      for (let p = 0; p < P; p++) {
        const ni = nb[p] * 3;
        const a0 = f32(-Math.abs(f32(v0 - data[ni])) / den0);
        const a1 = f32(-Math.abs(f32(v1 - data[ni + 1])) / den1);
        const a2 = f32(-Math.abs(f32(v2 - data[ni + 2])) / den2);
        const v = f32(f32(f32(a0 + a1) + a2) / 3);
        logits[p] = v;
        if (v > max) max = v;
      }
      let sum = 0;
      for (let p = 0; p < P; p++) {
        const e = Math.exp(logits[p] - max);
        logits[p] = e;
        sum += e;
      }
      const o = i * pixelStride;
      for (let p = 0; p < P; p++) out[o + p * neighbourStride] = logits[p] / sum;
    }
  }
  return out;
}

/**
 * Runs PAMR on soft masks, like the reference's `PAMR(num_iter, dilations)(image, masks)`: `iterations`
 * times, every mask value becomes `Σ_p w_p(x)·M(nb_p(x))` with the weights of {@linkcode pamrAffinity}
 * and replicate borders. Masks must already have the image's size (the reference's align-corners resize
 * is then a no-op).
 *
 * @example One label spreads nowhere on its own
 * ```ts
 * import assert from "node:assert/strict";
 * import { propagatePamr } from "./pamr.ts";
 * const image = { data: new Float32Array(3 * 3 * 3).map((_, i) => (i % 7) / 7), height: 3, width: 3 };
 * const masks = { data: new Float32Array(9).fill(1), height: 3, width: 3, channels: 1 };
 * const out = propagatePamr(image, masks, { iterations: 2, dilations: [1] });
 * assert.ok(out.data.every((v) => Math.abs(v - 1) < 1e-6));
 * ```
 *
 * @param image RGB image `[height, width, 3]`, finite values.
 * @param masks Masks `[height, width, channels]` (channels = labels), finite values.
 * @param options `iterations` (default 10) and `dilations` (default `[1, 2, 4, 8]`).
 * @param engine CPU implementation (bit-identical results); see {@linkcode PamrEngine}.
 * @returns New float32 masks of the same shape.
 * @throws {TypeError} If `image.data` or `masks.data` is not a Float32Array or `dilations` is not an array.
 * @throws {RangeError} If a size does not match the image, a value is not finite, or an option is out of range.
 */
export function propagatePamr(
  image: ImageRGB,
  masks: FeatureMap,
  options: { iterations?: number; dilations?: readonly number[] } = {},
  engine: PamrEngine = "wasm",
): FeatureMap {
  validateImage(image);
  const iterations = options.iterations ?? DEFAULT_PAMR_OPTIONS.iterations;
  const dilations = options.dilations ?? DEFAULT_PAMR_OPTIONS.dilations;
  validateIterations(iterations);
  validateDilations(dilations);
  if (masks === null || typeof masks !== "object" || !(masks.data instanceof Float32Array)) {
    throw new TypeError(`Masks data must be a Float32Array, received ${typeName(masks?.data)}`);
  }
  const { height, width, channels } = masks;
  if (height !== image.height || width !== image.width) {
    throw new RangeError(
      `Masks must have the image's size ${image.height}×${image.width}, received ${height}×${width}`,
    );
  }
  if (!Number.isInteger(channels) || channels < 1) {
    throw new RangeError(`Masks channels must be a positive integer, received ${channels}`);
  }
  if (masks.data.length !== height * width * channels) {
    throw new RangeError(
      `Masks data must hold ${height}×${width}×${channels} = ${
        height * width * channels
      } values, received ${masks.data.length}`,
    );
  }
  for (let i = 0; i < masks.data.length; i++) {
    if (!Number.isFinite(masks.data[i])) {
      throw new RangeError(`Masks values must be finite, received ${masks.data[i]} at index ${i}`);
    }
  }
  const n = height * width;
  const K = channels;
  const ws = engine === "wasm" ? pamrWorkspace(height, width, K, dilations) : null;
  const planes = ws?.masks ?? new Float32Array(n * K);
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) planes[k * n + i] = masks.data[i * K + k];
  let result: Float32Array;
  if (ws) {
    ws.affinity(image);
    result = ws.propagate(iterations);
  } else {
    result = propagate(
      planes,
      affinityUnchecked(image, dilations, true),
      height,
      width,
      K,
      dilations,
      iterations,
    );
  }
  const data = new Float32Array(n * K);
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) data[i * K + k] = result[k * n + i];
  return { data, height, width, channels };
}

/**
 * The propagation loop, one mask plane and one image row at a time. For each pixel and channel the value is
 * accumulated in float64, dilation by dilation, each dilation's eight products summed in neighbour order (the
 * module notes); only the memory layout is planar, so that the inner loop over a row's interior reads every
 * array in order with no clamping (border columns clamp, as replicate padding). A value whose `8L` neighbours
 * are all exact zeros is an exact zero: each plane keeps, per row, the column range outside which it is zero,
 * and only the columns a neighbour's range can reach are computed (the one-hot start makes most planes sparse).
 * `masks` may be overwritten.
 *
 * @param masks `K × H × W` float32 mask planes.
 * @param weights `8L × H × W` softmax weight planes.
 * @param H Height.
 * @param W Width.
 * @param K Channels.
 * @param dilations Dilations.
 * @param iterations Steps.
 * @returns The propagated planes (one of two ping-pong buffers).
 */
function propagate(
  masks: Float32Array,
  weights: Float32Array,
  H: number,
  W: number,
  K: number,
  dilations: readonly number[],
  iterations: number,
): Float32Array {
  const L = dilations.length;
  const n = H * W;
  let a: Float32Array = masks;
  let b: Float32Array = new Float32Array(a.length);
  const acc = new Float64Array(W);
  // Per plane and row, columns [from, to) hold every non-zero value of `a` (from = W, to = 0: none).
  let from = new Int32Array(K * H);
  let to = new Int32Array(K * H);
  let nextFrom = new Int32Array(K * H);
  let nextTo = new Int32Array(K * H);
  for (let r = 0; r < K * H; r++) {
    const o = r * W;
    let lo = 0;
    while (lo < W && a[o + lo] === 0) lo++;
    let hi = W;
    while (hi > lo && a[o + hi - 1] === 0) hi--;
    from[r] = lo;
    to[r] = hi;
  }
  for (let it = 0; it < iterations; it++) {
    for (let k = 0; k < K; k++) {
      const m = k * n;
      const kh = k * H;
      for (let y = 0; y < H; y++) {
        const i0 = y * W;
        // The columns whose neighbours can be non-zero: each dilation's three rows, widened by d.
        let wantLo = W;
        let wantHi = 0;
        for (let l = 0; l < L; l++) {
          const d = dilations[l];
          const ym = y - d < 0 ? 0 : y - d;
          const yp = y + d >= H ? H - 1 : y + d;
          for (const r of [ym, y, yp]) {
            if (from[kh + r] >= to[kh + r]) continue;
            const lo = from[kh + r] - d, hi = to[kh + r] + d;
            if (lo < wantLo) wantLo = lo;
            if (hi > wantHi) wantHi = hi;
          }
        }
        if (wantLo < 0) wantLo = 0;
        if (wantHi > W) wantHi = W;
        const o = m + i0;
        if (wantLo >= wantHi) {
          b.fill(0, o, o + W);
          nextFrom[kh + y] = W;
          nextTo[kh + y] = 0;
          continue;
        }
        nextFrom[kh + y] = wantLo;
        nextTo[kh + y] = wantHi;
        acc.fill(0, wantLo, wantHi);
        for (let l = 0; l < L; l++) {
          const d = dilations[l];
          const rm = m + (y - d < 0 ? 0 : y - d) * W;
          const r0 = m + i0;
          const rp = m + (y + d >= H ? H - 1 : y + d) * W;
          const q = 8 * l * n + i0;
          const q1 = q + n, q2 = q1 + n, q3 = q2 + n, q4 = q3 + n, q5 = q4 + n, q6 = q5 + n, q7 = q6 + n;
          const lo = d < wantLo ? wantLo : d < wantHi ? d : wantHi;
          const hi = W - d > wantHi ? wantHi : W - d > lo ? W - d : lo;
          // Left border, interior, right border: only the borders clamp.
          for (let x = wantLo; x < lo; x++) {
            const xm = x - d < 0 ? 0 : x - d;
            const xp = x + d >= W ? W - 1 : x + d;
            acc[x] += weights[q + x] * a[rm + xm] + weights[q1 + x] * a[rm + x] +
              weights[q2 + x] * a[rm + xp] +
              weights[q3 + x] * a[r0 + xm] + weights[q4 + x] * a[r0 + xp] + weights[q5 + x] * a[rp + xm] +
              weights[q6 + x] * a[rp + x] + weights[q7 + x] * a[rp + xp];
          }
          for (let x = lo; x < hi; x++) {
            acc[x] += weights[q + x] * a[rm + x - d] + weights[q1 + x] * a[rm + x] +
              weights[q2 + x] * a[rm + x + d] + weights[q3 + x] * a[r0 + x - d] +
              weights[q4 + x] * a[r0 + x + d] + weights[q5 + x] * a[rp + x - d] +
              weights[q6 + x] * a[rp + x] +
              weights[q7 + x] * a[rp + x + d];
          }
          for (let x = hi; x < wantHi; x++) {
            const xm = x - d < 0 ? 0 : x - d;
            const xp = x + d >= W ? W - 1 : x + d;
            acc[x] += weights[q + x] * a[rm + xm] + weights[q1 + x] * a[rm + x] +
              weights[q2 + x] * a[rm + xp] +
              weights[q3 + x] * a[r0 + xm] + weights[q4 + x] * a[r0 + xp] + weights[q5 + x] * a[rp + xm] +
              weights[q6 + x] * a[rp + x] + weights[q7 + x] * a[rp + xp];
          }
        }
        b.fill(0, o, o + wantLo);
        for (let x = wantLo; x < wantHi; x++) b[o + x] = acc[x];
        b.fill(0, o + wantHi, o + W);
      }
    }
    const t = a;
    a = b;
    b = t;
    const f = from, g = to;
    from = nextFrom;
    to = nextTo;
    nextFrom = f;
    nextTo = g;
  }
  return a;
}

/**
 * The first propagation step from one-hot masks, given as the rank of each pixel's label. It performs the
 * same float64 operations as {@linkcode propagate} on the one-hot masks, so the result is bit-identical:
 * there, a dilation's eight-term sum for channel `k` is the in-order sum of the weights of the neighbours
 * labelled `k` (the other terms are exact zeros), and that is what `group[k]` accumulates here. Costs
 * `O(pixels · 8L)` instead of `O(pixels · 8L · K)`.
 *
 * @param ranks Label rank (one-hot channel) of every pixel.
 * @param weights `8L × H × W` softmax weight planes.
 * @param H Height.
 * @param W Width.
 * @param K Number of channels.
 * @param dilations Dilations.
 * @returns `K × H × W` float32 mask planes after one step.
 */
function propagateOneHot(
  ranks: Int32Array,
  weights: Float32Array,
  H: number,
  W: number,
  K: number,
  dilations: readonly number[],
): Float32Array {
  const L = dilations.length;
  const n = H * W;
  const out = new Float32Array(n * K);
  const acc = new Float64Array(K);
  const group = new Float64Array(K);
  const nb = new Int32Array(8);
  const touched = new Int32Array(8);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      acc.fill(0);
      for (let l = 0; l < L; l++) {
        neighbourIndices(y, x, dilations[l], H, W, nb);
        const q = 8 * l * n + i;
        for (let j = 0; j < 8; j++) {
          const k = ranks[nb[j]];
          touched[j] = k;
          group[k] += weights[q + j * n];
        }
        // Add each touched channel's group sum once (a repeat adds the reset 0, which is exact).
        for (let j = 0; j < 8; j++) {
          const k = touched[j];
          acc[k] += group[k];
          group[k] = 0;
        }
      }
      for (let k = 0; k < K; k++) out[k * n + i] = acc[k];
    }
  }
  return out;
}

/**
 * The propagated one-hot masks of {@linkcode refinePamrSync} before its argmax: plane `k` starts as the indicator
 * of rank `k` and takes `iterations` steps. Inputs are not checked (the caller validated them); exported so that
 * tests can compare the two engines value by value.
 *
 * @param image The image.
 * @param ranks The label rank (`0..K−1`) of every pixel.
 * @param K Number of planes.
 * @param iterations Steps.
 * @param dilations Dilations.
 * @param engine CPU implementation (bit-identical results); see {@linkcode PamrEngine}.
 * @returns `K × H × W` float32 planes. On the `"wasm"` engine they are a view of its memory, valid until the next
 * PAMR call: copy them to keep them.
 */
export function propagateRanks(
  image: ImageRGB,
  ranks: Int32Array,
  K: number,
  iterations: number,
  dilations: readonly number[],
  engine: PamrEngine = "wasm",
): Float32Array {
  const ws = engine === "wasm" && iterations > 0
    ? pamrWorkspace(image.height, image.width, K, dilations)
    : null;
  return oneHotSteps(image, ranks, K, iterations, dilations, ws);
}

/**
 * Body of {@linkcode propagateRanks} on a given workspace.
 *
 * @param image The image.
 * @param ranks The label rank of every pixel.
 * @param K Number of planes.
 * @param iterations Steps.
 * @param dilations Dilations.
 * @param ws The WebAssembly workspace for `(H, W, K, dilations)`, or null for the TypeScript reference.
 * @returns `K × H × W` float32 planes (on a workspace, a view of its memory).
 */
function oneHotSteps(
  image: ImageRGB,
  ranks: Int32Array,
  K: number,
  iterations: number,
  dilations: readonly number[],
  ws: PamrWorkspace | null,
): Float32Array {
  const { height: H, width: W } = image;
  const n = H * W;
  if (iterations === 0) {
    const planes = new Float32Array(n * K);
    for (let i = 0; i < n; i++) planes[ranks[i] * n + i] = 1;
    return planes;
  }
  if (!ws) {
    const weights = affinityUnchecked(image, dilations, true);
    const first = propagateOneHot(ranks, weights, H, W, K, dilations);
    return propagate(first, weights, H, W, K, dilations, iterations - 1);
  }
  if (ws.affinity(image)) {
    // With every weight a number, a propagation step on the one-hot planes performs propagateOneHot's float64
    // operations (w·1 = w, w·0 = +0, and adding +0 changes nothing), and the vectorised step beats its gather.
    ws.masks.fill(0);
    for (let i = 0; i < n; i++) ws.masks[ranks[i] * n + i] = 1;
    return ws.propagate(iterations);
  }
  // NaN weights (only from extreme image values) would spread to other labels' planes there: the reference's step.
  ws.masks.set(propagateOneHot(ranks, ws.weights, H, W, K, dilations));
  return ws.propagate(iterations - 1);
}

/**
 * Starts the affinity that a later CPU `refinePamr(image, labels, { dilations })` needs, on PAMR's helper threads,
 * and returns at once: it runs on an idle core while the caller does single-threaded work, and that PAMR call then
 * takes it instead of computing it (same bits). The image's values are read now; a PAMR call on anything else
 * cancels it. Nothing happens without helper threads or for a small image.
 *
 * @param image The image that will be passed to `refinePamr` (the same object).
 * @param dilations The dilations it will use (default: {@linkcode DEFAULT_PAMR_OPTIONS}'s).
 * @returns Whether it was started.
 */
export function startPamrAffinity(
  image: ImageRGB,
  dilations: readonly number[] = DEFAULT_PAMR_OPTIONS.dilations,
): boolean {
  try {
    validateDilations(dilations);
  } catch {
    return false; // the PAMR call reports it
  }
  return startAffinityAhead(image, dilations);
}

/**
 * Checks the inputs of `refinePamr` (`lib/stages.ts`) (shared by the CPU and WebGPU paths).
 *
 * @param image Image.
 * @param labels Labels.
 * @param options Options.
 * @returns The options with defaults applied.
 * @throws {TypeError} If `image.data` is not a Float32Array, `labels` is not an Int32Array, or an option has the wrong type.
 * @throws {RangeError} If sizes do not match, the image is empty or not finite, or an option is out of range.
 */
export function checkPamrInput(
  image: ImageRGB,
  labels: Int32Array,
  options: PamrOptions,
): { iterations: number; dilations: readonly number[]; median: boolean } {
  const checked = checkPamrOptions(image, options);
  if (!(labels instanceof Int32Array)) {
    throw new TypeError(`Labels must be an Int32Array, received ${typeName(labels)}`);
  }
  const { height: H, width: W } = image;
  const n = H * W;
  if (labels.length !== n) {
    throw new RangeError(
      `Labels must have one value per pixel of the ${H}×${W} image (${n}), received ${labels.length}`,
    );
  }
  return checked;
}

/**
 * Checks the image and options of a PAMR run (labels are checked by the caller).
 *
 * @param image Image.
 * @param options Options.
 * @returns The options with defaults applied.
 * @throws {TypeError} If `image.data` is not a Float32Array or an option has the wrong type.
 * @throws {RangeError} If the image is empty or not finite, or an option is out of range.
 */
export function checkPamrOptions(
  image: ImageRGB,
  options: PamrOptions,
): { iterations: number; dilations: readonly number[]; median: boolean } {
  const iterations = options.iterations ?? DEFAULT_PAMR_OPTIONS.iterations;
  const dilations = options.dilations ?? DEFAULT_PAMR_OPTIONS.dilations;
  const median = options.median ?? DEFAULT_PAMR_OPTIONS.median;
  validateIterations(iterations);
  validateDilations(dilations);
  if (typeof median !== "boolean") {
    throw new TypeError(`Median must be a boolean, received ${typeName(median)}`);
  }
  validateImage(image);
  return { iterations, dilations, median };
}

/**
 * The number of distinct labels (what the backend router weighs PAMR's work by).
 *
 * @param labels Labels (any int32 values, at least one).
 * @returns How many distinct values `labels` holds.
 */
export function distinctLabelCount(labels: Int32Array): number {
  return rankLabels(labels).values.length;
}

/**
 * Synchronous body of `refinePamr` (`lib/stages.ts`).
 *
 * @param image Image.
 * @param labels Labels.
 * @param options Options.
 * @param engine CPU implementation (bit-identical results); see {@linkcode PamrEngine}.
 * @returns Refined labels.
 */
export function refinePamrSync(
  image: ImageRGB,
  labels: Int32Array,
  options: PamrOptions,
  engine: PamrEngine = "wasm",
): Int32Array {
  const { iterations, dilations, median } = checkPamrInput(image, labels, options);
  const { height: H, width: W } = image;
  const n = H * W;

  const { values, ranks } = rankLabels(labels);
  const K = values.length;
  const out = new Int32Array(n);
  if (K === 1) return out; // a single mask stays the argmax everywhere; the median of zeros is zero

  const ws = engine === "wasm" && iterations > 0 ? pamrWorkspace(H, W, K, dilations) : null;
  const refined = oneHotSteps(image, ranks, K, iterations, dilations, ws);
  if (ws) return median ? medianFilter3x3(ws.argmax(refined), H, W) : ws.argmax(refined);
  // Argmax over the planes (the first of equal values wins, as before).
  const bestValue = refined.slice(0, n);
  for (let k = 1; k < K; k++) {
    const m = k * n;
    for (let i = 0; i < n; i++) {
      if (refined[m + i] > bestValue[i]) {
        bestValue[i] = refined[m + i];
        out[i] = k;
      }
    }
  }
  return median ? medianFilter3x3(out, H, W) : out;
}
