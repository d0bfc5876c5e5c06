/**
 * A discrete K-way normalized cut (the reference; the WebGPU twin is `kway_ncut_gpu.ts`, the public entry point
 * `kwayNcut` in `lib/stages.ts`). Where DiffCut splits recursively with the spectral relaxation of a 2-way cut,
 * this solver improves a K-way partition directly on the discrete objective, in the spirit of Falcon
 * (Zhang et al., arXiv:2504.05613); the derivation below is ours (see `docs/kway_ncut.md`).
 *
 * **Objective.** For the affinity `W` (the recursive cut's, `affinityMatrix`), degrees `d = W·1` and a partition
 * into K slots `A_1..A_K` with `vol_k = Σ_{i∈A_k} d_i` and `assoc_k = Σ_{i,j∈A_k} W_ij`:
 *
 *     NCut = Σ_k cut(A_k, V∖A_k) / vol(A_k) = Σ_k (1 − assoc_k / vol_k) = K − Σ_k assoc_k / vol_k.
 *
 * An empty slot (or one with zero volume) counts 1, its association ratio being 0, so emptying a cluster is
 * never free: partitions are compared with the same K.
 *
 * **One sweep.** With the one-hot label matrix `Y` (n×K), `S = W·Y` holds `s_ik = Σ_{j∈A_k} W_ij`, and
 * `assoc_k = Σ_{i∈A_k} s_ik`. Moving node i (degree d_i, self-loop w_ii) from cluster a to cluster b changes the
 * two clusters' associations and volumes exactly:
 *
 *     assoc_a' = assoc_a − 2 s_ia + w_ii,  vol_a' = vol_a − d_i
 *     assoc_b' = assoc_b + 2 s_ib + w_ii,  vol_b' = vol_b + d_i
 *
 * so the exact change of `Σ assoc/vol` is `g_ib − g_ia`, with the row scores
 *
 *     g_ik = (assoc_k + 2 s_ik + w_ii)/(vol_k + d_i) − assoc_k/vol_k   (k ≠ a: what joining k adds)
 *     g_ia = assoc_a/vol_a − (assoc_a − 2 s_ia + w_ii)/(vol_a − d_i)   (what staying in a is worth)
 *
 * (`x/0` read as 0). Each node picks `argmax_k g_ik` (ties: stay, then the lower k). A proximal term
 * `(γ/2)‖Y − Y_t‖²_F` on the row-wise update equals `γ` per moved node (one-hot rows differ in two entries), so it
 * is an inertia: a node moves only when its gain exceeds γ (`inertia`).
 *
 * **Acceptance and backtracking.** Each single move is exact, but moves made together interact (two neighbours
 * leaving together change each other's `s`). A sweep moves all nodes whose gain exceeds γ; it is accepted only
 * when the objective strictly decreases, else the movers are sorted by gain and halved until it does (one mover
 * left is an exact improvement when its gain is positive). The sweep ends when no node can gain, no subset
 * helps, or after `maxIterations` accepted sweeps. Every sweep and every backtrack costs one product `W·Y` (the
 * accepted trial's product is the next sweep's), so a sweep is O(n²) on the CPU (rows of W scattered into the
 * K columns of S) and one n×K product on the GPU. The objective never increases, so initialised with the
 * recursive cut's partition the result is never worse than it.
 *
 * **Arithmetic.** `kwayProductReference`, `kwayStatsReference` and `kwayArgmaxReference` are the specification of
 * the three WGSL kernels (`shaders/ncut/kway_wy.wgsl`, `kway_stats.wgsl`, `kway_argmax.wgsl`): float32 sums in
 * ascending node order (`Math.fround`), so both backends take the same decisions. The objective that decides
 * acceptance is summed in float64 from the float32 cluster statistics; the reported value is recomputed exactly
 * in float64 from `W` ({@linkcode ncutObjective}).
 *
 * References: J. Shi and J. Malik, "Normalized cuts and image segmentation", IEEE TPAMI 22(8), 2000,
 * doi:10.1109/34.868688. S. X. Yu and J. Shi, "Multiclass spectral clustering", ICCV 2003,
 * doi:10.1109/ICCV.2003.1238361. I. S. Dhillon, Y. Guan, B. Kulis, "Kernel k-means, spectral clustering and
 * normalized cuts", KDD 2004, doi:10.1145/1014052.1014118 (the same exact-move bookkeeping for weighted kernel
 * k-means).
 *
 * @module
 */
