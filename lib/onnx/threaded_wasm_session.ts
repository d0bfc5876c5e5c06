/**
 * ONNX Runtime's WebAssembly backend with several threads, run in a worker of our own
 * ({@linkcode ./ort_wasm_worker.ts}) under a watchdog. With threads, onnxruntime-web 1.30.0 in Deno 2.9.6 sometimes
 * never finishes creating a session: about 1 ISNet creation in 3 (ONNX Runtime's pthread traps when the shared
 * memory grows under it, see `reserveBytes` in the worker, and the creating thread waits for it forever).
 * In-process that hangs the program; in a worker, the watchdog terminates the worker and tries again, and
 * `createWasmSession` (in `ort_session.ts`) falls back to one thread in-process when threads never come up.
 *
 * The worker is a `node:worker_threads` Worker (in Deno, a Deno worker underneath) because it can be `unref()`ed:
 * an idle session then does not keep the process alive, like an in-process one (a web `Worker` would keep a
 * script that forgot `dispose()` running forever). It is `ref()`ed only while a request is pending.
 *
 * @module
 */

import { Worker } from "node:worker_threads";
import type { WorkerReply, WorkerRequest } from "./ort_wasm_worker.ts";
import { wireBuffer, type WireTensor } from "./wire_tensor.ts";

/**
 * Environment variable setting the wasm runner's thread count: `1`, one thread in-process; `N` > 1, N threads in
 * a worker; `auto`, `min(navigator.hardwareConcurrency, 4)`. Unset: `auto` for models of at least
 * {@linkcode THREADED_MIN_BYTES}, one thread for smaller ones.
 */
export const THREADS_ENV = "DIFFCUT_ORT_THREADS";

/** The most threads `auto` uses: ISNet on ONNX Runtime's wasm backend gains little beyond that. */
const MAX_AUTO_THREADS = 4;

/**
 * Models at least this large get threads by default. Starting the worker costs ~1.2 s and each run's tensors
 * cross threads, which only a large model's run repays (ISNet, 76 MB: 6.4 s → 3.3 s per image with 2 threads);
 * small helper models (the Gram, the tokenizer's) stay in-process.
 */
export const THREADED_MIN_BYTES = 16 * 2 ** 20;

/**
 * The wasm runner's thread count, from `$DIFFCUT_ORT_THREADS`, else by model size. With its memory reserved up
 * front, ONNX Runtime's threaded session came up in 50 of 50 tries here (without, 6 of 17 hung); a creation or a
 * run that still hangs is caught by the watchdog and redone on one thread, though in Deno 2.9.6 the hung thread
 * keeps a core busy until the process exits (`Worker.terminate()` does not stop it): `DIFFCUT_ORT_THREADS=1`
 * rules that out.
 *
 * @param value The setting to read instead of the environment variable (tests).
 * @param modelBytes The model's size, for the default. @default Infinity
 * @returns A positive integer; 1 means one thread in-process.
 * @throws {RangeError} If the setting is neither `auto` nor a positive integer.
 *
 * @example
 * ```ts
 * import { wasmThreads } from "./threaded_wasm_session.ts";
 * import assert from "node:assert/strict";
 * const auto = Math.min(navigator.hardwareConcurrency, 4);
 * assert.equal(wasmThreads("", 1000), 1);
 * assert.equal(wasmThreads("", 76e6), auto);
 * assert.equal(wasmThreads("1", 76e6), 1);
 * assert.equal(wasmThreads("3"), 3);
 * assert.equal(wasmThreads("auto", 1000), auto);
 * assert.throws(() => wasmThreads("two"), /DIFFCUT_ORT_THREADS is "two"; expected auto or a positive integer/);
 * ```
 */
export function wasmThreads(value: string | undefined = envThreads(), modelBytes = Infinity): number {
  const auto = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, MAX_AUTO_THREADS));
  if (value === undefined || value === "") return modelBytes >= THREADED_MIN_BYTES ? auto : 1;
  if (value === "auto") return auto;
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(
      `${THREADS_ENV} is "${value}"; expected auto or a positive integer (1: one thread, no worker)`,
    );
  }
  return threads;
}

