import assert from "node:assert/strict";
import { join } from "node:path";
import { installLookAlike, threeRegions } from "./_clip_models.ts";
import { loadOpenVocab } from "../../lib/openvocab/open_vocab.ts";
import { createSegmenter } from "../../lib/segmenter.ts";
import { encodeRgbPng } from "../../lib/image/encode_png.ts";
import { listing, run } from "../cli/_segment_helpers.ts";
import { loadImage } from "../../lib/image/load_image.ts";
import { segmentColor } from "../../lib/viz/palette.ts";

Deno.test("loadOpenVocab: an image and its segments → trunk → pool → head → class names (look-alike models)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ov = await loadOpenVocab(await installLookAlike(dir), { runner: "wasm" });
    try {
      // 64×64 image: left half red, top-right green, bottom-right blue; the segments are those three regions.
      const { size, data, labels } = threeRegions();
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
    // The trunk's input side must be a whole number of its stride (32), checked before any model loads.
    await assert.rejects(loadOpenVocab(join(dir, "encoder.json"), { runner: "wasm", inputSize: 48 }), {
      name: "RangeError",
      message:
        "Invalid inputSize 48: expected a positive multiple of 32 (the stride of CLIP 'convnext-clip')",
    });
    const wide = await loadOpenVocab(join(dir, "encoder.json"), { runner: "wasm", inputSize: 96 });
    try {
      const { size, data } = threeRegions();
      const f = await wide.encoder.encode({ data, height: size, width: size });
      assert.deepEqual([f.height, f.width], [3, 3]);
    } finally {
      await wide.dispose();
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

Deno.test("segment --labels / --labels-file: class and score per segment in the JSON (look-alike CLIP)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sidecar = await installLookAlike(dir);
    const size = 64;
    const data = new Float32Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) data[(y * size + x) * 3 + (x < 32 ? 0 : y < 32 ? 1 : 2)] = 1;
    }
    const input = join(dir, "three.png");
    await Deno.writeFile(input, encodeRgbPng({ data, height: size, width: size }));
    const common = [
      input,
      "--encoder",
      "rgb-grid",
      "--no-refine",
      "--segments",
      "3",
      "--open-vocab",
      sidecar,
    ];
    const byList = await run([...common, "--labels", "cat,sofa", "--out", join(dir, "a")]);
    assert.equal(byList.code, 0, byList.err);
    assert.match(byList.out, /labels: 0 \w+ \(\d\.\d\d\), 1 /);
    const json = JSON.parse(await Deno.readTextFile(join(dir, "a", "three.json")));
    const labels = new Map<number, string>(
      json.segments.map((s: { label: number; class: string }) => [s.label, s.class]),
    );
    assert.deepEqual([...labels.values()].sort(), ["cat", "cat", "sofa"]);
    for (const s of json.segments) assert.ok(s.score > 0.5 && s.score <= 1, `${s.score}`);
    // The overlay gets a legend panel below the 64×64 image: the "sofa 0.xx" entry widens it to 71 pixels and
    // three rows of entries add 4 + 3·11 − 4 + 4 = 37; each swatch is its segment's overlay colour.
    const overlay = await loadImage(join(dir, "a", "three.overlay.png"));
    assert.deepEqual([overlay.width, overlay.height], [71, 64 + 37]);
    for (const k of [0, 1, 2]) {
      const at = ((64 + 4 + 11 * k) * overlay.width + 4) * 3;
      assert.deepEqual(
        [...overlay.data.subarray(at, at + 3)].map((v) => Math.round(v * 255)),
        segmentColor(k),
      );
    }
    await Deno.writeTextFile(join(dir, "classes.txt"), "# two classes\ncat\nsofa,couch\n");
    const byFile = await run([...common, "--labels-file", join(dir, "classes.txt"), "--out", join(dir, "b")]);
    assert.equal(byFile.code, 0, byFile.err);
    const names = JSON.parse(await Deno.readTextFile(join(dir, "b", "three.json"))).segments.map((
      s: { class: string },
    ) => s.class);
    assert.deepEqual(names.sort(), ["cat", "cat", "sofa, couch"]);
    const both = await run([...common, "--labels", "cat", "--labels-file", join(dir, "classes.txt")]);
    assert.equal(both.code, 1);
    assert.match(both.err, /--labels and --labels-file contradict/);
    const alone = await run([input, "--encoder", "rgb-grid", "--open-vocab", sidecar]);
    assert.match(alone.err, /--open-vocab needs --labels/);
    // --clip-size: the CLIP sees a 128² input (4×4 cells); the regions keep their classes.
    const big = await run([...common, "--labels", "cat,sofa", "--clip-size", "128", "--out", join(dir, "c")]);
    assert.equal(big.code, 0, big.err);
    const bigNames = JSON.parse(await Deno.readTextFile(join(dir, "c", "three.json"))).segments.map((
      s: { class: string },
    ) => s.class);
    assert.deepEqual(bigNames.sort(), ["cat", "cat", "sofa"]);
    for (const bad of ["100", "0", "16", "-32"]) {
      const r = await run([...common, "--labels", "cat", `--clip-size=${bad}`, "--out", join(dir, "d")]);
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        `error: Invalid --clip-size ${bad}: expected a positive multiple of 32 (the stride of CLIP 'convnext-clip')`,
      );
    }
    const half = await run([...common, "--labels", "cat", "--clip-size", "64.5"]);
    assert.equal(half.err, `error: Invalid --clip-size "64.5": expected an integer`);
    const noLabels = await run([input, "--encoder", "rgb-grid", "--clip-size", "64"]);
    assert.equal(noLabels.err, "error: Option --clip-size needs --labels or --labels-file");
    assert.deepEqual(await listing(join(dir, "d")), []); // nothing written for a bad size
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
