/**
 * Lanczos with full reorthogonalisation and explicit restarts, float64: the largest eigenpair of a symmetric
 * operator restricted to the orthogonal complement of known eigenvectors ("deflation").
 *
 * DiffCut needs the second-largest eigenvector of `M = D^-1/2 A D^-1/2`; the largest is known in closed form
 * (`√d/‖√d‖`, eigenvalue 1), so deflating it makes the wanted vector the top one, which Lanczos finds fast.
 * Full reorthogonalisation costs `O(k·n)` per step against the `O(n²)` mat-vec: cheap at these sizes and it
 * removes the ghost eigenvalues of plain Lanczos.
 *
 * @module
 */
import { seededVector } from "../random.ts";
import { tridiagonalEigen } from "./tridiagonal.ts";

/** Options of {@linkcode lanczosTop}. */
export interface LanczosOptions {
  /** Stop when the Ritz residual `‖Mx − θx‖` is below this. @default 1e-8 */
  tolerance?: number;
  /** Largest Krylov basis before an explicit restart from the current Ritz vector. @default 120 */
  maxBasis?: number;
  /** Restarts allowed before giving up (the best Ritz pair so far is returned, flagged). @default 20 */
  maxRestarts?: number;
  /** Check convergence every this many steps. @default 4 */
  checkEvery?: number;
  /** Start vector (any non-zero vector; it is orthogonalised against the deflated ones). */
  start?: Float64Array;
}

/** Result of {@linkcode lanczosTop}. */
export interface LanczosResult {
  /** Largest eigenvalue of the deflated operator. */
  value: number;
  /** Unit eigenvector. */
  vector: Float64Array;
  /** Mat-vec products used. */
  matvecs: number;
  /** Final Ritz residual estimate `|β_k s_k|`. */
  residual: number;
  /** Whether the residual reached the tolerance. */
  converged: boolean;
  /** Ritz vector of the second-largest Ritz value (unit; a cheap approximation of the next eigenvector, used to
   * warm-start the solves of child nodes), or undefined when the basis had one vector. */
  next?: Float64Array;
}

/**
 * Largest eigenpair of the symmetric operator `matvec` (order n) on the complement of `deflate`.
 *
 * @param matvec Writes `M x` into `out`.
 * @param n Order of the operator.
 * @param deflate Orthonormal vectors to project out (known eigenvectors).
 * @param options See {@linkcode LanczosOptions}.
 * @returns The top eigenpair of the deflated operator.
 */
export function lanczosTop(
  matvec: (x: Float64Array, out: Float64Array) => void,
  n: number,
  deflate: Float64Array[],
  options: LanczosOptions = {},
): LanczosResult {
  const tol = options.tolerance ?? 1e-8;
  const dim = n - deflate.length; // dimension of the space searched
  const maxBasis = Math.max(2, Math.min(options.maxBasis ?? 120, dim));
  const maxRestarts = options.maxRestarts ?? 20;
  const checkEvery = options.checkEvery ?? 4;
  let q = options.start ? Float64Array.from(options.start) : seededVector(n, 0x9e3779b9);
  let matvecs = 0;
  let best: LanczosResult | null = null;
  // Whether the Krylov space holds a random direction. Breakdown (an invariant subspace) from a random start
  // means the top eigenpair has been found; from a warm start it may have been missed entirely (for example when
  // the start is an eigenvector of another eigenvalue), so a random direction is added and the run goes on.
  let random = !options.start;
  for (let restart = 0; restart <= maxRestarts; restart++) {
    project(q, deflate);
    let nrm = norm(q);
    if (nrm < 1e-12) {
      q = seededVector(n, 0x85ebca6b + restart);
      project(q, deflate);
      nrm = norm(q);
    }
    scale(q, 1 / nrm);
    const basis: Float64Array[] = [q];
    const alpha: number[] = [];
    const beta: number[] = [];
    const w = new Float64Array(n);
    for (let j = 0;; j++) {
      matvec(basis[j], w);
      matvecs++;
      const a = dotp(basis[j], w);
      alpha.push(a);
      // Two passes of Gram–Schmidt against the deflated vectors and the whole basis ("twice is enough").
      project(w, [...deflate, ...basis, ...deflate, ...basis]);
      const b = norm(w);
      const k = j + 1;
      if (b < 1e-14 && !random && k < maxBasis) {
        random = true;
        const r = seededVector(n, 0x27d4eb2f + k);
        for (let pass = 0; pass < 2; pass++) {
          project(r, deflate);
          project(r, basis);
        }
        const rn = norm(r);
        if (rn > 1e-12) {
          scale(r, 1 / rn);
          beta.push(0); // the tridiagonal splits into blocks: M keeps the invariant subspace apart
          basis.push(r);
          continue;
        }
      }
      const last = k >= maxBasis || b < 1e-14;
      if (last || k % checkEvery === 0) {
        const residual = ritzResidual(alpha, beta, k, b);
        if (residual <= tol || last) {
          const { value, s, s2 } = topRitz(alpha, beta, k);
          const vector = combine(basis, s, n);
          const next = s2 ? combine(basis, s2, n) : undefined;
          const result = { value, vector, matvecs, residual, converged: residual <= tol || b < 1e-14, next };
          if (result.converged) return result;
          if (!best || residual < best.residual) best = result;
          q = vector;
          random = true;
          break; // restart from the Ritz vector
        }
      }
      beta.push(b);
      const next = new Float64Array(n);
      for (let i = 0; i < n; i++) next[i] = w[i] / b;
      basis.push(next);
    }
  }
  return { ...best!, matvecs };
}

