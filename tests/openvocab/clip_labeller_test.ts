import assert from "node:assert/strict";
import { join } from "node:path";
import { headModel, MERGES, SECTION, textModel } from "./_clip_models.ts";
import { ClipLabeller } from "../../lib/openvocab/clip_labeller.ts";
import { ClipTokenizer } from "../../lib/openvocab/clip_tokenizer.ts";

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
