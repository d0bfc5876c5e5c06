/**
 * Row-parallel jobs on several threads: the calling thread and helper workers share one WebAssembly memory and
 * split each job's rows into chunks, claimed one at a time from a counter in shared memory.
 *
 * Why rows: PAMR's kernels compute each output row from input rows only, so threads that take disjoint row ranges
 * of one job compute exactly the single-threaded values. Why claims: a helper that starts late or is descheduled
 * takes fewer chunks, and before any helper has started the caller takes them all, so a job never waits on a
 * helper that holds no rows. A claim carries the job's generation, so a helper that wakes late cannot take rows
 * of a later job.
 *
 * The caller blocks in `Atomics.wait` until the job's last row is done (Deno allows this on the main thread),
 * which keeps the stages synchronous. Helpers are `node:worker_threads` workers, `unref()`ed so that an idle team
 * does not keep the process alive. A helper that throws, or stops making progress for {@linkcode STALL_MS}, ends
 * the team: the caller redoes the job's rows on its own (jobs must be idempotent: their rows read only inputs
 * that the job does not write) and later jobs run on the caller alone.
 *
 * @module
 */
import { Worker, workerData } from "node:worker_threads";

/** The work of one row range of a job: `op` and `args` as given to `run`; returns flags, OR-ed over the job. */
export type RowWork = (op: number, args: Int32Array, y0: number, y1: number, thread: number) => number;

/** A team of the calling thread (thread 0) and helper workers (threads 1…) on one shared memory. */
export interface RowTeam {
  /** The shared memory the helpers' kernels are bound to. */
  readonly memory: WebAssembly.Memory;
  /** Threads that may take rows, the caller included (1 once the team has ended). */
  readonly threads: number;
  /**
   * Runs `work(op, args, y0, y1, thread)` over rows [0, rows) in chunks of `chunk` rows, on every thread of the
   * team, and returns when all rows are done.
   *
   * @returns The OR of the flags the chunks returned.
   */
  run(op: number, args: readonly number[], rows: number, chunk: number): number;
  /** Ends the helpers (they exit once idle); later jobs run on the caller alone. */
  close(): void;
}

/** Slots of the control block (an Int32Array on a SharedArrayBuffer). */
const GEN = 0, NEXT = 1, DONE = 2, OP = 3, ROWS = 4, CHUNK = 5, FLAGS = 6, FAILED = 7, ARGS = 8;
/** Most int32 arguments a job may have. */
export const MAX_ARGS = 56;
/** A claim is `tag << ROW_BITS | row`: jobs of up to 2^20 rows, generations told apart modulo 2^11. */
const ROW_BITS = 20, ROW_MASK = (1 << ROW_BITS) - 1, TAG_MASK = 0x7ff;
const QUIT = -1;
/** A helper that holds rows and finishes none for this long is given up on. */
export const STALL_MS = 5000;

/** The environment variable that caps the team's threads (`1`: the caller alone). */
export const KERNEL_THREADS_ENV = "DIFFCUT_KERNEL_THREADS";

/**
 * How many threads a team gets: `DIFFCUT_KERNEL_THREADS` when set (a positive integer), else the logical cores,
 * at most 4 (the kernels are memory-bound beyond that).
 *
 * @returns The thread count, at least 1.
 * @throws {RangeError} If `DIFFCUT_KERNEL_THREADS` is not a positive integer.
 */
export function kernelThreads(): number {
  let raw: string | undefined;
  try {
    raw = Deno.env.get(KERNEL_THREADS_ENV);
  } catch {
    raw = undefined; // no env permission: the default
  }
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`${KERNEL_THREADS_ENV}=${raw}: expected a positive integer`);
    }
    return n;
  }
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 1));
}

/** What a helper receives at start. */
interface HelperData {
  rowTeam: { memory: WebAssembly.Memory; control: SharedArrayBuffer; thread: number };
}

/** Takes chunks of the job tagged `tag` until none is left. */
function claimRows(control: Int32Array, tag: number, work: RowWork, thread: number): void {
  const op = control[OP], rows = control[ROWS], chunk = control[CHUNK];
  const args = control.subarray(ARGS, ARGS + MAX_ARGS);
  for (;;) {
    const v = Atomics.load(control, NEXT);
    if (v >>> ROW_BITS !== tag) return;
    const y0 = v & ROW_MASK;
    if (y0 >= rows) return;
    if (Atomics.compareExchange(control, NEXT, v, v + chunk) !== v) continue;
    const y1 = Math.min(rows, y0 + chunk);
    let flags = 0;
    try {
      flags = work(op, args, y0, y1, thread);
    } catch {
      Atomics.store(control, FAILED, 1);
    }
    if (flags) Atomics.or(control, FLAGS, flags);
    Atomics.add(control, DONE, y1 - y0);
    Atomics.notify(control, DONE);
  }
}

