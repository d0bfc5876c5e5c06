/**
 * Choice of the split point along a Fiedler vector by exact normalized cut (REFERENCE.md §2.3 step 7).
 *
 * The reference evaluates `k = 100` thresholds `linspace(0.99·min y, 0.99·max y, k)`, each giving the partition
 * `S = {y > t}`, scores each with the Shi–Malik indicator form of NCut, which equals
 * `cut(S, S̄)/vol(S) + cut(S, S̄)/vol(S̄)`, and keeps the first minimum. Here all thresholds come from one sweep:
 * nodes are sorted by y (descending) and added to S one by one while `assoc(S) = 1ₛᵀA1ₛ` is updated, so
 * `cut = vol(S) − assoc(S)` for every threshold costs O(m²) in total instead of O(k·m²).
 *
 * @module
 */

/** Result of {@linkcode bestThresholdSplit}. */
export interface SplitChoice {
  /** NCut of the chosen partition (Infinity when no threshold gives two admissible sides). */
  ncut: number;
  /** Index of the chosen threshold (first minimum), or −1. */
  index: number;
  /** The chosen threshold t; the "1" side is `y > t`. */
  threshold: number;
  /** The thresholds tried, ascending. */
  thresholds: Float64Array;
  /** NCut of every threshold (NaN where a side is empty). */
  values: Float64Array;
  /** `inOne[i] = 1` when node i is on the "1" side (`y > t`) of the chosen split. */
  inOne: Uint8Array;
}

/**
 * The reference's candidate thresholds: `linspace(0.99·min(y), 0.99·max(y), count)` (numpy's arithmetic:
 * `start + i·step`, last value exactly `stop`).
 *
 * @param y Fiedler vector.
 * @param count Number of thresholds (≥ 1).
 * @returns Ascending thresholds.
 */
export function candidateThresholds(y: ArrayLike<number>, count: number): Float64Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < y.length; i++) {
    if (y[i] < lo) lo = y[i];
    if (y[i] > hi) hi = y[i];
  }
  const start = 0.99 * lo, stop = 0.99 * hi;
  const t = new Float64Array(count);
  if (count === 1) {
    t[0] = start;
    return t;
  }
  const step = (stop - start) / (count - 1);
  for (let i = 0; i < count; i++) t[i] = start + i * step;
  t[count - 1] = stop;
  return t;
}

/**
 * Exact NCut of every threshold partition `S = {y > t}` in one sweep.
 *
 * @param a Affinity of the node's subgraph, m×m row-major.
 * @param m Node count.
 * @param d Degrees `a·1`.
 * @param y Fiedler vector.
 * @param thresholds Ascending thresholds.
 * @returns NCut per threshold (NaN when S or its complement is empty) and |S| per threshold.
 */
export function ncutPerThreshold(
  a: Float32Array | Float64Array,
  m: number,
  d: Float64Array,
  y: Float64Array,
  thresholds: Float64Array,
): { values: Float64Array; sizes: Int32Array } {
  const order = Array.from({ length: m }, (_, i) => i).sort((p, q) => y[q] - y[p]);
  let total = 0;
  for (let i = 0; i < m; i++) total += d[i];
  const k = thresholds.length;
  const values = new Float64Array(k);
  const sizes = new Int32Array(k);
  let count = 0, vol = 0, assoc = 0;
  for (let ti = k - 1; ti >= 0; ti--) {
    const t = thresholds[ti];
    while (count < m && y[order[count]] > t) {
      const i = order[count];
      const row = i * m;
      let links = 0;
      for (let q = 0; q < count; q++) links += a[row + order[q]];
      assoc += 2 * links + a[row + i];
      vol += d[i];
      count++;
    }
    sizes[ti] = count;
    if (count === 0 || count === m) {
      values[ti] = NaN;
      continue;
    }
    const cut = vol - assoc;
    values[ti] = cut / vol + cut / (total - vol);
  }
  return { values, sizes };
}

/**
 * Picks the split of a node: the first threshold with the smallest NCut among those that leave at least
 * `minSide` nodes on each side (NaN values are never chosen).
 *
 * @param a Affinity of the node's subgraph, m×m row-major.
 * @param m Node count.
 * @param d Degrees.
 * @param y Fiedler vector.
 * @param count Number of thresholds. @default 100
 * @param minSide Smallest admissible side. @default 1
 * @returns The chosen split and every threshold's NCut.
 */
export function bestThresholdSplit(
  a: Float32Array | Float64Array,
  m: number,
  d: Float64Array,
  y: Float64Array,
  count = 100,
  minSide = 1,
): SplitChoice {
  const thresholds = candidateThresholds(y, count);
  const { values, sizes } = ncutPerThreshold(a, m, d, y, thresholds);
  let index = -1;
  for (let i = 0; i < count; i++) {
    if (Number.isNaN(values[i]) || sizes[i] < minSide || m - sizes[i] < minSide) continue;
    if (index < 0 || values[i] < values[index]) index = i;
  }
  const inOne = new Uint8Array(m);
  if (index < 0) return { ncut: Infinity, index, threshold: NaN, thresholds, values, inOne };
  const threshold = thresholds[index];
  for (let i = 0; i < m; i++) inOne[i] = y[i] > threshold ? 1 : 0;
  return { ncut: values[index], index, threshold, thresholds, values, inOne };
}
