/**
 * AutoSC baseline (REFERENCE.md §2.6): spectral clustering whose number of clusters comes from an eigengap
 * heuristic over several affinity exponents α, discretised with `cluster_qr` (QR with column pivoting + polar
 * factor, as in scikit-learn's `assign_labels="cluster_qr"`).
 *
 * For each α in `alphas`: `A = minmax(cos)^α` (the DiffCut affinity), the eigenvalues λ of the normalised
 * Laplacian `I − D^-1/2 A D^-1/2` in ascending order, `cm = cummean(λ)`, `reg = (λ − cm) / (cm + 1e-6)`. The α
 * with the largest `max(reg)` wins (the first on ties) and `K = argmax(reg)` (at least 1). Its first K
 * eigenvectors, mapped back as `D^-1/2 v`, are clustered by `cluster_qr`.
 *
 * Done correctly: the reference code keeps the *last* α's eigenvectors (α = 15) after the loop instead of the
 * chosen α's; here the eigenvectors come from the α that won. The affinity is raised to α once.
 *
 * References: A. Damle, V. Minden, L. Ying, "Simple, direct and efficient multi-way spectral clustering",
 * Information and Inference 8(1), 2019, doi:10.1093/imaiai/iay008 (cluster_qr). U. von Luxburg, "A tutorial on
 * spectral clustering", Statistics and Computing 17, 2007, doi:10.1007/s11222-007-9033-z (eigengap).
 *
 * @module
 */
import { affinityMatrixSync } from "../affinity/affinity.ts";
import { ConstantAffinityError } from "../affinity/constant_affinity_error.ts";
import { jacobiEigen } from "../eigensolve/jacobi.ts";
import type { FeatureMap } from "../types.ts";
import {
  eigenvectorsFor,
  tridiagonalEigenvalues,
  type Tridiagonalization,
  tridiagonalize,
} from "../eigensolve/dense_eigen.ts";

/** Options of {@linkcode autoscLabels}. */
export interface AutoscOptions {
  /** Exponents tried. @default [1, 5, 10, 15] */
  alphas?: number[];
  /** Keep the affinity diagonal. @default true */
  selfLoops?: boolean;
}

/** Result of {@linkcode autoscLabels}. */
export interface AutoscResult {
  /** Cluster per patch, `0 … K−1`. */
  labels: Int32Array;
  /** Chosen α. */
  alpha: number;
  /** Chosen number of clusters K. */
  k: number;
  /** `max(reg)` per α tried (same order as `alphas`). */
  gaps: number[];
}

/**
 * Eigengap statistic of ascending eigenvalues: `reg_i = (λ_i − mean(λ_0..λ_i)) / (mean(λ_0..λ_i) + 1e-6)`.
 *
 * @param values Eigenvalues, ascending.
 * @returns `{ max, argmax }` (first index on ties).
 *
 * @example
 * ```ts
 * import { eigengap } from "./autosc.ts";
 * import assert from "node:assert/strict";
 * // Three near-zero eigenvalues, then a jump: K = 3.
 * assert.equal(eigengap([0, 0.001, 0.002, 0.9, 0.95]).argmax, 3);
 * ```
 */
export function eigengap(values: ArrayLike<number>): { max: number; argmax: number } {
  let sum = 0, max = -Infinity, argmax = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    const cm = sum / (i + 1);
    const reg = (values[i] - cm) / (cm + 1e-6);
    if (reg > max) {
      max = reg;
      argmax = i;
    }
  }
  return { max, argmax };
}

/**
 * AutoSC clustering of a feature map's patches.
 *
 * @param features Feature map `[h, w, c]`.
 * @param options Exponents and self-loops.
 * @returns Labels per patch, chosen α and K.
 * @throws {RangeError} On an empty α list.
 *
 * @example Two flat halves give two clusters
 * ```ts
 * import { autoscLabels } from "./autosc.ts";
 * import assert from "node:assert/strict";
 * const data = new Float32Array(16 * 2);
 * for (let i = 0; i < 16; i++) data.set(i % 4 < 2 ? [1, 0.05 * (i % 3)] : [0.05 * (i % 3), 1], i * 2);
 * const r = autoscLabels({ data, height: 4, width: 4, channels: 2 });
 * assert.equal(r.k, 2);
 * assert.equal(r.labels[0], r.labels[1]);
 * assert.notEqual(r.labels[0], r.labels[2]);
 * ```
 */
