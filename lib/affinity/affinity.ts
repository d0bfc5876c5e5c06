/**
 * Patch affinity graph of DiffCut (plain-TypeScript reference path).
 *
 * The reference code builds `W = ((F̂ F̂ᵀ − min) / (max − min))^α` in float32 on the GPU, where `F̂` holds the
 * L2-normalised patch vectors, min and max are taken over the whole matrix (so the least similar pair becomes
 * exactly 0 and the diagonal ≈ 1), and self-loops are kept. This module reproduces it with float32 storage and
 * float32 rounding of every element-wise step; dot products accumulate in float64 (more accurate than a GPU
 * float32 matmul, never less).
 *
 * @module
 */
import type { Backend, FeatureMap } from "../types.ts";
import { validateFeatureMap } from "../features/validate_features.ts";
import { normalizeRows } from "../features/normalize_rows.ts";
import { ConstantAffinityError } from "./constant_affinity_error.ts";
import { squareMatrix } from "../wasm/square_matrix.ts";

/** Options of an affinity build (`affinityMatrix` in `lib/stages.ts`, {@linkcode affinityMatrixSync}). */
export interface AffinityOptions {
  /** Exponent applied to the min-max normalised cosine. @default 10 */
  alpha?: number;
  /** Keep the diagonal (self-similarity) as the reference does; `false` zeroes it. @default true */
  selfLoops?: boolean;
  /** Where to compute: `"cpu"`, `"webgpu"` (affinity_gpu.ts; CPU fallback with a notice when no adapter exists;
   * a RangeError above the device's binding limit) or `"auto"` (measured per adapter). @default "auto" */
  backend?: Backend;
}

/**
 * Gram matrix `X Xᵀ` of `n` rows of length `c` (row-major), stored in float32.
 *
 * Dot products accumulate in float64 in order k = 0..c−1 in each of two interleaved partial sums per output.
 * The kernel computes a 4×2 block of outputs per pass over k, and uses symmetry (upper blocks mirrored).
 *
 * @param x Rows, `n·c` values.
 * @param n Number of rows.
 * @param c Row length.
 * @returns `n·n` values, symmetric.
 */
export function cosineGram(x: Float32Array, n: number, c: number): Float32Array {
  const g = squareMatrix(n); // in WebAssembly memory, where the solver's SIMD products read it
  const rowBlock = 4;
  const colBlock = 2;
  for (let i0 = 0; i0 < n; i0 += rowBlock) {
    if (i0 + rowBlock > n) {
      for (let i = i0; i < n; i++) for (let j = i; j < n; j++) setSym(g, n, i, j, dot(x, i * c, j * c, c));
      continue;
    }
    const a0 = i0 * c, a1 = a0 + c, a2 = a1 + c, a3 = a2 + c;
    let j0 = i0;
    for (; j0 + colBlock <= n; j0 += colBlock) {
      const b0 = j0 * c, b1 = b0 + c;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
      for (let k = 0; k < c; k++) {
        const v0 = x[b0 + k], v1 = x[b1 + k];
        const u0 = x[a0 + k], u1 = x[a1 + k], u2 = x[a2 + k], u3 = x[a3 + k];
        s00 += u0 * v0;
        s01 += u0 * v1;
        s10 += u1 * v0;
        s11 += u1 * v1;
        s20 += u2 * v0;
        s21 += u2 * v1;
        s30 += u3 * v0;
        s31 += u3 * v1;
      }
      setSym(g, n, i0, j0, s00);
      setSym(g, n, i0, j0 + 1, s01);
      setSym(g, n, i0 + 1, j0, s10);
      setSym(g, n, i0 + 1, j0 + 1, s11);
      setSym(g, n, i0 + 2, j0, s20);
      setSym(g, n, i0 + 2, j0 + 1, s21);
      setSym(g, n, i0 + 3, j0, s30);
      setSym(g, n, i0 + 3, j0 + 1, s31);
    }
    for (; j0 < n; j0++) {
      for (let i = i0; i < i0 + rowBlock; i++) setSym(g, n, i, j0, dot(x, i * c, j0 * c, c));
    }
  }
  return g;
}

