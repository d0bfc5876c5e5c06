/**
 * The Shi–Malik Fiedler vector of a weighted graph: the generalised eigenvector `(D − A) y = λ D y` of the
 * second-smallest λ, computed as `y = D^-1/2 v` where v is the second-largest eigenvector of
 * `M = D^-1/2 A D^-1/2` (REFERENCE.md §2.3 step 5), with the reference's deterministic sign.
 *
 * References: J. Shi and J. Malik, "Normalized cuts and image segmentation", IEEE TPAMI 22(8), 2000,
 * doi:10.1109/34.868688. U. von Luxburg, "A tutorial on spectral clustering", Statistics and Computing 17, 2007,
 * doi:10.1007/s11222-007-9033-z.
 *
 * @module
 */
import { jacobiEigen } from "./jacobi.ts";
import { type LanczosOptions, lanczosTop } from "./lanczos.ts";
import { symmetricMatVec } from "./symmetric_matvec.ts";

/** Nodes at or below this count use the dense Jacobi solver. */
export const DENSE_LIMIT = 48;

/** Result of {@linkcode fiedlerVector}. */
export interface FiedlerResult {
  /** `y = D^-1/2 v`, sign-normalised so that its largest-magnitude entry is positive. */
  vector: Float64Array;
  /** λ₂ of the normalised Laplacian `I − M` (equal to the generalised eigenvalue). */
  value: number;
  /** Solver used. */
  method: "jacobi" | "lanczos";
  /** Mat-vec products (Lanczos) or 0. */
  matvecs: number;
  /** Residual `‖M v − (1−λ) v‖` estimate. */
  residual: number;
  /** `D^-1/2` times the next Ritz vector (Lanczos only): a warm start for the children's solves. */
  next?: Float64Array;
}

/**
 * Fiedler vector of the graph with symmetric non-negative affinity `a` (m×m, row-major) and degrees `d`.
 *
 * @param a Affinity, row-major m×m (float32 or float64).
 * @param m Number of nodes (≥ 2).
 * @param d Degrees `a·1` (all > 0).
 * @param options Lanczos options (tolerance etc.).
 * @returns The sign-normalised generalised eigenvector and its eigenvalue.
 */
export function fiedlerVector(
  a: Float32Array | Float64Array,
  m: number,
  d: Float64Array,
  options: LanczosOptions = {},
): FiedlerResult {
  const isd = new Float64Array(m);
  for (let i = 0; i < m; i++) isd[i] = 1 / Math.sqrt(d[i]);
  let v: Float64Array, theta: number, method: FiedlerResult["method"], matvecs = 0, residual = 0;
  let next: Float64Array | undefined;
  if (m <= DENSE_LIMIT) {
    const mm = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) mm[i * m + j] = a[i * m + j] * isd[i] * isd[j];
    const { values, vectors } = jacobiEigen(mm, m);
    const order = Array.from(values.keys()).sort((x, y) => values[y] - values[x]);
    const k = order[1];
    v = new Float64Array(m);
    for (let r = 0; r < m; r++) v[r] = vectors[r * m + k];
    theta = values[k];
    method = "jacobi";
  } else {
    const u0 = new Float64Array(m);
    let s = 0;
    for (let i = 0; i < m; i++) s += d[i];
    for (let i = 0; i < m; i++) u0[i] = Math.sqrt(d[i] / s);
    const t = new Float64Array(m);
    const product = symmetricMatVec(a, m);
    // The scalings are functions of their own: this closure is deoptimised at each node (a new matrix memory means a
    // new WebAssembly instance, so the product's call target changes), and its loops would then run unoptimised.
    const matvec = (x: Float64Array, out: Float64Array) => {
      scaleInto(t, x, isd);
      product(t, out);
      scaleInto(out, out, isd);
    };
    // A warm start is given in the generalised form (like y); Lanczos works on D^1/2 y.
    const start = options.start ? options.start.map((x, i) => x * Math.sqrt(d[i])) : undefined;
    const r = lanczosTop(matvec, m, [u0], { ...options, start });
    v = r.vector;
    if (r.next) next = r.next.map((x, i) => x * isd[i]);
    theta = r.value;
    matvecs = r.matvecs;
    residual = r.residual;
    method = "lanczos";
  }
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) y[i] = v[i] * isd[i];
  fixSign(y);
  return { vector: y, value: 1 - theta, method, matvecs, residual, next };
}

/** `dst[i] = x[i] · s[i]` for every i of `s`. */
function scaleInto(dst: Float64Array, x: Float64Array, s: Float64Array): void {
  for (let i = 0; i < s.length; i++) dst[i] = x[i] * s[i];
}

/**
 * Makes the largest-magnitude entry positive (first index wins ties), as the reference does with
 * `y *= sign(y[argmax |y|])`. Works in place.
 *
 * @param y Vector to normalise.
 * @returns `y`.
 */
export function fixSign(y: Float64Array): Float64Array {
  let k = 0;
  for (let i = 1; i < y.length; i++) if (Math.abs(y[i]) > Math.abs(y[k])) k = i;
  if (y[k] < 0) { for (let i = 0; i < y.length; i++) y[i] = -y[i]; }
  return y;
}
