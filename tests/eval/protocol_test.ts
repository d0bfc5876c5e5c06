/**
 * `prepareEvalSample` on a VOC-sized 375×500 image: crop (side 374, left 63), encoder and scoring sizes, the
 * ground truth's `GT128[i, j] = GT1024[8i, 8j]`, and the size-mismatch error.
 */
import assert from "node:assert/strict";
import { prepareEvalSample } from "../../lib/eval/protocol.ts";
import { centerCropLabels, evalCropBox } from "../../lib/image/crop.ts";
import { resizeImage, resizeLabelsNearestExact } from "../../lib/image/resize.ts";
import type { ImageRGB, LabelMap } from "../../lib/types.ts";
import { assertAllClose } from "../_helpers.ts";

const H = 375, W = 500;

/** Red ramps along x, green along y: a pixel's colour says where it came from. */
const IMAGE: ImageRGB = {
  height: H,
  width: W,
  data: Float32Array.from({ length: H * W * 3 }, (_, i) => {
    const p = Math.floor(i / 3), c = i % 3;
    return c === 0 ? (p % W) / (W - 1) : c === 1 ? Math.floor(p / W) / (H - 1) : 0.5;
  }),
};
/** Row 187 is read by scoring row 64: (512 + 0.5)·374/1024 = 187.18. */
const IGNORE_ROW = 187;
/** Every pixel its own label `y·W + x`, except one row of ignore labels (255 would collide; use −7). */
const LABELS: LabelMap = {
  height: H,
  width: W,
  data: Int32Array.from({ length: H * W }, (_, p) => (Math.floor(p / W) === IGNORE_ROW ? -7 : p)),
};

Deno.test("prepareEvalSample: crop to 374², image at 1024² and 128², ground truth at 128²", () => {
  assert.deepEqual(evalCropBox(H, W), { top: 0, left: 63, size: 374 });
  const s = prepareEvalSample(IMAGE, LABELS);
  assert.deepEqual([s.image.height, s.image.width, s.image.data.length], [1024, 1024, 1024 * 1024 * 3]);
  assert.deepEqual([s.scoringImage.height, s.scoringImage.width, s.scoringImage.data.length], [
    128,
    128,
    128 * 128 * 3,
  ]);
  assert.deepEqual([s.labels.height, s.labels.width, s.labels.data.length], [128, 128, 128 * 128]);

  // The 1024² image is the crop resized bilinearly (align_corners=False): output d reads crop position
  // (d + 0.5)·374/1024 − 0.5, clamped to [0, 373]; the ramps make that position visible.
  const at = (d: number) => Math.min(Math.max((d + 0.5) * (374 / 1024) - 0.5, 0), 373);
  for (const d of [0, 1, 100, 511, 777, 1023]) {
    const px = (d * 1024 + 5) * 3; // row d, column 5
    const py = (5 * 1024 + d) * 3; // row 5, column d
    assertAllClose([s.image.data[py], s.image.data[px + 1], s.image.data[px + 2]], [
      (63 + at(d)) / 499,
      at(d) / 374,
      0.5,
    ], {
      atol: 1e-5,
      msg: `d=${d}`,
    });
  }
  // The scoring image is the 1024² image reduced bilinearly (no antialias): 128 output i reads 8i + 3.5.
  assert.deepEqual(s.scoringImage.data, resizeImage(s.image, 128, 128).data);
  for (const i of [3, 64, 120]) {
    const red = s.scoringImage.data[(10 * 128 + i) * 3];
    assertAllClose([red], [(63 + at(8 * i + 3.5)) / 499], { atol: 1e-5, msg: `i=${i}` });
  }

  // GT128[i, j] equals the nearest-exact 1024² map at [8i, 8j].
  const gt1024 = resizeLabelsNearestExact(centerCropLabels(LABELS), 1024, 1024);
  const nearestExact = (d: number) => Math.floor(Math.fround((d + 0.5) * Math.fround(374 / 1024)));
  for (let i = 0; i < 128; i++) {
    for (let j = 0; j < 128; j++) {
      const got = s.labels.data[i * 128 + j];
      assert.equal(got, gt1024.data[8 * i * 1024 + 8 * j], `(${i}, ${j})`);
      // … which is the original pixel (top 0 + row, left 63 + column) of the 375×500 map.
      const y = nearestExact(8 * i), x = 63 + nearestExact(8 * j);
      assert.equal(got, y === IGNORE_ROW ? -7 : y * W + x, `(${i}, ${j}) from (${y}, ${x})`);
    }
  }
  // Ignore labels are kept as they are: scoring row 64 is all ignore.
  assert.equal(nearestExact(8 * 64), IGNORE_ROW);
  assert.deepEqual(Array.from(s.labels.data.subarray(64 * 128, 65 * 128)), new Array(128).fill(-7));
  assert.equal(s.labels.data.filter((v) => v === -7).length, 128);
  // The last scoring row and column still come from inside the crop (row ≤ 373, column ≤ 436).
  const last = s.labels.data[128 * 128 - 1];
  assert.deepEqual([Math.floor(last / W), last % W], [nearestExact(1016), 63 + nearestExact(1016)]);
  assert.ok(nearestExact(1016) <= 373);
});

Deno.test("prepareEvalSample: encoder and scoring sizes are parameters", () => {
  const s = prepareEvalSample(IMAGE, LABELS, 64, 16);
  assert.deepEqual([s.image.height, s.image.width, s.scoringImage.height, s.labels.width], [64, 64, 16, 16]);
  const gt64 = resizeLabelsNearestExact(centerCropLabels(LABELS), 64, 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) assert.equal(s.labels.data[i * 16 + j], gt64.data[4 * i * 64 + 4 * j]);
  }
});

Deno.test("prepareEvalSample: an annotation of another size is rejected with both sizes", () => {
  const labels = { height: 500, width: 375, data: new Int32Array(H * W) };
  assert.throws(
    () => prepareEvalSample(IMAGE, labels),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "Annotation is 375×500 but its image is 500×375; expected equal sizes",
  );
});
