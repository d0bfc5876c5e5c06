import assert from "node:assert/strict";
import { buildPartitionTreeSync } from "../../lib/ncut/partition_tree.ts";
import { cutTreeDetailed } from "../../lib/ncut/cut_tree.ts";
import { checkSegments, cutTreeAtSegments, SEGMENTS_TAU_MAX } from "../../lib/ncut/cut_segments.ts";
import { checkSegmenterOptions, createSegmenter } from "../../lib/segmenter.ts";
import type { FeatureMap, ImageRGB } from "../../lib/types.ts";

/** A 12×12 grid of 6 flat blocks (2 rows × 3 columns), 3 channels, a little deterministic noise. */
function blocks(): FeatureMap {
  const h = 12, w = 12, c = 3, data = new Float32Array(h * w * c);
  const colours = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const k = (y < 6 ? 0 : 3) + Math.floor(x / 4);
      for (let ch = 0; ch < c; ch++) {
        data[(y * w + x) * c + ch] = colours[k][ch] + 0.01 * ((x * 7 + y * 3 + ch) % 5);
      }
    }
  }
  return { data, height: h, width: w, channels: c };
}

Deno.test("cutTreeAtSegments gives every count from 1 to 6 on six blocks, and its τ reproduces the cut", () => {
  const tree = buildPartitionTreeSync(blocks(), { alpha: 2, tauMax: SEGMENTS_TAU_MAX, selfLoops: false });
  for (let k = 1; k <= 6; k++) {
    const cut = cutTreeAtSegments(tree, k);
    assert.deepEqual(cut.segments, k);
    assert.deepEqual(cut.requested, k);
    assert.ok(cut.tau > 0 && cut.tau <= tree.tauMax);
    assert.deepEqual(cutTreeDetailed(tree, cut.tau).labels, cut.labels);
  }
});

Deno.test("cutTreeAtSegments: a count the tree cannot reach gives the nearest one and says so", () => {
  const tree = buildPartitionTreeSync(blocks(), {
    alpha: 2,
    tauMax: SEGMENTS_TAU_MAX,
    selfLoops: false,
    maxSegments: 3,
  });
  const cut = cutTreeAtSegments(tree, 10);
  assert.deepEqual(cut.segments, 3);
  assert.ok(cut.notes.some((n) => n.includes("Asked for 10 segments") && n.includes("maxSegments is 3")));
});

Deno.test("checkSegments and the segmenter refuse bad counts and tau with segments", () => {
  checkSegments(1);
  assert.throws(() => checkSegments(0), /Invalid segments 0/);
  assert.throws(() => checkSegments(2.5), /expected an integer >= 1/);
  assert.throws(() => checkSegmenterOptions({ tau: 0.2, segments: 4 }), /both given/);
});

Deno.test("createSegmenter({ segments: K }) returns K segments, records K and the τ used; one segment gets a note", async () => {
  const f = blocks();
  const image: ImageRGB = { height: 48, width: 48, data: new Float32Array(48 * 48 * 3) };
  for (let y = 0; y < 48; y++) {
    for (let x = 0; x < 48; x++) {
      const i = (Math.floor(y / 4) * 12 + Math.floor(x / 4)) * 3;
      image.data.set(f.data.subarray(i, i + 3).map((v) => Math.min(1, v)), (y * 48 + x) * 3);
    }
  }
  const seg = await createSegmenter({ encoder: "rgb-grid", refine: false, segments: 4, backend: "cpu" });
  try {
    const r = await seg.segment(image);
    assert.deepEqual(r.gridLabels.reduce((m, v) => Math.max(m, v), 0) + 1, 4);
    assert.deepEqual(r.settings.segments, 4);
    assert.deepEqual(r.settings.tau, r.tau);
    const one = await seg.segment(image, { tau: 1e-6 });
    assert.deepEqual(one.segments, 1);
    assert.ok(one.notes.some((n) => n.includes("--segments K")), one.notes.join("; "));
    const six = await seg.segment(image, { segments: 6 });
    assert.deepEqual(new Set(six.gridLabels).size, 6);
  } finally {
    await seg.dispose();
  }
});
