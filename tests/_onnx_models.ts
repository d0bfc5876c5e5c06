/**
 * Tiny ONNX models for the ONNX, encoder and CLI tests, built with onnx-proto (private to tests/).
 *
 * @module
 */

import p from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";

const { onnx } = p;

/** ONNX element types used here. */
export const FLOAT = 1;
/** ONNX float16 element type. */
export const FLOAT16 = 10;

/** A typed value-info entry. */
export function valueInfo(name: string, dims?: readonly number[], elemType = FLOAT): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: { elemType, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) },
    },
  };
}

/** An INTS attribute. */
export function ints(name: string, values: number[]): Onnx.IAttributeProto {
  return { name, ints: values, type: onnx.AttributeProto.AttributeType.INTS };
}

/** An INT attribute. */
export function int(name: string, value: number): Onnx.IAttributeProto {
  return { name, i: value, type: onnx.AttributeProto.AttributeType.INT };
}

/** A float32 initializer. */
export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): Onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(new Float32Array(values).buffer) };
}

/** An int64 initializer. */
export function int64Tensor(name: string, dims: number[], values: number[]): Onnx.ITensorProto {
  return { name, dims, dataType: 7, rawData: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer) };
}

/** Serialises a model with one graph at opset 17. */
export function modelBytes(graph: Onnx.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "diffcut-tests",
    graph: { name: "test", ...graph },
  }).finish();
}

/** Decodes a model's graph (for inspecting pruned graphs); decoded repeated fields are always arrays. */
export function decodeGraph(bytes: Uint8Array): Onnx.GraphProto {
  return onnx.ModelProto.decode(bytes).graph as Onnx.GraphProto;
}

/**
 * A 4×4 stride-4 convolution `[1,3,16,16] -> [1,C,4,4]` with bias: output channel `k` is
 * `bias[k] + sum over each 4×4 cell of weights[k][c] * x[c]` (the same weight over the cell).
 *
 * @param channelWeights `C` rows of 3 weights (one per input channel).
 * @param bias `C` biases.
 * @param outputName Name of the output.
 */
export function cellConvModel(
  channelWeights: number[][],
  bias: number[],
  outputName = "features",
): Uint8Array {
  const c = channelWeights.length;
  const w = new Float32Array(c * 3 * 16);
  for (let k = 0; k < c; k++) {
    for (let ch = 0; ch < 3; ch++) w.fill(channelWeights[k][ch], (k * 3 + ch) * 16, (k * 3 + ch + 1) * 16);
  }
  return modelBytes({
    node: [{
      opType: "Conv",
      input: ["image", "w", "b"],
      output: [outputName],
      attribute: [ints("kernel_shape", [4, 4]), ints("strides", [4, 4])],
    }],
    initializer: [floatTensor("w", [c, 3, 4, 4], w), floatTensor("b", [c], bias)],
    input: [valueInfo("image", [1, 3, 16, 16])],
    output: [valueInfo(outputName, [1, c, 4, 4])],
  });
}
