/**
 * The unsupervised segmentation protocol of DiffCut (REFERENCE.md §5.3–5.4): per-image Hungarian
 * matching of GT classes to clusters, the many-to-one background merge, and dataset-level
 * accumulation of TP/FP/FN into IoU, mIoU and pixel accuracy.
 *
 * Label conventions: GT labels are class ids `0 … n−1`; any other value (−1 after the dataset's
 * label map) is ignored. Predicted labels are cluster ids `≥ 0`, gaps allowed.
 *
 * Notes
 * -----
 * The matching is one-to-one and made **per image** with scipy's solver
 * ({@linkcode linearSumAssignment}), so every GT class, present or not, is matched to a distinct
 * cluster, and which cluster an absent class gets is decided by scipy's tie-breaking. An absent
 * class matched to a non-empty cluster collects that cluster's pixels as false positives. Pixels of
 * unmatched clusters count as false negatives of their GT class and as nobody's false positives.
 *
 * References
 * ----------
 * Cho et al., "PiCIE: Unsupervised Semantic Segmentation using Invariance and Equivariance in
 * Clustering", CVPR 2021 (the matching code that DiffSeg and DiffCut reuse).
 *
 * @module
 */

import { linearSumAssignment } from "./linear_sum_assignment.ts";

/** A confusion histogram: `rows` GT classes × `cols` clusters, row-major counts. */
export interface ClassClusterHistogram {
  /** `hist[g * cols + p]` = number of valid pixels with GT class `g` and cluster `p`. */
  hist: Float64Array;
  /** Number of GT classes `n`. */
  rows: number;
  /** `P = max(n, max(pred) + 1)`. */
  cols: number;
}

/** The result of {@linkcode hungarianMatch}: scipy's matching and per-class counts of one image. */
export interface HungarianMatch extends ClassClusterHistogram {
  /** Matched GT classes: `0 … n−1` in order (every class is matched since `n ≤ P`). */
  rowIndex: Int32Array;
  /** `colIndex[k]` is the cluster matched to class `rowIndex[k]`. */
  colIndex: Int32Array;
  /** True positives per class: `hist[i, col(i)]`. */
  tp: Float64Array;
  /** False positives per class: pixels of the matched cluster with another (valid) GT class. */
  fp: Float64Array;
  /** False negatives per class: pixels of the class outside its matched cluster. */
  fn: Float64Array;
  /** Pixels whose GT class lies in `[0, n)` (the histogram's sum). */
  valid: number;
}

/** The result of {@linkcode mergeUnmatchedToBackground}. */
export interface BackgroundMerge {
  /** Prediction with every cluster not kept relabelled to `backgroundLabel`. */
  pred: Int32Array;
  /** GT with −1 replaced by the background class `nClasses − 1`. */
  gt: Int32Array;
  /** Clusters kept: those matched to a present foreground class, in class order. */
  keptClusters: Int32Array;
  /** The merged cluster's label, `max(pred) + 1` of the input prediction. */
  backgroundLabel: number;
}

/**
 * Builds the GT × cluster histogram of one image (`_fast_hist` of the reference).
 *
 * With `P = max(nClasses, max(pred) + 1)`, the result is `nClasses × P`; pixels with
 * `gt < 0` or `gt ≥ nClasses` are left out.
 *
 * @param gt GT class per pixel; values outside `[0, nClasses)` are ignored.
 * @param pred Cluster id per pixel (non-negative), same length as `gt`.
 * @param nClasses Number of GT classes `n` (positive integer).
 * @returns The histogram with its shape.
 * @throws {TypeError} If `gt` or `pred` is not an Int32Array, or their lengths differ.
 * @throws {RangeError} If `nClasses` is not a positive integer or `pred` has a negative label.
 *
 * @example
 * ```ts
 * import { fastHist } from "./matching.ts";
 * import assert from "node:assert/strict";
 *
 * const gt = new Int32Array([0, 0, 1, -1]);
 * const pred = new Int32Array([2, 0, 2, 1]);
 * const { hist, rows, cols } = fastHist(gt, pred, 2);
 * assert.equal(rows, 2);
 * assert.equal(cols, 3); // max(2, 2 + 1)
 * assert.deepEqual([...hist], [1, 0, 1, 0, 0, 1]);
 * ```
 */
