/**
 * Row-parallel jobs on several threads: the calling thread and helper workers share WebAssembly memories and split
 * each job's rows into chunks, claimed one at a time from a counter in shared memory.
 *
 * Why rows: PAMR's kernels compute each output row from input rows only, and the mat-vec each output from a column
 * of the matrix, so threads that take disjoint row (or column) ranges of one job compute exactly the
 * single-threaded values. Why claims: a helper that starts late or is descheduled takes fewer chunks, and before
 * any helper has started the caller takes them all, so a job never waits on a helper that holds no rows. A claim
 * carries the job's generation, so a helper that wakes late cannot take rows of a later job.
 *
 * Memories are attached to the team in slots: the caller posts each to the helpers (a `MessagePort` they read
 * synchronously with `receiveMessageOnPort` when a job names a slot they lack), and detaching lets them drop it.
 *
 * The caller blocks in `Atomics.wait` until the job's last row is done (Deno allows this on the main thread),
 * which keeps the stages synchronous. A job may also be started for the helpers alone (`start`) while the caller
 * does other work, and settled later: finished (the caller takes what is left) or cancelled. Between jobs a helper spins briefly before it sleeps, so that the next job
 * of a burst (the solver's mat-vecs, PAMR's steps) finds it awake. Helpers are `node:worker_threads` workers,
 * `unref()`ed so that an idle team does not keep the process alive. A helper that throws, or stops making progress
 * for {@linkcode STALL_MS}, ends the team: the caller redoes the job's rows on its own (jobs must be idempotent:
 * their rows read only inputs that the job does not write) and later jobs run on the caller alone.
 *
 * @module
 */
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
  workerData,
} from "node:worker_threads";

/** The work of one row range of a job: `op` and `args` as given to `run`; returns flags, OR-ed over the job. */
export type RowWork = (op: number, args: Int32Array, y0: number, y1: number, thread: number) => number;

/** A team of the calling thread (thread 0) and helper workers (threads 1…). */
export interface RowTeam {
  /** Threads that may take rows, the caller included (1 once the team has ended). */
  readonly threads: number;
  /**
   * Attaches a shared memory to the helpers: on each, jobs on the returned slot run the work its module's setup
   * returns for this memory. The team keeps no reference to the memory on the caller's side.
   */
  attach(memory: WebAssembly.Memory): number;
  /** Detaches a slot: the helpers drop their work and their reference to the memory at their next job. */
  detach(slot: number): void;
  /**
   * Runs a job over rows [0, rows) in chunks of `chunk` rows on every thread of the team: `work` on the caller,
   * the slot's work on the helpers (the same computation on the same memory); returns when all rows are done.
   *
   * @returns The OR of the flags the chunks returned.
   */
  run(slot: number, work: RowWork, op: number, args: readonly number[], rows: number, chunk: number): number;
  /**
   * Starts a job like `run` but returns at once, leaving its rows to the helpers while the caller does other work;
   * the caller settles it later with the job's `finish` (it takes the rows no helper has claimed, then waits) or
   * `cancel`. One job is in flight at a time: `run`, `start` and `close` finish a pending one first. Without
   * helpers the job runs on the caller at `finish`.
   */
  start(
    slot: number,
    work: RowWork,
    op: number,
    args: readonly number[],
    rows: number,
    chunk: number,
  ): RowJob;
  /** Ends the helpers (they exit once idle); later jobs run on the caller alone. */
  close(): void;
}

/** A job started by {@linkcode RowTeam.start}. */
export interface RowJob {
  /**
   * Completes the job (the caller takes the rows left, then waits for the helpers' chunks); the same flags again on
   * a later call.
   *
   * @returns The OR of the flags the chunks returned.
   * @throws {Error} If the job was cancelled.
   */
  finish(): number;
  /** Stops handing out rows and waits for the chunks in progress, so that the job's memory may be reused; rows not
   * yet taken stay undone. Nothing after a `finish`. */
  cancel(): void;
}

/** Slots of the control block (an Int32Array on a SharedArrayBuffer). */
const GEN = 0, NEXT = 1, DONE = 2, OP = 3, ROWS = 4, CHUNK = 5, FLAGS = 6, FAILED = 7, SLOT = 8, POSTED = 9;
const ARGS = 10;
/** Most int32 arguments a job may have. */
export const MAX_ARGS = 54;
/** A claim is `tag << ROW_BITS | row`: jobs of up to 2^20 rows, generations told apart modulo 2^11. */
const ROW_BITS = 20, ROW_MASK = (1 << ROW_BITS) - 1, TAG_MASK = 0x7ff;
const QUIT = -1;
/** A helper that holds rows and finishes none for this long is given up on. */
export const STALL_MS = 5000;
/** How long an idle helper spins before it sleeps. */
const SPIN_MS = 0.5;

/** The environment variable that caps the team's threads (`1`: the caller alone). */
export const KERNEL_THREADS_ENV = "DIFFCUT_KERNEL_THREADS";