import type { Backend } from "../types.ts";

/** How the K-way solver starts. */
export type KwayInit = "recursive" | "kmeans" | "seeded" | Int32Array;

/** Options of the K-way solver (the public `kwayNcut` in `lib/stages.ts` adds the affinity and the backend). */
export interface KwaySolveOptions {
  /** Accepted sweeps at most. @default 100 */
  maxIterations?: number;
  /** Proximal weight γ: a node moves only when its exact gain in `Σ assoc/vol` exceeds γ. @default 0 */
  inertia?: number;
}

/** Options of `kwayNcut` (`lib/stages.ts`). */
export interface KwayNcutOptions extends KwaySolveOptions {
  /** Clusters (slots of the objective); the result has at most k segments. Capped at the number of patches. */
  k: number;
  /** Affinity exponent, as the recursive cut's. @default 10 */
  alpha?: number;
  /** Keep the affinity diagonal, as the recursive cut's. @default true */
  selfLoops?: boolean;
  /** The start: `"recursive"` (the recursive cut capped at k segments), `"kmeans"` (k-means on the spectral
   * embedding), `"seeded"` (farthest-point seeds) or grid labels with at most k distinct values.
   * @default "recursive" */
  init?: KwayInit;
  /** Seed of the k-means and seeded starts. @default 0 */
  seed?: number;
  /** Where the affinity and the sweeps run. @default "auto" */
  backend?: Backend;
}

/** {@linkcode KwayNcutOptions} with the defaults applied. */
export interface ResolvedKwayOptions {
  /** Slots, capped at the number of nodes. */
  k: number;
  /** Affinity exponent. */
  alpha: number;
  /** Keep the diagonal. */
  selfLoops: boolean;
  /** The start. */
  init: KwayInit;
  /** Seed. */
  seed: number;
  /** Accepted sweeps at most. */
  maxIterations: number;
  /** Proximal weight. */
  inertia: number;
}

/**
 * Applies the defaults of {@linkcode KwayNcutOptions} and checks the values.
 *
 * @param options As given.
 * @param n Nodes (k is capped at n).
 * @returns The resolved options.
 * @throws {RangeError} On a k that is not a positive integer, α < 1, a bad init, seed, maxIterations or inertia.
 */
export function checkKwayOptions(options: KwayNcutOptions, n: number): ResolvedKwayOptions {
  const k = options?.k;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`Invalid k ${k}: expected an integer >= 1`);
  const alpha = options.alpha ?? 10;
  if (typeof alpha !== "number" || !(alpha >= 1) || !Number.isFinite(alpha)) {
    throw new RangeError(`Invalid alpha ${alpha}: expected a finite number >= 1`);
  }
  const init = options.init ?? "recursive";
  if (!(init instanceof Int32Array) && init !== "recursive" && init !== "kmeans" && init !== "seeded") {
    throw new RangeError(
      `Invalid init ${JSON.stringify(init)}: expected "recursive", "kmeans", "seeded" or labels`,
    );
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`Invalid seed ${seed}: expected an integer`);
  const maxIterations = options.maxIterations ?? 100;
  if (!Number.isInteger(maxIterations) || maxIterations < 0) {
    throw new RangeError(`Invalid maxIterations ${maxIterations}: expected an integer >= 0`);
  }
  const inertia = options.inertia ?? 0;
  if (typeof inertia !== "number" || !Number.isFinite(inertia) || inertia < 0) {
    throw new RangeError(`Invalid inertia ${inertia}: expected a finite number >= 0`);
  }
  return {
    k: Math.min(k, n),
    alpha,
    selfLoops: options.selfLoops ?? true,
    init,
    seed,
    maxIterations,
    inertia,
  };
}