export function fastHist(gt: Int32Array, pred: Int32Array, nClasses: number): ClassClusterHistogram {
  checkLabels("fastHist", gt, pred);
  checkClassCount("fastHist", nClasses, 1);
  const maxPred = maxLabel("fastHist", pred);
  const rows = nClasses;
  const cols = Math.max(nClasses, maxPred + 1);
  const hist = new Float64Array(rows * cols);
  for (let k = 0; k < gt.length; k++) {
    const g = gt[k];
    if (g >= 0 && g < nClasses) hist[g * cols + pred[k]] += 1;
  }
  return { hist, rows, cols };
}

/**
 * Matches GT classes to clusters for one image exactly as the reference does and counts TP, FP
 * and FN per class (`hungarian_matching` of the reference).
 *
 * The histogram of {@linkcode fastHist} is matched with scipy's `linear_sum_assignment(hist,
 * maximize=True)` ({@linkcode linearSumAssignment}). For class `i` matched to cluster `c`:
 * `TP = hist[i, c]`, `FN = Σ_p hist[i, p] − TP`, `FP = Σ_g hist[g, c] − TP`.
 *
 * @param pred Cluster id per pixel (non-negative).
 * @param gt GT class per pixel, same length; values outside `[0, nClasses)` are ignored.
 * @param nClasses Number of GT classes `n` (positive integer).
 * @returns The histogram, the matching, per-class `tp`/`fp`/`fn` and the valid pixel count.
 * @throws {TypeError} If `pred` or `gt` is not an Int32Array, or their lengths differ.
 * @throws {RangeError} If `nClasses` is not a positive integer or `pred` has a negative label.
 *
 * @example An absent class collects the false positives of its cluster
 * ```ts
 * import { hungarianMatch } from "./matching.ts";
 * import assert from "node:assert/strict";
 *
 * // Class 2 is absent; it is matched to the left-over cluster 2, whose two pixels become its FP.
 * const gt = new Int32Array([0, 0, 0, 1, 1, 1]);
 * const pred = new Int32Array([0, 0, 2, 1, 1, 2]);
 * const m = hungarianMatch(pred, gt, 3);
 * assert.deepEqual([...m.colIndex], [0, 1, 2]);
 * assert.deepEqual([...m.tp], [2, 2, 0]);
 * assert.deepEqual([...m.fp], [0, 0, 2]);
 * assert.deepEqual([...m.fn], [1, 1, 0]);
 * ```
 */
export function hungarianMatch(pred: Int32Array, gt: Int32Array, nClasses: number): HungarianMatch {
  const { hist, rows, cols } = fastHist(gt, pred, nClasses);
  const { rowIndex, colIndex } = linearSumAssignment(hist, rows, cols, { maximize: true });
  const rowSum = new Float64Array(rows);
  const colSum = new Float64Array(cols);
  let valid = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const h = hist[i * cols + j];
      rowSum[i] += h;
      colSum[j] += h;
      valid += h;
    }
  }
  const tp = new Float64Array(rows);
  const fp = new Float64Array(rows);
  const fn = new Float64Array(rows);
  for (let k = 0; k < rowIndex.length; k++) {
    const i = rowIndex[k];
    const c = colIndex[k];
    tp[i] += hist[i * cols + c];
    fn[i] += rowSum[i] - hist[i * cols + c];
    fp[i] += colSum[c] - hist[i * cols + c];
  }
  return { hist, rows, cols, rowIndex, colIndex, tp, fp, fn, valid };
}

