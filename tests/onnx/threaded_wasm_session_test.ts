// ONNX Runtime's wasm backend with threads in a worker: values, dispose, and the watchdog's retry and fallback.
// Threads are forced on here (`threads: 2`) whatever DIFFCUT_ORT_THREADS says.

import assert from "node:assert/strict";
import { createWasmSession } from "../../lib/onnx/ort_session.ts";
import { startThreadedWasm, WorkerGoneError } from "../../lib/onnx/threaded_wasm_session.ts";
import { wireData } from "../../lib/onnx/wire_tensor.ts";
import { FLOAT16, floatTensor, modelBytes, valueInfo } from "../_onnx_models.ts";

/** y = x·w + b (a 2×3 by 3×2 MatMul), and h = y in float16: checks real arithmetic and the fp16 decoding. */
function linearModel(): Uint8Array {
  return modelBytes({
    node: [
      { opType: "MatMul", input: ["x", "w"], output: ["xw"] },
      { opType: "Add", input: ["xw", "b"], output: ["y"] },
      { opType: "Cast", input: ["y"], output: ["h"], attribute: [{ name: "to", i: FLOAT16, type: 2 }] },
    ],
    initializer: [floatTensor("w", [3, 2], [1, 2, 3, 4, 5, 6]), floatTensor("b", [2], [0.5, -1])],
    input: [valueInfo("x", [2, 3])],
    output: [valueInfo("y", [2, 2]), valueInfo("h", [2, 2], FLOAT16)],
  });
}

const X = { data: new Float32Array([1, 0, -1, 2, 1, 0.5]), dims: [2, 3] };
// [1, 0, -1]·w = [1 - 5, 2 - 6] = [-4, -4]; [2, 1, 0.5]·w = [2 + 3 + 2.5, 4 + 4 + 3] = [7.5, 11]; then + b.
const Y = [-3.5, -5, 8, 10];

Deno.test("threaded wasm session: runs in the worker and gives the model's values", async () => {
  const started = await startThreadedWasm(linearModel(), { threads: 2 });
  assert.ok(started.session, `threads did not come up: ${"failure" in started ? started.failure : ""}`);
  const session = started.session;
  try {
    assert.deepEqual(session.inputNames, ["x"]);
    assert.deepEqual(session.outputNames, ["y", "h"]);
    assert.deepEqual(session.infos.get("h"), { type: "float16", shape: [2, 2] });
    const x = X.data.slice();
    const out = await session.run({ x: { type: "float32", buffer: x.buffer, dims: X.dims } }, ["y"], [
      x.buffer,
    ]);
    assert.equal(x.buffer.byteLength, 0, "the feed's buffer was moved, not copied");
    assert.deepEqual(out.y.dims, [2, 2]);
    assert.deepEqual(Array.from(wireData(out.y) as Float32Array), Y);
  } finally {
    await session.dispose();
  }
});

Deno.test("threaded wasm session: OrtSession on threads, fp16 outputs decoded, caller's arrays untouched", async () => {
  const session = await createWasmSession(linearModel(), { label: "linear" }, { threads: 2 });
  try {
    assert.equal(session.runner, "wasm");
    assert.equal(session.threads, 2);
    assert.deepEqual(session.info("x"), { type: "float32", shape: [2, 3] });
    const out = await session.run({ x: X });
    assert.deepEqual(Array.from(out.y.data), Y);
    assert.deepEqual(Array.from(out.h.data), Y); // all exactly representable in float16
    assert.deepEqual(Array.from(X.data), [1, 0, -1, 2, 1, 0.5]);
    const again = await session.run({ x: { data: new Float32Array(6).fill(1), dims: [2, 3] } }, ["y"]);
    assert.deepEqual(Object.keys(again), ["y"]);
    assert.deepEqual(Array.from(again.y.data), [9.5, 11, 9.5, 11]);
    await assert.rejects(session.run({ y: X }), /Input 'x' of linear is missing/);
    await assert.rejects(session.run({ x: X }, ["z"]), /Output 'z' is not an output of linear/);
    await assert.rejects(session.runOnDevice({ x: X }), TypeError);
  } finally {
    await session.dispose();
  }
  await assert.rejects(session.run({ x: X }), /Session of linear was disposed/);
});

Deno.test("threaded wasm session: dispose terminates the worker", async () => {
  const started = await startThreadedWasm(linearModel(), { threads: 2 });
  assert.ok(started.session);
  const session = started.session;
  assert.equal(session.alive, true);
  await session.dispose();
  assert.equal(session.alive, false);
  await assert.rejects(session.run({}, ["y"], []), WorkerGoneError);
});

Deno.test("threaded wasm session: the watchdog retries a creation that never answers, then gives up", async () => {
  const start = performance.now();
  const result = await startThreadedWasm(linearModel(), {
    threads: 2,
    hang: "create",
    timeoutMs: 300,
    tries: 2,
  });
  assert.equal(result.session, undefined);
  assert.equal(result.tries, 2);
  assert.match(
    "failure" in result ? result.failure : "",
    /session creation hung \(no answer in 0\.3 s\), 2 tries/,
  );
  assert.ok(performance.now() - start >= 600, "both tries waited for the watchdog");
});

Deno.test("threaded wasm session: falls back to one thread in-process when threads never come up", async () => {
  const session = await createWasmSession(linearModel(), { label: "linear" }, {
    threads: 2,
    hang: "create",
    timeoutMs: 300,
    tries: 2,
  });
  try {
    assert.equal(session.threads, 1);
    assert.deepEqual(Array.from((await session.run({ x: X })).y.data), Y);
  } finally {
    await session.dispose();
  }
});

Deno.test("threaded wasm session: a run that hangs is run again in-process", async () => {
  const session = await createWasmSession(linearModel(), { label: "linear" }, {
    threads: 2,
    hang: "run",
    runTimeoutMs: 300,
  });
  try {
    assert.equal(session.threads, 2);
    const start = performance.now();
    assert.deepEqual(Array.from((await session.run({ x: X })).y.data), Y);
    assert.ok(performance.now() - start >= 300, "the run waited for the watchdog");
    assert.equal(session.threads, 1, "the session says it runs in-process now");
    assert.deepEqual(Array.from((await session.run({ x: X })).h.data), Y); // later runs stay in-process
  } finally {
    await session.dispose();
  }
});

Deno.test("threaded wasm session: a model ONNX Runtime rejects fails without retries, as in-process", async () => {
  const bad = modelBytes({
    node: [{ opType: "NoSuchOp", input: ["x"], output: ["y"] }],
    input: [valueInfo("x", [2])],
    output: [valueInfo("y", [2])],
  });
  const result = await startThreadedWasm(bad, { threads: 2 });
  assert.equal(result.session, undefined);
  assert.equal(result.tries, 1);
  assert.match("failure" in result ? result.failure : "", /NoSuchOp/);
  await assert.rejects(
    createWasmSession(bad, { label: "bad" }, { threads: 2 }),
    /Cannot create an ONNX Runtime session for bad: .*NoSuchOp/,
  );
});
