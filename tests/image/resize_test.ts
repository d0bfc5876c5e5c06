import assert from "node:assert/strict";
import {
  resizeBilinear,
  resizeImage,
  resizeLabelsNearest,
  resizeLabelsNearestExact,
} from "../../lib/image/resize.ts";
import type { LabelMap } from "../../lib/types.ts";

interface BilinearCase {
  height: number;
  width: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  input: number[];
  expected: number[];
}

const VECTORS: { cases: BilinearCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/bilinear_numpy_vectors.json", import.meta.url)),
);

Deno.test("resizeBilinear upsamples 2x2 to 4x4 as derived by hand", () => {
  // Per axis: scale = 2/4 = 0.5, src = 0.5 (d + 0.5) - 0.5 = -0.25, 0.25, 0.75, 1.25.
  // d=0: clamped to 0 -> v0. d=1: 0.75 v0 + 0.25 v1. d=2: 0.25 v0 + 0.75 v1.
  // d=3: i0 = min(1, 1) = 1 = i1 (last pixel), l1 = 0.25 -> 0.75 v1 + 0.25 v1 = v1.
  // Rows [0, 1] -> [0, 0.25, 0.75, 1]; [2, 3] -> [2, 2.25, 2.75, 3]; the columns mix them the same way.
  const out = resizeBilinear(Float32Array.of(0, 1, 2, 3), 2, 2, 1, 4, 4);
  assert.deepEqual(
    Array.from(out),
    [
      [0, 0.25, 0.75, 1],
      [0.5, 0.75, 1.25, 1.5],
      [1.5, 1.75, 2.25, 2.5],
      [2, 2.25, 2.75, 3],
    ].flat(),
  );
});

Deno.test("resizeBilinear downsamples 4x4 to 2x2 by averaging 2x2 blocks (no antialiasing)", () => {
  // scale 2: src = 2 (d + 0.5) - 0.5 = 0.5, 2.5 -> pixels (0, 1) and (2, 3), weights 0.5 and 0.5.
  const input = Float32Array.from({ length: 16 }, (_, i) => i);
  assert.deepEqual(Array.from(resizeBilinear(input, 4, 4, 1, 2, 2)), [2.5, 4.5, 10.5, 12.5]);
  // scale 4 (8 -> 2): src = 1.5, 5.5, so only columns 1, 2 and 5, 6 are read; the rest is ignored.
  const row = Float32Array.of(100, 0, 2, 100, 100, 4, 6, 100);
  assert.deepEqual(Array.from(resizeBilinear(row, 1, 8, 1, 1, 2)), [1, 5]);
});

Deno.test("resizeBilinear handles a non-dyadic scale and several channels", () => {
  // 3 -> 2: scale 1.5, src = 0.25 and 1.75: 0.75 v0 + 0.25 v1 and 0.25 v1 + 0.75 v2.
  // Two channels interleaved: [0, 10], [4, 20], [8, 40].
  const out = resizeBilinear(Float32Array.of(0, 10, 4, 20, 8, 40), 1, 3, 2, 1, 2);
  assert.deepEqual(Array.from(out), [1, 12.5, 7, 35]);
});

Deno.test("resizeBilinear copies an axis whose size does not change", () => {
  const input = Float32Array.from({ length: 3 * 4 * 5 }, (_, i) => Math.sin(i) * 1e3);
  assert.deepEqual(resizeBilinear(input, 3, 4, 5, 3, 4), input);
  // Width unchanged, height 3 -> 1 (src = 1): the middle row exactly.
  assert.deepEqual(resizeBilinear(input, 3, 4, 5, 1, 4), input.subarray(20, 40));
});

Deno.test("resizeBilinear matches the float32 numpy vectors bit for bit", () => {
  let mismatchesInFloat64 = 0;
  for (const c of VECTORS.cases) {
    const input = Float32Array.from(c.input);
    const out = resizeBilinear(input, c.height, c.width, c.channels, c.outHeight, c.outWidth);
    const expected = Float32Array.from(c.expected);
    assert.deepEqual(out, expected, `${c.height}x${c.width}x${c.channels} -> ${c.outHeight}x${c.outWidth}`);
    // The same formula in float64 rounds differently somewhere, so this comparison has teeth.
    const f64 = bilinearFloat64(input, c.height, c.width, c.channels, c.outHeight, c.outWidth);
    mismatchesInFloat64 += f64.filter((v, i) => v !== expected[i]).length;
  }
  assert.ok(mismatchesInFloat64 > 0);
});

