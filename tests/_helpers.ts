/**
 * Test utilities shared by the test suites: seeded data and synthetic feature maps with known structure.
 *
 * @module
 */
import type { FeatureMap, ImageRGB } from "../lib/types.ts";
import { seededVector } from "../lib/random.ts";

export { seededVector };

/**
 * A feature map whose patches carry one of several prototype vectors plus seeded noise.
 *
 * @param regionOf Maps a grid position to its region index.
 * @param noise Noise amplitude relative to the prototypes (entries in ±0.5).
 */
export function blockFeatures(
  height: number,
  width: number,
  channels: number,
  regionOf: (y: number, x: number) => number,
  noise = 0.3,
  seed = 1,
): FeatureMap {
  const protos = new Map<number, Float64Array>();
  const jitter = seededVector(height * width * channels, seed);
  const data = new Float32Array(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = regionOf(y, x);
      if (!protos.has(r)) protos.set(r, seededVector(channels, 1000 + 17 * r + seed));
      const p = protos.get(r)!;
      const o = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) data[o + c] = p[c] + noise * jitter[o + c];
    }
  }
  return { height, width, channels, data };
}

/** A random symmetric non-negative affinity with positive diagonal (m×m). */
export function randomAffinity(m: number, seed: number): Float64Array {
  const r = seededVector(m * m, seed);
  const a = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      const v = i === j ? 1 : (r[i * m + j] + 0.5) ** 3;
      a[i * m + j] = v;
      a[j * m + i] = v;
    }
  }
  return a;
}

/** Row sums. */
export function degrees(a: ArrayLike<number>, m: number): Float64Array {
  const d = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) d[i] += a[i * m + j];
  return d;
}

/** Whether two label maps describe the same partition (labels equal up to renaming). */
export function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  const ab = new Map<number, number>(), ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]) ?? b[i]) !== b[i] || (ba.get(b[i]) ?? a[i]) !== a[i]) return false;
    ab.set(a[i], b[i]);
    ba.set(b[i], a[i]);
  }
  return true;
}

/** Asserts |a − b| ≤ atol + rtol·|b| elementwise. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-6, rtol = 1e-6, msg = "" } = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${msg} length ${actual.length} != ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * Math.abs(expected[i]))) {
      throw new Error(`${msg} element ${i}: ${actual[i]} vs ${expected[i]} (diff ${d})`);
    }
  }
}

/** Two colour halves with ramps, so that patches differ; `shift` moves the boundary right by that many pixels. */
export function twoHalvesImage(size: number, shift = 0): ImageRGB {
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const left = x < size / 2 + shift;
      data.set(
        [
          left ? 0.9 : 0.1 + 0.3 * (y / size),
          left ? 0.2 + 0.1 * (y / size) : 0.3,
          left ? 0.1 : 0.8 - 0.2 * (x / size),
        ],
        (y * size + x) * 3,
      );
    }
  }
  return { data, height: size, width: size };
}
