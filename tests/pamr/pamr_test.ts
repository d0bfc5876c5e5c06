import assert from "node:assert/strict";
import {
  DEFAULT_PAMR_OPTIONS,
  distinctLabelCount,
  pamrAffinity,
  propagatePamr,
} from "../../lib/pamr/pamr.ts";
import { refinePamr } from "../../lib/stages.ts";
import { medianFilter3x3 } from "../../lib/pamr/median_filter.ts";
import type { ImageRGB } from "../../lib/types.ts";

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A grey image (R = G = B) from row-major values. */
function grey(h: number, w: number, values: number[]): ImageRGB {
  const data = new Float32Array(h * w * 3);
  values.forEach((v, i) => data.fill(v, 3 * i, 3 * i + 3));
  return { data, height: h, width: w };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, msg = "") {
  assert.equal(actual.length, expected.length, `${msg} length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `${msg} [${i}]: ${actual[i]} vs ${expected[i]} (tol ${tol})`,
    );
  }
}

const OFFS = [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]];

/** Independent float64 PAMR written from REFERENCE.md §4.1, pixel by pixel, no shared code. */
function naiveAffinity(img: ImageRGB, dil: number[], biased = false): Float64Array {
  const { height: H, width: W, data } = img;
  const at = (y: number, x: number, c: number) =>
    data[(Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))) * 3 + c];
  const P = 8 * dil.length;
  const out = new Float64Array(H * W * P);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const std = [0, 1, 2].map((c) => {
        const taps: number[] = [];
        for (const d of dil) {
          for (let ky = -1; ky <= 1; ky++) {
            for (let kx = -1; kx <= 1; kx++) taps.push(at(y + ky * d, x + kx * d, c));
          }
        }
        const mean = taps.reduce((a, b) => a + b, 0) / taps.length;
        const ss = taps.reduce((a, b) => a + (b - mean) ** 2, 0);
        return Math.sqrt(ss / (biased ? taps.length : taps.length - 1));
      });
      const logits: number[] = [];
      for (const d of dil) {
        for (const [dy, dx] of OFFS) {
          let s = 0;
          for (let c = 0; c < 3; c++) {
            s += -Math.abs(at(y, x, c) - at(y + dy * d, x + dx * d, c)) / (1e-8 + 0.1 * std[c]);
          }
          logits.push(s / 3);
        }
      }
      const m = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - m));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((v, p) => (out[(y * W + x) * P + p] = v / z));
    }
  }
  return out;
}

function naivePropagate(img: ImageRGB, masks: Float64Array, K: number, dil: number[], iters: number) {
  const { height: H, width: W } = img;
  const w = naiveAffinity(img, dil);
  const P = 8 * dil.length;
  let m = masks.slice();
  for (let it = 0; it < iters; it++) {
    const next = new Float64Array(m.length);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let p = 0;
        for (const d of dil) {
          for (const [dy, dx] of OFFS) {
            const ny = Math.min(H - 1, Math.max(0, y + dy * d));
            const nx = Math.min(W - 1, Math.max(0, x + dx * d));
            for (let k = 0; k < K; k++) {
              next[(y * W + x) * K + k] += w[(y * W + x) * P + p] * m[(ny * W + nx) * K + k];
            }
            p++;
          }
        }
      }
    }
    m = next;
  }
  return m;
}

Deno.test("pamrAffinity: hand-derived weights on a 1x3 grey image, dilation 1", () => {
  // Image row [0, 0.25, 1] (R = G = B), one dilation. Middle pixel (0,1):
  //   replicate padding makes the 3x3 window rows all equal to [0, 0.25, 1], so the 9 taps are
  //   {0, 0.25, 1} three times: mean 1.25/3, Σ(v − mean)² = 3·(0.41667² + 0.16667² + 0.58333²) = 1.625,
  //   unbiased variance 1.625 / 8 = 0.203125, σ = 0.450694 (the same for every channel).
  //   Neighbours in order (−1,−1) (−1,0) (−1,1) (0,−1) (0,1) (1,−1) (1,0) (1,1) land on columns
  //   0, 1, 2, 0, 2, 0, 1, 2, so |ΔI| = 0.25, 0, 0.75, 0.25, 0.75, 0.25, 0, 0.75 and the logits are
  //   −a, 0, −b, −a, −b, −a, 0, −b with a = 0.25/(1e-8 + 0.1σ) = 5.5470, b = 0.75/(1e-8 + 0.1σ) = 16.641
  //   (the channel mean of three equal values is the value). Softmax: Z = 2 + 3e^−a + 3e^−b.
  // Left pixel (0,0): taps {0, 0, 0.25} three times: Σ(v − mean)² = 3·(2·(1/12)² + (1/6)²) = 0.125,
  //   σ = sqrt(0.125/8) = 0.125 exactly; neighbours land on columns 0,0,1,0,1,0,0,1, so the logits are
  //   0,0,−c,0,−c,0,0,−c with c = 0.25/(1e-8 + 0.0125) = 19.99998.
  const img = grey(1, 3, [0, 0.25, 1]);
  const w = pamrAffinity(img, { dilations: [1] });
  assert.equal(w.length, 3 * 8);
  const sigma = Math.sqrt(1.625 / 8);
  const a = 0.25 / (1e-8 + 0.1 * sigma);
  const b = 0.75 / (1e-8 + 0.1 * sigma);
  const z = 2 + 3 * Math.exp(-a) + 3 * Math.exp(-b);
  const [wa, w0, wb] = [Math.exp(-a) / z, 1 / z, Math.exp(-b) / z];
  assertClose(w.subarray(8, 16), [wa, w0, wb, wa, wb, wa, w0, wb], 1e-6, "middle");
  const c = 0.25 / (1e-8 + 0.0125);
  const z0 = 5 + 3 * Math.exp(-c);
  const [u0, uc] = [1 / z0, Math.exp(-c) / z0];
  assertClose(w.subarray(0, 8), [u0, u0, uc, u0, uc, u0, u0, uc], 1e-6, "left");
  // The right pixel mirrors the left one with the taps {0.25, 1, 1}: σ = 0.375, logit −0.75/0.0375 = −20.
  const z2 = 5 + 3 * Math.exp(-20);
  assertClose(
    w.subarray(16, 24),
    [
      Math.exp(-20) / z2,
      1 / z2,
      1 / z2,
      Math.exp(-20) / z2,
      1 / z2,
      Math.exp(-20) / z2,
      1 / z2,
      1 / z2,
    ],
    1e-6,
    "right",
  );
});

Deno.test("pamrAffinity: the local std is unbiased (N − 1) over 9·len(dilations) taps", () => {
  // With the biased std the middle pixel's logit −a would be −0.25/(0.1·sqrt(1.625/9)) = −5.883 instead
  // of −5.547: the weights differ by far more than the tolerance used here.
  const img = grey(1, 3, [0, 0.25, 1]);
  const w = pamrAffinity(img, { dilations: [1] });
  const unbiased = naiveAffinity(img, [1]);
  const biased = naiveAffinity(img, [1], true);
  assertClose(w, unbiased, 1e-6);
  assert.ok(Math.abs(w[8] - biased[8]) > 1e-4, "biased std must not match");
  // Two dilations: 18 taps, N − 1 = 17; check against the independent implementation on a random image.
  const rand = lcg(5);
  const img2: ImageRGB = { data: new Float32Array(4 * 5 * 3).map(rand), height: 4, width: 5 };
  assertClose(pamrAffinity(img2, { dilations: [1, 2] }), naiveAffinity(img2, [1, 2]), 1e-6, "[1,2]");
  const w2 = pamrAffinity(img2, { dilations: [1, 2] });
  const b2 = naiveAffinity(img2, [1, 2], true);
  assert.ok(w2.some((v, i) => Math.abs(v - b2[i]) > 1e-4), "biased std must not match with two dilations");
});

Deno.test("pamrAffinity: weights sum to 1, follow the independent implementation, and the default is [1,2,4,8]", () => {
  const rand = lcg(11);
  const img: ImageRGB = { data: new Float32Array(7 * 6 * 3).map(rand), height: 7, width: 6 };
  for (const dil of [[1], [2, 1], [1, 3, 9]]) {
    const w = pamrAffinity(img, { dilations: dil });
    assertClose(w, naiveAffinity(img, dil), 1e-6, JSON.stringify(dil));
    const P = 8 * dil.length;
    for (let i = 0; i < 42; i++) {
      const s = w.subarray(i * P, (i + 1) * P).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(s - 1) < 1e-6, `pixel ${i} sums to ${s}`);
    }
  }
  assert.deepEqual(pamrAffinity(img), pamrAffinity(img, { dilations: [1, 2, 4, 8] }));
  assert.deepEqual([...DEFAULT_PAMR_OPTIONS.dilations], [1, 2, 4, 8]);
  assert.equal(DEFAULT_PAMR_OPTIONS.iterations, 10);
  assert.equal(DEFAULT_PAMR_OPTIONS.median, true);
});

Deno.test("propagatePamr: one hand-derived iteration on the 1x3 image", () => {
  // Labels [0, 0, 1] as one-hot masks M0 = [1, 1, 0], M1 = [0, 0, 1]. At the middle pixel the neighbours
  // on columns 0 and 1 carry label 0 (weights 3·w_a + 2·w_0) and those on column 2 carry label 1
  // (weight 3·w_b), so after one step M0 = (3e^−a + 2)/Z and M1 = 3e^−b/Z with a, b, Z as above.
  // At the left pixel only the three (·,+1) neighbours reach column 1, still label 0: M0 = 1, M1 = 0.
  // At the right pixel the neighbours on column 1 (weights e^−20/z2 each, three of them) carry label 0.
  const img = grey(1, 3, [0, 0.25, 1]);
  const masks = { data: new Float32Array([1, 0, 1, 0, 0, 1]), height: 1, width: 3, channels: 2 };
  const out = propagatePamr(img, masks, { iterations: 1, dilations: [1] });
  const sigma = Math.sqrt(1.625 / 8);
  const a = 0.25 / (1e-8 + 0.1 * sigma);
  const b = 0.75 / (1e-8 + 0.1 * sigma);
  const z = 2 + 3 * Math.exp(-a) + 3 * Math.exp(-b);
  const z2 = 5 + 3 * Math.exp(-20);
  assertClose(out.data, [
    1,
    0,
    (3 * Math.exp(-a) + 2) / z,
    3 * Math.exp(-b) / z,
    3 * Math.exp(-20) / z2,
    5 / z2,
  ], 1e-6);
  assert.equal(out.channels, 2);
  // The input masks are not modified.
  assert.deepEqual([...masks.data], [1, 0, 1, 0, 0, 1]);
});

Deno.test("propagatePamr: several iterations follow the independent implementation", () => {
  const rand = lcg(21);
  const H = 9, W = 8, K = 3;
  const img: ImageRGB = { data: new Float32Array(H * W * 3).map(rand), height: H, width: W };
  const soft = new Float32Array(H * W * K).map(rand);
  for (const [dil, iters] of [[[1], 1], [[1, 3], 3], [[1, 2, 4, 8], 10]] as [number[], number][]) {
    const out = propagatePamr(img, { data: soft, height: H, width: W, channels: K }, {
      iterations: iters,
      dilations: dil,
    });
    assertClose(
      out.data,
      naivePropagate(img, Float64Array.from(soft), K, dil, iters),
      1e-5,
      JSON.stringify(dil),
    );
  }
  // Zero iterations return the masks unchanged.
  const same = propagatePamr(img, { data: soft, height: H, width: W, channels: K }, { iterations: 0 });
  assert.deepEqual(same.data, soft);
});

Deno.test("refinePamr: argmax of the propagated one-hot masks, renumbered to ranks", async () => {
  const rand = lcg(33);
  const H = 10, W = 12;
  const img: ImageRGB = { data: new Float32Array(H * W * 3).map(rand), height: H, width: W };
  const values = [-5, 2, 40];
  const labels = new Int32Array(H * W).map((_, i) =>
    values[(Math.floor(i / W / 4) + Math.floor((i % W) / 5)) % 3]
  );
  const oneHot = new Float64Array(H * W * 3);
  labels.forEach((v, i) => (oneHot[i * 3 + values.indexOf(v)] = 1));
  const soft = naivePropagate(img, oneHot, 3, [1, 2, 4, 8], 10);
  const expected = new Int32Array(H * W).map((_, i) => {
    const m = [soft[3 * i], soft[3 * i + 1], soft[3 * i + 2]];
    return m.indexOf(Math.max(...m));
  });
  const out = await refinePamr(img, labels, { median: false });
  assert.deepEqual(out, expected);
  assert.deepEqual(await refinePamr(img, labels), medianFilter3x3(expected, H, W));
  // Zero iterations: just the renumbering (ranks of the sorted distinct labels).
  const ranks = await refinePamr(img, labels, { iterations: 0, median: false });
  assert.deepEqual(ranks, labels.map((v) => values.indexOf(v)));
});

Deno.test("refinePamr equals the argmax of propagatePamr on one-hot masks", async () => {
  // refinePamr runs its first step from the label ranks directly; the result must be the same.
  const rand = lcg(77);
  for (
    const [H, W, K, dil, iters] of [
      [6, 7, 2, [1], 1],
      [9, 5, 4, [1, 2], 2],
      [16, 12, 6, [1, 2, 4, 8], 10],
    ] as [number, number, number, number[], number][]
  ) {
    const img: ImageRGB = {
      data: new Float32Array(H * W * 3).map(() => Math.round(rand() * 4) / 4),
      height: H,
      width: W,
    };
    const labels = new Int32Array(H * W).map(() => Math.floor(rand() * K) * 3);
    const distinct = [...new Set(labels)].sort((a, b) => a - b);
    const oneHot = new Float32Array(H * W * distinct.length);
    labels.forEach((v, i) => (oneHot[i * distinct.length + distinct.indexOf(v)] = 1));
    const soft = propagatePamr(img, { data: oneHot, height: H, width: W, channels: distinct.length }, {
      iterations: iters,
      dilations: dil,
    }).data;
    const expected = new Int32Array(H * W).map((_, i) => {
      const m = [...soft.subarray(i * distinct.length, (i + 1) * distinct.length)];
      return m.indexOf(Math.max(...m));
    });
    const out = await refinePamr(img, labels, { iterations: iters, dilations: dil, median: false });
    assert.deepEqual(out, expected, `${H}x${W}, K ${K}`);
  }
});

Deno.test("refinePamr: ties go to the lower label", async () => {
  // Constant 2x2 image: all 8 weights are 1/8. With a checkerboard A B / B A every pixel's 8 replicate-padded
  // neighbours hit 4 A pixels and 4 B pixels (e.g. (0,0): (0,0)×3 + (1,1) are A, (0,1)×2 + (1,0)×2 are B),
  // so both masks become exactly 0.5 everywhere and stay so; the first (lower) label wins.
  const img = grey(2, 2, [0.3, 0.3, 0.3, 0.3]);
  for (const labels of [[4, 9, 9, 4], [9, 4, 4, 9]]) {
    for (const iterations of [1, 3]) {
      const out = await refinePamr(img, new Int32Array(labels), {
        iterations,
        dilations: [1],
        median: false,
      });
      assert.deepEqual([...out], [0, 0, 0, 0], `${labels} ${iterations}`);
    }
  }
});

Deno.test("refinePamr: fixes noisy labels on a two-colour image", async () => {
  // Flat colours: inside a region σ = 0, so all 32 weights are equal and labels average out; where a window
  // straddles the edge, cross-edge logits are about −|ΔI|/(0.1σ) ≈ −20 and nothing leaks. (Colour noise would
  // not do here: the logits are contrast-invariant, so even faint noise gives sharp, random affinities.)
  const rand = lcg(2024);
  const H = 24, W = 24;
  const data = new Float32Array(H * W * 3);
  const truth = new Int32Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const left = x < 10;
      const colour = left ? [0.8, 0.2, 0.2] : [0.2, 0.3, 0.8];
      for (let c = 0; c < 3; c++) data[i * 3 + c] = colour[c];
      truth[i] = left ? 0 : 1;
    }
  }
  const noisy = truth.map((t) => (rand() < 0.15 ? 1 - t : t) * 5 + 3); // labels 3 and 8, 15% flipped
  const flipped = noisy.reduce((n, v, i) => n + ((v === 8 ? 1 : 0) !== truth[i] ? 1 : 0), 0);
  assert.ok(flipped > 40, `the test needs noise (${flipped} flipped)`);
  const img: ImageRGB = { data, height: H, width: W };
  assert.deepEqual(await refinePamr(img, noisy, { median: false }), truth);
  assert.deepEqual(await refinePamr(img, noisy), truth);
  assert.deepEqual(await refinePamr(img, noisy, { backend: "cpu" }), truth);
});

Deno.test("refinePamr: dilations larger than the image and a single label", async () => {
  const img = grey(3, 3, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  const out = await refinePamr(img, new Int32Array([1, 1, 1, 1, 1, 2, 2, 2, 2]));
  assert.equal(out.length, 9);
  assert.ok(out.every((v) => v === 0 || v === 1));
  assert.deepEqual([...(await refinePamr(img, new Int32Array(9).fill(-3)))], new Array(9).fill(0));
});

Deno.test("refinePamr rejects bad inputs", async () => {
  const img = grey(3, 4, new Array(12).fill(0.5));
  const labels = new Int32Array(12);
  await assert.rejects(
    refinePamr(img, new Int32Array(10)),
    (e: Error) => e instanceof RangeError && e.message.includes("3×4") && e.message.includes("10"),
  );
  await assert.rejects(refinePamr(img, new Int32Array(0)), RangeError);
  await assert.rejects(refinePamr(img, [0, 1] as unknown as Int32Array), TypeError);
  const nan = grey(3, 4, new Array(12).fill(0.5));
  nan.data[7] = NaN;
  await assert.rejects(
    refinePamr(nan, labels),
    (e: Error) => e instanceof RangeError && e.message.includes("NaN"),
  );
  for (const bad of [Infinity, -Infinity]) {
    const inf = grey(3, 4, new Array(12).fill(0.5));
    inf.data[31] = bad;
    await assert.rejects(
      refinePamr(inf, labels),
      (e: Error) => e instanceof RangeError && e.message.includes(`${bad} at index 31`),
    );
  }
  await assert.rejects(
    refinePamr({ data: new Float32Array(0), height: 0, width: 0 }, new Int32Array(0)),
    RangeError,
  );
  await assert.rejects(refinePamr({ ...img, data: new Float32Array(11) }, labels), RangeError);
  await assert.rejects(refinePamr({ ...img, data: [0.5] as unknown as Float32Array }, labels), TypeError);
  await assert.rejects(refinePamr(img, labels, { iterations: -1 }), RangeError);
  await assert.rejects(refinePamr(img, labels, { iterations: 1.5 }), RangeError);
  await assert.rejects(refinePamr(img, labels, { dilations: [] }), RangeError);
  await assert.rejects(refinePamr(img, labels, { dilations: [1, 0] }), RangeError);
  await assert.rejects(refinePamr(img, labels, { dilations: 2 as unknown as number[] }), TypeError);
  await assert.rejects(refinePamr(img, labels, { median: "yes" as unknown as boolean }), TypeError);
  await assert.rejects(refinePamr(img, labels, { backend: "tpu" as unknown as "cpu" }), RangeError);
  assert.throws(() => pamrAffinity(nan), RangeError);
  assert.throws(
    () => propagatePamr(img, { data: new Float32Array(12), height: 4, width: 3, channels: 1 }),
    RangeError,
  );
  assert.throws(
    () => propagatePamr(img, { data: new Float32Array(12).fill(NaN), height: 3, width: 4, channels: 1 }),
    RangeError,
  );
  assert.throws(
    () => propagatePamr(img, { data: new Float32Array(11), height: 3, width: 4, channels: 1 }),
    RangeError,
  );
});

Deno.test("refinePamr: labels far apart (a Set) and close together (a table) get the same ranks", async () => {
  const rand = lcg(44);
  const H = 9, W = 11;
  const img: ImageRGB = { data: new Float32Array(H * W * 3).map(rand), height: H, width: W };
  const ranks = new Int32Array(H * W).map((_, i) => (Math.floor(i / W / 3) + Math.floor((i % W) / 4)) % 3);
  for (const options of [{ iterations: 0, median: false }, { iterations: 3 }]) {
    const expected = await refinePamr(img, ranks, options);
    if (options.iterations === 0) assert.deepEqual(expected, ranks);
    for (const values of [[-(2 ** 31), 7, 2 ** 31 - 1], [-3, 0, 1000], [5, 6, 7]]) {
      assert.deepEqual(await refinePamr(img, ranks.map((r) => values[r]), options), expected, `${values}`);
    }
  }
});

Deno.test("distinctLabelCount counts distinct values, near together or far apart", () => {
  assert.equal(distinctLabelCount(new Int32Array([5, 5, -3, 7, -3])), 3);
  assert.equal(distinctLabelCount(new Int32Array([2 ** 30, -(2 ** 30), 2 ** 30, 0])), 3);
  assert.equal(distinctLabelCount(new Int32Array([4])), 1);
  assert.equal(distinctLabelCount(new Int32Array(0)), 0);
});
