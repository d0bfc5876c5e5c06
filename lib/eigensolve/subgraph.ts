/**
 * The sub-graph of one partition-tree node: the principal submatrix of the affinity on the node's patches and
 * its degrees, as the CPU tree and the TypeScript references of the GPU kernels solve it.
 *
 * @module
 */
import { matrixMemory, squareMatrix } from "../wasm/square_matrix.ts";
import { symmetricMatVec } from "./symmetric_matvec.ts";
import { gatherRows, MatrixJob, matrixTeam } from "../wasm/matrix_team.ts";

/** Sub-matrices of at least this order are gathered on the matrix team's threads too. */
const GATHER_THREADS_MIN_ORDER = 1024;
/** Rows per claim of a threaded gather. */
const GATHER_CHUNK_ROWS = 32;

/** A node's sub-graph. */
export interface Subgraph {
  /** `m×m` affinity restricted to the node, row-major (the full matrix itself for the identity index list). */
  w: Float32Array;
  /** Degrees (row sums of `w`), accumulated in float64. */
  degrees: Float64Array;
}

/**
 * Restricts an `n×n` affinity (symmetric, as every affinity is) to the patches `idx` (in that order) and
 * computes the degrees.
 *
 * @param w Full affinity, row-major.
 * @param n Its order.
 * @param idx Patch indices of the node; `0, 1, …, n−1` returns `w` itself (no copy).
 * @returns The sub-graph.
 *
 * @example
 * ```ts
 * import { subgraph } from "./subgraph.ts";
 * const w = new Float32Array([1, 0.5, 0.25, 0.5, 1, 0, 0.25, 0, 1]);
 * const g = subgraph(w, 3, [2, 0]);
 * if (g.w.join() !== "1,0.25,0.25,1" || g.degrees.join() !== "1.25,1.25") throw new Error("wrong sub-graph");
 * ```
 */
export function subgraph(w: Float32Array, n: number, idx: ArrayLike<number>): Subgraph {
  const m = idx.length;
  if (isIdentity(idx, n)) return { w, degrees: rowSums(w, n) };
  const sub = squareMatrix(m, false); // in WebAssembly memory: the solver's SIMD products use it in place
  const cols = Int32Array.from(idx);
  // Large ones on the matrix team's threads too: the gather is memory-latency-bound and each row is independent.
  const from = m >= GATHER_THREADS_MIN_ORDER ? matrixMemory(w, n) : undefined;
  const to = from ? matrixMemory(sub, m) : undefined;
  const src = from && to ? matrixTeam(from.memory) : undefined;
  const dst = src && to ? matrixTeam(to.memory) : undefined;
  if (src && dst && to) {
    new Int32Array(to.memory.buffer, to.xAt, m).set(cols); // the solver's vector slot is free until the solve
    dst.team.run(
      dst.slot,
      (_op, _args, r0, r1) => (gatherRows(w, n, sub, m, cols, r0, r1), 0),
      MatrixJob.gather,
      [src.slot, n, m, to.xAt],
      m,
      GATHER_CHUNK_ROWS,
    );
  } else gatherRows(w, n, sub, m, cols, 0, m);
  return { w: sub, degrees: rowSums(sub, m) };
}

/**
 * Row sums of a symmetric matrix, each accumulated in float64 in order j = 0..m−1: the product with a vector of
 * ones, whose terms `a·1` are exact, so the SIMD kernel gives the sums of a plain row loop bit for bit.
 */
function rowSums(a: Float32Array, m: number): Float64Array {
  const degrees = new Float64Array(m);
  if (matrixMemory(a, m)) {
    symmetricMatVec(a, m)(new Float64Array(m).fill(1), degrees);
    return degrees;
  }
  // A plain array (an affinity the caller made): summed here rather than copied into module memory for it.
  for (let i = 0; i < m; i++) {
    let s = 0;
    const o = i * m;
    for (let j = 0; j < m; j++) s += a[o + j];
    degrees[i] = s;
  }
  return degrees;
}

function isIdentity(idx: ArrayLike<number>, n: number): boolean {
  if (idx.length !== n) return false;
  for (let i = 0; i < n; i++) if (idx[i] !== i) return false;
  return true;
}