/** The result of one solve. */
export interface KwayNcutResult {
  /** Grid labels `0..segments−1` (clusters renumbered in order of first appearance). */
  labels: Int32Array;
  /** Number of non-empty clusters (at most k). */
  segments: number;
  /** The K slots the objective counts. */
  k: number;
  /** NCut of the result over k slots, float64 from W (an empty slot counts 1). */
  objective: number;
  /** NCut of the initial partition, same formula. */
  initialObjective: number;
  /** Accepted sweeps. */
  iterations: number;
  /** Rejected trials (each halved the movers). */
  backtracks: number;
  /** Node moves accepted, all sweeps together. */
  moves: number;
  /** Whether it stopped because no move helps (not at `maxIterations`). */
  converged: boolean;
  /** Objective after the initial partition and each accepted sweep (from the float32 cluster statistics). */
  history: number[];
}

/** What one step of the solver computes for a labelling: the three kernels' outputs. */
export interface KwayStep {
  /** `vol_k` then `assoc_k`: 2K float32 values. */
  stats: Float32Array;
  /** Best cluster per node. */
  best: Int32Array;
  /** Gain of moving to it (0 when it stays). */
  gain: Float32Array;
}

/** One step: the labelling in, the kernels' outputs back (the CPU reference or the WebGPU twin). */
export type KwayStepper = (labels: Int32Array) => Promise<KwayStep>;

/** Smallest gain treated as an improvement (float32 noise in the scores lies below it). */
export const KWAY_MIN_GAIN = 1e-6;

/**
 * `S = W·Y` for one-hot labels (the spec of `shaders/ncut/kway_wy.wgsl`): `S[i·k + c] = Σ_{j: labels_j = c} W[j·n + i]`,
 * summed in float32 in ascending j. Computed by scattering the rows of W (O(n²) whatever k).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kwayProductReference } from "./kway_ncut.ts";
 * const w = new Float32Array([1, 0.5, 0, 0.5, 1, 0.25, 0, 0.25, 1]);
 * assert.deepEqual([...kwayProductReference(w, 3, new Int32Array([0, 0, 1]), 2)], [1.5, 0, 1.5, 0.25, 0.25, 1]);
 * ```
 *
 * @param w Affinity, n×n row-major.
 * @param n Nodes.
 * @param labels Cluster per node, in `0..k−1`.
 * @param k Clusters.
 * @returns n×k float32, row-major.
 */
export function kwayProductReference(
  w: Float32Array,
  n: number,
  labels: Int32Array,
  k: number,
): Float32Array {
  const s = new Float32Array(n * k);
  for (let j = 0; j < n; j++) {
    const c = labels[j];
    const row = j * n;
    // A Float32Array store rounds the float64 sum of two float32 values: exactly a float32 addition.
    for (let i = 0; i < n; i++) s[i * k + c] += w[row + i];
  }
  return s;
}

/**
 * Cluster volumes and associations (the spec of `shaders/ncut/kway_stats.wgsl`): `vol_c = Σ_{i: labels_i = c} d_i`,
 * `assoc_c = Σ_{i: labels_i = c} S[i·k + c]`, float32 sums in ascending i.
 *
 * @param s `W·Y`, n×k.
 * @param degrees `d = W·1` (float32).
 * @param labels Cluster per node.
 * @param k Clusters.
 * @returns `[vol_0..vol_{k−1}, assoc_0..assoc_{k−1}]`.
 */
export function kwayStatsReference(
  s: Float32Array,
  degrees: Float32Array,
  labels: Int32Array,
  k: number,
): Float32Array {
  const stats = new Float32Array(2 * k);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    stats[c] += degrees[i];
    stats[k + c] += s[i * k + c];
  }
  return stats;
}

/** `x / v`, 0 when `v ≤ 0`, in float32. */
function ratio32(x: number, v: number): number {
  return v > 0 ? Math.fround(x / v) : 0;
}

