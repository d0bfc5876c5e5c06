/**
 * End to end: the default segmenter (`createSegmenter()`: ISNet with its sidecar's defaults) on the first labelled
 * photo of Debian's `labelme-examples`, whole and uncropped (calibrate's default protocol; per-image Hungarian
 * mIoU), and cross-checked against `scoreGrid` from the calibration task. One ISNet encode (~7 s on the wasm backend). Skipped when labelme-examples is not installed.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  type CalibrationImage,
  LABELME_VOC_FOLDERS,
  loadCalibrationImages,
  scoreGrid,
} from "../../lib/cli/calibrate.ts";
import { readVocFolder } from "../../lib/datasets/voc_folder.ts";
import { perImageMiou } from "../../lib/eval/matching.ts";
import { loadImage } from "../../lib/image/load_image.ts";
import { loadLabelMap } from "../../lib/image/load_labels.ts";
import { compactLabels, createSegmenter } from "../../lib/segmenter.ts";
import { assignConcepts } from "../../lib/stages.ts";

const VOC = LABELME_VOC_FOLDERS[0];
const available = existsSync(VOC);
if (!available) {
  console.log(`ignoring the labelme/ISNet end-to-end test: labelme-examples is not installed (${VOC})`);
}

Deno.test({
  name: "e2e: default ISNet segmenter on a labelme-examples VOC photo scores like its calibration",
  ignore: !available,
  fn: async () => {
    const folder = await readVocFolder(VOC);
    assert.equal(folder.samples[0].id, "2011_000003");
    // The whole image, as a user gives it (`deno task calibrate`'s default protocol): classes remapped per folder.
    const [image0] = await loadCalibrationImages(
      [{ ...folder, samples: folder.samples.slice(0, 1) }],
      (im) =>
        Promise.resolve({
          data: new Float32Array(im.height * im.width * 0),
          height: 0,
          width: 0,
          channels: 0,
        }),
      () => {},
      "whole",
    );
    const whole = await loadImage(folder.samples[0].imagePath);
    const fullGt = (await loadLabelMap(folder.samples[0].labelPath)).data;
    const classes = [...new Set(fullGt)].filter((v) => v !== 255).sort((a, b) => a - b);
    const remap = new Map(classes.map((c, i) => [c, i]));
    const gtFull = Int32Array.from(fullGt, (v) => remap.get(v) ?? -1);

    // outputSize 128: assignment and PAMR run at the scoring size, on the scoring image itself.
    const seg = await createSegmenter({ outputSize: 128 });
    try {
      assert.equal(seg.encoder.id, "isnet");
      const d = seg.encoder.defaults;
      assert.deepEqual(
        [
          seg.options.tau,
          seg.options.alpha,
          seg.options.selfLoops,
          seg.options.maxSegments,
          seg.options.refine,
          seg.options.stopRule,
          seg.options.borderRing,
        ],
        [d.tau, d.alpha, d.selfLoops ?? true, d.maxSegments, true, d.stopRule, d.borderRing],
      );
      const r = await seg.segment(whole);
      assert.deepEqual([r.height, r.width], [whole.height, whole.width]);
      assert.deepEqual(r.workSize, { height: image0.scoringImage.height, width: image0.scoringImage.width });
      assert.deepEqual([r.features.height, r.features.width, r.features.channels], [32, 32, 512]);
      const predNoRefine = compactLabels(await assignConcepts(r.features, r.gridLabels, r.workSize)).compact;
      const miou = perImageMiou(r.labels, gtFull, classes.length);
      const miouNoRefine = perImageMiou(predNoRefine, image0.gt, image0.nClasses);
      console.log(
        `2011_000003 (whole): ${r.segments} segments, per-image mIoU ${
          (100 * miou).toFixed(1)
        } (PAMR, full size) / ` +
          `${(100 * miouNoRefine).toFixed(1)} (no PAMR, 128), encode ${
            (r.timings.encode / 1000).toFixed(1)
          } s`,
      );
      assert.ok(r.segments >= 2 && r.segments <= 20, `${r.segments} segments`);
      // Measured: 2 segments, mIoU 0.55 (PAMR). One segment scores 0.29 on this image.
      assert.ok(miou > 0.45, `per-image mIoU with PAMR ${miou}, expected > 0.45`);

      // The calibration task's scorer gives the same numbers from the same features.
      const image: CalibrationImage = { ...image0, features: r.features };
      const rows = await scoreGrid([image], {
        alphas: [seg.options.alpha],
        taus: [seg.options.tau],
        selfLoops: [seg.options.selfLoops],
        refine: [false, true],
        cap: seg.options.maxSegments ?? 1024,
        stopRules: [seg.options.stopRule],
        ratios: [seg.options.tau],
        rings: [seg.options.borderRing],
      });
      assert.deepEqual(
        rows.map((row) => [row.refine, row.meanSegments, row.capped]),
        [[false, r.gridLabels.reduce((m, v) => Math.max(m, v + 1), 0), 0], [
          true,
          r.gridLabels.reduce((m, v) => Math.max(m, v + 1), 0),
          0,
        ]],
      );
      assert.equal(rows[0].meanImageMiou, miouNoRefine);
    } finally {
      await seg.dispose();
    }
  },
});