/**
 * How many threads a team gets: the count given to {@linkcode setKernelThreads} in this isolate, else
 * `DIFFCUT_KERNEL_THREADS` when set (a positive integer), else the logical cores, at most 4 (the kernels are
 * memory-bound beyond that).
 *
 * @returns The thread count, at least 1.
 * @throws {RangeError} If `DIFFCUT_KERNEL_THREADS` is not a positive integer.
 */
export function kernelThreads(): number {
  if (threadsSetting !== undefined) return threadsSetting;
  let raw: string | undefined;
  try {
    raw = Deno.env.get(KERNEL_THREADS_ENV);
  } catch {
    raw = undefined; // no env permission: the default
  }
  return parseKernelThreads(raw);
}

/**
 * The thread count a `DIFFCUT_KERNEL_THREADS` value asks for.
 *
 * @param raw The variable's value (undefined or empty: the default, the logical cores up to 4).
 * @returns The thread count.
 * @throws {RangeError} If `raw` is not a positive integer.
 */
export function parseKernelThreads(raw: string | undefined): number {
  if (raw === undefined || raw === "") return Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 1));
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${KERNEL_THREADS_ENV}=${raw}: expected a positive integer`);
  }
  return n;
}

let threadsSetting: number | undefined;

/**
 * Sets the thread count of later teams in this isolate, over `DIFFCUT_KERNEL_THREADS` (environment variables are
 * shared by every isolate of the process, test files run side by side included); undefined goes back to the
 * variable. Teams already started keep their size until they end.
 *
 * @param threads A positive integer, or undefined.
 * @throws {RangeError} If `threads` is not a positive integer.
 */
export function setKernelThreads(threads: number | undefined): void {
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new RangeError(`Invalid kernel thread count ${threads}: expected a positive integer`);
  }
  threadsSetting = threads;
}

/** What a helper receives at start. */
interface HelperData {
  rowTeam: { control: SharedArrayBuffer; port: MessagePort; thread: number };
}

/** A message to the helpers: attach a memory to a slot, or detach the slot. */
type SlotMessage = { slot: number; memory: WebAssembly.Memory } | { slot: number; detach: true };

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
 * Starts a team: `helpers` workers running `workerUrl`, a module that calls {@linkcode serveRowTeam} with a setup
 * giving, for a memory, the same work as the caller attaches with it.
 *
 * @param workerUrl The helpers' module.
 * @param helpers Workers to start (0: the caller alone).
 * @returns The team; a helper that cannot start leaves the team smaller.
 */
export function startRowTeam(workerUrl: URL, helpers: number): RowTeam {
  const control = new Int32Array(new SharedArrayBuffer(4 * (ARGS + MAX_ARGS)));
  const workers: { worker: Worker; port: MessagePort }[] = [];
  for (let t = 1; t <= helpers; t++) {
    try {
      const { port1, port2 } = new MessageChannel();
      const data: HelperData = {
        rowTeam: { control: control.buffer as SharedArrayBuffer, port: port2, thread: t },
      };
      const worker = new Worker(workerUrl, {
        workerData: data,
        transferList: [port2],
        name: `diffcut-rows-${t}`,
      });
      worker.on("error", () => Atomics.store(control, FAILED, 1));
      worker.unref();
      (port1 as MessagePort & { unref?(): void }).unref?.();
      workers.push({ worker, port: port1 });
    } catch {
      break; // no workers here: the caller takes every row
    }
  }
  const attached = new Set<number>();
  let gen = 0, nextSlot = 0;
  const post = (message: SlotMessage) => {
    for (const { port } of workers) port.postMessage(message);
    Atomics.add(control, POSTED, 1); // helpers read their port only when this moved (a read costs ~tens of µs)
  };
  const end = () => {
    if (workers.length === 0) return;
    control[OP] = QUIT;
    Atomics.store(control, GEN, ++gen);
    Atomics.notify(control, GEN);
    for (const { port } of workers) port.close();
    workers.length = 0;
  };
  const alone = (work: RowWork, op: number, args: readonly number[], rows: number) =>
    work(op, Int32Array.from(args), 0, rows, 0);
  let pending: RowJob | undefined;
  /** Waits until `rows` rows of the current job are done; false if a helper failed or stalled (the team is ended). */
  const waitDone = (rows: number): boolean => {
    let done = Atomics.load(control, DONE), since = performance.now();
    // The helpers' last chunks are usually done within microseconds: spin, then sleep.
    while (done < rows && performance.now() - since < SPIN_MS) done = Atomics.load(control, DONE);
    while (done < rows && Atomics.load(control, FAILED) === 0) {
      Atomics.wait(control, DONE, done, 100);
      const now = Atomics.load(control, DONE);
      if (now !== done) (done = now), (since = performance.now());
      else if (performance.now() - since > STALL_MS) break;
    }
    if (done >= rows && Atomics.load(control, FAILED) === 0) return true;
    for (const { worker } of workers) worker.terminate();
    end();
    return false;
  };
  const start: RowTeam["start"] = (slot, work, op, args, rows, chunk) => {
    if (!attached.has(slot)) throw new RangeError(`No memory is attached to slot ${slot}`);
    if (args.length > MAX_ARGS) throw new RangeError(`A row job takes at most ${MAX_ARGS} arguments`);
    pending?.finish();
    let state: "running" | "done" | "cancelled" = "running", flags = 0;
    const settled = () => {
      if (state === "cancelled") throw new Error("The row job was cancelled");
      return state === "done";
    };
    if (workers.length === 0 || rows <= chunk || rows + chunk > ROW_MASK) {
      return {
        finish: () => settled() ? flags : ((flags = alone(work, op, args, rows)), (state = "done"), flags),
        cancel: () => void (state === "running" && (state = "cancelled")),
      };
    }
    gen++;
    const tag = gen & TAG_MASK;
    control[OP] = op;
    control[ROWS] = rows;
    control[CHUNK] = chunk;
    control[SLOT] = slot;
    control.set(args, ARGS);
    Atomics.store(control, FLAGS, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.store(control, DONE, 0);
    Atomics.store(control, NEXT, tag << ROW_BITS);
    Atomics.store(control, GEN, gen);
    Atomics.notify(control, GEN);
    const job: RowJob = {
      finish() {
        if (settled()) return flags;
        pending = undefined;
        claimRows(control, tag, work, 0);
        flags = waitDone(rows) ? Atomics.load(control, FLAGS) : alone(work, op, args, rows);
        state = "done";
        return flags;
      },
      cancel() {
        if (state !== "running") return;
        pending = undefined;
        state = "cancelled";
        // Close the counter at `rows`; the rows claimed before that are the ones to wait for.
        let claimed = rows;
        for (;;) {
          const v = Atomics.load(control, NEXT);
          if (v >>> ROW_BITS !== tag) break;
          claimed = Math.min(rows, v & ROW_MASK);
          if (claimed >= rows || Atomics.compareExchange(control, NEXT, v, (tag << ROW_BITS) | rows) === v) {
            break;
          }
        }
        waitDone(claimed);
      },
    };
    pending = job;
    return job;
  };
  return {
    get threads() {
      return workers.length + 1;
    },
    attach(memory) {
      const slot = nextSlot++;
      attached.add(slot);
      post({ slot, memory });
      return slot;
    },
    detach(slot) {
      if (attached.delete(slot)) post({ slot, detach: true });
    },
    run: (slot, work, op, args, rows, chunk) => start(slot, work, op, args, rows, chunk).finish(),
    start,
    close() {
      pending?.finish();
      end();
    },
  };
}

/**
 * The helper's side, for a worker module started by {@linkcode startRowTeam}: binds the work to each memory the
 * team attaches and takes rows of each job until the team ends. Does nothing outside such a worker.
 *
 * @param setup Returns the work on a shared memory (the helper's own kernel instances bound to it); a setup that
 * throws leaves that slot's rows to the other threads. `memoryOf` gives the memory of another attached slot, for
 * jobs that read one memory and write another.
 */
export function serveRowTeam(
  setup: (memory: WebAssembly.Memory, memoryOf: (slot: number) => WebAssembly.Memory | undefined) => RowWork,
): void {
  const data = (workerData as Partial<HelperData> | null)?.rowTeam;
  if (!data) return;
  const control = new Int32Array(data.control);
  const works = new Map<number, RowWork>();
  const memories = new Map<number, WebAssembly.Memory>();
  const memoryOf = (slot: number) => memories.get(slot);
  let read = 0;
  const drain = () => {
    const posted = Atomics.load(control, POSTED);
    if (posted === read) return;
    read = posted;
    for (let m = receiveMessageOnPort(data.port); m; m = receiveMessageOnPort(data.port)) {
      const message = m.message as SlotMessage;
      if ("detach" in message) {
        works.delete(message.slot);
        memories.delete(message.slot);
      } else {
        memories.set(message.slot, message.memory);
        try {
          works.set(message.slot, setup(message.memory, memoryOf));
        } catch {
          works.delete(message.slot);
        }
      }
    }
  };
  let seen = 0;
  for (;;) {
    const spinUntil = performance.now() + SPIN_MS;
    while (Atomics.load(control, GEN) === seen && performance.now() < spinUntil) {
      // spin: the next job of a burst is usually this close
    }
    Atomics.wait(control, GEN, seen);
    const gen = Atomics.load(control, GEN);
    if (gen === seen) continue;
    seen = gen;
    if (control[OP] === QUIT) {
      data.port.close(); // the worker then has nothing left and exits
      return;
    }
    drain();
    const work = works.get(control[SLOT]);
    if (work) claimRows(control, gen & TAG_MASK, work, data.thread);
  }
}
