/**
 * The baselines on feature maps with known structure: k-means (seeded, K capped), AutoSC (eigengap, cluster_qr),
 * MaskCut (objects found as connected masks, drop rule, label maps).
 */
import assert from "node:assert/strict";
import { autoscLabels, clusterQr, eigengap } from "../../lib/eval/autosc.ts";
import { kmeansLabels } from "../../lib/eval/kmeans.ts";
import { maskcutMasks, masksToLabels } from "../../lib/eval/maskcut.ts";
import { blockFeatures, samePartition } from "../_helpers.ts";

const quadrants = (y: number, x: number) => (y < 8 ? 0 : 2) + (x < 8 ? 0 : 1);

Deno.test("kmeansLabels: recovers four blocks, is reproducible for a seed, caps K at the patch count", () => {
  const f = blockFeatures(16, 16, 12, quadrants, 0.2);
  const truth = Int32Array.from({ length: 256 }, (_, i) => quadrants(Math.floor(i / 16), i % 16));
  const r = kmeansLabels(f, 4, { seed: 3 });
  assert.ok(samePartition(r.labels, truth));
  assert.deepEqual(kmeansLabels(f, 4, { seed: 3 }).labels, r.labels);
  const tiny = kmeansLabels({ data: new Float32Array([1, 0, 0, 1]), height: 1, width: 2, channels: 2 }, 5);
  assert.equal(tiny.k, 2);
  assert.throws(() => kmeansLabels(f, 0), /Invalid k 0: expected a positive integer/);
});

Deno.test("AutoSC: eigengap picks the number of blocks; cluster_qr labels them; constant features give one", () => {
  assert.deepEqual(eigengap([0, 0, 0, 0.5, 0.6]), { max: (0.5 - 0.125) / (0.125 + 1e-6), argmax: 3 });
  const f = blockFeatures(16, 16, 12, quadrants, 0.15);
  const truth = Int32Array.from({ length: 256 }, (_, i) => quadrants(Math.floor(i / 16), i % 16));
  const r = autoscLabels(f);
  assert.equal(r.k, 4);
  assert.ok(samePartition(r.labels, truth));
  assert.equal(r.gaps.length, 4);
  assert.equal(r.gaps.indexOf(Math.max(...r.gaps)), [1, 5, 10, 15].indexOf(r.alpha));
  const flat = autoscLabels({ data: new Float32Array(4 * 3).fill(0.5), height: 2, width: 2, channels: 3 });
  assert.deepEqual([flat.k, [...flat.labels]], [1, [0, 0, 0, 0]]);
  // cluster_qr on an exact indicator embedding returns the indicator's partition.
  const y = new Float64Array([1, 0, 1, 0, 0, 1, 0, 1, 0, 1]);
  assert.ok(samePartition(clusterQr(y, 5, 2), [0, 0, 1, 1, 1]));
});

Deno.test("MaskCut: finds the objects as connected masks, drops repeats, and builds k+1-label maps", () => {
  const obj = (y: number, x: number) =>
    y >= 2 && y < 6 && x >= 2 && x < 6 ? 1 : y >= 9 && y < 14 && x >= 8 && x < 14 ? 2 : 0;
  const f = blockFeatures(16, 16, 8, obj, 0.2);
  const masks = maskcutMasks(f, 4);
  assert.equal(masks.length, 4);
  const labels = masksToLabels(masks, 4);
  const truth = Int32Array.from({ length: 256 }, (_, i) => obj(Math.floor(i / 16), i % 16));
  assert.ok(samePartition(labels, truth), "background + two objects");
  // Masks are disjoint; later rounds found nothing new (dropped or empty).
  const covered = new Uint8Array(256);
  for (const m of masks) m.forEach((v, i) => (assert.ok(!(v && covered[i])), (covered[i] |= v)));
  assert.equal(masks.filter((m) => m.some((v) => v)).length, 2);
  // With one round only the first object is labelled.
  assert.equal(new Set(masksToLabels(masks, 1)).size, 2);
  assert.throws(() => maskcutMasks(f, 0), /Invalid MaskCut rounds 0/);
});
