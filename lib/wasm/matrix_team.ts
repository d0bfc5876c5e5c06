/**
 * The helper threads of the kernels that work on a `squareMatrix` memory (shared: square_matrix.ts): the
 * eigensolver's mat-vec (`symmetric_matvec.wat`, outputs split by columns) and the affinity's element-wise pass
 * (`upper_affinity.wat`: min and max, power, mirror, split by rows). One team per process (row_team.ts, worker
 * `matrix_worker.ts`); each matrix memory is attached on its first threaded job and detached once the solver has
 * dropped it (a FinalizationRegistry), and the helpers end 30 s after their last use. Every job computes whole
 * outputs in the single-threaded order, so the values are the same bit for bit.
 *
 * @module
 */
import { embeddedModule } from "./embedded_module.ts";
import { WASM_BASE64 as MATVEC_WASM } from "./symmetric_matvec_wasm.ts";
import { WASM_BASE64 as UPPER_AFFINITY_WASM } from "./upper_affinity_wasm.ts";
import { kernelThreads, type RowTeam, type RowWork, startRowTeam } from "./row_team.ts";
import { idleTimer } from "./idle_timer.ts";

/** The jobs: their arguments (int32; byte addresses) and what a row is. */
export const MatrixJob = {
  /** `[a, m, x, out]`: outputs of `out = A·x`; a row is a group of four outputs. */
  matVecColumns: 0,
  /**
   * `[g, n, out]`: min and max of upper-triangle rows; thread t folds its chunks' pairs into the f32 pair at
   * `out + 8t` (set to [+∞, −∞] by the caller), using the pairs from `out + 8·MAX_THREADS` on as scratch.
   */
  upperMinMax: 1,
  /** `[g, n, loBits, rangeBits, alpha]` (the f32 bounds as int32 bits): power of upper-triangle rows. */
  upperPower: 2,
  /** `[g, n]`: mirror of source rows, 32 per row of the job. */
  mirror: 3,
  /**
   * `[srcSlot, n, m, colsAt]`, on the destination's slot: rows of the principal sub-matrix of slot `srcSlot`'s
   * n×n matrix on the m int32 indices at `colsAt` (in the destination's memory).
   */
  gather: 4,
} as const;

/**
 * Rows [r0, r1) of the principal sub-matrix of `src` (n×n) on `cols`, into `dst` (m×m): the tree's sub-graph.
 *
 * @param src The full matrix.
 * @param n Its order.
 * @param dst The sub-matrix.
 * @param m Its order.
 * @param cols Its m indices into `src`.
 * @param r0 First row.
 * @param r1 Row past the last.
 */
export function gatherRows(
  src: Float32Array,
  n: number,
  dst: Float32Array,
  m: number,
  cols: Int32Array,
  r0: number,
  r1: number,
): void {
  for (let i = r0; i < r1; i++) gatherRow(src, cols[i] * n, cols, dst, i * m, m);
}

/** One row of the gather (a function per row: see `gatherLabelRow` in lib/image/resize.ts). */
function gatherRow(
  src: Float32Array,
  s: number,
  cols: Int32Array,
  dst: Float32Array,
  d: number,
  m: number,
): void {
  for (let j = 0; j < m; j++) dst[d + j] = src[s + cols[j]];
}

/** Most threads a matrix job's scratch has room for (kernelThreads gives at most 4 by default). */
export const MAX_THREADS = 16;
/** The helpers end this long after the last threaded job, so that an idle process holds no matrix. */
const IDLE_MS = 30_000;

interface MatVecKernels {
  symmetricMatVecColumns(a: number, m: number, x: number, out: number, c0: number, c1: number): void;
}
interface UpperKernels {
  upperMinMaxRows(g: number, n: number, out: number, i0: number, i1: number): void;
  upperPowerRows(
    g: number,
    n: number,
    lo: number,
    range: number,
    alpha: number,
    i0: number,
    i1: number,
  ): void;
  mirrorUnits(g: number, n: number, u0: number, u1: number): void;
}

/**
 * The work of every matrix job on one memory, on kernel instances of its own (the caller's, or a helper's).
 *
 * @param memory A matrix memory (shared).
 * @param memoryOf The memories of other slots (a helper's; the caller gathers with {@linkcode gatherRows}).
 * @returns The work of one row range of a job.
 */
