/**
 * `runEval` end to end on generated datasets in every benchmark layout, with hand-computed scores; the
 * configuration check; and the progress bar.
 *
 * The standard pair (tests/datasets/_synthetic_layouts.ts) is flat grey, so every method predicts one segment
 * (label 0 everywhere) and the scores follow from the 128² GT alone:
 * - image "a": class A on 96 of 128 rows (12288 px), B (a class, or background) on 32 rows (4096 px);
 * - image "b": void on 32 of 128 columns (4096 px), class A on 96 columns (12288 px).
 *
 * Without a background class (COCO-Stuff, Cityscapes, ADE20K): void is ignored. Image a: A takes cluster 0
 * (12288 > 4096): TP 12288, FP 4096; B: FN 4096. Image b: A: TP 12288. Totals: IoU(A) = 24576 / 28672 = 6/7,
 * IoU(B) = 0, every other class 0/0 → mIoU = 3/7; pixel accuracy = 24576 / 28672 = 6/7.
 *
 * Many-to-one (VOC20, Context, COCO-Object, VOC folder): B and void are background (class N−1). Image a: A
 * takes cluster 0: TP 12288, FP 4096; background: FN 4096. Image b likewise. IoU(A) = 24576 / 32768 = 3/4,
 * IoU(background) = 0 → mIoU = 3/8; pixel accuracy = 24576 / 32768 = 3/4.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDataset } from "../../lib/datasets/open_dataset.ts";
import { createColorEncoder } from "../../lib/encoder/color_encoder.ts";
import { ProgressBar } from "../../lib/eval/progress.ts";
import { readRunConfig } from "../../lib/eval/report.ts";
import { parseShard, runEval } from "../../lib/eval/run_eval.ts";
import { type Layout, type PairValues, withTempDir, writePair } from "../datasets/_synthetic_layouts.ts";
import { testSettings } from "./_settings.ts";

const RGB = { id: "rgb-grid", sha256: null, standIn: true };

interface Case {
  layout: Layout;
  dataset: string;
  values: PairValues;
  /** Class index of A and of B (or background) after mapping. */
  a: number;
  b: number;
  manyToOne: boolean;
}

const CASES: Case[] = [
  {
    layout: "voc20-d2",
    dataset: "voc20",
    values: { a: 14, b: 255, void: 255 },
    a: 14,
    b: 20,
    manyToOne: true,
  },
  {
    layout: "voc20-devkit",
    dataset: "voc20",
    values: { a: 15, b: 0, void: 255 },
    a: 14,
    b: 20,
    manyToOne: true,
  },
  {
    layout: "context",
    dataset: "context",
    values: { a: 5, b: 255, void: 255 },
    a: 5,
    b: 59,
    manyToOne: true,
  },
  {
    layout: "coco",
    dataset: "coco-object",
    values: { a: 0, b: 170, void: 255 },
    a: 0,
    b: 80,
    manyToOne: true,
  },
  {
    layout: "coco",
    dataset: "coco-stuff",
    values: { a: 0, b: 170, void: 255 },
    a: 9,
    b: 18,
    manyToOne: false,
  },
  {
    layout: "cityscapes",
    dataset: "cityscapes",
    values: { a: 26, b: 7, void: 0 },
    a: 19,
    b: 0,
    manyToOne: false,
  },
  { layout: "ade20k", dataset: "ade20k", values: { a: 1, b: 5, void: 255 }, a: 1, b: 5, manyToOne: false },
  {
    layout: "voc-folder",
    dataset: "voc-folder",
    values: { a: 1, b: 0, void: 255 },
    a: 0,
    b: 2,
    manyToOne: true,
  },
];

