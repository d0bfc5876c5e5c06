/**
 * Eigen-decomposition of a small symmetric tridiagonal matrix by the implicit QL method with Wilkinson shifts
 * (the Lanczos projection's eigenproblem). Written for this project; the method is textbook (Golub & Van Loan,
 * "Matrix Computations", §8.3).
 *
 * @module
 */
import { embeddedModule } from "../wasm/embedded_module.ts";
import { WASM_BASE64 } from "../wasm/plane_rotation_wasm.ts";

/** Rows of eigenvectors accumulated in a WebAssembly memory, rotated by `lib/wasm/plane_rotation.wat`. */
interface RotationSpace {
  /** The rows, transposed (see tridiagonalEigen), in the kernel's memory. */
  zt: Float64Array;
  /** Rotates rows i and i+1 of `zt` (each `rows` long) by (s, c), bit-identical to the scalar loop. */
  rotate(i: number, rows: number, s: number, c: number): void;
}

/** The kernel's export: rotates the rows at byte addresses a and b, n elements each. */
type Rotate = (a: number, b: number, n: number, s: number, c: number) => void;

let kernel: { memory: WebAssembly.Memory; rotate: Rotate } | null | undefined;

/**
 * A zeroed `length`-element array in the rotation kernel's memory (one per process, grown as needed; the QL
 * iteration is synchronous, so one user at a time), or null where WebAssembly SIMD is missing.
 */
function rotationSpace(length: number): RotationSpace | null {
  if (kernel === undefined) {
    const module = embeddedModule(WASM_BASE64);
    if (module) {
      const memory = new WebAssembly.Memory({ initial: 1 });
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      kernel = { memory, rotate: instance.exports.rotate as Rotate };
    } else kernel = null;
  }
  if (!kernel) return null;
  const { memory, rotate } = kernel;
  const bytes = length * 8;
  if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  const zt = new Float64Array(memory.buffer, 0, length);
  zt.fill(0);
  return { zt, rotate: (i, rows, s, c) => rotate(i * rows * 8, (i + 1) * rows * 8, rows, s, c) };
}

/**
 * `Math.hypot(x, y)` with the same bits, inlined: V8's builtin divides by the larger magnitude and sums the
 * squares with Kahan compensation, which for two values is exactly `sqrt(n1² + n2²) · max` (the compensation after
 * the first term is 0). The builtin is variadic and costs ~12 ns a call against ~5 here; the QL iteration takes
 * one per rotation (tests/eigensolve/tridiagonal_test.ts compares the two on millions of inputs).
 *
 * @param x First value.
 * @param y Second value.
 * @returns `Math.hypot(x, y)`.
 */
export function hypot2(x: number, y: number): number {
  const a = Math.abs(x), b = Math.abs(y);
  if (a === Infinity || b === Infinity) return Infinity;
  if (a !== a || b !== b) return NaN;
  const max = a > b ? a : b;
  if (max === 0) return 0;
  const n1 = a / max, n2 = b / max;
  return Math.sqrt(n1 * n1 + n2 * n2) * max;
}

/**
 * Eigenvalues and eigenvectors of the symmetric tridiagonal matrix with diagonal `diag` and off-diagonal `off`.
 *
 * @param diag Diagonal, length m (not modified).
 * @param off Off-diagonal, `off[i]` couples i and i+1; length ≥ m−1 (not modified).
 * @param m Order.
 * @param withVectors Accumulate eigenvectors (O(m³)); without, only eigenvalues (O(m²)); `"last"` accumulates only
 * the last component of every eigenvector (O(m²)), which is all a Lanczos convergence test reads. Each row of the
 * eigenvector matrix evolves on its own under the QL rotations, so that row equals the full run's last row bit for
 * bit. @default true
 * @param engine `"wasm"` rotates many rows in WebAssembly SIMD where it runs; `"typescript"` always in the loop
 * here (the reference). Both give the same bits. @default "wasm"
 * @returns `values` (unsorted) and `vectors` (row-major: component k of eigenvector i at `(k − first)*m + i`,
 * where `first` is 0, or m−1 with `"last"`; empty without vectors).
 * @throws {Error} If the QL iteration does not converge in 60 sweeps for some eigenvalue.
 */
export function tridiagonalEigen(
  diag: ArrayLike<number>,
  off: ArrayLike<number>,
  m: number,
  withVectors: boolean | "last" = true,
  engine: "wasm" | "typescript" = "wasm",
): { values: Float64Array; vectors: Float64Array } {
  const d = Float64Array.from({ length: m }, (_, i) => diag[i]);
  const e = new Float64Array(m);
  for (let i = 0; i < m - 1; i++) e[i] = off[i];
  // Rows [first, m) of the eigenvector matrix are accumulated (none without vectors), stored transposed (the
  // vector of eigenvalue i at zt[i·rows …]) so that each rotation sweeps two contiguous runs.
  const first = withVectors === "last" ? m - 1 : withVectors ? 0 : m;
  const rows = m - first;
  // Many rows: the rotations run in WebAssembly SIMD (a rotation's elements are independent, so the bits are
  // the same); one row (Lanczos's convergence checks) stays here, where a call would cost more than the work.
  const space = rows > 8 && engine === "wasm" ? rotationSpace(rows * m) : null;
  const zt = space ? space.zt : new Float64Array(rows * m);
  for (let i = first; i < m; i++) zt[i * rows + (i - first)] = 1;
  for (let l = 0; l < m; l++) {
    let iter = 0;
    for (;;) {
      let mm = l;
      for (; mm < m - 1; mm++) {
        const dd = Math.abs(d[mm]) + Math.abs(d[mm + 1]);
        if (Math.abs(e[mm]) <= Number.EPSILON * dd) break;
      }
      if (mm === l) break;
      if (iter++ === 60) throw new Error(`Tridiagonal QL did not converge for eigenvalue ${l} of ${m}`);
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = hypot2(g, 1);
      g = d[mm] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, p = 0;
      let i = mm - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * e[i];
        const b = c * e[i];
        r = hypot2(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[mm] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        if (space) {
          space.rotate(i, rows, s, c);
          continue;
        }
        const a = i * rows, b1 = a + rows;
        for (let k = 0; k < rows; k++) {
          const fz = zt[b1 + k];
          zt[b1 + k] = s * zt[a + k] + c * fz;
          zt[a + k] = c * zt[a + k] - s * fz;
        }
      }
      if (underflow) continue;
      d[l] -= p;
      e[l] = g;
      e[mm] = 0;
    }
  }
  const z = new Float64Array(rows * m);
  for (let i = 0; i < m; i++) for (let k = 0; k < rows; k++) z[k * m + i] = zt[i * rows + k];
  return { values: d, vectors: z };
}

/**
 * All eigenvalues of a symmetric tridiagonal matrix, ascending (the QL iteration above without vectors).
 *
 * @param diag Diagonal (length n).
 * @param off Off-diagonal (length n−1).
 * @returns Eigenvalues in ascending order.
 * @throws {Error} If an eigenvalue does not converge in 60 iterations.
 */
export function tridiagonalEigenvalues(diag: ArrayLike<number>, off: ArrayLike<number>): Float64Array {
  return tridiagonalEigen(diag, off, diag.length, false).values.sort();
}
