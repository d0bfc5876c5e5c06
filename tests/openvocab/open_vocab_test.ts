import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { headModel, MERGES, textModel, trunkModel } from "./_clip_models.ts";
import { ClipTokenizer } from "../../lib/openvocab/clip_tokenizer.ts";
import { loadOpenVocab } from "../../lib/openvocab/open_vocab.ts";
import { createSegmenter } from "../../lib/segmenter.ts";

const REGISTRY_SIDECAR = fileURLToPath(new URL("../../models/convnext-clip.json", import.meta.url));

/** The registry sidecar fitted to the look-alikes: 64-pixel input without normalisation, 2 channels, 3-d joint space, tiny merges. */
async function installLookAlike(dir: string): Promise<string> {
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

Deno.test("loadOpenVocab: an image and its segments → trunk → pool → head → class names (look-alike models)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ov = await loadOpenVocab(await installLookAlike(dir), { runner: "wasm" });
    try {
      // 64×64 image: left half red, top-right green, bottom-right blue; the segments are those three regions.
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
      const image = { data, height: size, width: size };
      const features = await ov.encoder.encode(image);
      assert.deepEqual([features.height, features.width, features.channels], [2, 2, 2]);
      const out = await ov.label(image, { data: labels, height: size, width: size }, ["cat", "sofa, couch"]);
      // Trunk cells: red [2,0], green [0,2], blue [5,4]; then as in clip_labeller_test.ts.
      assert.deepEqual(out.map((s) => [s.segment, s.name, s.cells]), [[0, "cat", 2], [1, "sofa, couch", 1], [
        2,
        "cat",
        1,
      ]]);
      const logits = [100, 200 / Math.sqrt(5), 500 / Math.sqrt(45)];
      out.forEach((s, k) => assert.ok(Math.abs(s.logit - logits[k]) < 1e-3, `${s.logit} vs ${logits[k]}`));
    } finally {
      await ov.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createSegmenter({ labels }): every segment gets a class name from the CLIP (look-alike models)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const openVocab = await installLookAlike(dir);
    const size = 64;
    const data = new Float32Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) data[(y * size + x) * 3 + (x < 32 ? 0 : y < 32 ? 1 : 2)] = 1;
    }
    const seg = await createSegmenter({
      encoder: "rgb-grid",
      refine: false,
      segments: 3,
      labels: ["cat", "sofa, couch"],
      openVocab,
      openVocabOptions: { runner: "wasm" },
    });
    try {
      const result = await seg.segment({ data, height: size, width: size });
      assert.equal(result.segments, 3);
      const labels = result.segmentLabels!;
      assert.deepEqual(labels.map((l) => l.segment), [0, 1, 2]);
      const nameAt = (y: number, x: number) => labels[result.labels[y * size + x]].name;
      // Red and blue regions read as "cat", green as "sofa, couch" (see clip_labeller_test.ts for the numbers).
      assert.deepEqual([nameAt(10, 10), nameAt(10, 60), nameAt(60, 60)], ["cat", "sofa, couch", "cat"]);
    } finally {
      await seg.dispose();
    }
    await assert.rejects(createSegmenter({ encoder: "rgb-grid", labels: [] }), /labels needs at least one/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
