/**
 * `createSegmenter` end to end on synthetic images with the cheap `"rgb-grid"` encoder and with a fake encoder
 * whose feature map is given, plus the helpers `workingSize` and `compactLabels`.
 */
import assert from "node:assert/strict";
import { compactLabels, createSegmenter, workingSize } from "../lib/segmenter.ts";
import { resizeImage } from "../lib/image/resize.ts";
import { assignConcepts, refinePamr } from "../lib/stages.ts";
import type { Encoder, FeatureMap, ImageRGB } from "../lib/types.ts";
import { samePartition } from "./_helpers.ts";
import { KERNEL_THREADS_ENV } from "../lib/wasm/row_team.ts";

/** Saturated colours of different hues (cosine affinity ignores brightness, so hues must differ). */
const HUES: [number, number, number][] = [[0.9, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.9]];

/** An image painted from a region map: pixel (y, x) gets `HUES[regionOf(y, x)]`. */
function paint(height: number, width: number, regionOf: (y: number, x: number) => number): {
  image: ImageRGB;
  truth: Int32Array;
} {
  const data = new Float32Array(height * width * 3);
  const truth = new Int32Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = regionOf(y, x);
      truth[y * width + x] = k;
      data.set(HUES[k], (y * width + x) * 3);
    }
  }
  return { image: { data, height, width }, truth };
}

/** 48×96 image, three vertical bands of 33, 33 and 30 columns: every 3-pixel grid cell lies in one band. */
const BANDS = paint(48, 96, (_y, x) => (x < 33 ? 0 : x < 66 ? 1 : 2));
/** The same bands on the 32×32 grid of the rgb-grid encoder (cells are 3 columns wide: 11, 11, 10 cells). */
const BAND_GRID = Int32Array.from({ length: 32 * 32 }, (_, i) => (i % 32 < 11 ? 0 : i % 32 < 22 ? 1 : 2));

Deno.test("createSegmenter(rgb-grid): three hue bands give three segments at the input size", async () => {
  const seg = await createSegmenter({ encoder: "rgb-grid" });
  try {
    assert.equal(seg.encoder.id, "rgb-grid");
    // Defaults come from the encoder (τ 0.5, α 10) and the factory (refine, outputSize 512, self-loops on).
    assert.deepEqual(
      { ...seg.options },
      {
        tau: 0.5,
        segments: undefined,
        stopRule: "tau",
        borderRing: 0,
        solver: "recursive",
        alpha: 10,
        refine: true,
        outputSize: 512,
        selfLoops: true,
        minSegmentSize: 1,
        maxSegments: undefined,
        compat: "default",
        backend: "auto",
        hostFeatures: true,
      },
    );
    assert.ok(Object.isFrozen(seg.options));
    const r = await seg.segment(BANDS.image);
    assert.equal(r.segments, 3);
    assert.deepEqual([r.height, r.width, r.labels.length], [48, 96, 48 * 96]);
    assert.ok(samePartition(r.labels, BANDS.truth), "labels follow the three bands");
    assert.deepEqual([...new Set(r.labels)].sort(), [0, 1, 2]);
    // Sizes are per compact label: 33·48, 33·48 and 30·48 pixels in some order.
    assert.deepEqual(r.segmentSizes, [0, 1, 2].map((k) => r.labels.filter((v) => v === k).length));
    assert.deepEqual([...r.segmentSizes].sort((a, b) => a - b), [1440, 1584, 1584]);
    // Grid labels on the encoder's 32×32 grid.
    assert.equal(r.gridLabels.length, 32 * 32);
    assert.deepEqual([r.tree.height, r.tree.width], [32, 32]);
    assert.deepEqual([r.features.height, r.features.width, r.features.channels], [32, 32, 3]);
    assert.ok(samePartition(r.gridLabels, BAND_GRID), "grid labels follow the bands");
    assert.deepEqual(
      { encoderId: r.encoderId, tau: r.tau, alpha: r.alpha, refine: r.refine, work: r.workSize },
      { encoderId: "rgb-grid", tau: 0.5, alpha: 10, refine: true, work: { height: 48, width: 96 } },
    );
    // Every stage is timed; the total spans them all.
    const stages = ["encode", "affinity", "tree", "cut", "assign", "refine"] as const;
    assert.deepEqual(Object.keys(r.timings).sort(), [...stages, "total"].sort());
    for (const [k, v] of Object.entries(r.timings)) {
      assert.ok(Number.isFinite(v) && v >= 0, `timing ${k} = ${v}`);
    }
    const sum = r.timings.encode + r.timings.cut + r.timings.assign + r.timings.refine;
    assert.ok(r.timings.total >= sum, `total ${r.timings.total} < ${sum}`);
    assert.deepEqual(r.notes, []);
  } finally {
    await seg.dispose();
  }
});

