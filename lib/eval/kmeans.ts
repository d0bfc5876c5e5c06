/**
 * k-means on unit patch features, the clustering baseline of the paper's Table 9: k-means++ seeding from a
 * seeded RNG, Lloyd iterations, best of `restarts` runs by inertia.
 *
 * References: S. Lloyd, "Least squares quantization in PCM", IEEE TIT 28(2), 1982, doi:10.1109/TIT.1982.1056489.
 * D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful seeding", SODA 2007.
 *
 * @module
 */
import { normalizeRows } from "../features/normalize_rows.ts";
import { seededRandom } from "../random.ts";
import type { FeatureMap } from "../types.ts";

/** Options of {@linkcode kmeansLabels}. */
export interface KmeansOptions {
  /** Seed of the RNG (k-means++ picks). @default 0 */
  seed?: number;
  /** Independent k-means++ runs; the lowest inertia wins. @default 4 */
  restarts?: number;
  /** Lloyd iterations per run at most. @default 100 */
  maxIterations?: number;
}

/** Result of {@linkcode kmeansLabels}. */
export interface KmeansResult {
  /** Cluster per patch, `0 … K−1`. */
  labels: Int32Array;
  /** Sum of squared distances to the assigned centres. */
  inertia: number;
  /** K actually used (at most the number of distinct patches). */
  k: number;
}

/**
 * Clusters the L2-normalised patch vectors of a feature map into K groups.
 *
 * @param features Feature map `[h, w, c]`.
 * @param k Number of clusters (positive integer; capped at the number of patches).
 * @param options Seed, restarts, iterations.
 * @returns Labels per patch and the inertia.
 * @throws {RangeError} If k is not a positive integer.
 *
 * @example Two colours, two clusters
 * ```ts
 * import { kmeansLabels } from "./kmeans.ts";
 * import assert from "node:assert/strict";
 * const data = new Float32Array([1, 0, 1, 0.1, 0, 1, 0.1, 1]);
 * const { labels } = kmeansLabels({ data, height: 1, width: 4, channels: 2 }, 2);
 * assert.equal(labels[0], labels[1]);
 * assert.equal(labels[2], labels[3]);
 * assert.notEqual(labels[0], labels[2]);
 * ```
 */
export function kmeansLabels(features: FeatureMap, k: number, options: KmeansOptions = {}): KmeansResult {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`Invalid k ${k}: expected a positive integer`);
  const n = features.height * features.width;
  const c = features.channels;
  const x = normalizeRows(features);
  const kk = Math.min(k, n);
  const random = seededRandom(options.seed ?? 0);
  const restarts = options.restarts ?? 4;
  const maxIterations = options.maxIterations ?? 100;
  let best: KmeansResult | undefined;
  for (let r = 0; r < Math.max(1, restarts); r++) {
    const result = lloyd(x, n, c, seedPlusPlus(x, n, c, kk, random), kk, maxIterations);
    if (!best || result.inertia < best.inertia - 1e-12) best = result;
  }
  return best!;
}

/** k-means++ seeding: the first centre uniformly, then each next one with probability ∝ D². */
function seedPlusPlus(x: Float32Array, n: number, c: number, k: number, random: () => number): Float64Array {
  const centres = new Float64Array(k * c);
  const d2 = new Float64Array(n).fill(Infinity);
  let pick = Math.min(n - 1, Math.floor(random() * n));
  for (let j = 0; j < k; j++) {
    for (let t = 0; t < c; t++) centres[j * c + t] = x[pick * c + t];
    let total = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < c; t++) {
        const diff = x[i * c + t] - centres[j * c + t];
        s += diff * diff;
      }
      if (s < d2[i]) d2[i] = s;
      total += d2[i];
    }
    if (j === k - 1) break;
    if (total <= 0) {
      pick = Math.min(n - 1, Math.floor(random() * n)); // all points coincide with centres
      continue;
    }
    let u = random() * total;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      u -= d2[i];
      if (u < 0) {
        pick = i;
        break;
      }
    }
  }
  return centres;
}

function lloyd(
  x: Float32Array,
  n: number,
  c: number,
  centres: Float64Array,
  k: number,
  maxIterations: number,
): KmeansResult {
  const labels = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  let inertia = 0;
  for (let iter = 0; iter < maxIterations; iter++) {
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      let bestJ = 0, bestD = Infinity;
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let t = 0; t < c; t++) {
          const diff = x[i * c + t] - centres[j * c + t];
          s += diff * diff;
        }
        if (s < bestD) {
          bestD = s;
          bestJ = j;
        }
      }
      if (labels[i] !== bestJ) changed++;
      labels[i] = bestJ;
      dist[i] = bestD;
      inertia += bestD;
    }
    if (changed === 0) break;
    const counts = new Float64Array(k);
    centres.fill(0);
    for (let i = 0; i < n; i++) {
      counts[labels[i]]++;
      for (let t = 0; t < c; t++) centres[labels[i] * c + t] += x[i * c + t];
    }
    for (let j = 0; j < k; j++) {
      if (counts[j] > 0) {
        for (let t = 0; t < c; t++) centres[j * c + t] /= counts[j];
        continue;
      }
      // An empty cluster takes the point farthest from its centre.
      let far = 0;
      for (let i = 1; i < n; i++) if (dist[i] > dist[far]) far = i;
      for (let t = 0; t < c; t++) centres[j * c + t] = x[far * c + t];
      dist[far] = 0;
    }
  }
  return { labels, inertia, k };
}
