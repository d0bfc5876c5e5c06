/**
 * The sub-graph of one partition-tree node: the principal submatrix of the affinity on the node's patches and
 * its degrees, as the CPU tree and the TypeScript references of the GPU kernels solve it.
 *
 * @module
 */
import { squareMatrix } from "../wasm/square_matrix.ts";

/** A node's sub-graph. */
export interface Subgraph {
  /** `m×m` affinity restricted to the node, row-major (the full matrix itself for the identity index list). */
  w: Float32Array;
  /** Degrees (row sums of `w`), accumulated in float64. */
  degrees: Float64Array;
}

/**
 * Restricts an `n×n` affinity to the patches `idx` (in that order) and computes the degrees.
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
  const degrees = new Float64Array(m);
  if (!isIdentity(idx, n)) {
    // The copy and the degrees in one pass (each row summed in the same order j = 0..m−1).
    const sub = squareMatrix(m); // in WebAssembly memory: the solver's SIMD products use it in place
    const cols = Int32Array.from(idx);
    for (let i = 0; i < m; i++) {
      const src = cols[i] * n, dst = i * m;
      let s = 0;
      for (let j = 0; j < m; j++) {
        const v = w[src + cols[j]];
        sub[dst + j] = v;
        s += v;
      }
      degrees[i] = s;
    }
    return { w: sub, degrees };
  }
  const sub = w;
  for (let i = 0; i < m; i++) {
    let s = 0;
    const o = i * m;
    for (let j = 0; j < m; j++) s += sub[o + j];
    degrees[i] = s;
  }
  return { w: sub, degrees };
}

function isIdentity(idx: ArrayLike<number>, n: number): boolean {
  if (idx.length !== n) return false;
  for (let i = 0; i < n; i++) if (idx[i] !== i) return false;
  return true;
}