/**
 * Row-wise best move (the spec of `shaders/ncut/kway_argmax.wgsl`): for each node the cluster with the largest
 * score `g_ik` (module notes), its gain over staying, float32 arithmetic. Ties keep the node where it is, then
 * take the lower cluster.
 *
 * @param s `W·Y`, n×k.
 * @param stats From {@linkcode kwayStatsReference}.
 * @param degrees `d = W·1`.
 * @param diagonal `W_ii` per node.
 * @param labels Cluster per node.
 * @param k Clusters.
 * @returns Best cluster and gain per node.
 */
export function kwayArgmaxReference(
  s: Float32Array,
  stats: Float32Array,
  degrees: Float32Array,
  diagonal: Float32Array,
  labels: Int32Array,
  k: number,
): { best: Int32Array; gain: Float32Array } {
  const n = labels.length;
  const f = Math.fround;
  const best = new Int32Array(n);
  const gain = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = labels[i], di = degrees[i], wii = diagonal[i];
    const volA = stats[a], assocA = stats[k + a];
    const stay = f(ratio32(assocA, volA) - ratio32(f(f(assocA - f(2 * s[i * k + a])) + wii), f(volA - di)));
    // Staying wins ties, then the lowest index.
    let top = a, bestScore = stay;
    for (let c = 0; c < k; c++) {
      if (c === a) continue;
      const vol = stats[c], assoc = stats[k + c];
      const g = f(ratio32(f(f(assoc + f(2 * s[i * k + c])) + wii), f(vol + di)) - ratio32(assoc, vol));
      if (g > bestScore) {
        bestScore = g;
        top = c;
      }
    }
    best[i] = top;
    gain[i] = f(bestScore - stay);
  }
  return { best, gain };
}

/**
 * NCut over k slots in float64, straight from W: `Σ_c (1 − assoc_c / vol_c)`, an empty or zero-volume slot
 * counting 1.
 *
 * @example Two blocks joined by a weak edge
 * ```ts
 * import assert from "node:assert/strict";
 * import { ncutObjective } from "./kway_ncut.ts";
 * const w = new Float32Array([0, 1, 0.1, 1, 0, 0, 0.1, 0, 0]);
 * // {0,1} | {2}: cut = 0.1, vol = 2.1 and 0.1 → 0.1/2.1 + 0.1/0.1
 * assert.ok(Math.abs(ncutObjective(w, 3, new Int32Array([0, 0, 1]), 2) - (0.1 / 2.1 + 1)) < 1e-7);
 * ```
 *
 * @param w Affinity, n×n.
 * @param n Nodes.
 * @param labels Cluster per node in `0..k−1`.
 * @param k Slots (default: the largest label + 1).
 * @returns The objective.
 */
export function ncutObjective(w: Float32Array, n: number, labels: Int32Array, k?: number): number {
  const slots = k ?? labels.reduce((m, l) => Math.max(m, l + 1), 0);
  const vol = new Float64Array(slots), assoc = new Float64Array(slots);
  for (let i = 0; i < n; i++) {
    const c = labels[i], row = i * n;
    let d = 0, a = 0;
    for (let j = 0; j < n; j++) {
      const v = w[row + j];
      d += v;
      if (labels[j] === c) a += v;
    }
    vol[c] += d;
    assoc[c] += a;
  }
  let total = 0;
  for (let c = 0; c < slots; c++) total += vol[c] > 0 ? 1 - assoc[c] / vol[c] : 1;
  return total;
}

/** NCut over k slots from float32 cluster statistics, summed in float64. */
export function objectiveFromStats(stats: Float32Array, k: number): number {
  let total = 0;
  for (let c = 0; c < k; c++) total += stats[c] > 0 ? 1 - stats[k + c] / stats[c] : 1;
  return total;
}

/**
 * Renumbers labels to `0..m−1` in order of first appearance.
 *
 * @param labels Any int32 labels.
 * @returns The renumbered labels and m.
 */
export function compactLabels(labels: Int32Array): { labels: Int32Array; count: number } {
  const map = new Map<number, number>();
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    let v = map.get(labels[i]);
    if (v === undefined) map.set(labels[i], v = map.size);
    out[i] = v;
  }
  return { labels: out, count: map.size };
}