/**
 * Starts a team on `memory`: `helpers` workers running `workerUrl`, a module that calls
 * {@linkcode serveRowTeam} with the same work as `work`.
 *
 * @param memory A shared WebAssembly memory.
 * @param workerUrl The helpers' module.
 * @param helpers Workers to start (0: the caller alone).
 * @param work The caller's work (thread 0).
 * @returns The team; a helper that cannot start leaves the team smaller.
 */
export function startRowTeam(
  memory: WebAssembly.Memory,
  workerUrl: URL,
  helpers: number,
  work: RowWork,
): RowTeam {
  const control = new Int32Array(new SharedArrayBuffer(4 * (ARGS + MAX_ARGS)));
  const workers: Worker[] = [];
  for (let t = 1; t <= helpers; t++) {
    try {
      const data: HelperData = {
        rowTeam: { memory, control: control.buffer as SharedArrayBuffer, thread: t },
      };
      const worker = new Worker(workerUrl, { workerData: data, name: `diffcut-rows-${t}` });
      worker.on("error", () => Atomics.store(control, FAILED, 1));
      worker.unref();
      workers.push(worker);
    } catch {
      break; // no workers here: the caller takes every row
    }
  }
  let gen = 0;
  const end = () => {
    if (workers.length === 0) return;
    control[OP] = QUIT;
    Atomics.store(control, GEN, ++gen);
    Atomics.notify(control, GEN);
    workers.length = 0;
  };
  const alone = (op: number, args: readonly number[], rows: number) =>
    work(op, Int32Array.from(args), 0, rows, 0);
  return {
    memory,
    get threads() {
      return workers.length + 1;
    },
    run(op, args, rows, chunk) {
      if (args.length > MAX_ARGS) throw new RangeError(`A row job takes at most ${MAX_ARGS} arguments`);
      if (workers.length === 0 || rows <= chunk || rows + chunk > ROW_MASK) return alone(op, args, rows);
      gen++;
      const tag = gen & TAG_MASK;
      control[OP] = op;
      control[ROWS] = rows;
      control[CHUNK] = chunk;
      control.set(args, ARGS);
      Atomics.store(control, FLAGS, 0);
      Atomics.store(control, FAILED, 0);
      Atomics.store(control, DONE, 0);
      Atomics.store(control, NEXT, tag << ROW_BITS);
      Atomics.store(control, GEN, gen);
      Atomics.notify(control, GEN);
      claimRows(control, tag, work, 0);
      let done = Atomics.load(control, DONE), since = performance.now();
      while (done < rows && Atomics.load(control, FAILED) === 0) {
        Atomics.wait(control, DONE, done, 100);
        const now = Atomics.load(control, DONE);
        if (now !== done) (done = now), (since = performance.now());
        else if (performance.now() - since > STALL_MS) break;
      }
      if (done < rows || Atomics.load(control, FAILED) !== 0) {
        for (const w of workers) w.terminate();
        end();
        return alone(op, args, rows);
      }
      return Atomics.load(control, FLAGS);
    },
    close: end,
  };
}

/**
 * The helper's side, for a worker module started by {@linkcode startRowTeam}: binds the work to the team's memory
 * and takes rows of each job until the team ends. Does nothing outside such a worker.
 *
 * @param setup Returns the work bound to the shared memory (the helper's own kernel instances).
 */
export function serveRowTeam(setup: (memory: WebAssembly.Memory) => RowWork): void {
  const data = (workerData as Partial<HelperData> | null)?.rowTeam;
  if (!data) return;
  const control = new Int32Array(data.control);
  let work: RowWork;
  try {
    work = setup(data.memory);
  } catch {
    Atomics.store(control, FAILED, 1);
    return;
  }
  let seen = 0;
  for (;;) {
    Atomics.wait(control, GEN, seen);
    const gen = Atomics.load(control, GEN);
    if (gen === seen) continue;
    seen = gen;
    if (control[OP] === QUIT) return;
    claimRows(control, gen & TAG_MASK, work, data.thread);
  }
}