Deno.test("createSegmenter(rgb-grid): per-call tau and alpha overrides leave the defaults alone", async () => {
  const seg = await createSegmenter({ encoder: "rgb-grid", refine: false });
  try {
    // With α = 1 the bands' splits have NCut ≈ 0.028 (root) and ≈ 0.037 (second split); with α = 10 the min–max
    // scaled affinity between bands is exactly 0, so both NCuts are 0.
    const r1 = await seg.segment(BANDS.image, { alpha: 1, tau: 0.5 });
    assert.equal(r1.alpha, 1);
    assert.equal(r1.segments, 3);
    const [rootNcut, nextNcut] = [
      r1.tree.nodes[0].ncut,
      Math.min(r1.tree.nodes[1].ncut, r1.tree.nodes[2].ncut),
    ];
    assert.ok(rootNcut > 0.02 && rootNcut < 0.03, `root NCut ${rootNcut}`);
    assert.ok(nextNcut > 0.03 && nextNcut < 0.04, `second NCut ${nextNcut}`);
    // τ between the two NCuts keeps one split: two segments, one of them two bands together.
    const r2 = await seg.segment(BANDS.image, { alpha: 1, tau: 0.03 });
    assert.deepEqual([r2.tau, r2.alpha, r2.segments], [0.03, 1, 2]);
    assert.deepEqual([...r2.segmentSizes].sort((a, b) => a - b), [1584, 1440 + 1584]);
    // τ below the root's NCut: no split at all.
    const r3 = await seg.segment(BANDS.image, { alpha: 1, tau: 0.01 });
    assert.deepEqual([r3.segments, r3.segmentSizes], [1, [48 * 96]]);
    // α = 10 makes the cross-band affinity 0: even a tiny τ splits.
    const r4 = await seg.segment(BANDS.image, { tau: 0.01 });
    assert.deepEqual([r4.tau, r4.alpha, r4.segments], [0.01, 10, 3]);
    // Undefined overrides fall back to the defaults, and the segmenter's options did not change.
    const r5 = await seg.segment(BANDS.image, { tau: undefined, alpha: undefined });
    assert.deepEqual([r5.tau, r5.alpha, r5.refine], [0.5, 10, false]);
    assert.deepEqual([seg.options.tau, seg.options.alpha, seg.options.refine], [0.5, 10, false]);
  } finally {
    await seg.dispose();
  }
});

Deno.test("createSegmenter(rgb-grid): refine runs PAMR on the concept assignment, and off skips it", async () => {
  // A diagonal edge cuts through grid cells: assignment alone mislabels a few pixels, PAMR follows the colours.
  const { image, truth } = paint(64, 64, (y, x) => (x + y < 61 ? 0 : 2));
  const seg = await createSegmenter({ encoder: "rgb-grid" });
  try {
    const off = await seg.segment(image, { refine: false });
    const on = await seg.segment(image);
    assert.deepEqual([off.refine, on.refine, off.segments, on.segments], [false, true, 2, 2]);
    // Exactly the pipeline's stages, recomputed here.
    const assigned = await assignConcepts(off.features, off.gridLabels, { height: 64, width: 64 });
    assert.deepEqual(off.labels, compactLabels(assigned).compact);
    assert.deepEqual(on.labels, compactLabels(await refinePamr(image, assigned)).compact);
    const wrong = (labels: Int32Array) => {
      // Errors after matching each label to the truth region where most of its pixels lie.
      let errors = 0;
      for (const k of new Set(labels)) {
        const counts = [0, 0, 0];
        labels.forEach((v, i) => v === k && counts[truth[i]]++);
        errors += counts.reduce((a, b) => a + b) - Math.max(...counts);
      }
      return errors;
    };
    assert.ok(wrong(off.labels) > 0, "assignment alone mislabels pixels along the diagonal");
    assert.equal(wrong(on.labels), 0);
    assert.ok(samePartition(on.labels, truth));
  } finally {
    await seg.dispose();
  }
});

