/**
 * Patch-level semantic coherence (paper §4.2, Fig. 3 and 4): per-patch class labels from a segmentation
 * annotation, random same-class / different-class patch pairs, and cosine maps from one patch.
 *
 * The paper scores the cosine similarity of two patch features as a binary classifier of "same class" and reports
 * the ROC curve and its AUC; how it sampled pairs is not published (REFERENCE.md §7). The sampler here states its
 * protocol in {@linkcode samplePatchPairs}.
 *
 * @module
 */
import { seededRandom } from "../random.ts";
import { bootstrapImages } from "../eval/bootstrap.ts";
import type { FeatureMap, LabelMap } from "../types.ts";

/** Options of {@linkcode patchLabels}. */
export interface PatchLabelOptions {
  /** Smallest share of a patch's labelled pixels its majority class must hold; below it the patch is −1. @default {0.75} */
  minPurity?: number;
  /** Label values that mean "no label" (pixels ignored). @default {[255]} */
  ignore?: number[];
}

/**
 * The class of each patch of a `gridHeight × gridWidth` grid laid over a label map: the majority label of the
 * patch's pixels, or −1 when the patch is mostly ignored pixels or no class holds `minPurity` of it.
 *
 * @param labels Annotation (class per pixel).
 * @param gridHeight Grid rows.
 * @param gridWidth Grid columns.
 * @param options Purity threshold and ignored values.
 * @returns `gridHeight·gridWidth` classes (−1 = unusable patch).
 * @throws {RangeError} When the grid is larger than the label map.
 *
 * @example
 * ```ts
 * import { patchLabels } from "./patch_alignment.ts";
 * import assert from "node:assert/strict";
 * // 2×4 pixels, left half class 1, right half class 2, on a 1×2 grid.
 * const labels = { height: 2, width: 4, data: Int32Array.from([1, 1, 2, 2, 1, 1, 2, 2]) };
 * assert.deepEqual(Array.from(patchLabels(labels, 1, 2)), [1, 2]);
 * ```
 */
export function patchLabels(
  labels: LabelMap,
  gridHeight: number,
  gridWidth: number,
  options: PatchLabelOptions = {},
): Int32Array {
  const { height: H, width: W, data } = labels;
  if (gridHeight > H || gridWidth > W || gridHeight < 1 || gridWidth < 1) {
    throw new RangeError(`Invalid grid ${gridHeight}×${gridWidth} for a ${H}×${W} label map`);
  }
  const minPurity = options.minPurity ?? 0.75;
  const ignore = new Set(options.ignore ?? [255]);
  const out = new Int32Array(gridHeight * gridWidth);
  for (let gy = 0; gy < gridHeight; gy++) {
    const y0 = Math.floor((gy * H) / gridHeight), y1 = Math.floor(((gy + 1) * H) / gridHeight);
    for (let gx = 0; gx < gridWidth; gx++) {
      const x0 = Math.floor((gx * W) / gridWidth), x1 = Math.floor(((gx + 1) * W) / gridWidth);
      const counts = new Map<number, number>();
      let total = 0, ignored = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const v = data[y * W + x];
          total++;
          if (ignore.has(v)) ignored++;
          else counts.set(v, (counts.get(v) ?? 0) + 1);
        }
      }
      let best = -1, bestCount = 0;
      for (const [v, c] of counts) {
        if (c > bestCount || (c === bestCount && v < best)) [best, bestCount] = [v, c];
      }
      const labelled = total - ignored;
      out[gy * gridWidth + gx] = labelled * 2 >= total && bestCount >= minPurity * labelled ? best : -1;
    }
  }
  return out;
}

/** One image's features with the class of each patch. */
export interface LabelledFeatures {
  /** Feature map. */
  features: FeatureMap;
  /** Class per patch (−1 = unusable), same grid as `features`. */
  labels: Int32Array;
}

/** Options of {@linkcode samplePatchPairs}. */
export interface PatchPairOptions {
  /** Pairs of each kind (same class, different class). @default {5000} */
  pairsPerKind?: number;
  /** Seed of the pseudo-random generator. @default {1} */
  seed?: number;
}

