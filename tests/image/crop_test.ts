import assert from "node:assert/strict";
import { centerCropImage, centerCropLabels, evalCropBox } from "../../lib/image/crop.ts";

Deno.test("evalCropBox matches torchvision CenterCrop with side min(H, W) - 1", () => {
  // (H, W) -> size = min - 1; top = round((H - size) / 2), left = round((W - size) / 2), ties to even.
  const cases: [number, number, { top: number; left: number; size: number }][] = [
    [375, 500, { top: 0, left: 63, size: 374 }], // round(0.5) = 0, round(63) = 63
    [500, 375, { top: 63, left: 0, size: 374 }],
    [4, 4, { top: 0, left: 0, size: 3 }], // round(0.5) = 0 on both sides
    [5, 8, { top: 0, left: 2, size: 4 }], // round(0.5) = 0, round(2.0) = 2
    [377, 375, { top: 2, left: 0, size: 374 }], // round(1.5) = 2
    [379, 375, { top: 2, left: 0, size: 374 }], // round(2.5) = 2 (half to even)
    [381, 375, { top: 4, left: 0, size: 374 }], // round(3.5) = 4
    [2, 2, { top: 0, left: 0, size: 1 }],
    [2, 7, { top: 0, left: 3, size: 1 }], // round(3.0) = 3
    [2, 6, { top: 0, left: 2, size: 1 }], // round(2.5) = 2
  ];
  for (const [h, w, box] of cases) assert.deepEqual(evalCropBox(h, w), box, `${h}x${w}`);
});

Deno.test("evalCropBox refuses images smaller than 2x2", () => {
  for (const [h, w] of [[1, 5], [5, 1], [1, 1]]) {
    assert.throws(() => evalCropBox(h, w), {
      name: "RangeError",
      message: `Invalid image size ${h}x${w}: expected at least 2x2 for the evaluation crop`,
    });
  }
  assert.throws(() => evalCropBox(0, 5), RangeError);
  assert.throws(() => evalCropBox(4.5, 5), RangeError);
});

Deno.test("centerCropImage and centerCropLabels cut the same window", () => {
  const h = 5;
  const w = 8; // size 4 at (0, 2)
  const labels = { data: Int32Array.from({ length: h * w }, (_, i) => i), height: h, width: w };
  const image = { data: Float32Array.from({ length: h * w * 3 }, (_, i) => i / 1000), height: h, width: w };
  const croppedLabels = centerCropLabels(labels);
  assert.deepEqual([croppedLabels.height, croppedLabels.width], [4, 4]);
  assert.deepEqual(
    Array.from(croppedLabels.data),
    [
      [2, 3, 4, 5],
      [10, 11, 12, 13],
      [18, 19, 20, 21],
      [26, 27, 28, 29],
    ].flat(),
  );
  const croppedImage = centerCropImage(image);
  assert.deepEqual([croppedImage.height, croppedImage.width], [4, 4]);
  for (let p = 0; p < 16; p++) {
    const source = croppedLabels.data[p];
    assert.deepEqual(
      Array.from(croppedImage.data.subarray(p * 3, p * 3 + 3)),
      Array.from(image.data.subarray(source * 3, source * 3 + 3)),
    );
  }
  assert.notEqual(croppedImage.data.buffer, image.data.buffer);
});

Deno.test("centerCropImage keeps a 375x500 image's rows 0..373 and columns 63..436", () => {
  const image = { data: new Float32Array(375 * 500 * 3), height: 375, width: 500 };
  for (let y = 0; y < 375; y++) {
    for (let x = 0; x < 500; x++) image.data.set([y / 1000, x / 1000, 0.5], (y * 500 + x) * 3);
  }
  const cropped = centerCropImage(image);
  assert.deepEqual([cropped.height, cropped.width], [374, 374]);
  const at = (y: number, x: number) =>
    Array.from(cropped.data.subarray((y * 374 + x) * 3, (y * 374 + x) * 3 + 2));
  assert.deepEqual(at(0, 0), [0, 63 / 1000].map(Math.fround));
  assert.deepEqual(at(373, 373), [373 / 1000, 436 / 1000].map(Math.fround));
});

Deno.test("center crops check their inputs", () => {
  assert.throws(() => centerCropImage({ data: new Float32Array(3 * 5), height: 1, width: 5 }), RangeError);
  assert.throws(() => centerCropImage({ data: new Float32Array(10), height: 2, width: 2 }), TypeError);
  assert.throws(() => centerCropLabels({ data: new Int32Array(4), height: 2, width: 3 }), TypeError);
});