/**
 * Applies the many-to-one background rule (REFERENCE.md §5.3 step 2) used on VOC20, Context and
 * COCO-Object, where GT −1 is the background class `nClasses − 1`.
 *
 * 1. Match the foreground classes `0 … nClasses−2` with {@linkcode hungarianMatch} (GT −1 and
 *    the background class itself are outside that histogram).
 * 2. Reorder the histogram's columns by the matching: `R[i][k] = hist[i, col(k)]`.
 * 3. A class `i` is present when `max_k R[i][k] > 0` (it has a pixel in *any* matched cluster);
 *    the clusters `col(i)` of present classes are kept.
 * 4. Every other cluster is relabelled to `max(pred) + 1`, which merges them into one cluster
 *    that then competes in the final one-to-one matching like any other.
 * 5. GT −1 becomes `nClasses − 1`; other GT values are unchanged.
 *
 * @param pred Cluster id per pixel (non-negative); not modified.
 * @param gt GT per pixel with −1 for background, same length; not modified.
 * @param nClasses Number of classes `N` including background (integer ≥ 2).
 * @returns New `pred` and `gt` arrays, the kept clusters and the merged cluster's label.
 * @throws {TypeError} If `pred` or `gt` is not an Int32Array, or their lengths differ.
 * @throws {RangeError} If `nClasses` is not an integer ≥ 2 or `pred` has a negative label.
 *
 * @example
 * ```ts
 * import { mergeUnmatchedToBackground } from "./matching.ts";
 * import assert from "node:assert/strict";
 *
 * // Classes 0, 1 and background (−1 → 2). Clusters 0 and 2 match classes 0 and 1; 1, 3, 4 merge.
 * const gt = new Int32Array([0, 0, 0, 1, 1, -1, -1, -1, -1]);
 * const pred = new Int32Array([0, 0, 1, 2, 2, 1, 3, 3, 4]);
 * const merged = mergeUnmatchedToBackground(pred, gt, 3);
 * assert.deepEqual([...merged.pred], [0, 0, 5, 2, 2, 5, 5, 5, 5]);
 * assert.deepEqual([...merged.gt], [0, 0, 0, 1, 1, 2, 2, 2, 2]);
 * ```
 */
export function mergeUnmatchedToBackground(
  pred: Int32Array,
  gt: Int32Array,
  nClasses: number,
): BackgroundMerge {
  checkLabels("mergeUnmatchedToBackground", gt, pred);
  checkClassCount("mergeUnmatchedToBackground", nClasses, 2);
  const background = nClasses - 1;
  const newGt = gt.map((g) => g === -1 ? background : g);
  if (pred.length === 0) {
    return { pred: pred.slice(), gt: newGt, keptClusters: new Int32Array(0), backgroundLabel: 0 };
  }
  const { hist, rows, cols, colIndex } = hungarianMatch(pred, gt, background);
  const kept = new Set<number>();
  const keptClusters: number[] = [];
  for (let i = 0; i < rows; i++) {
    let rowMax = -Infinity;
    for (let k = 0; k < colIndex.length; k++) rowMax = Math.max(rowMax, hist[i * cols + colIndex[k]]);
    if (rowMax > 0) {
      kept.add(colIndex[i]);
      keptClusters.push(colIndex[i]);
    }
  }
  const backgroundLabel = maxLabel("mergeUnmatchedToBackground", pred) + 1;
  const newPred = pred.map((p) => kept.has(p) ? p : backgroundLabel);
  return { pred: newPred, gt: newGt, keptClusters: Int32Array.from(keptClusters), backgroundLabel };
}

/** Plain-JSON summary of a {@linkcode SegmentationScore}; NaN is written as `null`. */
export interface SegmentationScoreJson {
  /** Number of classes. */
  nClasses: number;
  /** Number of images added. */
  images: number;
  /** Accumulated true positives per class. */
  tp: number[];
  /** Accumulated false positives per class. */
  fp: number[];
  /** Accumulated false negatives per class. */
  fn: number[];
  /** Accumulated pixel count (ALL). */
  all: number;
  /** IoU per class; `null` for 0/0. */
  iou: (number | null)[];
  /** NaN-mean of `iou`; `null` when every class is 0/0. */
  miou: number | null;
  /** `ΣTP / ALL`; `null` when ALL is 0. */
  pixelAccuracy: number | null;
}