export function matrixRowWork(
  memory: WebAssembly.Memory,
  memoryOf?: (slot: number) => WebAssembly.Memory | undefined,
): RowWork {
  const instance = <T>(base64: string) =>
    new WebAssembly.Instance(embeddedModule(base64)!, { env: { memory } }).exports as unknown as T;
  const mv = instance<MatVecKernels>(MATVEC_WASM);
  let upper: UpperKernels | undefined; // only an affinity's memory runs these
  const bits = new DataView(new ArrayBuffer(4));
  const f32 = (i: number) => (bits.setInt32(0, i), bits.getFloat32(0));
  return (op, args, r0, r1, thread) => {
    if (op === MatrixJob.matVecColumns) {
      const m = args[1];
      mv.symmetricMatVecColumns(args[0], m, args[2], args[3], 4 * r0, Math.min(m, 4 * r1));
      return 0;
    }
    if (op === MatrixJob.gather) {
      const source = memoryOf?.(args[0]);
      if (!source) throw new Error(`No memory for slot ${args[0]}`); // the caller then redoes the job
      const [n, m, colsAt] = [args[1], args[2], args[3]];
      const src = new Float32Array(source.buffer, 0, n * n), dst = new Float32Array(memory.buffer, 0, m * m);
      gatherRows(src, n, dst, m, new Int32Array(memory.buffer, colsAt, m), r0, r1);
      return 0;
    }
    upper ??= instance<UpperKernels>(UPPER_AFFINITY_WASM);
    if (op === MatrixJob.upperMinMax) {
      // This chunk's pair goes to a scratch pair after the threads' pairs, then folds into the thread's own.
      const own = args[2] + 8 * thread, scratch = args[2] + 8 * (MAX_THREADS + thread);
      upper.upperMinMaxRows(args[0], args[1], scratch, r0, r1);
      const f = new Float32Array(memory.buffer);
      const lo = f[scratch / 4], hi = f[scratch / 4 + 1];
      if (lo < f[own / 4]) f[own / 4] = lo;
      if (hi > f[own / 4 + 1]) f[own / 4 + 1] = hi;
    } else if (op === MatrixJob.upperPower) {
      upper.upperPowerRows(args[0], args[1], f32(args[2]), f32(args[3]), args[4], r0, r1);
    } else upper.mirrorUnits(args[0], args[1], r0, r1);
    return 0;
  };
}

/**
 * The float32 value's bits as an int32, to pass a bound as a job argument.
 *
 * @param v The value (rounded to float32).
 * @returns Its bits.
 */
export function f32Bits(v: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, v);
  return view.getInt32(0);
}

let team: RowTeam | undefined;
let slots = new WeakMap<WebAssembly.Memory, number>();
/** Detaches a matrix memory from the helpers once it has been dropped here. */
let finalizer: FinalizationRegistry<{ team: RowTeam; slot: number }> | undefined;
/** Ends the helpers once idle (restarted whenever a memory's slot is looked up: the jobs follow synchronously). */
const idle = idleTimer(() => stopMatrixThreads());

/**
 * The team and a matrix memory's slot on it (attached on first use), or undefined on one thread.
 *
 * @param memory A matrix memory (shared).
 * @returns The team and slot.
 * @throws {RangeError} If `DIFFCUT_KERNEL_THREADS` is not a positive integer.
 */
export function matrixTeam(memory: WebAssembly.Memory): { team: RowTeam; slot: number } | undefined {
  const threads = Math.min(MAX_THREADS, kernelThreads());
  if (threads < 2) return undefined;
  if (team && team.threads > threads) stopMatrixThreads();
  if (!team) {
    team = startRowTeam(new URL("./matrix_worker.ts", import.meta.url), threads - 1);
    finalizer = new FinalizationRegistry(({ team: t, slot }) => t.detach(slot));
  }
  if (team.threads < 2) return undefined;
  let slot = slots.get(memory);
  if (slot === undefined) {
    slot = team.attach(memory);
    slots.set(memory, slot);
    finalizer!.register(memory, { team, slot });
  }
  idle.restart(IDLE_MS);
  return { team, slot };
}

/**
 * Ends the helper threads now (a timer does it 30 s after their last use; tests call it). The next threaded job
 * starts them again.
 */
export function stopMatrixThreads(): void {
  idle.cancel();
  team?.close();
  team = undefined;
  slots = new WeakMap();
}

/**
 * Threads of the running team, the caller included (1 when none runs).
 *
 * @returns The team's thread count.
 */
export function matrixThreads(): number {
  return team?.threads ?? 1;
}