/** Plain float64 bilinear with the same indices, used only to show that float32 rounding matters. */
function bilinearFloat64(
  data: Float32Array,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
): Float32Array {
  const axis = (n: number, m: number, d: number) => {
    if (n === m) return [d, d, 0] as const;
    const src = Math.max((n / m) * (d + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1);
    return [i0, Math.min(i0 + 1, n - 1), src - i0] as const;
  };
  const out = new Float32Array(oh * ow * c);
  for (let y = 0; y < oh; y++) {
    const [y0, y1, ly] = axis(h, oh, y);
    for (let x = 0; x < ow; x++) {
      const [x0, x1, lx] = axis(w, ow, x);
      for (let k = 0; k < c; k++) {
        const v = (yy: number, xx: number) => data[(yy * w + xx) * c + k];
        const top = (1 - lx) * v(y0, x0) + lx * v(y0, x1);
        const bottom = (1 - lx) * v(y1, x0) + lx * v(y1, x1);
        out[(y * ow + x) * c + k] = (1 - ly) * top + ly * bottom;
      }
    }
  }
  return out;
}

Deno.test("resizeBilinear resizes each channel independently", () => {
  const h = 7;
  const w = 5;
  const c = 4;
  const input = Float32Array.from({ length: h * w * c }, (_, i) => Math.cos(i * 0.37));
  const joint = resizeBilinear(input, h, w, c, 11, 3);
  for (let k = 0; k < c; k++) {
    const plane = Float32Array.from({ length: h * w }, (_, p) => input[p * c + k]);
    const alone = resizeBilinear(plane, h, w, 1, 11, 3);
    assert.deepEqual(alone, Float32Array.from({ length: 33 }, (_, p) => joint[p * c + k]));
  }
});

Deno.test("resizeImage wraps resizeBilinear and keeps a flat image flat", () => {
  const image = { data: new Float32Array(375 * 500 * 3), height: 375, width: 500 };
  for (let p = 0; p < 375 * 500; p++) image.data.set([0.25, 0.5, 1], p * 3);
  const out = resizeImage(image, 1024, 1024);
  assert.deepEqual([out.height, out.width, out.data.length], [1024, 1024, 1024 * 1024 * 3]);
  // Powers of two times weights with l0 + l1 within half an ulp of 1: every blend rounds back to the value.
  for (let p = 0; p < 1024 * 1024; p += 4099) {
    assert.deepEqual(Array.from(out.data.subarray(p * 3, p * 3 + 3)), [0.25, 0.5, 1]);
  }
  assert.deepEqual(
    resizeImage(image, 128, 128).data,
    resizeBilinear(image.data, 375, 500, 3, 128, 128),
  );
});

Deno.test("resizeBilinear checks its arguments", () => {
  assert.throws(() => resizeBilinear(new Float32Array(4), 2, 2, 1, 0, 4), {
    name: "RangeError",
    message: "Invalid outHeight 0: expected a positive integer",
  });
  assert.throws(() => resizeBilinear(new Float32Array(4), 2, 2, 1, 4, 2.5), RangeError);
  assert.throws(() => resizeBilinear(new Float32Array(4), 2, 2, 0, 4, 4), RangeError);
  assert.throws(() => resizeBilinear(new Float32Array(5), 2, 2, 1, 4, 4), {
    name: "TypeError",
    message: "Invalid data: has 5 values, expected 2x2x1 = 4",
  });
  assert.throws(() => resizeImage({ data: new Float32Array(3), height: 1, width: 2 }, 2, 2), TypeError);
});

/** A label map whose value encodes its position: `1000 * row + column`. */
function positions(height: number, width: number): LabelMap {
  return {
    data: Int32Array.from({ length: height * width }, (_, i) => 1000 * Math.floor(i / width) + (i % width)),
    height,
    width,
  };
}

/** Source column of every output column (row 0 of a positions() map resized along the width). */
function sourceColumns(
  resize: (l: LabelMap, h: number, w: number) => LabelMap,
  inSize: number,
  outSize: number,
) {
  return Array.from(resize(positions(1, inSize), 1, outSize).data);
}

Deno.test("resizeLabelsNearestExact reads floor((d + 0.5) * in / out)", () => {
  for (
    const [inSize, outSize] of [[375, 1024], [1024, 128], [500, 333], [333, 500], [374, 1024], [1024, 375]]
  ) {
    // For these sizes float32 rounding never crosses an integer, so exact rational arithmetic agrees.
    const expected = Array.from(
      { length: outSize },
      (_, d) => Math.min(Math.floor(((2 * d + 1) * inSize) / (2 * outSize)), inSize - 1),
    );
    assert.deepEqual(
      sourceColumns(resizeLabelsNearestExact, inSize, outSize),
      expected,
      `${inSize} -> ${outSize}`,
    );
  }
  // 1024 -> 128 reads the pixel right of centre of every 8x8 cell: 8i + 4.
  const gt = resizeLabelsNearestExact(positions(1024, 1024), 128, 128);
  for (const [i, j] of [[0, 0], [5, 77], [127, 127]]) {
    assert.equal(gt.data[i * 128 + j], 1000 * (8 * i + 4) + 8 * j + 4);
  }
  // 500 -> 333, output 166: (166.5) * 500/333 = 250 exactly; f32(500/333) = 1.50150156 rounds up, so 250.
  assert.equal(sourceColumns(resizeLabelsNearestExact, 500, 333)[166], 250);
});

Deno.test("resizeLabelsNearestExact follows PyTorch's float32 scale where it differs from exact arithmetic", () => {
  // 2 -> 41: output 20 is at (20.5) * 2/41 = 1 exactly, but f32(2/41) rounds down, so
  // f32(20.5 * f32(2/41)) = 0.99999994 and floor gives 0, as in torch.
  const columns = sourceColumns(resizeLabelsNearestExact, 2, 41);
  assert.equal(Math.fround(2 / 41) < 2 / 41, true);
  assert.equal(columns[20], 0);
  assert.equal(columns[21], 1);
});

Deno.test("resizeLabelsNearest reads floor(d * in / out), so 1024 -> 128 gives GT1024[8i, 8j]", () => {
  for (const [inSize, outSize] of [[375, 1024], [1024, 128], [500, 333], [333, 500]]) {
    const expected = Array.from(
      { length: outSize },
      (_, d) => Math.min(Math.floor((d * inSize) / outSize), inSize - 1),
    );
    assert.deepEqual(
      sourceColumns(resizeLabelsNearest, inSize, outSize),
      expected,
      `${inSize} -> ${outSize}`,
    );
  }
  const gt1024 = positions(1024, 1024);
  const gt128 = resizeLabelsNearest(gt1024, 128, 128);
  for (let i = 0; i < 128; i += 9) {
    for (let j = 0; j < 128; j += 7) assert.equal(gt128.data[i * 128 + j], gt1024.data[8 * i * 1024 + 8 * j]);
  }
  // 2 -> 82: output 41 is at 41 * 2/82 = 1 exactly; the float32 scale rounds down and floor gives 0.
  assert.equal(sourceColumns(resizeLabelsNearest, 2, 82)[41], 0);
});

Deno.test("label resizes work on both axes and check their arguments", () => {
  const labels = positions(3, 4);
  // Rows 3 -> 6 (exact: 0,0,1,1,2,2), columns 4 -> 2 (exact: 1, 3).
  assert.deepEqual(Array.from(resizeLabelsNearestExact(labels, 6, 2).data), [
    1,
    3,
    1,
    3,
    1001,
    1003,
    1001,
    1003,
    2001,
    2003,
    2001,
    2003,
  ]);
  // Legacy: columns 4 -> 2 read 0, 2.
  assert.deepEqual(Array.from(resizeLabelsNearest(labels, 3, 2).data), [0, 2, 1000, 1002, 2000, 2002]);
  assert.throws(() => resizeLabelsNearest(labels, 0, 2), RangeError);
  assert.throws(
    () => resizeLabelsNearestExact({ data: new Int32Array(3), height: 2, width: 2 }, 2, 2),
    TypeError,
  );
});
