import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { displayBundle } from "../../lib/viz/jupyter_display.ts";
import { colormapImage, viridis } from "../../lib/viz/colormap.ts";
import { featurePcaImage, principalComponents } from "../../lib/viz/feature_pca.ts";
import { imageView } from "../../lib/viz/image_view.ts";
import { segmentColor } from "../../lib/viz/palette.ts";
import { featureMapView, imageGrid, segmentationView } from "../../lib/viz/segmentation_view.ts";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

function grey(h: number, w: number): { height: number; width: number; data: Float32Array } {
  return { height: h, width: w, data: new Float32Array(h * w * 3).fill(0.5) };
}

Deno.test("imageView: PNG bundle, data URL and scaling", () => {
  const view = imageView(grey(10, 20), "grey", 40);
  assert.deepEqual([view.image.height, view.image.width], [20, 40]);
  const bundle = displayBundle(view);
  assert.deepEqual(Object.keys(bundle).sort(), ["image/png", "text/plain"]);
  assert.deepEqual([...Buffer.from(bundle["image/png"], "base64").subarray(0, 4)], PNG_SIGNATURE);
  assert.match(view.dataUrl, /^data:image\/png;base64,iVBOR/);
  assert.match(bundle["text/plain"], /40×20: grey/);
});

Deno.test("segmentationView: table rows sorted by size, legend colours from the palette, HTML bundle", () => {
  const labels = Int32Array.from([0, 0, 0, 1, 2, 2, 0, 0, 0]);
  const view = segmentationView(grey(9, 9), labels, 3, 3, { title: "T", maxSide: 9 });
  assert.deepEqual(view.rows.map((r) => [r.segment, r.pixels]), [[0, 6], [2, 2], [1, 1]]);
  const [r, g, b] = segmentColor(2);
  assert.equal(view.rows[1].color, `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`);
  assert.ok(Math.abs(view.rows[0].share - 6 / 9) < 1e-12);
  const bundle = displayBundle(view);
  assert.deepEqual(Object.keys(bundle).sort(), ["text/html", "text/plain"]);
  assert.equal((bundle["text/html"].match(/<img /g) ?? []).length, 2);
  assert.equal((bundle["text/html"].match(/<tr>/g) ?? []).length, 4); // header + 3 segments
  assert.ok(bundle["text/html"].includes(view.rows[1].color));
  assert.match(bundle["text/plain"], /3 segments/);
  // The overlay is tinted: it differs from the grey photo.
  assert.notDeepEqual(view.overlay.image.data, view.image.image.data);
  assert.throws(() => segmentationView(grey(4, 4), new Int32Array(3), 2, 2), RangeError);
});

Deno.test("imageGrid: mosaic layout and captions", () => {
  const a = imageView(grey(2, 3), "a"), b = imageView(grey(2, 3), "b");
  const grid = imageGrid([a, b, a], 2, "G");
  const m = grid.mosaic(1);
  assert.deepEqual([m.width, m.height], [7, 5]);
  assert.equal(m.data[(0 * 7 + 3) * 3], 1); // the gap column is white
  const html = displayBundle(grid)["text/html"];
  assert.ok(html.includes(">a<") || html.includes("<br/>a"));
  assert.equal((html.match(/<img /g) ?? []).length, 3);
  assert.throws(() => imageGrid([], 2), RangeError);
  assert.throws(() => imageGrid([a], 0), RangeError);
});

Deno.test("principalComponents: orthonormal directions, variances in decreasing order", () => {
  // Points spread mostly along (1, 1, 0), a little along (1, -1, 0), none along z.
  const data: number[] = [];
  for (let i = 0; i < 20; i++) {
    const s = (i - 9.5) / 2, t = i % 4 === 0 || i % 4 === 3 ? 0.1 : -0.1; // Σ s·t = 0
    data.push(s + t, s - t, 3);
  }
  const f = { height: 4, width: 5, channels: 3, data: Float32Array.from(data) };
  const { vectors, variances } = principalComponents(f, 2);
  const dot = (u: Float64Array, v: Float64Array) => u.reduce((s, x, k) => s + x * v[k], 0);
  assert.ok(Math.abs(dot(vectors[0], vectors[0]) - 1) < 1e-9);
  assert.ok(Math.abs(dot(vectors[0], vectors[1])) < 1e-6);
  assert.ok(Math.abs(Math.abs(vectors[0][0]) - Math.SQRT1_2) < 1e-4);
  assert.ok(variances[0] > variances[1]);
  const img = featurePcaImage(f);
  assert.deepEqual([img.height, img.width], [4, 5]);
  assert.ok(img.data.every((v) => v >= 0 && v <= 1));
});

Deno.test("featureMapView: enlarged PCA image with the shape in its caption", () => {
  const f = { height: 2, width: 2, channels: 2, data: new Float32Array([1, 0, 0, 1, 1, 0, 0, 1]) };
  const view = featureMapView(f, "toy", 8);
  assert.deepEqual([view.image.height, view.image.width], [8, 8]);
  assert.match(view.caption, /toy 2×2×2/);
});

Deno.test("colormapImage: domain ends map to the viridis ends", () => {
  const img = colormapImage([5, 10], 1, 2, { domain: [5, 10] });
  assert.deepEqual(Array.from(img.data.subarray(0, 3), (v) => Math.round(v * 255)), viridis(0));
  assert.deepEqual(Array.from(img.data.subarray(3, 6), (v) => Math.round(v * 255)), viridis(1));
  assert.throws(() => colormapImage([1], 1, 2), RangeError);
  assert.deepEqual(viridis(NaN), [128, 128, 128]);
});
