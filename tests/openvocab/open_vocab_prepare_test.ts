import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { headModel, MERGES, textModel, threeRegions, trunkModel } from "./_clip_models.ts";
import { ClipTokenizer } from "../../lib/openvocab/clip_tokenizer.ts";
import { prepareEncoder } from "../../lib/install/registry.ts";
import { loadOpenVocab } from "../../lib/openvocab/open_vocab.ts";
import { sha256File } from "../../lib/encoder/model_cache.ts";

const REGISTRY_SIDECAR = fileURLToPath(new URL("../../models/convnext-clip.json", import.meta.url));

Deno.test("models prepare convnext-clip --from DIR: the export's four files installed with SHA-256s, then loadOpenVocab(id)", async () => {
  const root = await Deno.makeTempDir();
  try {
    // A registry holding the sidecar fitted to the look-alikes (file names as in models/convnext-clip.json).
    const json = JSON.parse(await Deno.readTextFile(REGISTRY_SIDECAR));
    json.input.size = 64;
    json.input.normalisation = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
    json.output = { ...json.output, channels: 2, grid: 2 };
    json.openVocab = { ...json.openVocab, embedDim: 3 };
    const registryDir = join(root, "models"), from = join(root, "export"), cacheDir = join(root, "cache");
    await Deno.mkdir(registryDir);
    await Deno.mkdir(from);
    await Deno.writeTextFile(join(registryDir, "convnext-clip.json"), JSON.stringify(json));
    const missing = prepareEncoder("convnext-clip", from, { registryDir, cacheDir });
    await assert.rejects(
      missing,
      /lacks visual_dense\.onnx, visual_head\.onnx, text\.onnx, bpe_simple_vocab_16e6/,
    );
    await Deno.writeFile(join(from, "visual_dense.onnx"), trunkModel());
    await Deno.writeFile(join(from, "visual_head.onnx"), headModel());
    await Deno.writeFile(join(from, "text.onnx"), textModel(new ClipTokenizer(MERGES)));
    const gz = new Blob([MERGES]).stream().pipeThrough(new CompressionStream("gzip"));
    await Deno.writeFile(
      join(from, json.openVocab.tokenizer),
      new Uint8Array(await new Response(gz).arrayBuffer()),
    );

    const sidecarPath = await prepareEncoder("convnext-clip", from, { registryDir, cacheDir });
    assert.equal(sidecarPath, join(cacheDir, "convnext-clip", "encoder.json"));
    const installed = JSON.parse(await Deno.readTextFile(sidecarPath));
    assert.deepEqual(installed.files.map((f: { path: string }) => f.path), [
      "visual_dense.onnx",
      "visual_head.onnx",
      "text.onnx",
      "bpe_simple_vocab_16e6.txt.gz",
    ]);
    for (const f of installed.files) {
      assert.deepEqual(await sha256File(join(cacheDir, "convnext-clip", f.path)), {
        sha256: f.sha256,
        bytes: f.bytes,
      });
    }
    assert.equal(installed.sha256, installed.files[0].sha256);

    const ov = await loadOpenVocab("convnext-clip", { cacheDir, runner: "wasm" });
    try {
      const { size, data, labels } = threeRegions();
      const out = await ov.label({ data, height: size, width: size }, {
        data: labels,
        height: size,
        width: size,
      }, [
        "cat",
        "sofa, couch",
      ]);
      assert.deepEqual(out.map((s) => s.name), ["cat", "sofa, couch", "cat"]);
    } finally {
      await ov.dispose();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
