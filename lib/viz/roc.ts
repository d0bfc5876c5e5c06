/**
 * ROC curve and area under it for a score used as a binary classifier (the paper's patch-alignment test, Fig. 3:
 * the cosine similarity of two patches predicts whether they carry the same class).
 *
 * @module
 */

/** Result of {@linkcode rocCurve}. */
export interface RocCurve {
  /** False-positive rate at each threshold, from 0 to 1. */
  fpr: Float64Array;
  /** True-positive rate at each threshold, from 0 to 1. */
  tpr: Float64Array;
  /** Thresholds (descending; the first is +Infinity, predicting nothing positive). */
  thresholds: Float64Array;
  /** Area under the curve (trapezoids; tied scores count half, as the Mann–Whitney U statistic). */
  auc: number;
  /** Number of positive examples. */
  positives: number;
  /** Number of negative examples. */
  negatives: number;
}

/**
 * ROC curve of `score ≥ t` as a predictor of `positive`, one point per distinct score.
 *
 * @param scores Scores, higher meaning "more likely positive".
 * @param positive Ground truth, true (or 1) for positives.
 * @returns The curve and its AUC.
 * @throws {RangeError} When the lengths differ, a score is NaN, or one class is empty.
 *
 * @example A perfect and a useless score
 * ```ts
 * import { rocCurve } from "./roc.ts";
 * import assert from "node:assert/strict";
 * assert.equal(rocCurve([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]).auc, 1);
 * assert.equal(rocCurve([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0]).auc, 0.5);
 * ```
 */
export function rocCurve(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): RocCurve {
  const n = scores.length;
  if (positive.length !== n) {
    throw new RangeError(`Got ${n} scores and ${positive.length} labels; expected equal lengths`);
  }
  let P = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`Score ${i} is NaN`);
    if (positive[i]) P++;
  }
  const N = n - P;
  if (P === 0 || N === 0) {
    throw new RangeError(`ROC needs positives and negatives; got ${P} positives and ${N} negatives`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const fpr = [0], tpr = [0], thr = [Infinity];
  let tp = 0, fp = 0, auc = 0;
  for (let k = 0; k < n;) {
    const s = scores[order[k]];
    const tp0 = tp, fp0 = fp;
    while (k < n && scores[order[k]] === s) {
      if (positive[order[k]]) tp++;
      else fp++;
      k++;
    }
    auc += ((fp - fp0) / N) * ((tp + tp0) / 2 / P);
    fpr.push(fp / N);
    tpr.push(tp / P);
    thr.push(s);
  }
  return {
    fpr: Float64Array.from(fpr),
    tpr: Float64Array.from(tpr),
    thresholds: Float64Array.from(thr),
    auc,
    positives: P,
    negatives: N,
  };
}
