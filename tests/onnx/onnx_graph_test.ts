import assert from "node:assert/strict";
import p from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";
import { pruneToOutputs } from "../../lib/onnx/onnx_graph.ts";
import { createOrtSession } from "../../lib/onnx/ort_session.ts";
import { decodeGraph, floatTensor, modelBytes, valueInfo } from "../_onnx_models.ts";

const { onnx } = p;

/**
 * x -> Relu -> a -> Mul(w1) -> b -> Add(w2) -> y      (y: graph output, after the value we cut at)
 * x -> Sigmoid -> s -> Mul(w3) -> s2                  (s2: a side branch that b does not need)
 * Nodes are listed out of topological order (the Mul producing b comes first), as fp16 converters leave them.
 */
function sampleGraph(extraOutputs: string[] = []): Onnx.IGraphProto {
  return {
    node: [
      { name: "mul_b", opType: "Mul", input: ["a", "w1"], output: ["b"] },
      { name: "relu", opType: "Relu", input: ["x"], output: ["a"] },
      { name: "add_y", opType: "Add", input: ["b", "w2"], output: ["y"] },
      { name: "sigmoid", opType: "Sigmoid", input: ["x"], output: ["s"] },
      { name: "mul_s2", opType: "Mul", input: ["s", "w3"], output: ["s2"] },
    ],
    initializer: [
      floatTensor("w1", [3], [2, -1, 0.5]),
      floatTensor("w2", [3], [10, 10, 10]),
      floatTensor("w3", [3], [3, 3, 3]),
    ],
    input: [valueInfo("x", [1, 3])],
    output: [
      valueInfo("y", [1, 3]),
      valueInfo("s2", [1, 3]),
      ...extraOutputs.map((n) => valueInfo(n, [1, 3])),
    ],
    valueInfo: [valueInfo("a", [1, 3]), valueInfo("b", [1, 3]), valueInfo("s", [1, 3])],
  };
}

Deno.test("pruneToOutputs removes nodes after and beside the chosen value, keeping only needed initializers", () => {
  const pruned = pruneToOutputs(modelBytes(sampleGraph()), ["b"]);
  assert.deepEqual(pruned.nodes, { before: 5, after: 2 });
  assert.deepEqual(pruned.initializers, { before: 3, after: 1 });
  const graph = decodeGraph(pruned.bytes);
  assert.deepEqual(graph.node.map((n) => n.name), ["mul_b", "relu"]); // original order kept
  assert.deepEqual(graph.initializer.map((t) => t.name), ["w1"]);
  assert.deepEqual(graph.input.map((i) => i.name), ["x"]);
  assert.deepEqual(graph.output.map((o) => o.name), ["b"]);
  assert.equal(graph.output[0].type?.tensorType?.elemType, 1, "output typed from value_info");
  assert.deepEqual(graph.valueInfo.map((v) => v.name), ["a"]);
});

Deno.test("pruned model computes the same intermediate value as the full graph", async () => {
  const full = await createOrtSession(modelBytes(sampleGraph(["b"])));
  const pruned = await createOrtSession(pruneToOutputs(modelBytes(sampleGraph()), ["b"]).bytes);
  try {
    assert.deepEqual(pruned.inputNames, ["x"]);
    assert.deepEqual(pruned.outputNames, ["b"]);
    const x = { data: new Float32Array([1.5, -2, 4]), dims: [1, 3] };
    const fromFull = await full.run({ x });
    const fromPruned = await pruned.run({ x });
    assert.deepEqual(Array.from(fromPruned.b.data), [3, -0, 2]); // relu(x) * w1
    assert.deepEqual(Array.from(fromPruned.b.data), Array.from(fromFull.b.data));
    assert.deepEqual(Array.from(fromFull.y.data), [13, 10, 12]); // the full graph does go on past b
  } finally {
    await full.dispose();
    await pruned.dispose();
  }
});

Deno.test("pruneToOutputs keeps several outputs, graph inputs as outputs, and values read inside subgraphs", async () => {
  const both = decodeGraph(pruneToOutputs(modelBytes(sampleGraph()), ["s2", "a"]).bytes);
  assert.deepEqual(both.node.map((n) => n.name), ["relu", "sigmoid", "mul_s2"]);
  assert.deepEqual(both.output.map((o) => o.name), ["s2", "a"]);
  assert.deepEqual(both.initializer.map((t) => t.name), ["w3"]);

  const identity = decodeGraph(pruneToOutputs(modelBytes(sampleGraph()), ["x"]).bytes);
  assert.equal(identity.node.length, 0);
  assert.deepEqual(identity.input.map((i) => i.name), ["x"]);

  // z = If(cond) { c } else { a }, where c = Neg(x) is read only inside the then-branch.
  const branch = (name: string, read: string): Onnx.IGraphProto => ({
    name,
    node: [{ opType: "Identity", input: [read], output: [`${name}_out`] }],
    output: [valueInfo(`${name}_out`, [1, 3])],
  });
  const bytes = modelBytes({
    node: [
      { name: "relu", opType: "Relu", input: ["x"], output: ["a"] },
      { name: "neg", opType: "Neg", input: ["x"], output: ["c"] },
      { name: "unused", opType: "Exp", input: ["x"], output: ["e"] },
      {
        name: "if",
        opType: "If",
        input: ["cond"],
        output: ["z"],
        attribute: [
          { name: "then_branch", g: branch("then", "c"), type: onnx.AttributeProto.AttributeType.GRAPH },
          { name: "else_branch", g: branch("else", "a"), type: onnx.AttributeProto.AttributeType.GRAPH },
        ],
      },
    ],
    initializer: [{ name: "cond", dims: [], dataType: 9, rawData: new Uint8Array([1]) }],
    input: [valueInfo("x", [1, 3])],
    output: [valueInfo("z", [1, 3]), valueInfo("e", [1, 3])],
  });
  const pruned = pruneToOutputs(bytes, ["z"]);
  assert.deepEqual(decodeGraph(pruned.bytes).node.map((n) => n.name), ["relu", "neg", "if"]);
  const session = await createOrtSession(pruned.bytes);
  const { z } = await session.run({ x: { data: new Float32Array([1, -2, 3]), dims: [1, 3] } });
  assert.deepEqual(Array.from(z.data), [-1, 2, -3]);
  await session.dispose();
});

Deno.test("pruneToOutputs rejects unknown names, empty lists and non-ONNX bytes", () => {
  const bytes = modelBytes(sampleGraph());
  assert.throws(
    () => pruneToOutputs(bytes, ["nope"]),
    /^RangeError: Output 'nope' is not a value of the model graph; expected a node output, input or initializer name \(graph outputs: y, s2\)$/,
  );
  assert.throws(() => pruneToOutputs(bytes, []), /^RangeError: Output names must not be empty/);
  assert.throws(
    () => pruneToOutputs(new Uint8Array([0xff, 0xff, 0xff]), ["b"]),
    /^TypeError: Model bytes are not a valid ONNX model/,
  );
  assert.throws(
    () => pruneToOutputs(new Uint8Array(), ["b"]),
    /^TypeError: Model bytes are not a valid ONNX model: it has no graph$/,
  );
});
