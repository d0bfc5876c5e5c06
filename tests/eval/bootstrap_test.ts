/**
 * The image bootstrap (lib/eval/bootstrap.ts): which images each replicate draws, the percentile positions, skipped
 * replicates, and the shared resamples that make a curve's intervals consistent from point to point.
 */
import assert from "node:assert/strict";
import { bootstrapImages, bootstrapMean } from "../../lib/eval/bootstrap.ts";

Deno.test("bootstrapImages: replicate 0 draws ⌊u·n⌋ from seededRandom(seed)", () => {
  // mulberry32(42) starts 2581720956, 1925393290, 3661312704, 2876485805 (tests/random_test.ts); divided by 2³⁰
  // for n = 4 that is 2.40, 1.79, 3.41, 2.68 → images 2, 1, 3, 2.
  const draws: number[][] = [];
  bootstrapImages(4, (draw) => (draws.push([...draw]), 0), { seed: 42, replicates: 1 });
  assert.deepEqual(draws, [[2, 1, 3, 2]]);
  // The mean of images 2, 1, 3, 2 scoring 0, 10, 20, 30 is (20 + 10 + 30 + 20) / 4 = 20.
  assert.deepEqual(bootstrapMean([0, 10, 20, 30], { seed: 42, replicates: 1 }), {
    lo: 20,
    hi: 20,
    replicates: 1,
    skipped: 0,
  });
});

Deno.test("bootstrapImages: the ends are the sorted values at round(q·(m − 1))", () => {
  // Statistic = replicate number: values 0..999; round(0.025·999) = 25, round(0.975·999) = 974.
  assert.deepEqual(bootstrapImages(3, (_, b) => b), { lo: 25, hi: 974, replicates: 1000, skipped: 0 });
  // 11 replicates, quantiles 0.1 and 0.5: positions 1 and 5.
  const ci = bootstrapImages(2, (_, b) => 10 * b, { replicates: 11, quantiles: [0.1, 0.5] });
  assert.deepEqual([ci.lo, ci.hi], [10, 50]);
});

Deno.test("bootstrapImages: degenerate resamples are skipped, other errors thrown", () => {
  const ci = bootstrapImages(2, (_, b) => {
    if (b % 2) throw new RangeError("one class");
    return b % 4 === 0 ? NaN : b;
  }, { replicates: 8 });
  // b = 1, 3, 5, 7 threw; b = 0, 4 gave NaN; b = 2, 6 remain.
  assert.deepEqual(ci, { lo: 2, hi: 6, replicates: 2, skipped: 6 });
  const none = bootstrapImages(2, () => NaN, { replicates: 3 });
  assert.ok(Number.isNaN(none.lo) && Number.isNaN(none.hi));
  assert.equal(none.skipped, 3);
  assert.throws(() =>
    bootstrapImages(2, () => {
      throw new TypeError("bug");
    }), TypeError);
  assert.throws(() => bootstrapImages(0, () => 0), /image count 0/);
  assert.throws(() => bootstrapImages(2, () => 0, { replicates: 0 }), /replicates 0/);
  assert.throws(() => bootstrapImages(2, () => 0, { quantiles: [0.9, 0.1] }), /quantiles/);
});

Deno.test("bootstrapMean: constant scores give a zero-width interval; 0 and 1 give the full range", () => {
  assert.deepEqual(bootstrapMean([0.5, 0.5, 0.5]), { lo: 0.5, hi: 0.5, replicates: 1000, skipped: 0 });
  // Two images: a resample's mean is 0, ½ or 1 with probabilities ¼, ½, ¼, so both tails reach the extremes.
  const ci = bootstrapMean([0, 1]);
  assert.deepEqual([ci.lo, ci.hi], [0, 1]);
  let zeros = 0;
  bootstrapImages(2, (draw) => (draw[0] + draw[1] === 0 ? zeros++ : 0, 0));
  assert.ok(zeros > 200 && zeros < 300, `${zeros} all-zero resamples of 1000, expected about 250`);
});

Deno.test("bootstrapMean: one seed, one set of resamples for every curve point", () => {
  // Adding 1 to every image's score moves both ends by exactly 1: the same images were drawn.
  const a = [0.1, 0.5, 0.2, 0.9, 0.3];
  const base = bootstrapMean(a, { seed: 7 });
  const shifted = bootstrapMean(a.map((v) => v + 1), { seed: 7 });
  assert.ok(Math.abs(shifted.lo - base.lo - 1) < 1e-12 && Math.abs(shifted.hi - base.hi - 1) < 1e-12);
  // The interval lies within the scores' range and around their mean (0.4).
  assert.ok(base.lo >= 0.1 && base.lo < 0.4 && base.hi > 0.4 && base.hi <= 0.9);
});
