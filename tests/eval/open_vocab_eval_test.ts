/**
 * `deno task eval --open-vocab` end to end on a generated VOC folder with the look-alike CLIP
 * (tests/openvocab/_clip_models.ts), against counts worked out by hand; and the class-map counting alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../lib/cli/eval.ts";
import { classMapCounts, classMapOf } from "../../lib/eval/open_vocab_scoring.ts";
import { encodeLabelPng, encodeRgbPng } from "../../lib/image/encode_png.ts";
import { installLookAlike } from "../openvocab/_clip_models.ts";
import { withTempDir } from "../datasets/_synthetic_layouts.ts";

Deno.test("classMapCounts: TP/FP/FN per class without matching; ignore and void", () => {
  const gt = Int32Array.from([0, 0, 1, 1, 2, -1, 7]);
  const pred = Int32Array.from([0, 1, 1, -1, 0, 2, 0]);
  const c = classMapCounts(pred, gt, 3);
  // Pixel 3 is void: a miss of class 1, nobody's false positive. Pixels 5 and 6 are ignored.
  assert.deepEqual([[...c.tp], [...c.fp], [...c.fn], c.valid], [[1, 1, 0], [1, 1, 0], [1, 1, 1], 5]);
  assert.throws(() => classMapCounts(Int32Array.from([3]), Int32Array.from([0]), 3), /class 3 at pixel 0/);
  assert.throws(() => classMapCounts(new Int32Array(2), new Int32Array(3), 3), /2 predictions for 3 pixels/);
  const named = [
    { segment: 4, label: 1, name: "b", score: 1, logit: 1, cells: 1 },
    { segment: 9, label: -1, name: "void", score: 1, logit: 1, cells: 1 },
  ];
  assert.deepEqual([...classMapOf(Int32Array.from([9, 4, 4]), named)], [-1, 1, 1]);
  assert.throws(() => classMapOf(Int32Array.from([5]), named), /Segment 5 has no class/);
});

/**
 * A VOC folder with one 65×65 image (its centre crop is the top-left 64×64): left half red, top-right green,
 * bottom-right blue. Classes (no background, 255 ignored): 0 cat on the left half, 2 couch top-right, 1 sofa on
 * rows 32..47 of the bottom right, and rows 48..63 there ignored.
 */
async function makeFolder(root: string, names: string | null): Promise<void> {
  await Deno.mkdir(join(root, "JPEGImages"), { recursive: true });
  await Deno.mkdir(join(root, "SegmentationClassPNG"), { recursive: true });
  if (names !== null) await Deno.writeTextFile(join(root, "class_names.txt"), names);
  const n = 65;
  const data = new Float32Array(n * n * 3);
  const labels = new Int32Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      data[(y * n + x) * 3 + (x < 32 ? 0 : y < 32 ? 1 : 2)] = 1;
      labels[y * n + x] = x < 32 ? 0 : y < 32 ? 2 : y < 48 ? 1 : 255;
    }
  }
  await Deno.writeFile(join(root, "JPEGImages", "im.png"), encodeRgbPng({ data, height: n, width: n }));
  await Deno.writeFile(
    join(root, "SegmentationClassPNG", "im.png"),
    encodeLabelPng({ data: labels, height: n, width: n }),
  );
}

