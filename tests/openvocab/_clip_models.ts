/**
 * Tiny look-alikes of the ConvNeXt CLIP exports (same input and output names and layouts, made-up weights) for the
 * open-vocabulary tests (private to tests/).
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { floatTensor, int, int64Tensor, ints, modelBytes, valueInfo } from "../_onnx_models.ts";
import type { OpenVocabSection } from "../../lib/openvocab/clip_sidecar.ts";
import { ClipTokenizer } from "../../lib/openvocab/clip_tokenizer.ts";

export const MERGES = ["#version: tiny", "c a", "ca t</w>", "s o", "f a</w>", "so fa</w>", ""].join("\n");
const INT64 = 7;

/** Visual head look-alike: `[N, 2] → [N, 3]` by a matrix. */
export function headModel(): Uint8Array {
  return modelBytes({
    node: [{ opType: "MatMul", input: ["pooled", "W"], output: ["embedding"] }],
    initializer: [floatTensor("W", [2, 3], [1, 0, 0, 0, 0.5, 1])],
    input: [valueInfo("pooled", undefined)],
    output: [valueInfo("embedding", undefined)],
  });
}

/**
 * Text encoder look-alike: `[N, 77]` int64 ids → the sum of per-token rows of a table `[V, 3]`: "cat</w>" → e0,
 * "sofa</w>" → e1, "h</w>" (the end of "couch") → e2, every other token zero.
 */
export function textModel(tok: ClipTokenizer): Uint8Array {
  const v = tok.vocabSize;
  const table = new Float32Array(v * 3);
  table[tok.encoder.get("cat</w>")! * 3 + 0] = 1;
  table[tok.encoder.get("sofa</w>")! * 3 + 1] = 1;
  table[tok.encoder.get("h</w>")! * 3 + 2] = 1;
  return modelBytes({
    node: [
      { opType: "Gather", input: ["table", "input_ids"], output: ["rows"], attribute: [int("axis", 0)] },
      {
        opType: "ReduceSum",
        input: ["rows", "axes"],
        output: ["text_embedding"],
        attribute: [int("keepdims", 0)],
      },
    ],
    initializer: [floatTensor("table", [v, 3], table), int64Tensor("axes", [1], [1])],
    input: [valueInfo("input_ids", undefined, INT64)],
    output: [valueInfo("text_embedding", undefined)],
  });
}

export const SECTION: OpenVocabSection = {
  head: { model: "visual_head.onnx", input: "pooled", output: "embedding" },
  text: { model: "text.onnx", input: "input_ids", output: "text_embedding" },
  tokenizer: "merges.txt",
  embedDim: 3,
  contextLength: 77,
  logitScale: 100,
};

/**
 * Dense trunk look-alike: `image` `[1, 3, S, S]` → `clip_vis_dense` `[1, 2, S/32, S/32]`, each 32×32 cell's mean
 * colour mapped to `[2R + 5B, 2G + 4B]` (a stride-32 convolution).
 */
export function trunkModel(): Uint8Array {
  const w = new Float32Array(2 * 3 * 32 * 32);
  const per = (k: number, c: number) => [[2, 0, 5], [0, 2, 4]][k][c] / (32 * 32);
  for (let k = 0; k < 2; k++) {
    for (let c = 0; c < 3; c++) w.fill(per(k, c), (k * 3 + c) * 1024, (k * 3 + c + 1) * 1024);
  }
  return modelBytes({
    node: [{
      opType: "Conv",
      input: ["image", "W"],
      output: ["clip_vis_dense"],
      attribute: [ints("kernel_shape", [32, 32]), ints("strides", [32, 32])],
    }],
    initializer: [floatTensor("W", [2, 3, 32, 32], w)],
    input: [valueInfo("image", undefined)],
    output: [valueInfo("clip_vis_dense", undefined)],
  });
}

/** A 64×64 image of three pure-colour regions (left half red, top-right green, bottom-right blue) and its labels. */
export function threeRegions(): { size: number; data: Float32Array; labels: Int32Array } {
  const size = 64;
  const data = new Float32Array(size * size * 3);
  const labels = new Int32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const seg = x < 32 ? 0 : y < 32 ? 1 : 2;
      labels[y * size + x] = seg;
      data[(y * size + x) * 3 + seg] = 1;
    }
  }
  return { size, data, labels };
}

const REGISTRY_SIDECAR = fileURLToPath(new URL("../../models/convnext-clip.json", import.meta.url));

/** The registry sidecar fitted to the look-alikes: 64-pixel input without normalisation, 2 channels, 3-d joint space, tiny merges. */
export async function installLookAlike(dir: string): Promise<string> {
  const json = JSON.parse(await Deno.readTextFile(REGISTRY_SIDECAR));
  json.input.size = 64;
  json.input.normalisation = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] }; // the trunk sees the image values
  json.output = { ...json.output, channels: 2, grid: 2 };
  json.openVocab = { ...json.openVocab, embedDim: 3, tokenizer: "merges.txt" };
  const path = join(dir, "encoder.json");
  await Deno.writeTextFile(path, JSON.stringify(json));
  await Deno.writeFile(join(dir, json.model), trunkModel());
  await Deno.writeFile(join(dir, json.openVocab.head.model), headModel());
  await Deno.writeFile(join(dir, json.openVocab.text.model), textModel(new ClipTokenizer(MERGES)));
  await Deno.writeTextFile(join(dir, "merges.txt"), MERGES);
  return path;
}
