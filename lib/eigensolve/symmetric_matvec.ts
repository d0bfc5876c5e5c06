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
 * Threads: from order 1,024 the outputs are split between the caller and helper workers
 * (`matvec_worker.ts`, `lib/wasm/row_team.ts`), each computing whole outputs in the same order, so the bits do not
 * change. The matrix memories are shared for this (`square_matrix.ts`); a helper holds a memory until the solver
 * has dropped it, and the helpers end 30 s after the last threaded product. `DIFFCUT_KERNEL_THREADS=1` keeps every
 * product on the calling thread.
 *
 * @module
 */
import { embeddedModule } from "../wasm/embedded_module.ts";
import { copyToMatrixMemory, matrixMemory } from "../wasm/square_matrix.ts";
import { WASM_BASE64 } from "../wasm/symmetric_matvec_wasm.ts";
import { matVec } from "./matvec.ts";
import { kernelThreads, type RowTeam, type RowWork, startRowTeam } from "../wasm/row_team.ts";

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
  const threaded = m >= THREADS_MIN_ORDER ? teamSlot(memory) : undefined;
  if (threaded) {
    // Groups of four outputs, one chunk per thread: a chunk reads a strip of every row of A, and narrower strips
    // stream worse (32 strips of a 4,096² matrix took 3× one pass). A helper that has not woken leaves its chunk
    // to the caller.
    const groups = Math.ceil(m / 4);
    const chunk = Math.ceil(groups / threaded.team.threads);
    const args = [0, m, xAt, outAt], work = matVecRowWork(memory);
    return (x, out) => {
      xs.set(x.subarray(0, m));
      threaded.team.run(threaded.slot, work, 0, args, groups, chunk);
      out.set(outs);
      touch();
    };
  }
  const kernel = instantiate(module, memory).symmetricMatVec;
  return (x, out) => {
    xs.set(x.subarray(0, m));
    kernel(0, m, xAt, outAt);
    out.set(outs);
  };
}

/** Matrices of at least this order are multiplied on the helper threads too: at 784 (a 28×28 grid) two threads
 * took as long as one here, at 2,048 half as long, at 4,096 (memory-bound) 0.8×. */
const THREADS_MIN_ORDER = 1024;
/** The helpers end this long after the last threaded product, so that an idle process holds no matrix. */
const IDLE_MS = 30_000;

interface Kernels {
  symmetricMatVec(a: number, m: number, x: number, out: number): void;
  symmetricMatVecColumns(a: number, m: number, x: number, out: number, c0: number, c1: number): void;
}

function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}

/**
 * The row work of the threaded product on one matrix memory: job arguments `[a, m, x, out]` (byte addresses and
 * order), rows are groups of four outputs. The caller and each helper (`matvec_worker.ts`) use their own instance.
 *
 * @param memory A matrix memory (shared).
 * @returns The work of one range of output groups.
 */
export function matVecRowWork(memory: WebAssembly.Memory): RowWork {
  const kernel = instantiate(embeddedModule(WASM_BASE64)!, memory).symmetricMatVecColumns;
  return (_op, args, g0, g1) => {
    const m = args[1];
    kernel(args[0], m, args[2], args[3], 4 * g0, Math.min(m, 4 * g1));
    return 0;
  };
}

let team: RowTeam | undefined;
let slots = new WeakMap<WebAssembly.Memory, number>();
/** Detaches a matrix memory from the helpers once the solver has dropped it. */
let finalizer: FinalizationRegistry<{ team: RowTeam; slot: number }> | undefined;
let idleTimer: ReturnType<typeof setTimeout> | undefined;

/** The team and the memory's slot on it (attached on first use), or undefined with one thread. */
function teamSlot(memory: WebAssembly.Memory): { team: RowTeam; slot: number } | undefined {
  const threads = kernelThreads();
  if (threads < 2) return undefined;
  if (team && team.threads > threads) stopMatVecThreads();
  if (!team) {
    team = startRowTeam(new URL("./matvec_worker.ts", import.meta.url), threads - 1);
    finalizer = new FinalizationRegistry(({ team: t, slot }) => t.detach(slot));
  }
  if (team.threads < 2) return undefined;
  let slot = slots.get(memory);
  if (slot === undefined) {
    slot = team.attach(memory);
    slots.set(memory, slot);
    finalizer!.register(memory, { team, slot });
  }
  touch();
  return { team, slot };
}

/** (Re)starts the idle timer that ends the helpers; it never keeps the process alive. */
function touch(): void {
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  idleTimer = setTimeout(stopMatVecThreads, IDLE_MS);
  (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(
    idleTimer as unknown as number,
  );
}

/**
 * Ends the mat-vec's helper threads now (a timer does it 30 s after the last threaded product; tests call it). The
 * next large product starts them again.
 */
export function stopMatVecThreads(): void {
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  idleTimer = undefined;
  team?.close();
  team = undefined;
  slots = new WeakMap();
}

/**
 * Threads that ran the last threaded product, the caller included (1 when none runs).
 *
 * @returns The team's thread count.
 */
export function matVecThreads(): number {
  return team?.threads ?? 1;
}