function dot(x: Float32Array, a: number, b: number, c: number): number {
  let s = 0;
  for (let k = 0; k < c; k++) s += x[a + k] * x[b + k];
  return s;
}

function setSym(g: Float32Array, n: number, i: number, j: number, v: number): void {
  g[i * n + j] = v;
  g[j * n + i] = v;
}

/**
 * Min-max normalises a matrix over all its entries, then raises it to `alpha`, in float32 steps:
 * `fround(fround(w − min) / fround(max − min)) ** alpha`, rounded to float32.
 * Works in place and returns its argument.
 *
 * @param w Matrix entries (any shape).
 * @param alpha Exponent ≥ 1.
 * @returns `w`, or `null` when all entries are equal (the normalisation is undefined).
 */
export function minMaxPower(w: Float32Array, alpha: number): Float32Array | null {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = Math.fround(hi - lo);
  if (!(range > 0)) return null;
  const integer = Number.isInteger(alpha);
  for (let i = 0; i < w.length; i++) {
    const t = Math.fround(Math.fround(w[i] - lo) / range);
    // Float32Array assignment rounds to float32, as torch's pow on a float32 tensor does.
    w[i] = integer ? powInt(t, alpha) : Math.pow(t, alpha);
  }
  return w;
}

/**
 * `t ** k` for a non-negative integer k by squaring (faster than Math.pow); shared with the GPU path's host-side
 * zero rule so both use the same arithmetic.
 *
 * @param t Base.
 * @param k Exponent, an integer ≥ 0.
 * @returns `t ** k`.
 */
export function powInt(t: number, k: number): number {
  let r = 1, b = t, e = k;
  while (e > 0) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return r;
}

/**
 * Synchronous, pure-TypeScript affinity (`affinityMatrix` in `lib/stages.ts` dispatches to it): the reference
 * implementation.
 *
 * @param features Feature map `[h, w, c]`.
 * @param options See {@linkcode AffinityOptions}.
 * @returns The affinity matrix.
 * @throws {RangeError} When alpha < 1 or the map has fewer than 2 patches.
 * @throws {ConstantAffinityError} When the features are all identical.
 * @throws {TypeError} When the data length does not match the shape or holds NaN/Inf/zero vectors.
 */
export function affinityMatrixSync(features: FeatureMap, options: AffinityOptions = {}): Float32Array {
  const { alpha, n } = checkAffinityInput(features, options);
  const w = cosineGram(normalizeRows(features), n, features.channels);
  return finishAffinity(w, n, alpha, options.selfLoops ?? true);
}

/**
 * Checks the input of an affinity build (both backends).
 *
 * @param features Feature map.
 * @param options Options.
 * @returns α with its default applied, and the patch count.
 * @throws {RangeError} On α < 1 or fewer than 2 patches.
 * @throws {TypeError} On a malformed feature map.
 */
export function checkAffinityInput(
  features: FeatureMap,
  options: AffinityOptions,
): { alpha: number; n: number } {
  const alpha = options.alpha ?? 10;
  checkAlpha(alpha);
  validateFeatureMap(features, "features");
  const n = features.height * features.width;
  if (n < 2) throw new RangeError(`Feature map has ${n} patch; expected at least 2 to build a graph`);
  return { alpha, n };
}

/**
 * Min-max normalises a Gram matrix in place, raises it to α and zeroes the diagonal without self-loops.
 *
 * @param w Gram matrix `n×n`, overwritten.
 * @param n Patch count.
 * @param alpha Exponent.
 * @param selfLoops Keep the diagonal.
 * @returns `w`.
 * @throws {ConstantAffinityError} When every entry is the same.
 */
export function finishAffinity(w: Float32Array, n: number, alpha: number, selfLoops: boolean): Float32Array {
  if (minMaxPower(w, alpha) === null) {
    throw new ConstantAffinityError();
  }
  if (!selfLoops) { for (let i = 0; i < n; i++) w[i * n + i] = 0; }
  return w;
}

/**
 * Checks the affinity exponent.
 *
 * @param alpha Candidate exponent.
 * @throws {RangeError} Unless alpha is a finite number ≥ 1.
 */
export function checkAlpha(alpha: number): void {
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha < 1) {
    throw new RangeError(`Invalid alpha ${alpha}: expected a finite number >= 1`);
  }
}
