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
 * Threads: from order 1,024 the outputs are split between the caller and helper workers (`lib/wasm/matrix_team.ts`),
 * each computing whole outputs in the same order, so the bits do not change. `DIFFCUT_KERNEL_THREADS=1` keeps every
 * product on the calling thread.
 *
 * @module
 */
import { embeddedModule } from "../wasm/embedded_module.ts";
import { copyToMatrixMemory, matrixMemory } from "../wasm/square_matrix.ts";
import { WASM_BASE64 } from "../wasm/symmetric_matvec_wasm.ts";
import { matVec } from "./matvec.ts";
import { MatrixJob, matrixRowWork, matrixTeam } from "../wasm/matrix_team.ts";

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
  const xs = new Float64Array(memory.buffer, xAt, m), outs = new Float64Array(memory.buffer, outAt, m);
  const threaded = m >= THREADS_MIN_ORDER ? matrixTeam(memory) : undefined;
  if (threaded) {
    // Groups of four outputs, one chunk per thread: a chunk reads a strip of every row of A, and narrower strips
    // stream worse (32 strips of a 4,096² matrix took 3× one pass). A helper that has not woken leaves its chunk
    // to the caller.
    const groups = Math.ceil(m / 4);
    const chunk = Math.ceil(groups / threaded.team.threads);
    const args = [0, m, xAt, outAt], work = matrixRowWork(memory);
    return (x, out) => {
      xs.set(x.subarray(0, m));
      threaded.team.run(threaded.slot, work, MatrixJob.matVecColumns, args, groups, chunk);
      out.set(outs);
    };
  }
  const kernel = (new WebAssembly.Instance(module, { env: { memory } }).exports as {
    symmetricMatVec(a: number, m: number, x: number, out: number): void;
  }).symmetricMatVec;
  return (x, out) => {
    xs.set(x.subarray(0, m));
    kernel(0, m, xAt, outAt);
    out.set(outs);
  };
}

/** Matrices of at least this order are multiplied on the helper threads too: at 784 (a 28×28 grid) two threads
 * took as long as one here, at 2,048 half as long, at 4,096 (memory-bound) 0.8×. */
const THREADS_MIN_ORDER = 1024;