export function autoscLabels(features: FeatureMap, options: AutoscOptions = {}): AutoscResult {
  const alphas = options.alphas ?? [1, 5, 10, 15];
  if (alphas.length === 0) throw new RangeError("Invalid alphas []: expected at least one exponent");
  const selfLoops = options.selfLoops ?? true;
  const n = features.height * features.width;
  let best:
    | { alpha: number; k: number; t: Tridiagonalization; values: Float64Array; isd: Float64Array }
    | null = null;
  let maxGap = 0;
  const gaps: number[] = [];
  for (const alpha of alphas) {
    let a: Float32Array;
    try {
      a = affinityMatrixSync(features, { alpha, selfLoops });
    } catch (e) {
      if (e instanceof ConstantAffinityError) {
        return { labels: new Int32Array(n), alpha, k: 1, gaps: [0] };
      }
      throw e;
    }
    const isd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let j = 0; j < n; j++) d += a[i * n + j];
      isd[i] = 1 / Math.sqrt(Math.max(d, 1e-300));
    }
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = a[i * n + j] * isd[i] * isd[j];
    const t = tridiagonalize(m, n);
    // Laplacian eigenvalues λ = 1 − μ, ascending ⇔ μ descending.
    const mu = tridiagonalEigenvalues(t.diag, t.off);
    const lambda = Float64Array.from(mu).reverse().map((x) => 1 - x);
    const { max, argmax } = eigengap(lambda);
    gaps.push(max);
    if (max > maxGap) {
      maxGap = max;
      best = { alpha, k: Math.max(1, argmax), t, values: mu.slice().reverse(), isd };
    }
  }
  if (!best || best.k <= 1) {
    return { labels: new Int32Array(n), alpha: best?.alpha ?? alphas[0], k: 1, gaps };
  }
  const vecs = eigenvectorsFor(best.t, best.values.subarray(0, best.k));
  const y = new Float64Array(n * best.k);
  for (let c = 0; c < best.k; c++) for (let i = 0; i < n; i++) y[i * best.k + c] = vecs[c][i] * best.isd[i];
  return { labels: clusterQr(y, n, best.k), alpha: best.alpha, k: best.k, gaps };
}

/**
 * `cluster_qr` discretisation of spectral embeddings: pick k rows by QR with column pivoting of `Yᵀ`, rotate Y
 * by the orthogonal polar factor of those rows, and label each row by its largest absolute coordinate.
 *
 * @param y Row-major n×k embedding.
 * @param n Rows.
 * @param k Columns.
 * @returns Labels `0 … k−1` (first index on ties).
 */
export function clusterQr(y: Float64Array, n: number, k: number): Int32Array {
  // Pivoted Gram–Schmidt on the rows (= columns of Yᵀ): largest remaining norm first.
  const r = Float64Array.from(y);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) norms[i] += r[i * k + c] ** 2;
  const pivots: number[] = [];
  const used = new Uint8Array(n);
  for (let s = 0; s < k; s++) {
    let p = -1;
    for (let i = 0; i < n; i++) if (!used[i] && (p < 0 || norms[i] > norms[p])) p = i;
    pivots.push(p);
    used[p] = 1;
    const nrm = Math.sqrt(norms[p]);
    if (nrm === 0) continue;
    const q = new Float64Array(k);
    for (let c = 0; c < k; c++) q[c] = r[p * k + c] / nrm;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      let dot = 0;
      for (let c = 0; c < k; c++) dot += r[i * k + c] * q[c];
      let nn = 0;
      for (let c = 0; c < k; c++) {
        r[i * k + c] -= dot * q[c];
        nn += r[i * k + c] ** 2;
      }
      norms[i] = nn;
    }
  }
  // B = Y[pivots]ᵀ (k×k); polar factor R = B (BᵀB)^-1/2 = U Vᵀ of B's SVD.
  const b = new Float64Array(k * k); // b[a][c] = Y[pivots[c]][a]
  for (let a = 0; a < k; a++) for (let c = 0; c < k; c++) b[a * k + c] = y[pivots[c] * k + a];
  const g = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += b[a * k + i] * b[a * k + j];
      g[i * k + j] = s;
    }
  }
  const { values, vectors } = jacobiEigen(g, k);
  let top = 0;
  for (const v of values) top = Math.max(top, v);
  const gInvSqrt = new Float64Array(k * k);
  for (let e = 0; e < k; e++) {
    if (values[e] <= 1e-12 * top) continue;
    const s = 1 / Math.sqrt(values[e]);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) gInvSqrt[i * k + j] += vectors[i * k + e] * s * vectors[j * k + e];
    }
  }
  const rot = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += b[a * k + c] * gInvSqrt[c * k + j];
      rot[a * k + j] = s;
    }
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let bestJ = 0, bestV = -1;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += y[i * k + a] * rot[a * k + j];
      if (Math.abs(s) > bestV) {
        bestV = Math.abs(s);
        bestJ = j;
      }
    }
    labels[i] = bestJ;
  }
  return labels;
}
