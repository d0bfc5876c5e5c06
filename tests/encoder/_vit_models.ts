/**
 * A tiny transformers.js-style ViT export for the tests (private to tests/encoder): `pixel_values` [1, 3, S, S] →
 * patch embedding (a `patch`-strided convolution whose output channel c is the mean of input channel c % 3 over the
 * patch, times (c + 1)) → tokens → `prefix` CLS/register tokens of value 1000 + i in front → `last_hidden_state`
 * [1, prefix + (S/patch)², C]. The reshape is dynamic, so any size works (like DINOv2's interpolated position
 * embeddings).
 *
 * @module
 */

import { floatTensor, int64Tensor, ints, modelBytes, valueInfo } from "../_onnx_models.ts";

/** Builds the model. */
export function vitModel(patch: number, prefix: number, channels: number): Uint8Array {
  const w = new Float32Array(channels * 3 * patch * patch);
  for (let c = 0; c < channels; c++) {
    const base = (c * 3 + (c % 3)) * patch * patch;
    w.fill((c + 1) / (patch * patch), base, base + patch * patch);
  }
  const cls = new Float32Array(prefix * channels);
  for (let t = 0; t < prefix; t++) cls.fill(1000 + t, t * channels, (t + 1) * channels);
  const nodes = [
    {
      name: "/embeddings/patch_embeddings/projection/Conv",
      opType: "Conv",
      input: ["pixel_values", "w"],
      output: ["patches"],
      attribute: [ints("kernel_shape", [patch, patch]), ints("strides", [patch, patch])],
    },
    { name: "/embeddings/Reshape", opType: "Reshape", input: ["patches", "shape"], output: ["flat"] },
    {
      name: "/embeddings/Transpose",
      opType: "Transpose",
      input: ["flat"],
      output: prefix > 0 ? ["tokens"] : ["last_hidden_state"],
      attribute: [ints("perm", [0, 2, 1])],
    },
  ];
  if (prefix > 0) {
    nodes.push({
      name: "/embeddings/Concat",
      opType: "Concat",
      input: ["cls", "tokens"],
      output: ["last_hidden_state"],
      attribute: [{ name: "axis", i: 1, type: 2 } as never],
    });
  }
  return modelBytes({
    node: nodes,
    initializer: [
      floatTensor("w", [channels, 3, patch, patch], w),
      int64Tensor("shape", [3], [1, channels, -1]),
      ...(prefix > 0 ? [floatTensor("cls", [1, prefix, channels], cls)] : []),
    ],
    input: [{
      name: "pixel_values",
      type: {
        tensorType: {
          elemType: 1,
          shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimParam: "height" }, { dimParam: "width" }] },
        },
      },
    }],
    output: [valueInfo("last_hidden_state")],
  });
}