/**
 * Dataset-level accumulator of per-image matches: sums TP, FP, FN per class and the pixel count
 * ALL, then reports `IoU = TP / (TP + FP + FN)` per class, `mIoU = nanmean(IoU)` and pixel
 * accuracy `ΣTP / ALL` (the reference's `tools/utils.py`).
 *
 * @example
 * ```ts
 * import { hungarianMatch, SegmentationScore } from "./matching.ts";
 * import assert from "node:assert/strict";
 *
 * const score = new SegmentationScore(2);
 * score.addMatch(hungarianMatch(new Int32Array([1, 1, 0]), new Int32Array([0, 0, 1]), 2));
 * score.addMatch(hungarianMatch(new Int32Array([0, 0, 0]), new Int32Array([0, 0, 0]), 2));
 * assert.deepEqual([...score.iou()], [1, 1]);
 * assert.equal(score.miou(), 1);
 * assert.equal(score.pixelAccuracy(), 1);
 * ```
 */
export class SegmentationScore {
  /** Number of classes. */
  readonly nClasses: number;
  /** Accumulated true positives per class. */
  readonly tp: Float64Array;
  /** Accumulated false positives per class. */
  readonly fp: Float64Array;
  /** Accumulated false negatives per class. */
  readonly fn: Float64Array;
  /** Accumulated pixel count (ALL). */
  all = 0;
  /** Number of `add` calls. */
  images = 0;

  /**
   * Creates an empty accumulator.
   *
   * @param nClasses Number of classes (positive integer).
   * @throws {RangeError} If `nClasses` is not a positive integer.
   */
  constructor(nClasses: number) {
    checkClassCount("SegmentationScore", nClasses, 1);
    this.nClasses = nClasses;
    this.tp = new Float64Array(nClasses);
    this.fp = new Float64Array(nClasses);
    this.fn = new Float64Array(nClasses);
  }

  /**
   * Adds one image's per-class counts.
   *
   * @param tp True positives per class (length `nClasses`).
   * @param fp False positives per class (length `nClasses`).
   * @param fn False negatives per class (length `nClasses`).
   * @param pixelCount Pixels of this image counted in ALL (non-negative).
   * @returns This accumulator.
   * @throws {TypeError} If a count array does not have length `nClasses`.
   * @throws {RangeError} If `pixelCount` is negative or not finite.
   */
  add(tp: ArrayLike<number>, fp: ArrayLike<number>, fn: ArrayLike<number>, pixelCount: number): this {
    for (const [name, a] of [["tp", tp], ["fp", fp], ["fn", fn]] as const) {
      if (a?.length !== this.nClasses) {
        throw new TypeError(
          `Cannot add to SegmentationScore: ${name} has length ${a?.length}, expected ${this.nClasses}`,
        );
      }
    }
    if (!Number.isFinite(pixelCount) || pixelCount < 0) {
      throw new RangeError(
        `Cannot add to SegmentationScore: pixelCount must be a non-negative number, received ${pixelCount}`,
      );
    }
    for (let i = 0; i < this.nClasses; i++) {
      this.tp[i] += tp[i];
      this.fp[i] += fp[i];
      this.fn[i] += fn[i];
    }
    this.all += pixelCount;
    this.images++;
    return this;
  }

  /**
   * Adds a {@linkcode HungarianMatch}, counting its valid pixels in ALL.
   *
   * @param match One image's match with `nClasses` classes.
   * @returns This accumulator.
   * @throws {TypeError} If the match has a different number of classes.
   */
  addMatch(match: HungarianMatch): this {
    return this.add(match.tp, match.fp, match.fn, match.valid);
  }

  /**
   * IoU per class, `TP / (TP + FP + FN)`; NaN for a class with 0/0.
   *
   * @returns A new Float64Array of length `nClasses`.
   */
  iou(): Float64Array {
    const out = new Float64Array(this.nClasses);
    for (let i = 0; i < this.nClasses; i++) {
      out[i] = this.tp[i] / (this.tp[i] + this.fp[i] + this.fn[i]);
    }
    return out;
  }

  /**
   * Mean IoU over classes whose IoU is not NaN (`np.nanmean`); NaN when every class is.
   *
   * @returns The mean IoU in [0, 1] or NaN.
   */
  miou(): number {
    return nanMean(this.iou());
  }