for (const c of CASES) {
  Deno.test(`runEval: ${c.dataset} (${c.layout}) gives the hand-computed mIoU for every method and mode`, async () => {
    await withTempDir(async (dir) => {
      const root = join(dir, "data");
      await writePair(root, c.layout, c.values);
      const dataset = await openDataset(c.dataset, root);
      const settings = testSettings({
        methods: ["diffcut", "kmeans", "kmeans-gt", "autosc"],
        taus: [0.2, 0.5],
        upsample: ["concept", "nearest"],
        refine: [false, true],
      });
      const res = await runEval({
        dataset,
        encoder: createColorEncoder(),
        encoderInfo: RGB,
        settings,
        outDir: join(dir, "out"),
      });
      assert.equal(res.images, 2);
      assert.equal(res.rows.length, (2 + 1 + 1 + 1) * 2 * 2);
      const [miou, acc, iouA] = c.manyToOne ? [3 / 8, 3 / 4, 3 / 4] : [3 / 7, 6 / 7, 6 / 7];
      for (const row of res.rows) {
        assert.ok(Math.abs(row.miou! - miou) < 1e-12, `${row.key}: mIoU ${row.miou}, expected ${miou}`);
        assert.ok(Math.abs(row.pixelAccuracy! - acc) < 1e-12, `${row.key}: accuracy ${row.pixelAccuracy}`);
        assert.ok(Math.abs(row.iou[c.a]! - iouA) < 1e-12, `${row.key}: IoU of A ${row.iou[c.a]}`);
        assert.equal(row.iou[c.b], 0);
        assert.equal(row.iou.filter((x) => x !== null).length, 2);
        assert.equal(row.tp[c.a], 24576);
        assert.equal(row.meanSegments, 1);
      }
      const md = await Deno.readTextFile(join(dir, "out", "results.md"));
      assert.match(
        md,
        new RegExp(`\\| diffcut \\| τ=0.5 \\| concept \\| no \\| ${(100 * miou).toFixed(1)} \\|`),
      );
      const csv = (await Deno.readTextFile(join(dir, "out", "results.csv"))).trim().split("\n");
      assert.equal(csv.length, 1 + res.rows.length);
      assert.match(csv[0], /^dataset,encoder,encoder_sha256,alpha/);
      const cfg = await readRunConfig(join(dir, "out"));
      assert.equal(cfg.dataset.nClasses, dataset.nClasses);
      assert.deepEqual(cfg.settings.taus, [0.2, 0.5]);
    });
  });
}

Deno.test("runEval: MaskCut rows and a real two-colour split on the generated layout", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await writePair(root, "voc-folder", { a: 1, b: 0, void: 255 });
    // Replace image a with a picture whose top 3/4 is red and bottom 1/4 blue (the GT's A / background split).
    const { encodeRgbPng } = await import("../../lib/image/encode_png.ts");
    const w = 1025, h = 1024;
    const data = new Float32Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) data.set(y < 760 ? [0.9, 0.1, 0.1] : [0.1, 0.2, 0.9], (y * w + x) * 3);
    }
    await Deno.remove(join(root, "JPEGImages", "img_a.jpg"));
    await Deno.writeFile(join(root, "JPEGImages", "img_a.png"), encodeRgbPng({ data, height: h, width: w }));
    const dataset = await openDataset("voc-folder", root);
    const res = await runEval({
      dataset,
      encoder: createColorEncoder(),
      encoderInfo: RGB,
      settings: testSettings({ methods: ["diffcut", "maskcut"], maskcutK: [1, 3] }),
      outDir: join(dir, "out"),
      limit: 1,
    });
    assert.equal(res.images, 1);
    // Red/blue are separated exactly: A and background both IoU 1.
    const diffcut = res.rows.find((r) => r.method === "diffcut")!;
    assert.equal(diffcut.miou, 1);
    assert.equal(diffcut.meanSegments, 2);
    for (const r of res.rows.filter((r) => r.method === "maskcut")) {
      assert.equal(r.miou, 1, `${r.key}`);
      assert.equal(r.meanSegments, 2);
    }
  });
});

Deno.test("runEval: refuses to resume into a folder holding other settings", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await writePair(root, "voc-folder", { a: 1, b: 0, void: 255 });
    const dataset = await openDataset("voc-folder", root);
    const base = {
      dataset,
      encoder: createColorEncoder(),
      encoderInfo: RGB,
      outDir: join(dir, "out"),
      limit: 1,
    };
    await runEval({ ...base, settings: testSettings() });
    await assert.rejects(
      () => runEval({ ...base, settings: testSettings({ taus: [0.3] }) }),
      /Output folder '.*out' holds a run with a different settings; expected the same settings to resume/,
    );
  });
});

Deno.test("parseShard and ProgressBar", () => {
  assert.deepEqual(parseShard("0/1"), { index: 0, count: 1 });
  assert.throws(() => parseShard("2/2"), /Invalid shard "2\/2": expected i\/n with 0 ≤ i < n/);
  assert.throws(() => parseShard("a"), /Invalid shard/);
  const lines: string[] = [];
  const bar = new ProgressBar("eval x", (s) => lines.push(s), false);
  bar.update(0, 4, 0);
  const line = bar.update(2, 4, 2);
  assert.match(line, /^eval x \[#{12}-{12}\] 2\/4 [\d.]+ img\/s ETA \d+s$/);
  assert.match(bar.update(4, 4, 4), /4\/4 .* ETA 0s$/);
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.endsWith("\n")));
});
