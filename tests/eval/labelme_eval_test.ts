/**
 * End to end with the real encoder: `deno task eval`'s runner on Debian's labelme-examples VOC folder (3 images)
 * with the ISNet encoder. Ignored, with a message, when the package is not installed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDataset } from "../../lib/datasets/open_dataset.ts";
import { loadEncoder } from "../../lib/encoder/load_encoder.ts";
import { encoderIdentity } from "../../lib/eval/encoder_identity.ts";
import { runEval } from "../../lib/eval/run_eval.ts";
import { withTempDir } from "../datasets/_synthetic_layouts.ts";
import { testSettings } from "./_settings.ts";

const ROOT = "/usr/share/doc/labelme-examples/examples/semantic_segmentation/data_dataset_voc";
let present = false;
try {
  present = Deno.statSync(ROOT).isDirectory;
} catch { /* not installed */ }
if (!present) console.log(`labelme-examples not installed (${ROOT} missing): ISNet evaluation test ignored`);

Deno.test({
  name: "runEval: labelme-examples VOC folder with ISNet, DiffCut and k-means, end to end",
  ignore: !present,
  async fn() {
    const dataset = await openDataset("voc-folder", ROOT);
    assert.equal(dataset.samples.length, 3);
    const encoder = await loadEncoder("isnet");
    try {
      const encoderInfo = await encoderIdentity(encoder);
      assert.match(encoderInfo.sha256 ?? "", /^[0-9a-f]{64}$/);
      await withTempDir(async (dir) => {
        const d = encoder.defaults;
        const res = await runEval({
          dataset,
          encoder,
          encoderInfo,
          settings: testSettings({
            methods: ["diffcut", "kmeans"],
            taus: [d.tau],
            alpha: d.alpha,
            selfLoops: d.selfLoops ?? true,
            maxSegments: d.maxSegments ?? null,
            kmeansK: [6],
          }),
          outDir: join(dir, "out"),
          limit: 3,
        });
        assert.equal(res.images, 3);
        for (const row of res.rows) {
          assert.ok(row.miou! > 0.1 && row.miou! <= 1, `${row.key}: mIoU ${row.miou}`);
          assert.ok(row.pixelAccuracy! > 0.5, `${row.key}: accuracy ${row.pixelAccuracy}`);
        }
        assert.ok(res.rows[0].meanSegments >= 2);
        assert.ok(res.timing.imagesPerSecond! > 0);
        const md = await Deno.readTextFile(join(dir, "out", "results.md"));
        assert.match(md, /encoder `isnet` \(sha256 [0-9a-f]{12}…\)/);
      });
    } finally {
      await encoder.dispose();
    }
  },
});
