/**
 * Durability of evaluation runs: resuming after a (simulated) kill loses and duplicates nothing, a cut-off last
 * line is dropped, shards merged equal the single run, and merge refuses mismatched runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDataset } from "../../lib/datasets/open_dataset.ts";
import { createColorEncoder } from "../../lib/encoder/color_encoder.ts";
import { openRecordLog, readRecords } from "../../lib/eval/records.ts";
import { mergeRuns } from "../../lib/eval/report.ts";
import { runEval } from "../../lib/eval/run_eval.ts";
import { encodeLabelPng, encodeRgbPng } from "../../lib/image/encode_png.ts";
import { withTempDir } from "../datasets/_synthetic_layouts.ts";
import { testSettings } from "./_settings.ts";

const RGB = { id: "rgb-grid", sha256: null, standIn: true };

/** A VOC folder of `count` small two-colour images whose split point varies, so that scores differ per image. */
async function makeFolder(root: string, count: number): Promise<void> {
  await Deno.mkdir(join(root, "JPEGImages"), { recursive: true });
  await Deno.mkdir(join(root, "SegmentationClassPNG"), { recursive: true });
  await Deno.writeTextFile(join(root, "class_names.txt"), "_background_\nred\nblue\n");
  const w = 72, h = 64;
  for (let k = 0; k < count; k++) {
    const split = 16 + 6 * k;
    const data = new Float32Array(w * h * 3);
    const labels = new Int32Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const left = x < split;
        data.set(left ? [0.9, 0.2, 0.1] : y < 20 ? [0.5, 0.5, 0.5] : [0.1, 0.2, 0.9], (y * w + x) * 3);
        labels[y * w + x] = left ? 1 : y < 24 ? 0 : 2;
      }
    }
    await Deno.writeFile(join(root, "JPEGImages", `im${k}.png`), encodeRgbPng({ data, height: h, width: w }));
    await Deno.writeFile(
      join(root, "SegmentationClassPNG", `im${k}.png`),
      encodeLabelPng({ data: labels, height: h, width: w }),
    );
  }
}

const SETTINGS = testSettings({ methods: ["diffcut", "kmeans"], taus: [0.1, 0.5], encoderSize: 256 });

Deno.test("runEval: resume after a kill mid-run loses and duplicates nothing", async () => {
  await withTempDir(async (dir) => {
    await makeFolder(join(dir, "data"), 5);
    const dataset = await openDataset("voc-folder", join(dir, "data"));
    const base = { dataset, encoder: createColorEncoder(), encoderInfo: RGB, settings: SETTINGS };
    const full = await runEval({ ...base, outDir: join(dir, "full") });
    assert.equal(full.images, 5);

    const out = join(dir, "resumed");
    const first = await runEval({ ...base, outDir: out, stopAfter: 2 });
    assert.deepEqual([first.images, first.expectedImages, first.timing.imagesThisSession], [2, 5, 2]);
    // The kill hit while the third line was being written: half a line, no newline.
    const log = join(out, "records.jsonl");
    const third = JSON.stringify({ id: "im2", index: 2, results: {}, ms: {} });
    await Deno.writeTextFile(log, third.slice(0, 25), { append: true });
    const second = await runEval({ ...base, outDir: out });
    assert.equal(second.timing.imagesThisSession, 3);
    const { records, validBytes, size } = await readRecords(log);
    assert.equal(validBytes, size, "no partial line left");
    assert.deepEqual(records.map((r) => r.id), ["im0", "im1", "im2", "im3", "im4"]);
    for (const [k, row] of second.rows.entries()) {
      assert.equal(row.miou, full.rows[k].miou, row.key);
      assert.deepEqual([row.tp, row.fp, row.fn], [full.rows[k].tp, full.rows[k].fp, full.rows[k].fn]);
    }
    // A third session has nothing left to do and computes nothing.
    const third2 = await runEval({ ...base, outDir: out });
    assert.equal(third2.timing.imagesThisSession, 0);
    assert.equal((await readRecords(log)).records.length, 5);
  });
});

Deno.test("records: a complete but invalid line is an error naming the file and line", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "records.jsonl");
    await Deno.writeTextFile(path, '{"id":"a","results":{}}\nnot json\n');
    await assert.rejects(
      () => openRecordLog(path),
      /Invalid record at .*records\.jsonl:2: expected one JSON object per line/,
    );
    await Deno.writeTextFile(path, '{"id":"a","results":{}}\n{"id":"b","res');
    const log = await openRecordLog(path);
    assert.equal(log.droppedBytes, 14); // `{"id":"b","res`
    assert.deepEqual([...log.records.keys()], ["a"]);
    await log.append({ id: "c", index: 2, results: {}, ms: {} });
    log.close();
    assert.equal(
      await Deno.readTextFile(path),
      '{"id":"a","results":{}}\n{"id":"c","index":2,"results":{},"ms":{}}\n',
    );
  });
});

Deno.test("runEval shards + mergeRuns equal the single run; merge rejects other settings", async () => {
  await withTempDir(async (dir) => {
    await makeFolder(join(dir, "data"), 5);
    const dataset = await openDataset("voc-folder", join(dir, "data"));
    const base = { dataset, encoder: createColorEncoder(), encoderInfo: RGB, settings: SETTINGS };
    const single = await runEval({ ...base, outDir: join(dir, "single") });
    const s0 = await runEval({ ...base, outDir: join(dir, "s0"), shard: { index: 0, count: 2 } });
    const s1 = await runEval({ ...base, outDir: join(dir, "s1"), shard: { index: 1, count: 2 } });
    assert.deepEqual([s0.images, s1.images], [3, 2]);
    const merged = await mergeRuns([join(dir, "s0"), join(dir, "s1")]);
    assert.equal(merged.images, 5);
    assert.equal(merged.expectedImages, 5);
    assert.deepEqual(merged.rows, single.rows);
    // Merging a shard twice (or with the single run) counts every image once.
    const again = await mergeRuns([join(dir, "s0"), join(dir, "s1"), join(dir, "single")]);
    assert.deepEqual(again.rows, single.rows);
    await runEval({ ...base, settings: { ...SETTINGS, taus: [0.3] }, outDir: join(dir, "other"), limit: 1 });
    await assert.rejects(
      () => mergeRuns([join(dir, "s0"), join(dir, "other")]),
      /Cannot merge '.*other' with '.*s0': their dataset differ|their settings differ/,
    );
    await assert.rejects(() => mergeRuns([join(dir, "nope")]), /Missing '.*nope\/run\.json'/);
  });
});
