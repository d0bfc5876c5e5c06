/**
 * The WebAssembly SIMD engine of PAMR (lib/pamr/pamr_simd.ts, lib/wasm/pamr.wat) against the TypeScript reference
 * (lib/pamr/pamr.ts), bit for bit: every weight, every propagated value and every label compared with Object.is.
 */
import assert from "node:assert/strict";
import {
  pamrAffinity,
  type PamrEngine,
  propagatePamr,
  propagateRanks,
  refinePamrSync,
} from "../../lib/pamr/pamr.ts";
import { pamrWorkspace } from "../../lib/pamr/pamr_simd.ts";
import { loadImage } from "../../lib/image/load_image.ts";
import { resizeImage } from "../../lib/image/resize.ts";
import type { ImageRGB } from "../../lib/types.ts";
import { seededRandom } from "../../lib/random.ts";

/** Asserts two arrays hold the same values bit for bit (Object.is: NaN equals NaN, −0 differs from +0). */
function assertIdentical(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}: [${i}] is ${actual[i]} on wasm, ${expected[i]} on typescript`);
    }
  }
}

/** A random image: smooth regions, edges and noise, so softmax weights range widely. */
function randomImage(h: number, w: number, rnd: () => number): ImageRGB {
  const data = new Float32Array(h * w * 3);
  const cx = rnd() * w, cy = rnd() * h;
  for (let i = 0; i < h * w; i++) {
    const x = i % w, y = Math.floor(i / w);
    const inside = (x - cx) ** 2 + (y - cy) ** 2 < (w * h) / 6;
    for (let c = 0; c < 3; c++) {
      data[3 * i + c] = rnd() < 0.3 ? rnd() : (inside ? 0.8 : 0.2) + 0.05 * c + 0.01 * rnd();
    }
  }
  return { data, height: h, width: w };
}

/** Random masks `[h, w, K]`: exact zeros (whole rows, runs, single values), negatives and ordinary values. */
function randomMasks(h: number, w: number, K: number, rnd: () => number): Float32Array {
  const data = new Float32Array(h * w * K);
  for (let i = 0; i < h * w; i++) {
    const y = Math.floor(i / w), x = i % w;
    for (let k = 0; k < K; k++) {
      const zeroRow = (y * 7 + k) % 5 === 0, zeroRun = x < w / 3 && k % 2 === 0;
      data[i * K + k] = zeroRow || zeroRun || rnd() < 0.2 ? 0 : rnd() < 0.1 ? -rnd() : rnd();
    }
  }
  return data;
}

const SIZES: [number, number][] = [[1, 1], [1, 7], [7, 1], [5, 3], [2, 9], [6, 13], [11, 4], [37, 53]];
const DILATIONS: number[][] = [[1], [2], [3, 1], [1, 2, 4, 8], [8, 4, 2, 1], [40], [1, 1]];
const ITERATIONS = [0, 1, 2, 10];

Deno.test("the WebAssembly engine is available here (the parity tests below would otherwise compare the reference with itself)", () => {
  assert.ok(pamrWorkspace(3, 5, 2, [1, 2]) !== null);
});

Deno.test("pamrAffinity: wasm equals typescript bit for bit (odd sizes, borders, every dilation set)", () => {
  const rnd = seededRandom(1);
  let compared = 0;
  for (const [h, w] of SIZES) {
    for (const dilations of DILATIONS) {
      const image = randomImage(h, w, rnd);
      const wasm = pamrAffinity(image, { dilations }, "wasm");
      assertIdentical(wasm, pamrAffinity(image, { dilations }, "typescript"), `${h}×${w} ${dilations}`);
      compared += wasm.length;
    }
  }
  assert.equal(
    compared,
    8 * SIZES.reduce((s, [h, w]) => s + h * w, 0) * DILATIONS.reduce((s, d) => s + d.length, 0),
  );
});

Deno.test("propagatePamr: wasm equals typescript bit for bit (K = 1..9, iterations 0, 1, 2, 10)", () => {
  const rnd = seededRandom(2);
  for (const [h, w] of SIZES) {
    for (const dilations of DILATIONS) {
      const image = randomImage(h, w, rnd);
      for (let K = 1; K <= 9; K++) {
        // The largest size takes a subset of the (K, dilation) grid to keep the test short.
        if (h * w > 500 && (K + dilations.length) % 3 !== 0) continue;
        const masks = { data: randomMasks(h, w, K, rnd), height: h, width: w, channels: K };
        for (const iterations of ITERATIONS) {
          const options = { iterations, dilations };
          assertIdentical(
            propagatePamr(image, masks, options, "wasm").data,
            propagatePamr(image, masks, options, "typescript").data,
            `${h}×${w} K=${K} ${dilations} ×${iterations}`,
          );
        }
      }
    }
  }
});

Deno.test("propagateRanks and refinePamrSync: wasm equals typescript bit for bit (planes and labels)", () => {
  const rnd = seededRandom(3);
  for (const [h, w] of SIZES) {
    for (const dilations of DILATIONS) {
      const image = randomImage(h, w, rnd);
      for (let K = 1; K <= 9; K++) {
        if (h * w > 500 && (K + dilations.length) % 3 !== 0) continue;
        // Blobs of labels (a one-hot start is sparse per row) with some isolated pixels.
        const ranks = new Int32Array(h * w).map((_, i) =>
          rnd() < 0.1 ? Math.floor(rnd() * K) : Math.floor(((i % w) / w + Math.floor(i / w) / h) * K / 2) % K
        );
        const labels = ranks.map((r) => 10 * r - 7);
        for (const iterations of ITERATIONS) {
          const what = `${h}×${w} K=${K} ${dilations} ×${iterations}`;
          const planes = propagateRanks(image, ranks, K, iterations, dilations, "wasm").slice();
          assertIdentical(planes, propagateRanks(image, ranks, K, iterations, dilations, "typescript"), what);
          for (const median of [false, true]) {
            const options = { iterations, dilations, median };
            assertIdentical(
              refinePamrSync(image, labels, options, "wasm"),
              refinePamrSync(image, labels, options, "typescript"),
              `${what} median=${median}`,
            );
          }
        }
      }
    }
  }
});

Deno.test("extreme image values: NaN weights take the reference's one-hot step, and the results stay identical", () => {
  const rnd = seededRandom(7);
  let nanCases = 0, shortcutWouldDiffer = 0;
  for (let t = 0; t < 60; t++) {
    const h = 3 + Math.floor(rnd() * 8),
      w = 3 + Math.floor(rnd() * 8),
      n = h * w,
      K = 2 + Math.floor(rnd() * 3);
    // ±3.4e38: differences overflow float32 and σ can be infinite, so some pixels' logits are NaN.
    const data = new Float32Array(n * 3).map(() =>
      (rnd() < 0.5 ? 3.4e38 : -3.4e38) * (rnd() < 0.8 ? 1 : 0.5)
    );
    const image = { data, height: h, width: w };
    const ranks = new Int32Array(n).map(() => (rnd() < 0.9 ? 0 : 1 + Math.floor(rnd() * (K - 1))));
    const dilations = rnd() < 0.5 ? [1, 2] : [2];
    const weights = pamrAffinity(image, { dilations }, "wasm");
    assertIdentical(weights, pamrAffinity(image, { dilations }, "typescript"), `case ${t} weights`);
    if (weights.some(Number.isNaN)) nanCases++;
    const reference = propagateRanks(image, ranks, K, 1, dilations, "typescript");
    assertIdentical(propagateRanks(image, ranks, K, 1, dilations, "wasm"), reference, `case ${t} one step`);
    for (const iterations of [2, 5]) {
      assertIdentical(
        propagateRanks(image, ranks, K, iterations, dilations, "wasm").slice(),
        propagateRanks(image, ranks, K, iterations, dilations, "typescript"),
        `case ${t} ×${iterations}`,
      );
    }
    // The general step on one-hot masks, which the wasm engine uses when every weight is a number.
    const oneHot = new Float32Array(n * K);
    for (let i = 0; i < n; i++) oneHot[i * K + ranks[i]] = 1;
    const general = propagatePamr(image, { data: oneHot, height: h, width: w, channels: K }, {
      iterations: 1,
      dilations,
    }, "typescript").data;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < K; k++) {
        if (!Object.is(general[i * K + k], reference[k * n + i])) shortcutWouldDiffer++;
      }
    }
  }
  assert.ok(nanCases >= 20, `${nanCases} cases with NaN weights`);
  // So the fallback is needed, and these cases exercise it.
  assert.ok(shortcutWouldDiffer > 0);
});

Deno.test("argmax in WebAssembly: the first of equal values wins, NaN never wins, +0 does not beat −0", () => {
  const rnd = seededRandom(13);
  const special = [0, -0, NaN, 1, -1, 0.5, Infinity, -Infinity];
  for (const [h, w] of [[1, 1], [1, 7], [3, 5], [4, 4], [9, 11]]) {
    for (let K = 1; K <= 5; K++) {
      const ws = pamrWorkspace(h, w, K, [1])!;
      const n = h * w;
      ws.masks.set(ws.masks.map(() => special[Math.floor(rnd() * special.length)]));
      // The reference's loop (refinePamrSync, typescript engine).
      const expected = new Int32Array(n), best = ws.masks.slice(0, n);
      for (let k = 1; k < K; k++) {
        for (let i = 0; i < n; i++) {
          if (ws.masks[k * n + i] > best[i]) (best[i] = ws.masks[k * n + i], expected[i] = k);
        }
      }
      assert.deepEqual(ws.argmax(ws.masks), expected, `${h}×${w} K=${K}`);
    }
  }
  const ws = pamrWorkspace(2, 3, 2, [1])!;
  assert.throws(() => ws.argmax(new Float32Array(12)), RangeError);
});

Deno.test("the kept memory is reused across sizes, and a problem above it gets a memory of its own", () => {
  const rnd = seededRandom(11);
  const cases: [number, number, number, number[]][] = [
    [40, 60, 3, [1, 2, 4, 8]],
    [3, 5, 2, [1]],
    // 150 labels at 300×400: two float32 mask buffers of 72 MB each, above the 128 MiB kept for the next call.
    [300, 400, 150, [1, 2, 4, 8]],
    [40, 60, 3, [1, 2, 4, 8]],
  ];
  for (const [h, w, K, dilations] of cases) {
    const image = randomImage(h, w, rnd);
    const ranks = new Int32Array(h * w).map((_, i) => Math.floor(((i % w) / w) * K));
    assertIdentical(
      propagateRanks(image, ranks, K, 1, dilations, "wasm").slice(),
      propagateRanks(image, ranks, K, 1, dilations, "typescript"),
      `${h}×${w}`,
    );
  }
});

Deno.test("refinePamrSync on the bundled photos at the CLI's work size: wasm labels and planes equal typescript's", async () => {
  for (const [name, counts] of [["chelsea.png", [2, 8]], ["coffee.png", [5]]] as const) {
    const photo = await loadImage(new URL(`../../docs/examples/${name}`, import.meta.url).pathname);
    const image = resizeImage(photo, Math.round((512 * photo.height) / photo.width), 512);
    const { height: h, width: w, data } = image;
    for (const K of counts) {
      // Labels from brightness quantiles: segments that follow the photo's edges, like an assignment's.
      const lum = new Float32Array(h * w).map((_, i) => data[3 * i] + data[3 * i + 1] + data[3 * i + 2]);
      const sorted = lum.slice().sort();
      const cuts = Array.from({ length: K - 1 }, (_, k) => sorted[Math.floor(((k + 1) * sorted.length) / K)]);
      const labels = new Int32Array(h * w).map((_, i) => cuts.filter((c) => lum[i] >= c).length);
      // The labels are already ranks 0..K−1.
      const planes = propagateRanks(image, labels, K, 10, [1, 2, 4, 8], "wasm").slice();
      assertIdentical(
        planes,
        propagateRanks(image, labels, K, 10, [1, 2, 4, 8], "typescript"),
        `${name} K=${K}`,
      );
      const engines: PamrEngine[] = ["wasm", "typescript"];
      const [fast, reference] = engines.map((e) => refinePamrSync(image, labels, {}, e));
      assertIdentical(fast, reference, `${name} K=${K} labels`);
      assert.equal(new Set(reference).size, K, `${name} K=${K}: every label survives`);
    }
  }
});
