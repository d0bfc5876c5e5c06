/**
 * Worker script of {@linkcode ./threaded_wasm_session.ts}: holds one multi-threaded ONNX Runtime wasm session, so
 * that the main thread can watch it and terminate it. A session creation with threads sometimes never returns
 * (Deno 2.9.6, onnxruntime-web 1.30.0: ONNX Runtime's pthread worker disappears and this thread spins waiting for
 * it); only a thread that someone else can terminate recovers from that.
 *
 * The worker answers each request with exactly one message. The model and tensors travel as bare `ArrayBuffer`s
 * ({@linkcode ./wire_tensor.ts}); feeds are converted and checked on the main thread.
 *
 * @module
 */

import * as ort from "npm:onnxruntime-web@1.30.0";
import protobuf from "npm:onnx-proto@8.0.1";
import { parentPort } from "node:worker_threads";
import { wireBuffer, wireData, type WireTensor } from "./wire_tensor.ts";

/** Requests the main thread sends. */
export type WorkerRequest =
  | {
    kind: "create";
    model: ArrayBuffer;
    threads: number;
    /** Test hook: never answer the creation, or the first run, like the real hang. */
    hang?: "create" | "run";
  }
  | { kind: "run"; feeds: Record<string, WireTensor>; outputNames: string[] };

/** Answers of the worker, one per request. */
export type WorkerReply =
  | {
    kind: "created";
    inputNames: string[];
    outputNames: string[];
    infos: [string, { type: string; shape?: (number | string)[] }][];
  }
  | { kind: "ran"; outputs: Record<string, WireTensor> }
  | { kind: "error"; message: string };

let session: ort.InferenceSession | undefined;
let hangAtRun = false;

/**
 * Bytes of wasm memory to grow before a session of `modelBytes` is created: 3× the model plus 64 MB, at most
 * 1 GiB. Why: when the creating thread grows the shared wasm memory while an ONNX Runtime pthread is working, the
 * pthread can trap ("memory access out of bounds" in V8 as built into Deno 2.9.6: it sees the memory's old size)
 * and exit, and the creating thread then waits for it forever. This is the hang the watchdog catches. Measured
 * in-process with ISNet and 2 threads: 1 creation in 3 hung without the reserve, none of 20 with 300 MB
 * reserved. The memory is not lost: wasm memory never shrinks, and the session's allocations reuse it.
 */
export function reserveBytes(modelBytes: number): number {
  return Math.min(3 * modelBytes + 64 * 2 ** 20, 2 ** 30);
}

/**
 * Grows the wasm memory by about `bytes` while the pthreads are idle: one run of a model that slices one value out
 * of a `bytes`-long input (ONNX Runtime copies the input into wasm memory on this thread, and the slice needs no
 * pthread).
 */
async function reserveMemory(bytes: number): Promise<void> {
  const n = Math.floor(bytes / 4);
  const { onnx } = protobuf;
  const vi = (name: string, dim: number) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: dim }] } } },
  });
  const int64 = (name: string, value: number) => ({
    name,
    dims: [1],
    dataType: 7,
    rawData: new Uint8Array(new BigInt64Array([BigInt(value)]).buffer),
  });
  const model = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ version: 17 }],
    graph: {
      name: "reserve",
      node: [{ opType: "Slice", input: ["x", "starts", "ends"], output: ["y"] }],
      initializer: [int64("starts", 0), int64("ends", 1)],
      input: [vi("x", n)],
      output: [vi("y", 1)],
    },
  }).finish();
  const reserve = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  try {
    await reserve.run({ x: new ort.Tensor("float32", new Float32Array(n), [n]) });
  } finally {
    await reserve.release();
  }
  // Lets the idle pthreads take note of the new size before they get work.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * Test hook: never answers, like the real hang, but blocked rather than spinning. Deno 2.9.6's `terminate()`
 * ends neither (the thread stays until the process exits), and a spinning one would keep burning a core.
 */
function block(): never {
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

async function create(request: Extract<WorkerRequest, { kind: "create" }>): Promise<WorkerReply> {
  if (request.hang === "create") block();
  hangAtRun = request.hang === "run";
  ort.env.wasm.numThreads = request.threads;
  await reserveMemory(reserveBytes(request.model.byteLength));
  session = await ort.InferenceSession.create(new Uint8Array(request.model), {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
  const infos: [string, { type: string; shape?: (number | string)[] }][] = [];
  for (const meta of [...session.inputMetadata, ...session.outputMetadata]) {
    infos.push([
      meta.name,
      meta.isTensor ? { type: meta.type, shape: [...meta.shape] } : { type: "non-tensor" },
    ]);
  }
  return {
    kind: "created",
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    infos,
  };
}

async function run(
  request: Extract<WorkerRequest, { kind: "run" }>,
  transfer: ArrayBuffer[],
): Promise<WorkerReply> {
  if (!session) throw new Error("No session was created in this worker");
  if (hangAtRun) block();
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(request.feeds)) {
    feeds[name] = new ort.Tensor(t.type as "float32", wireData(t) as Float32Array, t.dims);
  }
  const results = await session.run(feeds, request.outputNames);
  const outputs: Record<string, WireTensor> = {};
  try {
    for (const name of request.outputNames) {
      const tensor = results[name];
      // ONNX Runtime's CPU outputs are arrays of their own: moved as they are (never a view of the wasm heap).
      const buffer = wireBuffer(tensor.data as ArrayBufferView, true);
      transfer.push(buffer);
      outputs[name] = { type: tensor.type, buffer, dims: tensor.dims.map(Number) };
    }
  } finally {
    for (const tensor of Object.values(results)) tensor.dispose?.();
  }
  return { kind: "ran", outputs };
}

// Requests are handled one at a time: the main thread sends the next one only after the answer.
parentPort!.on("message", async (request: WorkerRequest) => {
  const transfer: ArrayBuffer[] = [];
  let reply: WorkerReply;
  try {
    reply = request.kind === "create" ? await create(request) : await run(request, transfer);
  } catch (error) {
    reply = { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(reply, transfer);
});