Deno.test("createSegmenter(rgb-grid): outputSize sets the working size; labels come back at the input size", async () => {
  const seg = await createSegmenter({ encoder: "rgb-grid", outputSize: 32 });
  try {
    assert.equal(seg.options.outputSize, 32);
    const off = await seg.segment(BANDS.image, { refine: false });
    assert.deepEqual(off.workSize, { height: 16, width: 32 });
    assert.deepEqual([off.height, off.width, off.labels.length, off.segments], [48, 96, 48 * 96, 3]);
    // The bands' edges (columns 33, 66) fall inside 3-pixel cells of the 32-wide work map, so allow one column.
    let errors = 0;
    for (let y = 0; y < 48; y++) {
      for (let x = 0; x < 96; x++) {
        if (off.labels[y * 96 + x] !== off.labels[y * 96 + (x < 33 ? 0 : x < 66 ? 40 : 95)]) errors++;
      }
    }
    assert.ok(errors <= 2 * 48, `${errors} pixels off their band`);
    const on = await seg.segment(BANDS.image);
    assert.deepEqual([on.workSize, on.segments, on.labels.length], [{ height: 16, width: 32 }, 3, 48 * 96]);
    // PAMR ran on the image resized to the work size.
    const assigned = await assignConcepts(on.features, on.gridLabels, { height: 16, width: 32 });
    const refined = await refinePamr(resizeImage(BANDS.image, 16, 32), assigned);
    // Nearest-exact upsampling 16×32 → 48×96 repeats every work pixel 3×3.
    const expected = compactLabels(Int32Array.from({ length: 48 * 96 }, (_, i) => {
      const y = Math.floor(i / 96), x = i % 96;
      return refined[Math.floor(y / 3) * 32 + Math.floor(x / 3)];
    })).compact;
    assert.deepEqual(on.labels, expected);
  } finally {
    await seg.dispose();
  }
});

Deno.test("createSegmenter: a custom encoder object gives fully predictable results", async () => {
  // 4×4 grid: left half prototype [1, 0], right half [0, 1] (orthogonal, cosine 0).
  const features: FeatureMap = {
    height: 4,
    width: 4,
    channels: 2,
    data: Float32Array.from(
      { length: 32 },
      (_, i) => ((i >> 1) % 4 < 2 ? (i % 2 === 0 ? 1 : 0) : (i % 2 === 0 ? 0 : 1)),
    ),
  };
  const seen: ImageRGB[] = [];
  let disposed = 0;
  const encoder: Encoder = {
    id: "fake",
    defaults: { tau: 0.4, alpha: 2, selfLoops: false, minSegmentSize: 2, maxSegments: 7, inputSize: 4 },
    encode: (image) => {
      seen.push(image);
      return Promise.resolve(features);
    },
    dispose: () => {
      disposed++;
      return Promise.resolve();
    },
  };
  const seg = await createSegmenter({ encoder, refine: false });
  assert.equal(seg.encoder, encoder);
  assert.deepEqual(
    [
      seg.options.tau,
      seg.options.alpha,
      seg.options.selfLoops,
      seg.options.minSegmentSize,
      seg.options.maxSegments,
    ],
    [0.4, 2, false, 2, 7],
  );
  const image: ImageRGB = { height: 8, width: 8, data: new Float32Array(8 * 8 * 3).fill(0.5) };
  const r = await seg.segment(image);
  assert.equal(seen.length, 1);
  assert.equal(seen[0], image, "the encoder receives the image as given");
  assert.equal(r.features, features);
  assert.equal(r.encoderId, "fake");
  assert.equal(r.segments, 2);
  assert.equal(r.tree.selfLoops, false);
  assert.equal(r.tree.minSegmentSize, 2);
  assert.equal(r.tree.maxSegments, 7);
  assert.equal(r.tree.nodes[0].ncut, 0, "orthogonal halves cut at NCut 0");
  const gridHalves = Int32Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 0 : 1));
  assert.ok(samePartition(r.gridLabels, gridHalves));
  // Each 2×2 pixel block copies its patch: left 4 columns one label, right 4 the other, numbered like the grid.
  const left = r.gridLabels[0], right = r.gridLabels[3];
  assert.deepEqual(Array.from(r.labels), Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? left : right)));
  assert.deepEqual(r.segmentSizes, [32, 32]);
  await seg.dispose();
  assert.equal(disposed, 1);
});