/** Result of {@linkcode samplePatchPairs}. */
export interface PatchPairs {
  /** Cosine similarity of each pair. */
  scores: Float64Array;
  /** 1 when the two patches carry the same class. */
  same: Uint8Array;
}

function cosine(a: FeatureMap, i: number, b: FeatureMap, j: number): number {
  const c = a.channels;
  let dot = 0, na = 0, nb = 0;
  for (let k = 0; k < c; k++) {
    const x = a.data[i * c + k], y = b.data[j * c + k];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * Draws balanced same-class and different-class patch pairs and scores each by cosine similarity.
 *
 * Protocol: every labelled patch (class ≥ 0) of every image is a candidate. A same-class pair picks a class with
 * probability proportional to its patch count, then two distinct patches of it uniformly, from any images (so
 * pairs are within and across images); a different-class pair picks two patches uniformly among all labelled
 * patches until their classes differ. Classes must be comparable across images (one label set per call). The
 * same seed gives the same pairs; encoders compared on the same images with the same seed see the same pairs
 * when their grids match.
 *
 * @param images Features and patch classes per image.
 * @param options Pair count and seed.
 * @returns One score and one same/different flag per pair (`pairsPerKind` of each kind).
 * @throws {RangeError} When a label grid does not match its feature grid, or there are not two classes with
 * at least two patches and one other class to pair against.
 *
 * @example
 * ```ts
 * import { samplePatchPairs } from "./patch_alignment.ts";
 * import assert from "node:assert/strict";
 * const features = { height: 1, width: 4, channels: 2, data: new Float32Array([1, 0, 1, 0.1, 0, 1, 0.1, 1]) };
 * const pairs = samplePatchPairs([{ features, labels: Int32Array.from([0, 0, 1, 1]) }], { pairsPerKind: 10 });
 * assert.equal(pairs.scores.length, 20);
 * assert.ok(pairs.scores.every((s, i) => (pairs.same[i] ? s > 0.9 : s < 0.2)));
 * ```
 */
export function samplePatchPairs(images: LabelledFeatures[], options: PatchPairOptions = {}): PatchPairs {
  const n = options.pairsPerKind ?? 5000;
  const rand = seededRandom(options.seed ?? 1);
  const all: [number, number][] = [];
  const byClass = new Map<number, [number, number][]>();
  images.forEach(({ features, labels }, im) => {
    if (labels.length !== features.height * features.width) {
      throw new RangeError(
        `Image ${im}: ${labels.length} patch labels for a ${features.height}×${features.width} feature grid`,
      );
    }
    labels.forEach((c, p) => {
      if (c < 0) return;
      all.push([im, p]);
      if (!byClass.has(c)) byClass.set(c, []);
      byClass.get(c)!.push([im, p]);
    });
  });
  const pool = [...byClass.values()].filter((v) => v.length >= 2);
  if (!pool.length || byClass.size < 2) {
    throw new RangeError(
      `Need at least two classes, one with two patches; got ${byClass.size} classes over ${all.length} patches`,
    );
  }
  const poolSize = pool.reduce((s, v) => s + v.length, 0);
  const label = (im: number, p: number) => images[im].labels[p];
  const scores = new Float64Array(2 * n);
  const same = new Uint8Array(2 * n);
  const pick = <T>(v: T[]) => v[Math.floor(rand() * v.length)];
  for (let k = 0; k < n; k++) {
    let r = rand() * poolSize, group = pool[0];
    for (const v of pool) {
      if (r < v.length) {
        group = v;
        break;
      }
      r -= v.length;
    }
    const a = pick(group);
    let b = pick(group);
    while (b === a) b = pick(group);
    scores[k] = cosine(images[a[0]].features, a[1], images[b[0]].features, b[1]);
    same[k] = 1;
  }
  for (let k = n; k < 2 * n; k++) {
    const a = pick(all);
    let b = pick(all);
    while (label(b[0], b[1]) === label(a[0], a[1])) b = pick(all);
    scores[k] = cosine(images[a[0]].features, a[1], images[b[0]].features, b[1]);
  }
  return { scores, same };
}

/**
 * Cosine similarity between patch `index` of `source` and every patch of `target` (the paper's Fig. 4 heatmaps).
 *
 * @param source Feature map holding the query patch.
 * @param index Query patch, `row·width + column`.
 * @param target Feature map to compare against (may be `source`); must have the same channel count.
 * @returns `target.height·target.width` cosines.
 * @throws {RangeError} When `index` is outside `source` or the channel counts differ.
 *
 * @example
 * ```ts
 * import { cosineMap } from "./patch_alignment.ts";
 * import assert from "node:assert/strict";
 * const map = { height: 1, width: 2, channels: 2, data: new Float32Array([1, 0, 0, 1]) };
 * assert.deepEqual(Array.from(cosineMap(map, 0, map)), [1, 0]);
 * ```
 */
export function cosineMap(source: FeatureMap, index: number, target: FeatureMap): Float32Array {
  if (!Number.isInteger(index) || index < 0 || index >= source.height * source.width) {
    throw new RangeError(`Invalid patch index ${index} for a ${source.height}×${source.width} grid`);
  }
  if (source.channels !== target.channels) {
    throw new RangeError(`Channel counts differ: ${source.channels} and ${target.channels}`);
  }
  const out = new Float32Array(target.height * target.width);
  for (let j = 0; j < out.length; j++) out[j] = cosine(source, index, target, j);
  return out;
}

/** Options of {@linkcode bootstrapPatchAuc}. */
export interface PatchAucBootstrapOptions {
  /** Bootstrap replicates. @default {1000} */
  replicates?: number;
  /** Pairs of each kind drawn per replicate. @default {2000} */
  pairsPerKind?: number;
  /** Seed of the image resampling (via `seededRandom`); replicate `b` draws its pairs with seed `seed + 1 + b`. @default {1} */
  seed?: number;
  /** Lower and upper quantiles of the interval. @default {[0.025, 0.975]} */
  quantiles?: [number, number];
}

/** Result of {@linkcode bootstrapPatchAuc}. */
export interface PatchAucInterval {
  /** Lower end of the interval. */
  lo: number;
  /** Upper end of the interval. */
  hi: number;
  /** Replicates that produced an AUC. */
  replicates: number;
  /** Replicates skipped because the resampled images held fewer than two usable classes. */
  skipped: number;
}

/**
 * Percentile bootstrap interval of the patch-alignment AUC, resampling **images** (the independent units; patches
 * of one image are not): each replicate draws `images.length` images with replacement, samples fresh pairs from
 * them with {@linkcode samplePatchPairs}, and scores the cosine AUC.
 *
 * @param images Features and patch classes per image (one label set across all of them).
 * @param auc The AUC function (e.g. `(s, y) => rocCurve(s, y).auc`), passed in to keep this module ROC-free.
 * @param options Replicates, pairs, seed, quantiles.
 * @returns The interval and how many replicates it rests on.
 *
 * @example
 * ```ts
 * import { bootstrapPatchAuc } from "./patch_alignment.ts";
 * import { rocCurve } from "./roc.ts";
 * import assert from "node:assert/strict";
 * const features = { height: 1, width: 4, channels: 2, data: new Float32Array([1, 0, 1, 0.1, 0, 1, 0.1, 1]) };
 * const labels = Int32Array.from([0, 0, 1, 1]);
 * const ci = bootstrapPatchAuc([{ features, labels }, { features, labels }], (s, y) => rocCurve(s, y).auc, {
 *   replicates: 20,
 *   pairsPerKind: 10,
 * });
 * assert.ok(ci.lo > 0.999 && ci.hi <= 1);
 * assert.equal(ci.replicates + ci.skipped, 20);
 * ```
 */
export function bootstrapPatchAuc(
  images: LabelledFeatures[],
  auc: (scores: Float64Array, same: Uint8Array) => number,
  options: PatchAucBootstrapOptions = {},
): PatchAucInterval {
  const seed = options.seed ?? 1;
  // The image resampling and percentiles are the shared image bootstrap; only the statistic is ROC-specific.
  return bootstrapImages(images.length, (draw, b) => {
    const pairs = samplePatchPairs(Array.from(draw, (i) => images[i]), {
      pairsPerKind: options.pairsPerKind ?? 2000,
      seed: seed + 1 + b,
    });
    return auc(pairs.scores, pairs.same);
  }, { replicates: options.replicates ?? 1000, seed, quantiles: options.quantiles });
}