/**
 * The CPU stepper: the three reference kernels on one labelling.
 *
 * @param w Affinity, n×n.
 * @param n Nodes.
 * @param k Clusters.
 * @returns The stepper.
 */
export function kwayStepperReference(w: Float32Array, n: number, k: number): KwayStepper {
  const degrees = kwayProductReference(w, n, new Int32Array(n), 1);
  const diagonal = new Float32Array(n);
  for (let i = 0; i < n; i++) diagonal[i] = w[i * n + i];
  return (labels) => {
    const s = kwayProductReference(w, n, labels, k);
    const stats = kwayStatsReference(s, degrees, labels, k);
    return Promise.resolve({ stats, ...kwayArgmaxReference(s, stats, degrees, diagonal, labels, k) });
  };
}

/**
 * Improves a K-way partition by sweeps of exact row-wise moves with backtracking (module notes), whatever
 * computes the steps.
 *
 * @param step The kernels (CPU reference or WebGPU).
 * @param w Affinity, n×n (for the exact float64 objectives reported).
 * @param n Nodes.
 * @param init Initial labels in `0..k−1`.
 * @param k Slots.
 * @param options Iterations and inertia.
 * @returns The improved partition.
 * @throws {RangeError} When an initial label lies outside `0..k−1` or an option is out of range.
 */
export async function solveKwayNcut(
  step: KwayStepper,
  w: Float32Array,
  n: number,
  init: Int32Array,
  k: number,
  options: KwaySolveOptions = {},
): Promise<KwayNcutResult> {
  const maxIterations = options.maxIterations ?? 100;
  const inertia = options.inertia ?? 0;
  if (!Number.isInteger(maxIterations) || maxIterations < 0) {
    throw new RangeError(`Invalid maxIterations ${maxIterations}: expected an integer >= 0`);
  }
  if (!Number.isFinite(inertia) || inertia < 0) {
    throw new RangeError(`Invalid inertia ${inertia}: expected a finite number >= 0`);
  }
  if (init.length !== n) throw new RangeError(`Invalid initial labels: ${init.length} for ${n} nodes`);
  for (const l of init) {
    if (!(l >= 0 && l < k)) throw new RangeError(`Invalid initial label ${l}: expected 0..${k - 1}`);
  }
  let labels = Int32Array.from(init);
  let current = await step(labels);
  let value = objectiveFromStats(current.stats, k);
  const history = [value];
  let iterations = 0, backtracks = 0, moves = 0, converged = false;
  const threshold = Math.max(inertia, KWAY_MIN_GAIN);
  while (iterations < maxIterations) {
    const movers: number[] = [];
    for (let i = 0; i < n; i++) {
      if (current.gain[i] > threshold && current.best[i] !== labels[i]) movers.push(i);
    }
    if (movers.length === 0) {
      converged = true;
      break;
    }
    const gain = current.gain;
    movers.sort((a, b) => gain[b] - gain[a] || a - b);
    let count = movers.length, accepted = false;
    while (count >= 1) {
      const trial = Int32Array.from(labels);
      for (let t = 0; t < count; t++) trial[movers[t]] = current.best[movers[t]];
      const next = await step(trial);
      const nextValue = objectiveFromStats(next.stats, k);
      if (nextValue < value) {
        labels = trial;
        current = next;
        value = nextValue;
        moves += count;
        accepted = true;
        break;
      }
      backtracks++;
      count = Math.floor(count / 2);
    }
    if (!accepted) {
      converged = true;
      break;
    }
    iterations++;
    history.push(value);
  }
  const initialObjective = ncutObjective(w, n, init, k);
  let objective = ncutObjective(w, n, labels, k);
  // Float32 statistics could in principle accept a step that float64 rejects; never return worse than the start.
  if (objective > initialObjective) {
    labels = Int32Array.from(init);
    objective = initialObjective;
  }
  const compact = compactLabels(labels);
  return {
    labels: compact.labels,
    segments: compact.count,
    k,
    objective,
    initialObjective,
    iterations,
    backtracks,
    moves,
    converged,
    history,
  };
}
