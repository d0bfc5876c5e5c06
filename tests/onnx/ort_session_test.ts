import assert from "node:assert/strict";
import { createOrtSession, tensorDataToFloat32 } from "../../lib/onnx/ort_session.ts";
import { FLOAT16, int, modelBytes, valueInfo } from "../_onnx_models.ts";

/** x (float32) -> Cast to fp16 -> "half"; Cast back -> "full"; also an fp16 input passed through. */
function castModel(): Uint8Array {
  return modelBytes({
    node: [
      { opType: "Cast", input: ["x"], output: ["half"], attribute: [int("to", FLOAT16)] },
      { opType: "Cast", input: ["half"], output: ["full"], attribute: [int("to", 1)] },
      { opType: "Identity", input: ["h"], output: ["h_out"] },
    ],
    input: [valueInfo("x", [2, 3]), valueInfo("h", [2], FLOAT16)],
    output: [valueInfo("half", [2, 3], FLOAT16), valueInfo("full", [2, 3]), valueInfo("h_out", [2], FLOAT16)],
  });
}

Deno.test("createOrtSession decodes float16 outputs and encodes float16 inputs", async () => {
  const session = await createOrtSession(castModel(), { label: "cast model" });
  try {
    assert.deepEqual(session.inputNames, ["x", "h"]);
    assert.deepEqual(session.outputNames, ["half", "full", "h_out"]);
    assert.deepEqual(session.info("half"), { type: "float16", shape: [2, 3] });
    assert.equal(session.info("nope"), undefined);
    const x = new Float32Array([1, 0.1, -2.5, 65504, 70000, 1e-8]);
    const out = await session.run({
      x: { data: x, dims: [2, 3] },
      h: { data: new Float32Array([0.5, 3]), dims: [2] },
    });
    const expected = [1, 0.0999755859375, -2.5, 65504, Infinity, 0];
    for (const name of ["half", "full"]) {
      assert.ok(out[name].data instanceof Float32Array, name);
      assert.deepEqual(out[name].dims, [2, 3]);
      assert.deepEqual(Array.from(out[name].data), expected, name);
    }
    assert.deepEqual(Array.from(out.h_out.data), [0.5, 3]);
    const only = await session.run({
      x: { data: x, dims: [2, 3] },
      h: { data: new Float32Array(2), dims: [2] },
    }, [
      "full",
    ]);
    assert.deepEqual(Object.keys(only), ["full"]);
  } finally {
    await session.dispose();
  }
});

Deno.test("OrtSession.run: concurrent runs are serialised and give the same results", async () => {
  const session = await createOrtSession(castModel());
  const feeds = (v: number) => ({
    x: { data: new Float32Array(6).fill(v), dims: [2, 3] },
    h: { data: new Float32Array(2), dims: [2] },
  });
  const results = await Promise.all([1, 2, 3, 4].map((v) => session.run(feeds(v), ["full"])));
  assert.deepEqual(results.map((r) => r.full.data[5]), [1, 2, 3, 4]);
  await session.dispose();
});

Deno.test("OrtSession.run: missing, unknown and mis-sized feeds, unknown outputs and disposed sessions", async () => {
  const session = await createOrtSession(castModel(), { label: "cast model" });
  const h = { data: new Float32Array(2), dims: [2] };
  await assert.rejects(
    session.run({ h }),
    /^TypeError: Input 'x' of cast model is missing; expected a tensor for each of \[x, h\]$/,
  );
  await assert.rejects(
    session.run({ x: { data: new Float32Array(5), dims: [2, 3] }, h }),
    /^RangeError: Input 'x' of cast model has 5 values for dims \[2,3\], expected 6$/,
  );
  const x = { data: new Float32Array(6), dims: [2, 3] };
  await assert.rejects(session.run({ x, h, y: x }), /^TypeError: Feed 'y' is not an input of cast model/);
  await assert.rejects(
    session.run({ x, h }, ["zz"]),
    /^TypeError: Output 'zz' is not an output of cast model/,
  );
  await session.dispose();
  await session.dispose(); // idempotent
  await assert.rejects(session.run({ x, h }), /Session of cast model was disposed/);
});

Deno.test("createOrtSession: invalid model bytes give one clear error", async () => {
  await assert.rejects(createOrtSession(new Uint8Array([1, 2, 3, 4]), { label: "junk" }), (error: Error) => {
    assert.match(error.message, /^Cannot create an ONNX Runtime session for junk: /);
    assert.ok(!error.message.includes("\n"));
    assert.ok(error.cause);
    return true;
  });
});

Deno.test("tensorDataToFloat32 handles fp16 bit patterns, Float16Array, float64 and rejects integers", () => {
  const bits = new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001]);
  assert.deepEqual(Array.from(tensorDataToFloat32("float16", bits)), [1, -2, Infinity, 2 ** -24]);
  const F16 = (globalThis as { Float16Array?: new (b: ArrayBuffer) => ArrayLike<number> }).Float16Array;
  if (F16) {
    assert.deepEqual(Array.from(tensorDataToFloat32("float16", new F16(bits.buffer))), [
      1,
      -2,
      Infinity,
      2 ** -24,
    ]);
  }
  const f32 = new Float32Array([1, 2]);
  assert.equal(tensorDataToFloat32("float32", f32), f32);
  assert.deepEqual(Array.from(tensorDataToFloat32("float64", new Float64Array([0.1]))), [Math.fround(0.1)]);
  assert.throws(
    () => tensorDataToFloat32("int64", new BigInt64Array(1), "Output 'y' of m"),
    /^TypeError: Output 'y' of m has element type int64, expected float32, float16 or float64$/,
  );
});
