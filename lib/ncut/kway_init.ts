/**
 * Initial partitions for the K-way normalized cut (`kway_ncut.ts`): the recursive cut's partition limited to k
 * segments, k-means on the spectral embedding, or k seeds spread over the graph.
 *
 * - `"recursive"`: DiffCut's partition tree with a cap of k segments (the lowest-NCut nodes split first), cut
 *   above every split's NCut: the recursive 2-way cut's own k-way answer.
 * - `"kmeans"`: the top k eigenvectors of `D^-1/2 W D^-1/2` (Lanczos with deflation; the first is `√d`, known),
 *   rows normalised and clustered by k-means++ / Lloyd (Ng, Jordan, Weiss, NIPS 2001).
 * - `"seeded"`: a random first seed, then each next seed the node least similar to the seeds so far (largest
 *   `1 − max_s W_is`, farthest-point order); every node joins its most similar seed.
 *
 * @module
 */
import { lanczosTop } from "../eigensolve/lanczos.ts";
import { symmetricMatVec } from "../eigensolve/symmetric_matvec.ts";
import { kmeansLabels } from "../eval/kmeans.ts";
import { seededRandom } from "../random.ts";
import type { FeatureMap } from "../types.ts";
import { cutTree } from "./cut_tree.ts";
import type { KwayInit } from "./kway_ncut.ts";
import { buildPartitionTreeSync } from "./partition_tree.ts";

/** Largest 2-way NCut: a tree built and cut above it splits every splittable node up to the segment cap. */
const NCUT_ABOVE_ALL = 4;

/**
 * The initial labels of the K-way solver.
 *
 * @param init Which start (or labels, returned renumbered).
 * @param features The feature map (for the recursive cut).
 * @param w Its affinity.
 * @param k Clusters.
 * @param options Affinity settings (as the tree needs them) and seed.
 * @returns Labels in `0..k−1`.
 * @throws {RangeError} When given labels have the wrong length or more than k distinct values.
 */
export function kwayInitialLabels(
  init: KwayInit,
  features: FeatureMap,
  w: Float32Array,
  k: number,
  options: { alpha: number; selfLoops: boolean; seed: number },
): Int32Array {
  const n = features.height * features.width;
  if (init instanceof Int32Array) {
    if (init.length !== n) {
      throw new RangeError(
        `Invalid init: ${init.length} labels for a ${features.height}×${features.width} grid`,
      );
    }
    const map = new Map<number, number>();
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let v = map.get(init[i]);
      if (v === undefined) map.set(init[i], v = map.size);
      out[i] = v;
    }
    if (map.size > k) throw new RangeError(`Invalid init: ${map.size} segments, more than k = ${k}`);
    return out;
  }
  if (init === "recursive") {
    const tree = buildPartitionTreeSync(features, {
      alpha: options.alpha,
      selfLoops: options.selfLoops,
      tauMax: NCUT_ABOVE_ALL,
      maxSegments: k,
      affinity: w,
    });
    return cutTree(tree, NCUT_ABOVE_ALL);
  }
  if (init === "kmeans") return spectralKmeansLabels(w, n, k, options.seed);
  if (init === "seeded") return seededLabels(w, n, k, options.seed);
  throw new RangeError(
    `Invalid init ${JSON.stringify(init)}: expected "recursive", "kmeans", "seeded" or labels`,
  );
}

/**
 * k-means on the rows of the top-k eigenvectors of `D^-1/2 W D^-1/2`, rows normalised.
 *
 * @param w Affinity, n×n.
 * @param n Nodes.
 * @param k Clusters.
 * @param seed k-means++ seed.
 * @returns Labels in `0..k−1`.
 */
export function spectralKmeansLabels(w: Float32Array, n: number, k: number, seed: number): Int32Array {
  const kk = Math.min(k, n);
  const isd = new Float64Array(n);
  const first = new Float64Array(n);
  let norm = 0;
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let j = 0; j < n; j++) d += w[i * n + j];
    isd[i] = d > 0 ? 1 / Math.sqrt(d) : 0;
    first[i] = Math.sqrt(Math.max(d, 0));
    norm += d;
  }
  for (let i = 0; i < n; i++) first[i] /= Math.sqrt(norm) || 1;
  const scaled = new Float64Array(n);
  const product = symmetricMatVec(w, n); // w is an affinity: symmetric
  const matvec = (x: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) scaled[i] = x[i] * isd[i];
    product(scaled, out);
    for (let i = 0; i < n; i++) out[i] *= isd[i];
  };
  const vectors: Float64Array[] = [first];
  while (vectors.length < kk) {
    vectors.push(lanczosTop(matvec, n, vectors, { tolerance: 1e-5, maxBasis: 60 }).vector);
  }
  const data = new Float32Array(n * kk);
  for (let i = 0; i < n; i++) for (let c = 0; c < kk; c++) data[i * kk + c] = vectors[c][i];
  return kmeansLabels({ height: 1, width: n, channels: kk, data }, kk, { seed }).labels;
}

/**
 * k seeds in farthest-point order from a random first one; each node joins its most similar seed.
 *
 * @param w Affinity, n×n.
 * @param n Nodes.
 * @param k Clusters.
 * @param seed Picks the first seed.
 * @returns Labels in `0..k−1`.
 */
export function seededLabels(w: Float32Array, n: number, k: number, seed: number): Int32Array {
  const kk = Math.min(k, n);
  const labels = new Int32Array(n);
  const closest = new Float64Array(n).fill(-Infinity);
  const isSeed = new Uint8Array(n);
  let s = Math.floor(seededRandom(seed)() * n);
  for (let c = 0; c < kk; c++) {
    isSeed[s] = 1;
    labels[s] = c;
    closest[s] = Infinity;
    for (let i = 0; i < n; i++) {
      if (isSeed[i]) continue;
      const v = w[i * n + s];
      if (v > closest[i]) {
        closest[i] = v;
        labels[i] = c;
      }
    }
    let next = -1, lowest = Infinity;
    for (let i = 0; i < n; i++) {
      if (!isSeed[i] && closest[i] < lowest) {
        lowest = closest[i];
        next = i;
      }
    }
    if (next < 0) break;
    s = next;
  }
  return labels;
}
