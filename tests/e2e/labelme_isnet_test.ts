/**
 * End to end: the default segmenter (`createSegmenter()`: ISNet with its sidecar's τ, α and self-loop setting) on
 * the first labelled photo of Debian's `labelme-examples`, scored with the reference protocol (crop, 1024²
 * encoder input, 128² scoring, per-image Hungarian mIoU), and cross-checked against `scoreGrid` from the
 * calibration task. One ISNet encode (~7 s on the wasm backend). Skipped when labelme-examples is not installed.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { type CalibrationImage, LABELME_VOC_FOLDERS, scoreGrid } from "../../lib/cli/calibrate.ts";
import { readVocFolder } from "../../lib/datasets/voc_folder.ts";
import { perImageMiou } from "../../lib/eval/matching.ts";
import { prepareEvalSample } from "../../lib/eval/protocol.ts";
import { loadImage } from "../../lib/image/load_image.ts";
import { loadLabelMap } from "../../lib/image/load_labels.ts";
import { resizeLabelsNearest } from "../../lib/image/resize.ts";
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
    // Classes are remapped per folder, as `deno task calibrate` does: collect them over the folder at 128².
    const prepared = [];
    for (const s of folder.samples) {
      prepared.push(prepareEvalSample(await loadImage(s.imagePath), await loadLabelMap(s.labelPath)));
    }
    const classes = [...new Set(prepared.flatMap((p) => [...p.labels.data]))].filter((v) => v !== 255).sort((
      a,
      b,
    ) => a - b);
    const remap = new Map(classes.map((c, i) => [c, i]));
    const sample = prepared[0];
    const gt = Int32Array.from(sample.labels.data, (v) => remap.get(v) ?? -1);

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
        ],
        [d.tau, d.alpha, d.selfLoops ?? true, d.maxSegments, true],
      );
      const r = await seg.segment(sample.image);
      assert.deepEqual([r.height, r.width, r.workSize], [1024, 1024, { height: 128, width: 128 }]);
      assert.deepEqual([r.features.height, r.features.width, r.features.channels], [32, 32, 512]);
      // The 1024² labels are the 128² work map repeated 8×8, so legacy-nearest reduction recovers it exactly.
      const pred = resizeLabelsNearest({ data: r.labels, height: 1024, width: 1024 }, 128, 128).data;
      const predNoRefine =
        compactLabels(await assignConcepts(r.features, r.gridLabels, { height: 128, width: 128 })).compact;
      const miou = perImageMiou(pred, gt, classes.length);
      const miouNoRefine = perImageMiou(predNoRefine, gt, classes.length);
      console.log(
        `2011_000003: ${r.segments} segments, per-image mIoU ${(100 * miou).toFixed(1)} (PAMR) / ` +
          `${(100 * miouNoRefine).toFixed(1)} (no PAMR), encode ${(r.timings.encode / 1000).toFixed(1)} s`,
      );
      assert.ok(r.segments >= 2 && r.segments <= 20, `${r.segments} segments`);
      // Measured: 2 segments, mIoU 0.556 (PAMR) and 0.569 (no PAMR). Thresholds leave a 0.1 margin and stay well
      // above trivial predictions on this image (one segment 0.27, top/bottom halves 0.31, a centred box 0.37).
      assert.ok(miou > 0.45, `per-image mIoU with PAMR ${miou}, expected > 0.45`);
      assert.ok(miouNoRefine > 0.46, `per-image mIoU without PAMR ${miouNoRefine}, expected > 0.46`);

      // The calibration task's scorer gives the same numbers from the same features.
      const image: CalibrationImage = {
        id: "2011_000003",
        group: VOC,
        features: r.features,
        scoringImage: sample.scoringImage,
        gt,
        nClasses: classes.length,
      };
      const rows = await scoreGrid([image], {
        alphas: [seg.options.alpha],
        taus: [seg.options.tau],
        selfLoops: [seg.options.selfLoops],
        refine: [false, true],
        cap: seg.options.maxSegments ?? 1024,
      });
      assert.deepEqual(
        rows.map((row) => [row.refine, row.meanImageMiou, row.meanSegments, row.capped]),
        [[false, miouNoRefine, r.segments, 0], [true, miou, r.segments, 0]],
      );
    } finally {
      await seg.dispose();
    }
  },
});
