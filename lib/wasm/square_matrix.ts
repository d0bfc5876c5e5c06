/**
 * Square float32 matrices allocated inside a WebAssembly memory, so that the SIMD kernels of `lib/wasm/` work on
 * them in place: a 4,096² affinity is 64 MB, and copying it into a module's memory took ~50 ms, as long as ten
 * of the products computed on it. The memory also holds two float64 vectors of length m after the matrix, the
 * kernels' input and output.
 *
 * To every other reader the matrix is a zero-filled `Float32Array`, on a `SharedArrayBuffer`: the memory is
 * shared so that the mat-vec's helper threads read it too (symmetric_matvec.ts). A `Blob` refuses such a view;
 * `.slice()` gives an ordinary copy.
 *
 * @module
 */

const PAGE = 65536;
/** WebAssembly (32-bit) memories stop at 4 GiB; larger matrices are plain arrays and the kernels copy them. */
const MAX_BYTES = 65536 * PAGE;

/** Where a matrix made by {@linkcode squareMatrix} lives. */
export interface MatrixMemory {
  /** The memory; the matrix starts at byte 0. */
  memory: WebAssembly.Memory;
  /** Byte offsets of the two float64 vectors of length m that follow the matrix. */
  xAt: number;
  outAt: number;
}

const layouts = new WeakMap<ArrayBufferLike, MatrixMemory>();

/** The byte layout for order m: matrix, then two 8-byte-aligned float64 vectors. */
function layout(m: number): { xAt: number; outAt: number; bytes: number } {
  const xAt = Math.ceil((m * m * 4) / 8) * 8;
  return { xAt, outAt: xAt + m * 8, bytes: xAt + 2 * m * 8 };
}

/**
 * The memory of the last matrix given back with {@linkcode releaseMatrix}, reused by the next
 * {@linkcode squareMatrix} that fits in it: the partition tree makes one sub-matrix per node, one after the
 * other, and first touches of fresh pages cost as much as the copy itself (~2 µs per 4 KiB page here). Held
 * weakly, so an idle process does not keep it.
 */
let spare: WeakRef<WebAssembly.Memory> | undefined;

/**
 * An m×m float32 matrix (row-major) in a WebAssembly memory of its own, or in a plain buffer when it would not
 * fit one.
 *
 * @param m Order.
 * @param zeroed Fill with zeros; false is for callers that overwrite every entry (a reused memory then keeps
 * old values). @default true
 * @returns `m·m` values, zeros unless `zeroed` is false.
 */
export function squareMatrix(m: number, zeroed = true): Float32Array {
  const { xAt, outAt, bytes } = layout(m);
  if (bytes > MAX_BYTES || typeof WebAssembly !== "object") return new Float32Array(m * m);
  const reused = spare?.deref();
  if (reused && reused.buffer.byteLength >= bytes) {
    spare = undefined;
    layouts.set(reused.buffer, { memory: reused, xAt, outAt });
    if (zeroed) new Uint8Array(reused.buffer, 0, bytes).fill(0);
    return new Float32Array(reused.buffer, 0, m * m);
  }
  const pages = Math.ceil(bytes / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  layouts.set(memory.buffer, { memory, xAt, outAt });
  return new Float32Array(memory.buffer, 0, m * m);
}

/**
 * Gives a matrix made by {@linkcode squareMatrix} back for reuse: the caller promises not to read or write it
 * again (the next `squareMatrix` may return the same memory). The larger of two released memories is kept.
 * Any other array is ignored.
 *
 * @param a A matrix no longer used.
 */
export function releaseMatrix(a: Float32Array): void {
  const found = layouts.get(a.buffer);
  if (!found || a.byteOffset !== 0) return;
  const held = spare?.deref();
  if (!held || held.buffer.byteLength < found.memory.buffer.byteLength) spare = new WeakRef(found.memory);
}

/**
 * The memory holding `a`, when {@linkcode squareMatrix} made it for order m.
 *
 * @param a A matrix.
 * @param m Its order.
 * @returns The memory and vector offsets, or undefined for any other array.
 */
export function matrixMemory(a: Float32Array, m: number): MatrixMemory | undefined {
  const found = layouts.get(a.buffer);
  return found && a.byteOffset === 0 && a.length === m * m && found.xAt === layout(m).xAt ? found : undefined;
}

/**
 * Copies `a` (m×m) into a memory of its own, for a kernel given a plain array.
 *
 * @param a Row-major m×m matrix.
 * @param m Order.
 * @returns The copy's memory and vector offsets.
 */
export function copyToMatrixMemory(a: Float32Array | Float64Array, m: number): MatrixMemory {
  const { xAt, outAt, bytes } = layout(m);
  const pages = Math.ceil(bytes / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  new Float32Array(memory.buffer, 0, m * m).set(a.subarray(0, m * m));
  return { memory, xAt, outAt };
}