Deno.test("createSegmenter: the encoder's maxSegments caps the cut", async () => {
  const grid = (_y: number, x: number) => (x < 11 ? 0 : x < 22 ? 1 : 2);
  const data = new Float32Array(32 * 32 * 3);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) data.set(HUES[grid(y, x)], (y * 32 + x) * 3);
  const features: FeatureMap = { height: 32, width: 32, channels: 3, data };
  const encoder: Encoder = {
    id: "capped",
    defaults: { tau: 0.5, alpha: 10, maxSegments: 2, inputSize: 32 },
    encode: () => Promise.resolve(features),
    dispose: () => Promise.resolve(),
  };
  const seg = await createSegmenter({ encoder, refine: false });
  const capped = await seg.segment(BANDS.image);
  assert.equal(capped.segments, 2);
  const free = await (await createSegmenter({ encoder, refine: false, maxSegments: 3 })).segment(BANDS.image);
  assert.equal(free.segments, 3);
  assert.ok(samePartition(free.gridLabels, BAND_GRID));
});

Deno.test("createSegmenter: invalid tau, alpha, outputSize and encoder are rejected with the value", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ tau: 0 }, /^Invalid tau 0: expected a finite number > 0$/],
    [{ tau: -0.5 }, /^Invalid tau -0\.5: expected a finite number > 0$/],
    [{ tau: NaN }, /^Invalid tau NaN/],
    [{ alpha: 0.5 }, /^Invalid alpha 0\.5: expected a finite number >= 1$/],
    [{ alpha: Infinity }, /^Invalid alpha Infinity/],
    [{ outputSize: 0 }, /^Invalid outputSize 0: expected a positive integer$/],
    [{ outputSize: 12.5 }, /^Invalid outputSize 12\.5: expected a positive integer$/],
  ];
  for (const [options, message] of cases) {
    await assert.rejects(() => createSegmenter({ encoder: "rgb-grid", ...options }), (e: Error) => {
      assert.ok(e instanceof RangeError, `${JSON.stringify(options)}: ${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  await assert.rejects(() => createSegmenter({ encoder: "no-such-encoder" }), RangeError);
  // Per-call overrides are checked too, before encoding.
  const seg = await createSegmenter({ encoder: "rgb-grid" });
  await assert.rejects(() => seg.segment(BANDS.image, { tau: 0 }), /^RangeError: Invalid tau 0/);
  await assert.rejects(() => seg.segment(BANDS.image, { alpha: 0.9 }), /^RangeError: Invalid alpha 0\.9/);
  await seg.dispose();
});

Deno.test("workingSize: caps the long side, keeps the aspect ratio, never upsamples", () => {
  assert.deepEqual(workingSize({ height: 375, width: 500 }, 512), { height: 375, width: 500 });
  assert.deepEqual(workingSize({ height: 512, width: 512 }, 512), { height: 512, width: 512 });
  assert.deepEqual(workingSize({ height: 1000, width: 2000 }, 512), { height: 256, width: 512 });
  assert.deepEqual(workingSize({ height: 2000, width: 1000 }, 512), { height: 512, width: 256 });
  // 300·512/700 = 219.43 → 219.
  assert.deepEqual(workingSize({ height: 300, width: 700 }, 512), { height: 219, width: 512 });
  // 375·128/500 = 96 exactly.
  assert.deepEqual(workingSize({ height: 375, width: 500 }, 128), { height: 96, width: 128 });
  // A very thin image keeps at least one row.
  assert.deepEqual(workingSize({ height: 3, width: 1000 }, 10), { height: 1, width: 10 });
});

Deno.test("compactLabels: renumbers by ascending value and counts sizes", () => {
  const { compact, sizes } = compactLabels(new Int32Array([7, 3, 7, -1, 3, 7]));
  assert.deepEqual(Array.from(compact), [2, 1, 2, 0, 1, 2]);
  assert.deepEqual(sizes, [1, 2, 3]);
  // Already compact labels are unchanged (and copied, not aliased).
  const input = new Int32Array([0, 1, 1, 2]);
  const again = compactLabels(input);
  assert.deepEqual(Array.from(again.compact), [0, 1, 1, 2]);
  assert.notEqual(again.compact, input);
  assert.deepEqual(again.sizes, [1, 2, 1]);
  assert.deepEqual(compactLabels(new Int32Array(0)), { compact: new Int32Array(0), sizes: [] });
  // Gaps (the lookup-array path) and a label too large for it (the Map path) give the same renumbering.
  assert.deepEqual(
    compactLabels(new Int32Array([900, 5, 5, 900, 17])).compact,
    new Int32Array([2, 0, 0, 2, 1]),
  );
  assert.deepEqual(
    compactLabels(new Int32Array([2 ** 30, 5, 5, 2 ** 30, 17])).compact,
    new Int32Array([2, 0, 0, 2, 1]),
  );
});

Deno.test("createSegmenter: images smaller than 2×2 are rejected with a one-line error", async () => {
  const { createSegmenter } = await import("../lib/segmenter.ts");
  const seg = await createSegmenter({ encoder: "rgb-grid" });
  for (const [h, w] of [[1, 1], [1, 5], [4, 1]]) {
    await assert.rejects(
      () => seg.segment({ height: h, width: w, data: new Float32Array(h * w * 3).fill(0.5) }),
      new RegExp(`^RangeError: Image is ${w}×${h}; expected at least 2×2 pixels to segment$`),
    );
  }
  await seg.dispose();
});

Deno.test("createSegmenter({ solver: 'kway' }): the K-way NCut improves the cut's partition, objectives reported", async () => {
  const seg = await createSegmenter({ encoder: "rgb-grid", solver: "kway", backend: "cpu" });
  try {
    const r = await seg.segment(BANDS.image);
    assert.equal(r.settings.solver, "kway");
    assert.ok(r.ncut, "ncut objectives reported");
    assert.equal(r.ncut.k, 3);
    assert.ok(r.ncut.kway <= r.ncut.recursive);
    assert.ok(samePartition(r.gridLabels, BAND_GRID), "grid labels still follow the bands");
    assert.ok(r.stageRuns.some((run) => run.stage === "kway"));
  } finally {
    await seg.dispose();
  }
  await assert.rejects(
    createSegmenter({ encoder: "rgb-grid", solver: "spectral" as "kway" }),
    /Invalid solver "spectral"/,
  );
});

Deno.test("createSegmenter names a bad DIFFCUT_KERNEL_THREADS before any image is segmented", async () => {
  // In a child process: the variable is shared by every test file running beside this one.
  const code = `import { createSegmenter } from ${
    JSON.stringify(new URL("../lib/segmenter.ts", import.meta.url).href)
  };
    try { await createSegmenter({ encoder: "rgb-grid" }); console.log("created"); }
    catch (e) { console.log(e.message); }`;
  for (
    const [value, expected] of [["abc", "DIFFCUT_KERNEL_THREADS=abc: expected a positive integer"], [
      "0",
      "DIFFCUT_KERNEL_THREADS=0: expected a positive integer",
    ], ["1", "created"]]
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", code],
      env: { [KERNEL_THREADS_ENV]: value },
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), expected, `${KERNEL_THREADS_ENV}=${value}`);
  }
});