  /**
   * Pixel accuracy `ΣTP / ALL`; NaN when ALL is 0.
   *
   * @returns The accuracy in [0, 1] or NaN.
   */
  pixelAccuracy(): number {
    let sum = 0;
    for (let i = 0; i < this.nClasses; i++) sum += this.tp[i];
    return this.all === 0 ? NaN : sum / this.all;
  }

  /**
   * Summary for `JSON.stringify`, with NaN written as `null`.
   *
   * @returns Counts, per-class IoU, mIoU and pixel accuracy.
   */
  toJSON(): SegmentationScoreJson {
    const orNull = (x: number) => Number.isNaN(x) ? null : x;
    return {
      nClasses: this.nClasses,
      images: this.images,
      tp: [...this.tp],
      fp: [...this.fp],
      fn: [...this.fn],
      all: this.all,
      iou: [...this.iou()].map(orNull),
      miou: orNull(this.miou()),
      pixelAccuracy: orNull(this.pixelAccuracy()),
    };
  }
}

/**
 * mIoU of a single image for quick reporting: {@linkcode hungarianMatch}, then the NaN-mean of that
 * image's per-class IoU. Classes absent from the GT whose matched cluster is empty (0/0) are
 * skipped; absent classes matched to a non-empty cluster count with IoU 0, as in the protocol.
 *
 * This is not the paper's metric, which accumulates counts over the dataset first (use
 * {@linkcode SegmentationScore} for that).
 *
 * @param pred Cluster id per pixel (non-negative).
 * @param gt GT class per pixel, same length; values outside `[0, nClasses)` are ignored.
 * @param nClasses Number of GT classes (positive integer).
 * @returns The image's mIoU, or NaN when every class is 0/0.
 * @throws {TypeError} If `pred` or `gt` is not an Int32Array, or their lengths differ.
 * @throws {RangeError} If `nClasses` is not a positive integer or `pred` has a negative label.
 *
 * @example
 * ```ts
 * import { perImageMiou } from "./matching.ts";
 * import assert from "node:assert/strict";
 *
 * // Labels are a permutation of the GT: a perfect score.
 * assert.equal(perImageMiou(new Int32Array([3, 3, 1]), new Int32Array([0, 0, 1]), 2), 1);
 * ```
 */
export function perImageMiou(pred: Int32Array, gt: Int32Array, nClasses: number): number {
  const { tp, fp, fn } = hungarianMatch(pred, gt, nClasses);
  const iou = new Float64Array(nClasses);
  for (let i = 0; i < nClasses; i++) iou[i] = tp[i] / (tp[i] + fp[i] + fn[i]);
  return nanMean(iou);
}

function nanMean(values: Float64Array): number {
  let sum = 0;
  let count = 0;
  for (const x of values) {
    if (!Number.isNaN(x)) {
      sum += x;
      count++;
    }
  }
  return count === 0 ? NaN : sum / count;
}

function checkLabels(fn: string, gt: Int32Array, pred: Int32Array): void {
  if (!(gt instanceof Int32Array)) {
    throw new TypeError(`Cannot run ${fn}: gt must be an Int32Array, received ${describe(gt)}`);
  }
  if (!(pred instanceof Int32Array)) {
    throw new TypeError(`Cannot run ${fn}: pred must be an Int32Array, received ${describe(pred)}`);
  }
  if (gt.length !== pred.length) {
    throw new TypeError(
      `Cannot run ${fn}: gt and pred must have the same length, received ${gt.length} and ${pred.length}`,
    );
  }
}

function checkClassCount(fn: string, nClasses: number, min: number): void {
  if (!Number.isInteger(nClasses) || nClasses < min) {
    throw new RangeError(`Cannot run ${fn}: nClasses must be an integer >= ${min}, received ${nClasses}`);
  }
}

/** Largest label of `pred` (−1 when empty); throws on negative labels. */
function maxLabel(fn: string, pred: Int32Array): number {
  let max = -1;
  for (let k = 0; k < pred.length; k++) {
    const p = pred[k];
    if (p < 0) {
      throw new RangeError(
        `Cannot run ${fn}: pred must hold non-negative cluster ids, received ${p} at index ${k}`,
      );
    }
    if (p > max) max = p;
  }
  return max;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
