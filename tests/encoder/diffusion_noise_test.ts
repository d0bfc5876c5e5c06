/**
 * The forward-diffusion arithmetic against the reference's constants (REFERENCE.md §1.3): the scaled-linear DDPM
 * schedule, ᾱ_t, √ᾱ₅₀ and √(1 − ᾱ₅₀) in float32, `add_noise`, and the seeded noise.
 */
import assert from "node:assert/strict";
import {
  addNoise,
  alphasCumprod,
  noiseCoefficients,
  SCALED_LINEAR_SCHEDULE,
  seededGaussian,
} from "../../lib/encoder/diffusion_noise.ts";

Deno.test("noiseCoefficients(50): the reference's float32 constants, and float64 within float32 rounding", () => {
  const c = noiseCoefficients(50);
  assert.equal(c.alphaBar, Math.fround(0.95157677));
  assert.equal(c.signal, Math.fround(0.97548795));
  assert.equal(c.noise, Math.fround(0.2200528));
  assert.ok(Math.abs(c.signal - 0.975488033) < 1e-7, `${c.signal}`);
  assert.ok(Math.abs(c.noise - 0.220052487) < 1e-6, `${c.noise}`);
  assert.ok(Math.abs(c.signal ** 2 + c.noise ** 2 - 1) < 1e-6);
});

Deno.test("alphasCumprod: 1000 float32 values, strictly decreasing from 1 − β₀, β from 0.00085 to 0.012", () => {
  const a = alphasCumprod(SCALED_LINEAR_SCHEDULE);
  assert.equal(a.length, 1000);
  assert.equal(a[0], Math.fround(1 - Math.fround(Math.fround(Math.sqrt(0.00085)) ** 2)));
  for (let t = 1; t < a.length; t++) assert.ok(a[t] < a[t - 1], `ᾱ_${t} >= ᾱ_${t - 1}`);
  // The last β is 0.012 (float32): ᾱ_999 / ᾱ_998 = 1 − β_999.
  assert.ok(Math.abs(1 - a[999] / a[998] - 0.012) < 1e-5);
  assert.ok(a[999] > 0.004 && a[999] < 0.005, `ᾱ_999 = ${a[999]}`);
  for (const t of [0, 25, 100, 400, 999]) {
    const c = noiseCoefficients(t);
    assert.equal(c.signal, Math.fround(Math.sqrt(a[t])));
  }
});

Deno.test("noiseCoefficients: the timestep must be an integer in [0, 999]", () => {
  for (const t of [-1, 1000, 2.5, NaN]) {
    assert.throws(
      () => noiseCoefficients(t),
      new RegExp(`^RangeError: Timestep must be an integer in \\[0, 999\\], got ${t}$`),
    );
  }
  assert.throws(
    () => alphasCumprod({ ...SCALED_LINEAR_SCHEDULE, betaEnd: 1.5 }),
    /^RangeError: Schedule betaEnd must be in \(0, 1\), got 1.5$/,
  );
});

Deno.test("addNoise: √ᾱ·z + √(1 − ᾱ)·ε element by element in float32; lengths must match", () => {
  const c = noiseCoefficients(50);
  const z = Float32Array.from([0.5, -1.25, 3]);
  const e = Float32Array.from([1, 0.25, -2]);
  const out = addNoise(z, e, c);
  for (let i = 0; i < z.length; i++) {
    assert.equal(out[i], Math.fround(Math.fround(c.signal * z[i]) + Math.fround(c.noise * e[i])));
  }
  assert.throws(() => addNoise(z, e.subarray(1), c), /^RangeError: Noise has 2 values, expected 3/);
});

Deno.test("seededGaussian: fixed per seed, different across seeds, standard normal moments", () => {
  const a = seededGaussian(4 * 128 * 128, 42);
  assert.deepEqual(seededGaussian(4 * 128 * 128, 42), a);
  assert.notDeepEqual(seededGaussian(16, 43), a.subarray(0, 16));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
  assert.ok(Math.abs(mean) < 0.01 && Math.abs(variance - 1) < 0.02, `mean ${mean}, variance ${variance}`);
  assert.equal(seededGaussian(7, 1).length, 7);
});
