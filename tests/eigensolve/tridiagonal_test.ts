/**
 * lib/eigensolve/tridiagonal.ts's hypot2 gives Math.hypot's bits (the QL iteration's rotations use it in its place,
 * so Lanczos keeps its values bit for bit): special values, zeros of both signs, subnormals, huge and tiny
 * magnitudes, near-equal and far-apart pairs.
 */
import assert from "node:assert/strict";
import { hypot2 } from "../../lib/eigensolve/tridiagonal.ts";
import { seededRandom } from "../../lib/random.ts";

function check(x: number, y: number): void {
  const got = hypot2(x, y), want = Math.hypot(x, y);
  if (!Object.is(got, want)) assert.fail(`hypot2(${x}, ${y}) = ${got}, Math.hypot gives ${want}`);
}

Deno.test("hypot2 equals Math.hypot on special values and every pair of them", () => {
  const specials = [
    0,
    -0,
    1,
    -1,
    3,
    4,
    0.5,
    Infinity,
    -Infinity,
    NaN,
    Number.MIN_VALUE,
    -Number.MIN_VALUE,
    Number.MAX_VALUE,
    2.2250738585072014e-308,
    1e-310,
    1e308,
    1e154,
    1e-162,
    Number.EPSILON,
  ];
  for (const x of specials) for (const y of specials) check(x, y);
});

Deno.test("hypot2 equals Math.hypot on two million random pairs over the whole exponent range", () => {
  const rnd = seededRandom(0x4b7e);
  const value = () => {
    const kind = rnd();
    const sign = rnd() < 0.5 ? -1 : 1;
    if (kind < 0.02) return sign * 0;
    if (kind < 0.04) return sign * rnd() * 1e-310; // subnormal
    return sign * rnd() * 2 ** Math.floor(rnd() * 2000 - 1000);
  };
  for (let i = 0; i < 1_000_000; i++) check(value(), value());
  // The QL iteration's pairs: (g, 1) and (f, g) of nearby or very different sizes.
  for (let i = 0; i < 500_000; i++) check((rnd() - 0.5) * 1e3, 1);
  for (let i = 0; i < 500_000; i++) {
    const g = rnd() - 0.5;
    check(g * (1 + (rnd() - 0.5) * 1e-12), g * 2 ** Math.floor(rnd() * 120 - 60));
  }
});
