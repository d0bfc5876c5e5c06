import assert from "node:assert/strict";
import { clusterEmbeddings } from "../../lib/upsample/assign.ts";
import { assignConcepts } from "../../lib/stages.ts";
import type { FeatureMap } from "../../lib/types.ts";

const f32 = Math.fround;

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function fmap(h: number, w: number, c: number, values: number[] | Float32Array): FeatureMap {
  return { data: Float32Array.from(values), height: h, width: w, channels: c };
}

/**
 * Independent naive implementation of the reference: normalise, pool, materialise the bilinearly upsampled
 * features (PyTorch align_corners=False, float32 steps in PyTorch's order
 * h0λ·(w0λ·v00 + w1λ·v01) + h1λ·(w0λ·v10 + w1λ·v11)), dot with every embedding in float32, argmax.
 * Returns argmax indices into the sorted distinct labels.
 */
function naiveAssign(features: FeatureMap, grid: Int32Array, outH: number, outW: number): Int32Array {
  const { height: h, width: w, channels: c, data } = features;
  const unit = new Float32Array(data.length);
  for (let i = 0; i < h * w; i++) {
    let ss = 0;
    for (let k = 0; k < c; k++) ss = f32(ss + f32(data[i * c + k] * data[i * c + k]));
    const norm = Math.max(f32(Math.sqrt(ss)), 1e-12);
    for (let k = 0; k < c; k++) unit[i * c + k] = f32(data[i * c + k] / norm);
  }
  const labels = [...new Set(grid)].sort((a, b) => a - b);
  const emb = labels.map((lab) => {
    const e = new Float32Array(c);
    let n = 0;
    for (let i = 0; i < h * w; i++) {
      if (grid[i] !== lab) continue;
      n++;
      for (let k = 0; k < c; k++) e[k] = f32(e[k] + unit[i * c + k]);
    }
    return e.map((v) => f32(v / f32(n + f32(1e-8))));
  });
  const axis = (inS: number, outS: number, d: number) => {
    const scale = f32(inS / outS);
    const src = Math.max(f32(f32(scale * (d + 0.5)) - 0.5), 0);
    const i0 = Math.floor(src);
    const i1 = i0 < inS - 1 ? i0 + 1 : i0;
    const l1 = f32(src - i0);
    return { i0, i1, l0: f32(1 - l1), l1 };
  };
  const out = new Int32Array(outH * outW);
  const v = new Float32Array(c);
  for (let y = 0; y < outH; y++) {
    const ay = axis(h, outH, y);
    for (let x = 0; x < outW; x++) {
      const ax = axis(w, outW, x);
      for (let k = 0; k < c; k++) {
        const p = (yy: number, xx: number) => unit[(yy * w + xx) * c + k];
        const top = f32(f32(ax.l0 * p(ay.i0, ax.i0)) + f32(ax.l1 * p(ay.i0, ax.i1)));
        const bottom = f32(f32(ax.l0 * p(ay.i1, ax.i0)) + f32(ax.l1 * p(ay.i1, ax.i1)));
        v[k] = f32(f32(ay.l0 * top) + f32(ay.l1 * bottom));
      }
      let best = 0;
      let bestScore = -Infinity;
      emb.forEach((e, j) => {
        let s = 0;
        for (let k = 0; k < c; k++) s = f32(s + f32(v[k] * e[k]));
        if (s > bestScore) {
          bestScore = s;
          best = j;
        }
      });
      out[y * outW + x] = best;
    }
  }
  return out;
}

