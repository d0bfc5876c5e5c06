/**
 * `out = A x` for a symmetric float32 matrix, computed with 128-bit WebAssembly SIMD by
 * `lib/wasm/symmetric_matvec.wat`: the Lanczos solver's hot loop, 1.8× (4,096², memory-bound) to 2.7×
 * (1,093²) the scalar {@linkcode matVec} on the project's machine.
 *
 * A matrix made by `squareMatrix` (lib/wasm/square_matrix.ts: the affinity and the tree's sub-matrices are)
 * is used where it lies; any other is copied into a module memory once, when the operator is made. The results
 * equal {@linkcode matVec}'s bit for bit: each output adds the same float64 products in the same order
 * j = 0..m−1 (the kernel relies on `A[j][i] = A[i][j]`, which every affinity and every principal sub-matrix of
 * one satisfies). Where WebAssembly SIMD is missing, `matVec` itself runs.
 *
 * @module
 */
import { embeddedModule } from "../wasm/embedded_module.ts";
import { copyToMatrixMemory, matrixMemory } from "../wasm/square_matrix.ts";
import { WASM_BASE64 } from "../wasm/symmetric_matvec_wasm.ts";
import { matVec } from "./matvec.ts";

/** A mat-vec operator `x ↦ A x` for one symmetric matrix. */
export type SymmetricMatVec = (x: Float64Array, out: Float64Array) => void;

/**
 * Makes the operator `x ↦ A x` of a symmetric matrix.
 *
 * @param a Row-major m×m symmetric matrix (float32 runs in WebAssembly; float64 runs `matVec`).
 * @param m Order.
 * @returns The operator; it writes `A x` into `out` (length m).
 *
 * @example
 * ```ts
 * import { symmetricMatVec } from "./symmetric_matvec.ts";
 * const apply = symmetricMatVec(new Float32Array([2, 1, 1, 3]), 2);
 * const out = new Float64Array(2);
 * apply(new Float64Array([1, 1]), out);
 * if (out.join() !== "3,4") throw new Error("wrong product");
 * ```
 */
export function symmetricMatVec(a: Float32Array | Float64Array, m: number): SymmetricMatVec {
  const module = a instanceof Float32Array ? embeddedModule(WASM_BASE64) : null;
  if (!module) return (x, out) => matVec(a, m, x, out);
  const { memory, xAt, outAt } = matrixMemory(a as Float32Array, m) ?? copyToMatrixMemory(a, m);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const kernel = instance.exports.symmetricMatVec as (a: number, m: number, x: number, out: number) => void;
  const xs = new Float64Array(memory.buffer, xAt, m), outs = new Float64Array(memory.buffer, outAt, m);
  return (x, out) => {
    xs.set(x.subarray(0, m));
    kernel(0, m, xAt, outAt);
    out.set(outs);
  };
}
