/**
 * ONNX graph surgery with `onnx-proto`: cut a model down to the part that computes chosen values.
 *
 * {@linkcode pruneToOutputs} makes the chosen values the graph's only outputs and removes every node, initializer,
 * input and value-info entry they do not depend on, so that nothing after them runs. This is how an encoder is cut
 * out of a full network (e.g. ISNet's decoder features `input.740`).
 *
 * @module
 */

import p from "npm:onnx-proto@8.0.1";
import type { onnx as Onnx } from "npm:onnx-proto@8.0.1";

const { onnx } = p;

/** What {@linkcode pruneToOutputs} produced. */
export interface PrunedModel {
  /** The serialised pruned model. */
  bytes: Uint8Array;
  /** Node count before and after pruning. */
  nodes: { before: number; after: number };
  /** Initializer count before and after pruning. */
  initializers: { before: number; after: number };
}

type Graph = Onnx.GraphProto;
type Node = Onnx.NodeProto;

/** Every value name read inside a subgraph (an over-approximation of its outer-scope references). */
function subgraphReads(node: Node, into: Set<string>): void {
  for (const attribute of node.attribute ?? []) {
    const graphs = [...(attribute.g ? [attribute.g] : []), ...(attribute.graphs ?? [])];
    for (const graph of graphs) {
      for (const inner of graph.node ?? []) {
        for (const name of inner.input ?? []) if (name) into.add(name);
        subgraphReads(inner as Node, into);
      }
    }
  }
}

/**
 * Decodes an ONNX model, keeps only what computes `outputNames`, and re-encodes it.
 *
 * Nodes keep their original order; graph outputs become exactly `outputNames`, typed from the
 * original outputs or value-info entries where those exist. Names read inside subgraphs (`If`, `Loop`, `Scan`) count
 * as needed.
 *
 * @param modelBytes The serialised model.
 * @param outputNames Names of the values to keep as outputs (node outputs, graph inputs or initializers).
 * @returns The pruned model and node/initializer counts.
 * @throws {TypeError} If `modelBytes` is not an ONNX model with a graph.
 * @throws {RangeError} If `outputNames` is empty or names a value the graph does not have.
 *
 * @example Cut `Relu(x) -> a -> Neg -> y` at `a`
 * ```ts
 * import { pruneToOutputs } from "./onnx_graph.ts";
 * import p from "npm:onnx-proto@8.0.1";
 * import assert from "node:assert/strict";
 * const { onnx } = p;
 * const bytes = onnx.ModelProto.encode({
 *   irVersion: 8,
 *   opsetImport: [{ version: 17 }],
 *   graph: {
 *     name: "g",
 *     node: [{ opType: "Relu", input: ["x"], output: ["a"] }, { opType: "Neg", input: ["a"], output: ["y"] }],
 *     input: [{ name: "x" }],
 *     output: [{ name: "y" }],
 *   },
 * }).finish();
 * const pruned = pruneToOutputs(bytes, ["a"]);
 * assert.deepEqual(pruned.nodes, { before: 2, after: 1 });
 * assert.deepEqual(onnx.ModelProto.decode(pruned.bytes).graph!.output!.map((o) => o.name), ["a"]);
 * ```
 */
