import assert from "node:assert/strict";
import {
  COLOR_ENCODER_DEFAULTS,
  createColorEncoder,
  meanColorGrid,
} from "../../lib/encoder/color_encoder.ts";
import type { ImageRGB } from "../../lib/types.ts";

function image(height: number, width: number, pixel: (y: number, x: number) => number[]): ImageRGB {
  const data = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(y, x), (y * width + x) * 3);
  return { data, height, width };
}

Deno.test("meanColorGrid averages each cell", () => {
  // 4x4 image, 2x2 grid: each cell is a 2x2 block.
  const img = image(4, 4, (y, x) => [y, x, (y * 4 + x) / 16]);
  const map = meanColorGrid(img, 2);
  assert.deepEqual([map.height, map.width, map.channels], [2, 2, 3]);
  const expected = [
    [0.5, 0.5, (0 + 1 + 4 + 5) / 64],
    [0.5, 2.5, (2 + 3 + 6 + 7) / 64],
    [2.5, 0.5, (8 + 9 + 12 + 13) / 64],
    [2.5, 2.5, (10 + 11 + 14 + 15) / 64],
  ].flat();
  assert.deepEqual(Array.from(map.data), expected.map(Math.fround));
});

Deno.test("meanColorGrid: uneven and smaller-than-grid images still fill every cell", () => {
  // 5 columns on a 2-cell grid: cells cover columns 0..1 and 2..4.
  const uneven = meanColorGrid(image(1, 5, (_, x) => [x, 0, 0]), 2);
  assert.deepEqual([uneven.height, uneven.width], [2, 2]);
  assert.deepEqual([uneven.data[0], uneven.data[3]], [0.5, 3]);
  // 3x3 image on a 4x4 grid: cell starts floor(g * 3 / 4) = 0, 0, 1, 2 (one pixel each).
  const small = meanColorGrid(image(3, 3, (y, x) => [y, x, 1]), 4);
  const rows = Array.from({ length: 4 }, (_, g) => small.data[(g * 4) * 3]);
  const cols = Array.from({ length: 4 }, (_, g) => small.data[g * 3 + 1]);
  assert.deepEqual(rows, [0, 0, 1, 2]);
  assert.deepEqual(cols, [0, 0, 1, 2]);
  assert.ok(small.data.every((v) => Number.isFinite(v)));
});

Deno.test("createColorEncoder: id, defaults, 32x32x3 map and validation", async () => {
  const encoder = createColorEncoder();
  assert.equal(encoder.id, "rgb-grid");
  assert.deepEqual(encoder.defaults, { tau: 0.5, alpha: 10, inputSize: 1024 });
  assert.equal(encoder.defaults, COLOR_ENCODER_DEFAULTS);
  assert.ok(Object.isFrozen(encoder.defaults));
  const halves = image(64, 96, (_, x) => (x < 48 ? [0.9, 0.1, 0.1] : [0.1, 0.2, 0.9]));
  const map = await encoder.encode(halves);
  assert.deepEqual([map.height, map.width, map.channels], [32, 32, 3]);
  assert.deepEqual(Array.from(map.data.subarray(0, 3)), [0.9, 0.1, 0.1].map(Math.fround));
  assert.deepEqual(Array.from(map.data.subarray(31 * 3, 32 * 3)), [0.1, 0.2, 0.9].map(Math.fround));
  await assert.rejects(
    encoder.encode({ data: new Float32Array(5), height: 1, width: 2 }),
    /^TypeError: Image data has 5/,
  );
  await encoder.dispose();
  assert.equal((await createColorEncoder({ grid: 8 }).encode(halves)).height, 8);
  assert.throws(
    () => createColorEncoder({ grid: 0 }),
    /^RangeError: Grid must be a positive integer, got 0$/,
  );
});
