/**
 * The project's one seeded random-number generator: mulberry32 (Tommy Ettinger's 32-bit generator, public
 * domain), so that eigensolver start vectors, k-means++ picks, patch-pair samples, benchmarks and tests never
 * depend on `Math.random` and give the same numbers on every run and platform.
 *
 * Each call of the generator adds `0x6d2b79f5` to a 32-bit state, mixes it with two `Math.imul` rounds and
 * divides the 32-bit result by 2³², so every value is a multiple of 2⁻³² in [0, 1), exact in float64.
 *
 * @module
 */

/**
 * A seeded mulberry32 generator of uniform numbers in [0, 1).
 *
 * @param seed Any integer (taken modulo 2³²).
 * @returns A function returning the next number of the sequence.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./random.ts";
 * import assert from "node:assert/strict";
 * const a = seededRandom(7), b = seededRandom(7);
 * assert.equal(a(), b());
 * assert.ok(a() >= 0 && a() < 1);
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A deterministic pseudo-random vector with entries in [−0.5, 0.5): the first `n` numbers of
 * {@linkcode seededRandom}`(seed)`, each minus 0.5.
 *
 * @param n Length.
 * @param seed 32-bit seed.
 * @returns The vector.
 *
 * @example
 * ```ts
 * import { seededRandom, seededVector } from "./random.ts";
 * import assert from "node:assert/strict";
 * const r = seededRandom(3);
 * assert.deepEqual(seededVector(2, 3), Float64Array.of(r() - 0.5, r() - 0.5));
 * ```
 */
export function seededVector(n: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = random() - 0.5;
  return v;
}
