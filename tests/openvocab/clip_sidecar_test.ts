import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseSidecar } from "../../lib/encoder/sidecar.ts";
import { parseOpenVocabSection } from "../../lib/openvocab/clip_sidecar.ts";

const PATH = fileURLToPath(new URL("../../models/convnext-clip.json", import.meta.url));

Deno.test("convnext-clip sidecar: a valid encoder sidecar (dense trunk, stride 32) with a valid openVocab section", () => {
  const json = JSON.parse(Deno.readTextFileSync(PATH));
  const s = parseSidecar(json, PATH);
  assert.equal(s.id, "convnext-clip");
  assert.equal(s.output.name, "clip_vis_dense");
  assert.deepEqual([s.output.channels, s.output.grid, s.output.patchSize, s.input.size], [1536, 10, 32, 320]);
  assert.equal(s.input.resizable, true);
  const ov = parseOpenVocabSection(json, PATH);
  assert.deepEqual(ov, {
    head: { model: "visual_head.onnx", input: "pooled", output: "embedding" },
    text: { model: "text.onnx", input: "input_ids", output: "text_embedding" },
    tokenizer: "bpe_simple_vocab_16e6.txt.gz",
    embedDim: 768,
    contextLength: 77,
    logitScale: 100,
  });
});

Deno.test("openVocab section: defaults and errors name the field", () => {
  const base = () => ({
    openVocab: {
      head: { model: "h.onnx", input: "x", output: "y" },
      text: { model: "t.onnx", input: "ids", output: "e" },
      tokenizer: "merges.txt",
      embedDim: 4,
    },
  });
  const ok = parseOpenVocabSection(base(), "s.json");
  assert.deepEqual([ok.contextLength, ok.logitScale], [77, 100]);
  const broken = (edit: (o: Record<string, any>) => void) => {
    const j = base() as Record<string, any>;
    edit(j.openVocab);
    return () => parseOpenVocabSection(j, "s.json");
  };
  assert.throws(() => parseOpenVocabSection({}, "s.json"), /openVocab\. must be an object/);
  assert.throws(broken((o) => o.head.model = "../h.onnx"), /openVocab\.head\.model/);
  assert.throws(broken((o) => o.text.input = ""), /openVocab\.text\.input/);
  assert.throws(broken((o) => o.tokenizer = "/etc/merges.txt"), /openVocab\.tokenizer/);
  assert.throws(broken((o) => o.embedDim = 2.5), /openVocab\.embedDim must be a positive integer/);
  assert.throws(broken((o) => o.logitScale = 150), /openVocab\.logitScale/);
});
