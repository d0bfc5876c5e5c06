/**
 * `segmentColor` / `segmentPalette` (golden-angle hues at two lightness levels) and `overlaySegments`
 * (blend arithmetic, white boundaries, size check).
 */
import assert from "node:assert/strict";
import { overlaySegments } from "../../lib/viz/overlay.ts";
import { segmentColor, segmentPalette } from "../../lib/viz/palette.ts";
import { assertAllClose } from "../_helpers.ts";

/** CSS Color 4's `hslToRgb` (an independent HSL formula), rounded to bytes. */
function cssHsl(hueDeg: number, sat: number, light: number): [number, number, number] {
  const a = sat * Math.min(light, 1 - light);
  const f = (n: number) => {
    const k = (n + hueDeg / 30) % 12;
    return Math.round((light - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))) * 255);
  };
  return [f(0), f(8), f(4)];
}

Deno.test("segmentColor: golden-angle hues, saturation 0.75, lightness 0.55 / 0.42 alternating", () => {
  // Python: [round(v * 255) for v in colorsys.hls_to_rgb(h / 360, l, 0.75)].
  assert.deepEqual(segmentColor(0), [226, 54, 54]);
  assert.deepEqual(segmentColor(1), [27, 187, 74]);
  assert.deepEqual(segmentColor(2), [155, 54, 226]);
  for (let k = 0; k < 256; k++) {
    assert.deepEqual(segmentColor(k), cssHsl((k * 137.508) % 360, 0.75, k % 2 === 0 ? 0.55 : 0.42), `k=${k}`);
  }
});

Deno.test("segmentColor: the first 64 labels get distinct colours, neighbours far apart", () => {
  const colors = Array.from({ length: 64 }, (_, k) => segmentColor(k));
  assert.equal(new Set(colors.map(String)).size, 64);
  for (let k = 1; k < 64; k++) {
    const d = Math.hypot(...colors[k].map((v, c) => v - colors[k - 1][c]));
    assert.ok(d > 150, `labels ${k - 1} and ${k} differ by only ${d.toFixed(1)}`);
  }
});

Deno.test("segmentPalette: flat bytes of segmentColor", () => {
  const p = segmentPalette(256);
  assert.ok(p instanceof Uint8Array);
  assert.equal(p.length, 768);
  for (let k = 0; k < 256; k++) assert.deepEqual(Array.from(p.subarray(3 * k, 3 * k + 3)), segmentColor(k));
  assert.equal(segmentPalette(0).length, 0);
});

Deno.test("overlaySegments: blends (1 − opacity)·image + opacity·colour/255", () => {
  const image = {
    height: 2,
    width: 2,
    data: Float32Array.from([0, 0, 0, 1, 1, 1, 0.2, 0.4, 0.6, 0.5, 0.5, 0.5]),
  };
  const c = segmentColor(3).map((v) => v / 255);
  const one = overlaySegments(image, new Int32Array(4).fill(3));
  assert.deepEqual([one.height, one.width, one.data.length], [2, 2, 12]);
  const expected = (opacity: number) =>
    Array.from(image.data, (v, i) => Math.fround((1 - opacity) * v + opacity * c[i % 3]));
  assertAllClose(one.data, expected(0.5), { atol: 1e-7 });
  assertAllClose(overlaySegments(image, new Int32Array(4).fill(3), { opacity: 0.25 }).data, expected(0.25), {
    atol: 1e-7,
  });
  // Opacity 0 returns the image, opacity 1 the colour.
  assert.deepEqual(overlaySegments(image, new Int32Array(4).fill(3), { opacity: 0 }).data, image.data);
  assertAllClose(overlaySegments(image, new Int32Array(4).fill(3), { opacity: 1 }).data, [
    ...c,
    ...c,
    ...c,
    ...c,
  ], { atol: 1e-7 });
  // A new array: the input is not modified.
  assert.notEqual(one.data, image.data);
  assert.deepEqual(Array.from(image.data.subarray(0, 3)), [0, 0, 0]);
});

Deno.test("overlaySegments: a pixel whose right or lower neighbour differs is white", () => {
  // Labels 0 1 / 0 1: (0,0) and (1,0) touch label 1 on their right; (0,1) and (1,1) are interior (no right
  // neighbour, same label below).
  const image = { height: 2, width: 2, data: new Float32Array(12).fill(0.2) };
  const labels = Int32Array.from([0, 1, 0, 1]);
  const out = overlaySegments(image, labels);
  const c1 = segmentColor(1).map((v) => 0.5 * 0.2 + 0.5 * (v / 255));
  assertAllClose(out.data, [1, 1, 1, ...c1, 1, 1, 1, ...c1], { atol: 1e-7 });
  // Labels 0 0 / 1 1: the top row borders the bottom row.
  const c0 = segmentColor(0).map((v) => 0.5 * 0.2 + 0.5 * (v / 255));
  const rows = overlaySegments(image, Int32Array.from([0, 0, 1, 1]));
  assertAllClose(rows.data, [1, 1, 1, 1, 1, 1, ...c1, ...c1], { atol: 1e-7 });
  // Without boundaries every pixel is blended.
  const plain = overlaySegments(image, labels, { boundaries: false });
  assertAllClose(plain.data, [...c0, ...c1, ...c0, ...c1], { atol: 1e-7 });
});

Deno.test("overlaySegments: labels of another size are rejected with the counts", () => {
  const image = { height: 2, width: 3, data: new Float32Array(18) };
  assert.throws(
    () => overlaySegments(image, new Int32Array(5)),
    (e: Error) =>
      e instanceof RangeError && e.message === "Invalid labels: 5 values for a 2×3 image, expected 6",
  );
});
