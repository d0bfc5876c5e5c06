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
 * References
 * ----------
 * Araslanov & Roth, "Single-Stage Semantic Segmentation from Image Labels", CVPR 2020,
 * doi:10.1109/CVPR42600.2020.00431.
 *
 * @module
 */

import type { Backend, FeatureMap, ImageRGB } from "../types.ts";
import { medianFilter3x3 } from "./median_filter.ts";

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
  const idx = new Int32Array(n);
  const out = new Float32Array(H * W * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let t = 0;
      for (let l = 0; l < L; l++) {
        const d = dilations[l];
        for (let dy = -1; dy <= 1; dy++) {
          const yy = clamp(y + dy * d, H);
          for (let dx = -1; dx <= 1; dx++) idx[t++] = (yy * W + clamp(x + dx * d, W)) * 3;
        }
      }
      for (let c = 0; c < 3; c++) {
        // One pass over values shifted by the centre pixel, in float64.
        const centre = data[(y * W + x) * 3 + c];
        let s1 = 0;
        let s2 = 0;
        for (let j = 0; j < n; j++) {
          const dv = data[idx[j] + c] - centre;
          s1 += dv;
          s2 += dv * dv;
        }
        const ss = Math.max(s2 - (s1 * s1) / n, 0);
        out[(y * W + x) * 3 + c] = Math.sqrt(ss / (n - 1));
      }
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
 * @returns `height × width × 8L` float32 weights, pixel-major.
 * @throws {TypeError} If `image.data` is not a Float32Array or `dilations` is not an array.
 * @throws {RangeError} If the image size or length is wrong, a value is not finite, or a dilation is not a positive integer.
 */
export function pamrAffinity(
  image: ImageRGB,
  options: { dilations?: readonly number[] } = {},
): Float32Array {
  validateImage(image);
  const dilations = options.dilations ?? DEFAULT_PAMR_OPTIONS.dilations;
  validateDilations(dilations);
  return affinityUnchecked(image, dilations);
}

/**
 * Body of {@linkcode pamrAffinity} without validation.
 *
 * @param image The image.
 * @param dilations Dilations.
 * @returns Softmax weights, pixel-major.
 */
function affinityUnchecked(image: ImageRGB, dilations: readonly number[]): Float32Array {
  const { data, height: H, width: W } = image;
  const L = dilations.length;
  const P = 8 * L;
  const std = localStd(image, dilations);
  const out = new Float32Array(H * W * P);
  const logits = new Float64Array(P);
  const nb = new Int32Array(8);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const ci = i * 3;
      const den0 = f32(STD_EPS + f32(STD_SCALE * std[ci]));
      const den1 = f32(STD_EPS + f32(STD_SCALE * std[ci + 1]));
      const den2 = f32(STD_EPS + f32(STD_SCALE * std[ci + 2]));
      let max = -Infinity;
      for (let l = 0; l < L; l++) {
        neighbourIndices(y, x, dilations[l], H, W, nb);
        for (let j = 0; j < 8; j++) {
          const ni = nb[j] * 3;
          const a0 = f32(-Math.abs(f32(data[ci] - data[ni])) / den0);
          const a1 = f32(-Math.abs(f32(data[ci + 1] - data[ni + 1])) / den1);
          const a2 = f32(-Math.abs(f32(data[ci + 2] - data[ni + 2])) / den2);
          const v = f32(f32(f32(a0 + a1) + a2) / 3);
          logits[8 * l + j] = v;
          if (v > max) max = v;
        }
      }
      let sum = 0;
      for (let p = 0; p < P; p++) {
        const e = Math.exp(logits[p] - max);
        logits[p] = e;
        sum += e;
      }
      const o = i * P;
      for (let p = 0; p < P; p++) out[o + p] = logits[p] / sum;
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
 * @returns New float32 masks of the same shape.
 * @throws {TypeError} If `image.data` or `masks.data` is not a Float32Array or `dilations` is not an array.
 * @throws {RangeError} If a size does not match the image, a value is not finite, or an option is out of range.
 */
export function propagatePamr(
  image: ImageRGB,
  masks: FeatureMap,
  options: { iterations?: number; dilations?: readonly number[] } = {},
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
  const weights = affinityUnchecked(image, dilations);
  const data = propagate(masks.data.slice(), weights, height, width, channels, dilations, iterations);
  return { data, height, width, channels };
}

/**
 * The propagation loop. `masks` may be overwritten; the result is returned.
 *
 * @param masks `H × W × K` float32 masks.
 * @param weights `H × W × 8L` softmax weights.
 * @param H Height.
 * @param W Width.
 * @param K Channels.
 * @param dilations Dilations.
 * @param iterations Steps.
 * @returns The propagated masks (one of two ping-pong buffers).
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
  const P = 8 * L;
  let a: Float32Array = masks;
  let b: Float32Array = new Float32Array(a.length);
  const acc = new Float64Array(K);
  const rowK = W * K;
  for (let it = 0; it < iterations; it++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        acc.fill(0);
        for (let l = 0; l < L; l++) {
          const d = dilations[l];
          const rm = (y - d < 0 ? 0 : y - d) * rowK;
          const r0 = y * rowK;
          const rp = (y + d >= H ? H - 1 : y + d) * rowK;
          const cm = (x - d < 0 ? 0 : x - d) * K;
          const c0 = x * K;
          const cp = (x + d >= W ? W - 1 : x + d) * K;
          const s0 = rm + cm, s1 = rm + c0, s2 = rm + cp, s3 = r0 + cm;
          const s4 = r0 + cp, s5 = rp + cm, s6 = rp + c0, s7 = rp + cp;
          const q = i * P + 8 * l;
          const w0 = weights[q], w1 = weights[q + 1], w2 = weights[q + 2], w3 = weights[q + 3];
          const w4 = weights[q + 4], w5 = weights[q + 5], w6 = weights[q + 6], w7 = weights[q + 7];
          for (let k = 0; k < K; k++) {
            acc[k] += w0 * a[s0 + k] + w1 * a[s1 + k] + w2 * a[s2 + k] + w3 * a[s3 + k] +
              w4 * a[s4 + k] + w5 * a[s5 + k] + w6 * a[s6 + k] + w7 * a[s7 + k];
          }
        }
        const o = i * K;
        for (let k = 0; k < K; k++) b[o + k] = acc[k];
      }
    }
    const t = a;
    a = b;
    b = t;
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
 * @param weights `H × W × 8L` softmax weights.
 * @param H Height.
 * @param W Width.
 * @param K Number of channels.
 * @param dilations Dilations.
 * @returns `H × W × K` float32 masks after one step.
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
  const P = 8 * L;
  const out = new Float32Array(H * W * K);
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
        const q = i * P + 8 * l;
        for (let j = 0; j < 8; j++) {
          const k = ranks[nb[j]];
          touched[j] = k;
          group[k] += weights[q + j];
        }
        // Add each touched channel's group sum once (a repeat adds the reset 0, which is exact).
        for (let j = 0; j < 8; j++) {
          const k = touched[j];
          acc[k] += group[k];
          group[k] = 0;
        }
      }
      const o = i * K;
      for (let k = 0; k < K; k++) out[o + k] = acc[k];
    }
  }
  return out;
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
 * Synchronous body of `refinePamr` (`lib/stages.ts`).
 *
 * @param image Image.
 * @param labels Labels.
 * @param options Options.
 * @returns Refined labels.
 */
export function refinePamrSync(image: ImageRGB, labels: Int32Array, options: PamrOptions): Int32Array {
  const { iterations, dilations, median } = checkPamrInput(image, labels, options);
  const { height: H, width: W } = image;
  const n = H * W;

  const distinct = Int32Array.from(new Set(labels)).sort();
  const K = distinct.length;
  const rank = new Map<number, number>();
  distinct.forEach((v, k) => rank.set(v, k));
  const out = new Int32Array(n);
  if (K === 1) return out; // a single mask stays the argmax everywhere; the median of zeros is zero

  const ranks = new Int32Array(n);
  for (let i = 0; i < n; i++) ranks[i] = rank.get(labels[i])!;
  let refined: Float32Array;
  if (iterations === 0) {
    refined = new Float32Array(n * K);
    for (let i = 0; i < n; i++) refined[i * K + ranks[i]] = 1;
  } else {
    const weights = affinityUnchecked(image, dilations);
    const first = propagateOneHot(ranks, weights, H, W, K, dilations);
    refined = propagate(first, weights, H, W, K, dilations, iterations - 1);
  }
  for (let i = 0; i < n; i++) {
    const o = i * K;
    let best = 0;
    let bestValue = refined[o];
    for (let k = 1; k < K; k++) {
      if (refined[o + k] > bestValue) {
        bestValue = refined[o + k];
        best = k;
      }
    }
    out[i] = best;
  }
  return median ? medianFilter3x3(out, H, W) : out;
}