/**
 * The residual `|b · s_k|` of the top Ritz pair, from the last components of the tridiagonal's eigenvectors alone
 * (O(k²) instead of the O(k³) of the full vectors, which only a converged check needs); the value is the one
 * {@linkcode topRitz}'s vector gives, bit for bit.
 */
function ritzResidual(alpha: number[], beta: number[], k: number, b: number): number {
  const { values, vectors } = tridiagonalEigen(alpha, beta, k, "last");
  let top = 0;
  for (let i = 1; i < k; i++) if (values[i] > values[top]) top = i;
  return Math.abs(b * vectors[top]);
}

/** The top Ritz pair of the Lanczos tridiagonal, and the coefficients of the second one. */
function topRitz(
  alpha: number[],
  beta: number[],
  k: number,
): { value: number; s: Float64Array; s2: Float64Array | undefined } {
  const { values, vectors } = tridiagonalEigen(alpha, beta, k);
  let top = 0;
  for (let i = 1; i < k; i++) if (values[i] > values[top]) top = i;
  let second = -1;
  for (let i = 0; i < k; i++) if (i !== top && (second < 0 || values[i] > values[second])) second = i;
  const column = (c: number) => Float64Array.from({ length: k }, (_, r) => vectors[r * k + c]);
  return { value: values[top], s: column(top), s2: second < 0 ? undefined : column(second) };
}

/** Unit vector `Σ coef_i · basis_i`. */
function combine(basis: Float64Array[], coef: Float64Array, n: number): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < coef.length; i++) axpy(v, basis[i], coef[i]);
  scale(v, 1 / norm(v));
  return v;
}

/**
 * Removes from `x` its components along each vector of `basis` in turn (modified Gram–Schmidt): for each v,
 * `x += (−x·v) v`. Each vector's update is fused with the next vector's dot product, one pass over `x` per vector
 * instead of two; every element sees the same operations in the same order, so the result is the same bit for
 * bit (the update's independent work also fills the dot product's add-latency chain).
 */
function project(x: Float64Array, basis: Float64Array[]): void {
  if (basis.length === 0) return;
  const n = x.length;
  let c = -dotp(x, basis[0]);
  for (let k = 1; k < basis.length; k++) {
    const v = basis[k - 1], next = basis[k];
    let s = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[i] + c * v[i];
      x[i] = xi;
      s += xi * next[i];
    }
    c = -s;
  }
  axpy(x, basis[basis.length - 1], c);
}

function dotp(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dotp(a, a));
}

function axpy(y: Float64Array, x: Float64Array, a: number): void {
  for (let i = 0; i < y.length; i++) y[i] += a * x[i];
}

function scale(x: Float64Array, a: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= a;
}