/** Runs the eval CLI in this process, its console captured. */
async function evalCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    return { code: await main(args), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

interface Row {
  key: string;
  miou: number;
  pixelAccuracy: number;
  tp: number[];
  fp: number[];
  fn: number[];
  all: number;
}

Deno.test("eval --open-vocab: segments named by the CLIP among the dataset's classes, scored without matching", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "clip"));
    const clip = await installLookAlike(join(dir, "clip"));
    const root = join(dir, "voc");
    await makeFolder(root, "cat\nsofa\ncouch\n");
    // k-means with K 3 on the colour grid finds the three regions; nearest upsampling keeps them exact at 128².
    const base = [
      "--dataset",
      "voc-folder",
      "--root",
      root,
      "--encoder",
      "rgb-grid",
      "--method",
      "kmeans",
      "--k",
      "3",
      "--upsample",
      "nearest",
      "--no-progress",
    ];
    const ov = await evalCli([...base, "--open-vocab", clip, "--clip-size", "64", "--out", join(dir, "ov")]);
    assert.equal(ov.code, 0, ov.err);
    assert.match(ov.err, /open vocabulary \(CLIP convnext-clip at 64²\)/);
    const res = JSON.parse(await Deno.readTextFile(join(dir, "ov", "results.json")));
    const row: Row = res.rows[0];
    // At 128² the GT is the crop doubled: cat 128·64 = 8192 pixels, couch 64·64 = 4096, sofa 32·64 = 2048, and
    // 2048 ignored. The CLIP (2×2 cells at 64²) names red "cat" (cos 1), green "couch" (2/√5 > sofa's 1/√5) and
    // blue "cat" (5/√45 > couch's 4/√45 > sofa's 2/√45), so the sofa rows count against cat and for nobody:
    // IoU cat 8192/10240 = 0.8, sofa 0, couch 1; mIoU 0.6; accuracy 12288/14336.
    assert.deepEqual([row.tp, row.fp, row.fn, row.all], [[8192, 0, 4096], [2048, 0, 0], [0, 2048, 0], 14336]);
    assert.ok(Math.abs(row.miou - 0.6) < 1e-12, `${row.miou}`);
    assert.ok(Math.abs(row.pixelAccuracy - 12288 / 14336) < 1e-12);
    assert.equal(res.config.settings.protocol, "open-vocab");
    assert.equal(res.config.settings.clipSize, 64);
    assert.equal(res.config.openVocab.id, "convnext-clip");
    assert.match(
      await Deno.readTextFile(join(dir, "ov", "results.md")),
      /open vocabulary: segments named by CLIP/,
    );
    const records = (await Deno.readTextFile(join(dir, "ov", "records.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(records.map((r) => r.protocol), ["open-vocab"]);

    // The same segments under Hungarian matching: each region matched to its class, every IoU 1.
    const hu = await evalCli([...base, "--out", join(dir, "hu")]);
    assert.equal(hu.code, 0, hu.err);
    const huRes = JSON.parse(await Deno.readTextFile(join(dir, "hu", "results.json")));
    assert.equal(huRes.rows[0].miou, 1);
    assert.equal(huRes.config.settings.protocol, undefined);
    assert.equal(
      JSON.parse((await Deno.readTextFile(join(dir, "hu", "records.jsonl"))).trim()).protocol,
      "hungarian",
    );

    // A folder never mixes protocols: resuming the Hungarian run with --open-vocab is refused, and so is a record of
    // the other protocol slipped into the records.
    const mixed = await evalCli([
      ...base,
      "--open-vocab",
      clip,
      "--clip-size",
      "64",
      "--out",
      join(dir, "hu"),
    ]);
    assert.equal(mixed.code, 1);
    assert.match(mixed.err, /holds a run with a different settings/);
    const forged = { ...records[0], id: "other", index: 1, protocol: "hungarian" };
    await Deno.writeTextFile(join(dir, "ov", "records.jsonl"), JSON.stringify(forged) + "\n", {
      append: true,
    });
    const resumed = await evalCli([
      ...base,
      "--open-vocab",
      clip,
      "--clip-size",
      "64",
      "--out",
      join(dir, "ov"),
    ]);
    assert.equal(resumed.code, 1);
    assert.match(
      resumed.err,
      /Record 'other' in '.*records\.jsonl' was scored with the hungarian protocol; expected open-vocab/,
    );

    // Without --clip-size the CLIP sees the encoder's 1024² image (32×32 cells): same names, same counts.
    const dflt = await evalCli([...base, "--open-vocab", clip, "--out", join(dir, "dflt")]);
    assert.equal(dflt.code, 0, dflt.err);
    const dfltRes = JSON.parse(await Deno.readTextFile(join(dir, "dflt", "results.json")));
    assert.equal(dfltRes.config.settings.clipSize, 1024);
    assert.deepEqual(dfltRes.rows[0].tp, row.tp);
  });
});

Deno.test("eval --open-vocab: bad settings fail in one line before the dataset is read", async () => {
  await withTempDir(async (dir) => {
    const clip = await installLookAlike(dir);
    const missing = join(dir, "no-such-dataset");
    const base = ["--dataset", "voc-folder", "--root", missing, "--encoder", "rgb-grid", "--no-progress"];
    for (const bad of ["100", "16", "0"]) {
      const r = await evalCli([...base, "--open-vocab", clip, "--clip-size", bad]);
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        `error: Invalid --clip-size ${bad}: expected a positive multiple of 32 (the stride of CLIP 'convnext-clip')`,
      );
    }
    const alone = await evalCli([...base, "--clip-size", "64"]);
    assert.equal(alone.err, "error: Option --clip-size needs --open-vocab");
    const word = await evalCli([...base, "--open-vocab", clip, "--clip-size", "big"]);
    assert.equal(word.err, `error: Invalid --clip-size "big": expected numbers separated by commas`);
    // A bare --open-vocab means the registry's convnext-clip (not installed in an empty cache).
    const cache = Deno.env.get("DIFFCUT_CACHE_DIR");
    Deno.env.set("DIFFCUT_CACHE_DIR", join(dir, "empty-cache"));
    try {
      const bare = await evalCli([...base, "--open-vocab", "--clip-size", "64"]);
      assert.equal(bare.code, 1);
      assert.match(bare.err, /^error: Encoder 'convnext-clip' is not installed in /);
    } finally {
      if (cache === undefined) Deno.env.delete("DIFFCUT_CACHE_DIR");
      else Deno.env.set("DIFFCUT_CACHE_DIR", cache);
    }
    // Placeholder class names (no class_names.txt) cannot name segments.
    const root = join(dir, "voc");
    await makeFolder(root, null);
    const generic = await evalCli([
      ...base.slice(0, 3),
      root,
      ...base.slice(4),
      "--open-vocab",
      clip,
      "--clip-size",
      "64",
      "--out",
      join(dir, "out"),
    ]);
    assert.equal(generic.code, 1);
    assert.match(
      generic.err,
      /placeholder class names \(class 0, class 1, …\); the open-vocabulary protocol/,
    );
  });
});