export function pruneToOutputs(modelBytes: Uint8Array, outputNames: readonly string[]): PrunedModel {
  if (outputNames.length === 0) {
    throw new RangeError("Output names must not be empty; expected at least one name");
  }
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(modelBytes);
  } catch (error) {
    throw new TypeError(`Model bytes are not a valid ONNX model: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const counts = pruneModel(model, outputNames);
  return { bytes: onnx.ModelProto.encode(model).finish(), ...counts };
}

/**
 * {@linkcode pruneToOutputs} on a decoded model, in place: the graph keeps only what computes `outputNames`, which
 * become its outputs. External-data references of the kept initializers are left as they are.
 *
 * @param model The decoded model; changed in place.
 * @param outputNames Names of the values to keep as outputs.
 * @returns Node and initializer counts before and after.
 * @throws {TypeError} If the model has no graph.
 * @throws {RangeError} If `outputNames` is empty or names a value the graph does not have.
 *
 * @example
 * ```ts
 * import { pruneModel } from "./onnx_graph.ts";
 * import p from "npm:onnx-proto@8.0.1";
 * import assert from "node:assert/strict";
 * const model = p.onnx.ModelProto.create({ graph: { name: "g",
 *   node: [{ opType: "Relu", input: ["x"], output: ["a"] }, { opType: "Neg", input: ["a"], output: ["y"] }],
 *   input: [{ name: "x" }], output: [{ name: "y" }] } });
 * assert.deepEqual(pruneModel(model, ["a"]).nodes, { before: 2, after: 1 });
 * ```
 */
export function pruneModel(
  model: Onnx.ModelProto,
  outputNames: readonly string[],
): Omit<PrunedModel, "bytes"> {
  if (outputNames.length === 0) {
    throw new RangeError("Output names must not be empty; expected at least one name");
  }
  const graph = model.graph as Graph | null;
  if (!graph) throw new TypeError("Model bytes are not a valid ONNX model: it has no graph");
  for (const key of ["node", "initializer", "sparseInitializer", "input", "output", "valueInfo"] as const) {
    (graph as unknown as Record<string, unknown[]>)[key] ??= [];
  }
  graph.quantizationAnnotation ??= [];
  const has = (set: Set<string>, name: string | null | undefined): boolean => !!name && set.has(name);
  const produced = new Set<string>();
  for (const node of graph.node) for (const name of node.output ?? []) if (name) produced.add(name);
  for (const value of [...graph.input, ...graph.initializer]) if (value.name) produced.add(value.name);
  for (const name of outputNames) {
    if (!produced.has(name)) {
      const sample = graph.output.map((o) => o.name).slice(0, 5).join(", ");
      throw new RangeError(
        `Output '${name}' is not a value of the model graph; expected a node output, input or initializer name (graph outputs: ${sample})`,
      );
    }
  }

  // Walk back from the outputs through producers. Node lists need not be topologically sorted (fp16 converters
  // append their input casts at the end), so follow a producer map rather than sweeping the list once.
  const producer = new Map<string, number>();
  graph.node.forEach((node, i) => {
    for (const name of node.output ?? []) if (name) producer.set(name, i);
  });
  const needed = new Set<string>(outputNames);
  const keep: boolean[] = new Array(graph.node.length).fill(false);
  const pending = [...outputNames];
  while (pending.length > 0) {
    const i = producer.get(pending.pop()!);
    if (i === undefined || keep[i]) continue;
    keep[i] = true;
    const node = graph.node[i] as Node;
    const reads = new Set<string>();
    for (const name of node.input) if (name) reads.add(name);
    subgraphReads(node, reads);
    for (const name of reads) {
      if (!needed.has(name)) {
        needed.add(name);
        pending.push(name);
      }
    }
  }

  const typed = new Map<string, Onnx.IValueInfoProto>();
  for (const info of [...graph.valueInfo, ...graph.output]) if (info.name) typed.set(info.name, info);
  const nodesBefore = graph.node.length;
  const initializersBefore = graph.initializer.length;
  const outputs = new Set(outputNames);
  graph.node = graph.node.filter((_, i) => keep[i]);
  graph.initializer = graph.initializer.filter((init) => has(needed, init.name));
  graph.sparseInitializer = graph.sparseInitializer.filter((init) => has(needed, init.values?.name));
  graph.input = graph.input.filter((input) => has(needed, input.name));
  graph.output = outputNames.map((name) => typed.get(name) ?? onnx.ValueInfoProto.create({ name }));
  graph.valueInfo = graph.valueInfo.filter((info) => has(needed, info.name) && !has(outputs, info.name));
  graph.quantizationAnnotation = graph.quantizationAnnotation.filter((a) => has(needed, a.tensorName));

  return {
    nodes: { before: nodesBefore, after: graph.node.length },
    initializers: { before: initializersBefore, after: graph.initializer.length },
  };
}

/** The value that leaves a module's scope (see {@linkcode findScopeOutput}). */
export interface ScopeOutput {
  /** Name of the value. */
  value: string;
  /** Name of the node that produces it. */
  producer: string;
  /** Nodes inside the scope. */
  nodes: number;
}

/**
 * The ONNX node-name prefix the TorchScript exporter gives a PyTorch module: `down_blocks.2.attentions.1.attn1`
 * becomes `down_blocks.2/attentions.1/attn1` (each numeric part stays with the name before it).
 *
 * @param modulePath A dotted PyTorch module path.
 * @returns The path with `/` between modules.
 *
 * @example
 * ```ts
 * import { moduleScope } from "./onnx_graph.ts";
 * import assert from "node:assert/strict";
 * assert.equal(moduleScope("down_blocks.2.attentions.1.transformer_blocks.3.attn1"), "down_blocks.2/attentions.1/transformer_blocks.3/attn1");
 * ```
 */
export function moduleScope(modulePath: string): string {
  const parts = modulePath.split(".");
  const out: string[] = [];
  for (const part of parts) {
    if (/^\d+$/.test(part) && out.length > 0) out[out.length - 1] += `.${part}`;
    else out.push(part);
  }
  return out.join("/");
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Finds the output of a PyTorch module in a graph exported by the TorchScript exporter, whose node names are the
 * module path with `/` separators followed by the op (`/down_blocks.2/attentions.1/transformer_blocks.3/attn1/
 * to_out.0/Add`), possibly under an outer prefix (`/unet/...`). The module's output is the one value produced
 * inside the scope and read outside it (or a graph output); Constant nodes do not count.
 *
 * @param graph The graph to search.
 * @param modulePath The dotted module path, e.g. `down_blocks.2.attentions.1.transformer_blocks.3.attn1`.
 * @param what Names the model in error messages.
 * @returns The value, its producer and the scope's node count.
 * @throws {RangeError} If no node lies in the scope, or more than one value leaves it.
 *
 * @example
 * ```ts
 * import { findScopeOutput } from "./onnx_graph.ts";
 * import assert from "node:assert/strict";
 * const graph = { node: [
 *   { name: "/blocks.0/attn/MatMul", opType: "MatMul", input: ["x", "w"], output: ["a"] },
 *   { name: "/blocks.0/attn/Add", opType: "Add", input: ["a", "b"], output: ["h"] },
 *   { name: "/blocks.0/Add", opType: "Add", input: ["x", "h"], output: ["y"] },
 * ], output: [{ name: "y" }] };
 * assert.equal(findScopeOutput(graph, "blocks.0.attn").value, "h");
 * ```
 */
export function findScopeOutput(graph: Onnx.IGraphProto, modulePath: string, what = "model"): ScopeOutput {
  const pattern = new RegExp(`(^|/)${escapeRegex(moduleScope(modulePath))}/`);
  const nodes = graph.node ?? [];
  const inside = new Set<number>();
  nodes.forEach((node, i) => {
    if (node.opType !== "Constant" && pattern.test(node.name ?? "")) inside.add(i);
  });
  if (inside.size === 0) {
    throw new RangeError(
      `The ${what} has no node named like '/${
        moduleScope(modulePath)
      }/…'; expected the module ${modulePath} in a graph exported by torch.onnx (TorchScript naming)`,
    );
  }
  const producedInside = new Map<string, number>();
  for (const i of inside) for (const name of nodes[i].output ?? []) if (name) producedInside.set(name, i);
  const leaving = new Set<string>();
  nodes.forEach((node, i) => {
    if (inside.has(i)) return;
    for (const name of node.input ?? []) if (producedInside.has(name)) leaving.add(name);
  });
  for (const output of graph.output ?? []) {
    if (producedInside.has(output.name ?? "")) leaving.add(output.name!);
  }
  if (leaving.size !== 1) {
    throw new RangeError(
      `The ${what}'s module ${modulePath} has ${leaving.size} values leaving it ([${
        [...leaving].slice(0, 5).join(", ")
      }]); expected exactly one`,
    );
  }
  const value = [...leaving][0];
  return { value, producer: nodes[producedInside.get(value)!].name ?? "", nodes: inside.size };
}