function envThreads(): string | undefined {
  try {
    return Deno.env.get(THREADS_ENV);
  } catch {
    return undefined; // no --allow-env: the default
  }
}

/**
 * How long a session creation may take before the watchdog calls it hung. Measured on a 2-core x86-64 machine:
 * ISNet (76 MB) takes about 1.8 s in the worker (starting it, loading ONNX Runtime and its pthread, reserving
 * memory, creating the session), a tiny model about 1.2 s. A hung creation never finishes, so the limit only has
 * to stay well above the slowest normal one (a busy machine, parallel tests): 6 s plus 50 ms per MB, 9.8 s for
 * ISNet. A creation called hung by mistake only costs a retry, or the one-thread fallback.
 *
 * @param modelBytes Size of the model, in bytes.
 * @returns Milliseconds.
 */
export function createTimeoutMs(modelBytes: number): number {
  return 6_000 + 50 * (modelBytes / 1e6);
}

/**
 * How long one run may take before the watchdog calls the worker hung: 60 s plus 1 s per MB of model, 136 s for
 * ISNet, whose run takes about 6.7 s on one thread and 3.5 s on two (2-core x86-64). Runs have not been seen to
 * hang; this only guarantees that a run ends, on one thread in-process if the worker stopped answering.
 *
 * @param modelBytes Size of the model, in bytes.
 * @returns Milliseconds.
 */
export function runTimeoutMs(modelBytes: number): number {
  return 60_000 + 1_000 * (modelBytes / 1e6);
}

/** A run whose worker stopped answering (watchdog) or exited: the session cannot go on in that worker. */
export class WorkerGoneError extends Error {
  override name = "WorkerGoneError";
}

/** Options of {@linkcode startThreadedWasm}. */
export interface ThreadedWasmOptions {
  /** Threads of ONNX Runtime's wasm backend (2 or more). */
  threads: number;
  /**
   * Watchdog limit of one session creation, in milliseconds.
   * @default {createTimeoutMs(model size)}
   */
  timeoutMs?: number;
  /**
   * Creations tried before giving up on threads.
   * @default {3}
   */
  tries?: number;
  /**
   * Watchdog limit of each run, in milliseconds (used by `createWasmSession`).
   * @default {runTimeoutMs(model size)}
   */
  runTimeoutMs?: number;
  /** Test hook: the worker spins instead of answering the creation, or the first run, as in the real hang. */
  hang?: "create" | "run";
}

/** A session running in the worker: raw tensors in and out, one request at a time. */
export interface ThreadedWasm {
  /** The model's input names, in declaration order. */
  readonly inputNames: readonly string[];
  /** The model's output names, in declaration order. */
  readonly outputNames: readonly string[];
  /** Declared type and shape of each input and output (`ort_session.ts`'s `TensorInfo`, not imported: no circle). */
  readonly infos: ReadonlyMap<string, { type: string; shape?: readonly (number | string)[] }>;
  /** Whether the worker is still there (tests check that `dispose` ends it). */
  readonly alive: boolean;
  /**
   * Runs the model in the worker.
   *
   * @param feeds One tensor per input, in the declared element type.
   * @param outputNames The outputs to compute.
   * @param transfer Buffers of `feeds` the caller owns: moved to the worker instead of copied.
   * @param timeoutMs Watchdog limit of the run.
   * @returns The outputs, in their own buffers.
   * @throws {WorkerGoneError} If the worker hung (then it is terminated) or exited; later runs throw it too.
   */
  run(
    feeds: Record<string, WireTensor>,
    outputNames: readonly string[],
    transfer: ArrayBuffer[],
    timeoutMs?: number,
  ): Promise<Record<string, WireTensor>>;
  /** Terminates the worker; later runs throw. */
  dispose(): Promise<void>;
}

/** What {@linkcode startThreadedWasm} gives: the session, or why threads did not come up. */
export type ThreadedWasmStart =
  | { session: ThreadedWasm; tries: number }
  | { session?: undefined; failure: string; tries: number };