Deno.test("assignConcepts: hand-computed 2x2 grid upsampled to 4x4, original label values kept", async () => {
  // Patch features (before normalisation) and labels:
  //   (0,0) = [2, 0] -> [1, 0], label 7      (0,1) = [0, 3] -> [0, 1], label 3
  //   (1,0) = [0, 5] -> [0, 1], label 7      (1,1) = [0, 1] -> [0, 1], label 3
  // Sorted labels [3, 7]: e_3 = [0, 1], e_7 = ([1,0] + [0,1]) / 2 = [0.5, 0.5].
  // Patch score difference d = s_3 − s_7: d(0,0) = 0 − 0.5 = −0.5, d(0,1) = d(1,0) = d(1,1) = 1 − 0.5 = 0.5.
  // (Patch (1,0) belongs to 7 but scores higher against 3: centroid norms matter.)
  // Bilinear 2 -> 4, scale 0.5: dst 0 -> src −0.25 -> 0 (weights 1, 0); dst 1 -> 0.25 (0.75, 0.25);
  // dst 2 -> 0.75 (0.25, 0.75); dst 3 -> 1.25 -> i0 = i1 = 1.
  // d(0,1) = 0.75·(−0.5) + 0.25·0.5 = −0.25 -> 7; d(0,2) = 0.25·(−0.5) + 0.75·0.5 = 0.25 -> 3;
  // d(1,1) = 0.75·(0.75·(−0.5) + 0.25·0.5) + 0.25·0.5 = −0.0625 -> 7; d(1,2) = 0.3125 -> 3;
  // d(2,0) = 0.25·(−0.5) + 0.75·0.5 = 0.25 -> 3; row 3 is all 0.5 -> 3.
  const features = fmap(2, 2, 2, [2, 0, 0, 3, 0, 5, 0, 1]);
  const grid = new Int32Array([7, 3, 7, 3]);
  const out = await assignConcepts(features, grid, { height: 4, width: 4 });
  assert.deepEqual([...out], [7, 7, 3, 3, 7, 7, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
  const { labels, embeddings } = clusterEmbeddings(features, grid);
  assert.deepEqual([...labels], [3, 7]);
  assert.deepEqual([...embeddings], [0, 1, 0.5, 0.5]);
});

Deno.test("assignConcepts: equal scores go to the lower label", async () => {
  // Every patch has the same unit vector, so both clusters have the same embedding and every score ties.
  const features = fmap(2, 2, 3, [1, 2, 2, 2, 4, 4, 3, 6, 6, 0.5, 1, 1]);
  const out = await assignConcepts(features, new Int32Array([5, 2, 5, 2]), { height: 3, width: 5 });
  assert.deepEqual([...out], new Array(15).fill(2));
  // Same with the labels swapped in space.
  const out2 = await assignConcepts(features, new Int32Array([2, 5, 2, 5]), { height: 3, width: 5 });
  assert.deepEqual([...out2], new Array(15).fill(2));
});

Deno.test("assignConcepts: fused score interpolation equals upsample-then-dot", async () => {
  const rand = lcg(12345);
  const cases: [number, number, number, number, number, number][] = [
    // grid h, w, channels, clusters, out h, out w
    [5, 7, 6, 4, 12, 9],
    [5, 7, 6, 4, 5, 7],
    [5, 7, 6, 4, 3, 4],
    [4, 4, 16, 3, 16, 16],
    [3, 5, 5, 5, 1, 1],
    [1, 6, 4, 2, 7, 11],
    [8, 8, 32, 6, 64, 64],
  ];
  for (const [h, w, c, k, oh, ow] of cases) {
    const features = fmap(h, w, c, Array.from({ length: h * w * c }, () => rand() * 2 - 1));
    // Spatially coherent labels, some values skipped: 10 * cluster.
    const grid = new Int32Array(h * w).map((_, i) =>
      10 * ((Math.floor((i % w) * k / w) + (i < w ? 1 : 0)) % k)
    );
    const distinct = [...new Set(grid)].sort((a, b) => a - b);
    const expected = naiveAssign(features, grid, oh, ow).map((j) => distinct[j]);
    const out = await assignConcepts(features, grid, { height: oh, width: ow });
    assert.deepEqual(out, expected, `grid ${h}x${w}x${c}, ${k} clusters, out ${oh}x${ow}`);
    if (oh * ow > 1) assert.ok(new Set(out).size > 1, "the case should exercise more than one label");
  }
});

Deno.test("assignConcepts: output at grid size is the per-patch argmax of F̂·Eᵀ", async () => {
  const rand = lcg(99);
  const h = 6, w = 5, c = 8;
  const features = fmap(h, w, c, Array.from({ length: h * w * c }, () => rand() - 0.3));
  const grid = new Int32Array(h * w).map((_, i) => [-4, 0, 9][i % 3]);
  const { labels, embeddings } = clusterEmbeddings(features, grid);
  assert.deepEqual([...labels], [-4, 0, 9]);
  const out = await assignConcepts(features, grid, { height: h, width: w });
  for (let i = 0; i < h * w; i++) {
    let norm = 0;
    for (let j = 0; j < c; j++) norm += features.data[i * c + j] ** 2;
    const scores = [0, 1, 2].map((k) => {
      let s = 0;
      for (let j = 0; j < c; j++) s += features.data[i * c + j] * embeddings[k * c + j];
      return s / Math.sqrt(norm);
    });
    assert.equal(out[i], labels[scores.indexOf(Math.max(...scores))], `patch ${i}`);
  }
});

Deno.test("clusterEmbeddings: means of unit vectors, not re-normalised, eps-safe for zero vectors", () => {
  // Patches: [3,4] -> [0.6,0.8]; [0,0] -> [0,0] (F.normalize divides by max(0, 1e-12)); [-1,0] -> [-1,0].
  const features = fmap(1, 3, 2, [3, 4, 0, 0, -1, 0]);
  const { labels, embeddings, channels } = clusterEmbeddings(features, new Int32Array([1, 1, 2]));
  assert.equal(channels, 2);
  assert.deepEqual([...labels], [1, 2]);
  // e_1 = ([0.6, 0.8] + [0, 0]) / (2 + 1e-8) = [0.3, 0.4] in float32; e_2 = [-1, 0].
  assert.deepEqual([...embeddings], [f32(0.3), f32(0.4), -1, 0]);
});

Deno.test("assignConcepts: a single cluster fills the output", async () => {
  const features = fmap(2, 3, 2, [1, 0, 0, 1, 1, 1, 0, 0, -1, 2, 5, 5]);
  const out = await assignConcepts(features, new Int32Array(6).fill(-7), { height: 5, width: 2 });
  assert.deepEqual([...out], new Array(10).fill(-7));
});

Deno.test("assignConcepts: 32x32x64 grid to 128x128 keeps labels within the grid's set", async () => {
  const rand = lcg(3);
  const g = 32, c = 64;
  const features = fmap(g, g, c, Array.from({ length: g * g * c }, () => rand() - 0.5));
  const grid = new Int32Array(g * g).map((_, i) => (i % g < 16 ? 0 : 1) + (i < g * g / 2 ? 0 : 2));
  const out = await assignConcepts(features, grid, { height: 128, width: 128 }, { backend: "cpu" });
  assert.equal(out.length, 128 * 128);
  assert.ok(out.every((v) => v >= 0 && v <= 3));
});

Deno.test("assignConcepts rejects bad inputs", async () => {
  const good = fmap(2, 2, 2, [1, 0, 0, 1, 1, 1, 0, 1]);
  const grid = new Int32Array([0, 1, 0, 1]);
  const size = { height: 4, width: 4 };
  await assert.rejects(
    assignConcepts(good, new Int32Array(3), size),
    (e: Error) => e instanceof RangeError && e.message.includes("4") && e.message.includes("3"),
  );
  await assert.rejects(assignConcepts(good, new Int32Array(0), size), RangeError);
  await assert.rejects(assignConcepts(good, [0, 1, 0, 1] as unknown as Int32Array, size), TypeError);
  await assert.rejects(assignConcepts(good, grid, { height: 0, width: 4 }), RangeError);
  await assert.rejects(assignConcepts(good, grid, { height: 4, width: 2.5 }), RangeError);
  await assert.rejects(
    assignConcepts(good, grid, null as unknown as { height: number; width: number }),
    TypeError,
  );
  await assert.rejects(
    assignConcepts(fmap(2, 2, 2, [1, 0, NaN, 1, 1, 1, 0, 1]), grid, size),
    (e: Error) => e instanceof RangeError && e.message.includes("NaN") && e.message.includes("index 2"),
  );
  await assert.rejects(
    assignConcepts(fmap(2, 2, 2, [1, 0, 0, 1, 1, Infinity, 0, 1]), grid, size),
    RangeError,
  );
  await assert.rejects(assignConcepts(fmap(2, 2, 2, [1, 0, 0, 1, 1, 1, 0]), grid, size), RangeError);
  await assert.rejects(assignConcepts({ ...good, channels: 0 }, grid, size), RangeError);
  await assert.rejects(
    assignConcepts({ ...good, data: [1, 0] as unknown as Float32Array }, grid, size),
    TypeError,
  );
  await assert.rejects(
    assignConcepts(good, grid, size, { backend: "gpu" as unknown as "cpu" }),
    RangeError,
  );
});
