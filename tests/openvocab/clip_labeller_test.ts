import assert from "node:assert/strict";
import { join } from "node:path";
import { floatTensor, int, int64Tensor, modelBytes, valueInfo } from "../_onnx_models.ts";
import { ClipLabeller } from "../../lib/openvocab/clip_labeller.ts";
import type { OpenVocabSection } from "../../lib/openvocab/clip_sidecar.ts";
import { ClipTokenizer } from "../../lib/openvocab/clip_tokenizer.ts";

const MERGES = ["#version: tiny", "c a", "ca t</w>", "s o", "f a</w>", "so fa</w>", ""].join("\n");
const INT64 = 7;

/** Visual head look-alike: `[N, 2] → [N, 3]` by a matrix. */
function headModel(): Uint8Array {
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
function textModel(tok: ClipTokenizer): Uint8Array {
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

const SECTION: OpenVocabSection = {
  head: { model: "visual_head.onnx", input: "pooled", output: "embedding" },
  text: { model: "text.onnx", input: "input_ids", output: "text_embedding" },
  tokenizer: "merges.txt",
  embedDim: 3,
  contextLength: 77,
  logitScale: 100,
};

Deno.test("ClipLabeller: pooled trunk features → head → logits against the templated classifier (tiny ONNX look-alikes)", async () => {
  const dir = await Deno.makeTempDir();
  const tok = new ClipTokenizer(MERGES);
  await Deno.writeTextFile(join(dir, "merges.txt"), MERGES);
  await Deno.writeFile(join(dir, "visual_head.onnx"), headModel());
  await Deno.writeFile(join(dir, "text.onnx"), textModel(tok));
  const labeller = await ClipLabeller.load(dir, SECTION);
  try {
    // Every template of "cat" holds cat</w> once: the unnormalised text embedding is e0.
    const [cat] = await labeller.embedTexts(["There is a small cat in the scene."]);
    assert.deepEqual([...cat], [1, 0, 0]);
    // Trunk features 2×2×2; labels 4×4 (0 left, 1 top-right, 2 bottom-right) sampled at (1,1),(1,3),(3,1),(3,3).
    const features = { height: 2, width: 2, channels: 2, data: Float32Array.from([1, 0, 0, 2, 3, 0, 5, 4]) };
    const labels = {
      height: 4,
      width: 4,
      data: Int32Array.from([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 2, 2, 0, 0, 2, 2]),
    };
    const out = await labeller.label(features, labels, ["cat", "sofa, couch"]);
    // Pooled: [2,0], [0,2], [5,4] → head: [2,0,0], [0,1,2], [5,2,4].
    // Segment 1: sofa cos 1/√5, couch 2/√5 → class 1 by its synonym "couch". Segment 2: cat 5/√45 beats couch 4/√45.
    assert.deepEqual(out.map((s) => [s.segment, s.label, s.name, s.cells]), [
      [0, 0, "cat", 2],
      [1, 1, "sofa, couch", 1],
      [2, 0, "cat", 1],
    ]);
    const logits = [100, 200 / Math.sqrt(5), 500 / Math.sqrt(45)];
    out.forEach((s, k) => assert.ok(Math.abs(s.logit - logits[k]) < 1e-3, `${s.logit} vs ${logits[k]}`));
    const second = 400 / Math.sqrt(45);
    assert.ok(Math.abs(out[2].score - 1 / (1 + Math.exp(second - logits[2]))) < 1e-6);
    // The classifier is cached per label list.
    assert.equal(
      await labeller.classifier(["cat", "sofa, couch"]),
      await labeller.classifier(["cat", "sofa, couch"]),
    );
  } finally {
    await labeller.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