type Outcome = WorkerReply | { kind: "timeout" } | { kind: "exit"; message: string };

/** Sends one request and waits for its answer, the worker's end, or the watchdog (`timeoutMs`). */
function ask(
  worker: Worker,
  request: WorkerRequest,
  transfer: ArrayBuffer[],
  timeoutMs?: number,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastError = "";
    const finish = (outcome: Outcome) => {
      clearTimeout(timer);
      worker.off("message", onMessage).off("error", onError).off("exit", onExit);
      worker.unref(); // idle: an unused session must not keep the process alive
      resolve(outcome);
    };
    const onMessage = (reply: WorkerReply) => finish(reply);
    const onError = (error: Error) => lastError = error?.message ?? String(error);
    const onExit = (code: number) =>
      finish({
        kind: "exit",
        message: `the worker exited (code ${code})${lastError ? `: ${lastError}` : ""}`,
      });
    worker.on("message", onMessage).on("error", onError).on("exit", onExit);
    worker.ref();
    if (timeoutMs !== undefined) timer = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    worker.postMessage(request, transfer);
  });
}

/**
 * Creates a session with `options.threads` threads in a worker, retrying a creation that the watchdog calls hung.
 *
 * @param modelBytes The serialised ONNX model (copied to the worker: the caller keeps it for a fallback).
 * @param options Threads, watchdog limit, tries.
 * @returns The session and the tries it took, or, when no try succeeded, why (the last try's reason).
 */
export async function startThreadedWasm(
  modelBytes: Uint8Array,
  options: ThreadedWasmOptions,
): Promise<ThreadedWasmStart> {
  const tries = options.tries ?? 3;
  const timeoutMs = options.timeoutMs ?? createTimeoutMs(modelBytes.byteLength);
  let failure = "";
  for (let attempt = 1; attempt <= tries; attempt++) {
    let worker: Worker;
    try {
      worker = new Worker(new URL("./ort_wasm_worker.ts", import.meta.url), { name: "diffcut-ort-wasm" });
    } catch (error) {
      return { failure: `no worker: ${(error as Error).message}`, tries: attempt };
    }
    // A copy of the model for this try, moved (the caller keeps its bytes for the next try or the fallback).
    const model = wireBuffer(modelBytes, false);
    const request: WorkerRequest = { kind: "create", model, threads: options.threads, hang: options.hang };
    const outcome = await ask(worker, request, [model], timeoutMs);
    if (outcome.kind === "created") return { session: workerSession(worker, outcome), tries: attempt };
    await worker.terminate();
    if (outcome.kind === "error") return { failure: outcome.message, tries: attempt }; // not a hang: no retry
    failure = outcome.kind === "exit"
      ? outcome.message
      : `session creation hung (no answer in ${(timeoutMs / 1000).toFixed(1)} s)`;
  }
  return { failure: `${failure}, ${tries} tries`, tries };
}

function workerSession(worker: Worker, created: Extract<WorkerReply, { kind: "created" }>): ThreadedWasm {
  let broken: string | undefined;
  let alive = true;
  worker.once("exit", () => alive = false);
  return {
    inputNames: created.inputNames,
    outputNames: created.outputNames,
    infos: new Map(created.infos),
    get alive() {
      return alive;
    },
    async run(feeds, outputNames, transfer, timeoutMs) {
      if (broken) throw new WorkerGoneError(broken);
      const request: WorkerRequest = { kind: "run", feeds, outputNames: [...outputNames] };
      const outcome = await ask(worker, request, transfer, timeoutMs);
      if (outcome.kind === "ran") return outcome.outputs;
      if (outcome.kind === "error") throw new Error(outcome.message);
      broken = outcome.kind === "exit"
        ? outcome.message
        : `a run hung (no answer in ${((timeoutMs ?? 0) / 1000).toFixed(0)} s)`;
      await worker.terminate();
      throw new WorkerGoneError(broken);
    },
    async dispose() {
      broken ??= "the session was disposed";
      await worker.terminate();
    },
  };
}
