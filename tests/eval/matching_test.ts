import assert from "node:assert/strict";
import {
  fastHist,
  hungarianMatch,
  mergeUnmatchedToBackground,
  perImageMiou,
  SegmentationScore,
} from "../../lib/eval/matching.ts";

const i32 = (values: number[]) => Int32Array.from(values);

function assertClose(actual: number, expected: number, tol = 1e-12) {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

// 3 GT classes, 4 clusters, 14 pixels (2 ignored).
//
//   gt   = 0 0 0 0 0 | 1 1 1 1 | 2 2 2 | -1 -1
//   pred = 0 0 0 1 2 | 1 1 1 2 | 3 3 0 |  2  0
//
// P = max(3, 3 + 1) = 4; the two GT −1 pixels are ignored. Histogram (rows GT, columns clusters):
//
//          c0 c1 c2 c3 | rowsum
//   g0  [   3  1  1  0 ]  5
//   g1  [   0  3  1  0 ]  4
//   g2  [   1  0  0  2 ]  3
//   colsum  4  4  2  2    12 valid pixels
//
// Maximum assignment: g0→c0 (3) + g1→c1 (3) + g2→c3 (2) = 8, the unique optimum (any other
// choice for g0 or g1 loses at least 2 and gains at most 1).
//   TP = [3, 3, 2]
//   FN = rowsum − TP = [5−3, 4−3, 3−2] = [2, 1, 1]
//   FP = colsum(matched col) − TP = [4−3, 4−3, 2−2] = [1, 1, 0]
// Cluster c2 is unmatched: its pixels (one of g0, one of g1) are FN of g0 and g1 and nobody's FP.
//   IoU = [3/(3+1+2), 3/(3+1+1), 2/(2+0+1)] = [1/2, 3/5, 2/3]
//   mIoU = (15/30 + 18/30 + 20/30) / 3 = 53/90
//   pixel accuracy = ΣTP / ALL = 8 / 12 = 2/3
const handGt = i32([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, -1, -1]);
const handPred = i32([0, 0, 0, 1, 2, 1, 1, 1, 2, 3, 3, 0, 2, 0]);

Deno.test("fastHist builds the GT x cluster histogram of the hand case", () => {
  const { hist, rows, cols } = fastHist(handGt, handPred, 3);
  assert.equal(rows, 3);
  assert.equal(cols, 4);
  assert.deepEqual([...hist], [3, 1, 1, 0, 0, 3, 1, 0, 1, 0, 0, 2]);
});

Deno.test("fastHist widens to nClasses when there are fewer clusters and ignores out-of-range GT", () => {
  // P = max(3, 0 + 1) = 3; GT 3 and −1 are outside [0, 3).
  const { hist, rows, cols } = fastHist(i32([0, 2, 3, -1]), i32([0, 0, 0, 0]), 3);
  assert.equal(rows, 3);
  assert.equal(cols, 3);
  assert.deepEqual([...hist], [1, 0, 0, 0, 0, 0, 1, 0, 0]);
  // Empty image: P = n.
  const empty = fastHist(i32([]), i32([]), 2);
  assert.equal(empty.cols, 2);
  assert.deepEqual([...empty.hist], [0, 0, 0, 0]);
});

Deno.test("hungarianMatch: 3-class GT, 4-cluster prediction, counts derived by hand", () => {
  const m = hungarianMatch(handPred, handGt, 3);
  assert.deepEqual([...m.rowIndex], [0, 1, 2]);
  assert.deepEqual([...m.colIndex], [0, 1, 3]);
  assert.deepEqual([...m.tp], [3, 3, 2]);
  assert.deepEqual([...m.fn], [2, 1, 1]);
  assert.deepEqual([...m.fp], [1, 1, 0]);
  assert.equal(m.valid, 12);

  const score = new SegmentationScore(3).addMatch(m);
  const iou = score.iou();
  assertClose(iou[0], 1 / 2);
  assertClose(iou[1], 3 / 5);
  assertClose(iou[2], 2 / 3);
  assertClose(score.miou(), 53 / 90);
  assertClose(score.pixelAccuracy(), 8 / 12);
  assertClose(perImageMiou(handPred, handGt, 3), 53 / 90);
});

Deno.test("hungarianMatch: an absent GT class matched to a real cluster collects its pixels as FP", () => {
  // gt   = 0 0 0 1 1 1, pred = 0 0 2 1 1 2, n = 3 (class 2 absent).
  //          c0 c1 c2
  //   g0  [   2  0  1 ]
  //   g1  [   0  2  1 ]
  //   g2  [   0  0  0 ]   all-zero row
  // g0→c0, g1→c1, and g2 gets the only column left, c2.
  //   TP = [2, 2, 0]; FN = [3−2, 3−2, 0] = [1, 1, 0]; FP = [2−2, 2−2, 2−0] = [0, 0, 2]
  //   IoU = [2/3, 2/3, 0/(0+2+0) = 0] → mIoU = 4/9 (it would be 2/3 if class 2 were skipped).
  const pred = i32([0, 0, 2, 1, 1, 2]);
  const gt = i32([0, 0, 0, 1, 1, 1]);
  const m = hungarianMatch(pred, gt, 3);
  assert.deepEqual([...m.colIndex], [0, 1, 2]);
  assert.deepEqual([...m.tp], [2, 2, 0]);
  assert.deepEqual([...m.fn], [1, 1, 0]);
  assert.deepEqual([...m.fp], [0, 0, 2]);
  const score = new SegmentationScore(3).addMatch(m);
  assert.deepEqual([...score.iou()].map((x) => x.toFixed(6)), ["0.666667", "0.666667", "0.000000"]);
  assertClose(score.miou(), 4 / 9);
  assertClose(perImageMiou(pred, gt, 3), 4 / 9);
});

Deno.test("hungarianMatch follows scipy's tie-breaking for absent classes", () => {
  // gt = 0 0 1 1, pred = 0 2 1 3, n = 3 → P = 4.
  //          c0 c1 c2 c3
  //   g0  [   1  0  1  0 ]
  //   g1  [   0  1  0  1 ]
  //   g2  [   0  0  0  0 ]
  // scipy: cost = 1 − hist after negation and subtracting the minimum (−1). Row 0 scans columns
  // 3, 2, 1, 0 with path costs 1, 0, 1, 0: column 2 becomes best, then column 0 ties and is free,
  // so g0→c0. Row 1 likewise ends on c1. Row 2 costs 1 everywhere: c3 first, then c2 ties and is
  // free, c1 and c0 are taken, so g2→c2 and takes c2's single pixel (a g0 pixel) as FP.
  //   TP = [1, 1, 0]; FN = [1, 1, 0]; FP = [0, 0, 1]
  const m = hungarianMatch(i32([0, 2, 1, 3]), i32([0, 0, 1, 1]), 3);
  assert.deepEqual([...m.colIndex], [0, 1, 2]);
  assert.deepEqual([...m.tp], [1, 1, 0]);
  assert.deepEqual([...m.fn], [1, 1, 0]);
  assert.deepEqual([...m.fp], [0, 0, 1]);
});

Deno.test("mergeUnmatchedToBackground: hand case, then the final match", () => {
  // N = 3: foreground classes 0, 1; GT −1 is background (→ 2).
  //   gt   = 0 0 0 1 1 -1 -1 -1 -1
  //   pred = 0 0 1 2 2  1  3  3  4
  // Foreground match (n = 2, P = max(2, 5) = 5):
  //          c0 c1 c2 c3 c4
  //   g0  [   2  1  0  0  0 ]
  //   g1  [   0  0  2  0  0 ]
  // g0→c0, g1→c2. Reordered hist[:, [0, 2]] = [[2, 0], [0, 2]]: both rows present, keep {0, 2}.
  // Clusters 1, 3, 4 → max(pred) + 1 = 5.
  const gt = i32([0, 0, 0, 1, 1, -1, -1, -1, -1]);
  const pred = i32([0, 0, 1, 2, 2, 1, 3, 3, 4]);
  const merged = mergeUnmatchedToBackground(pred, gt, 3);
  assert.deepEqual([...merged.pred], [0, 0, 5, 2, 2, 5, 5, 5, 5]);
  assert.deepEqual([...merged.gt], [0, 0, 0, 1, 1, 2, 2, 2, 2]);
  assert.deepEqual([...merged.keptClusters], [0, 2]);
  assert.equal(merged.backgroundLabel, 5);
  // Inputs untouched.
  assert.deepEqual([...pred], [0, 0, 1, 2, 2, 1, 3, 3, 4]);
  assert.deepEqual([...gt], [0, 0, 0, 1, 1, -1, -1, -1, -1]);

  // Final match (n = 3, P = max(3, 6) = 6):
  //          c0 c1 c2 c3 c4 c5
  //   g0  [   2  0  0  0  0  1 ]
  //   g1  [   0  0  2  0  0  0 ]
  //   g2  [   0  0  0  0  0  4 ]
  // g0→c0, g1→c2, g2→c5. TP = [2, 2, 4]; FN = [1, 0, 0]; FP = [0, 0, 5−4] = [0, 0, 1].
  const m = hungarianMatch(merged.pred, merged.gt, 3);
  assert.deepEqual([...m.colIndex], [0, 2, 5]);
  assert.deepEqual([...m.tp], [2, 2, 4]);
  assert.deepEqual([...m.fn], [1, 0, 0]);
  assert.deepEqual([...m.fp], [0, 0, 1]);
});

Deno.test("mergeUnmatchedToBackground: the cluster of an absent class is merged", () => {
  // gt = 0 0 -1 -1 -1, pred = 0 0 1 1 2, N = 3 (foreground n = 2, P = 3).
  //   g0 [2 0 0], g1 [0 0 0]. g0→c0; g1 (all zero) takes c1 by scipy's tie-breaking.
  //   Reordered rows: g0 [2, 0] present; g1 [0, 0] absent → c1 is not kept.
  //   Clusters 1 and 2 → 3.
  const merged = mergeUnmatchedToBackground(i32([0, 0, 1, 1, 2]), i32([0, 0, -1, -1, -1]), 3);
  assert.deepEqual([...merged.pred], [0, 0, 3, 3, 3]);
  assert.deepEqual([...merged.gt], [0, 0, 2, 2, 2]);
  assert.deepEqual([...merged.keptClusters], [0]);
});

Deno.test("mergeUnmatchedToBackground: 'present' looks at all matched columns, not only the own one", () => {
  // gt = 0 0 0 0 0 1 -1, pred = 0 0 0 0 0 0 2, N = 3 (n = 2, P = 3).
  //   g0 [5 0 0], g1 [1 0 0]. g0→c0 (5); g1 gets c1, which is empty.
  //   Reordered hist[:, [0, 1]]: g1 = [1, 0], max 1 > 0 → present, so c1 is kept even though
  //   g1 has no pixel in it. Cluster 2 → max(pred) + 1 = 3.
  const merged = mergeUnmatchedToBackground(i32([0, 0, 0, 0, 0, 0, 2]), i32([0, 0, 0, 0, 0, 1, -1]), 3);
  assert.deepEqual([...merged.keptClusters], [0, 1]);
  assert.deepEqual([...merged.pred], [0, 0, 0, 0, 0, 0, 3]);
  assert.deepEqual([...merged.gt], [0, 0, 0, 0, 0, 1, 2]);
});

Deno.test("SegmentationScore accumulates counts over images before dividing", () => {
  const score = new SegmentationScore(3);
  score.add([3, 0, 0], [1, 0, 0], [0, 0, 0], 4);
  score.add([1, 2, 0], [0, 0, 0], [2, 0, 0], 5);
  // Class 0: 4 / (4 + 1 + 2) = 4/7; class 1: 2/2 = 1; class 2: 0/0 = NaN (skipped by nanmean).
  const iou = score.iou();
  assertClose(iou[0], 4 / 7);
  assert.equal(iou[1], 1);
  assert.ok(Number.isNaN(iou[2]));
  assertClose(score.miou(), (4 / 7 + 1) / 2);
  assertClose(score.pixelAccuracy(), 6 / 9);
  const json = JSON.parse(JSON.stringify(score));
  assert.equal(json.images, 2);
  assert.equal(json.all, 9);
  assert.deepEqual(json.tp, [4, 2, 0]);
  assert.equal(json.iou[2], null);
  assertClose(json.miou, (4 / 7 + 1) / 2);

  const empty = new SegmentationScore(2);
  assert.ok(Number.isNaN(empty.miou()));
  assert.ok(Number.isNaN(empty.pixelAccuracy()));
  assert.equal(empty.toJSON().miou, null);
});

Deno.test("perImageMiou is 1 for a relabelled GT and NaN for an image without valid pixels", () => {
  assert.equal(perImageMiou(i32([5, 5, 2, 2, 7]), i32([0, 0, 1, 1, 2]), 3), 1);
  assert.ok(Number.isNaN(perImageMiou(i32([0, 0]), i32([-1, -1]), 2)));
});

Deno.test("hungarianMatch invariants on random images", () => {
  let s = 99;
  const random = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(random() * 6);
    const k = 1 + Math.floor(random() * 8);
    const size = Math.floor(random() * 40);
    const gt = Int32Array.from({ length: size }, () => Math.floor(random() * (n + 1)) - 1);
    const pred = Int32Array.from({ length: size }, () => Math.floor(random() * k));
    const m = hungarianMatch(pred, gt, n);
    assert.equal(m.rows, n);
    assert.equal(new Set(m.colIndex).size, n);
    let tp = 0, fn = 0;
    for (let i = 0; i < n; i++) {
      tp += m.tp[i];
      fn += m.fn[i];
      assert.ok(m.fp[i] >= 0 && m.fn[i] >= 0);
    }
    assert.equal(tp + fn, m.valid);
    assert.equal(m.valid, gt.filter((g) => g >= 0 && g < n).length);
  }
});

Deno.test("matching functions reject bad inputs with one-line errors", () => {
  const oneLine = (type: typeof TypeError | typeof RangeError, re: RegExp) => (e: unknown) =>
    e instanceof type && re.test(e.message) && !e.message.includes("\n");
  assert.throws(
    () => fastHist(i32([0, 1]), i32([0]), 2),
    oneLine(TypeError, /same length, received 2 and 1/),
  );
  assert.throws(() => hungarianMatch(i32([0]), i32([0, 1]), 2), oneLine(TypeError, /same length/));
  assert.throws(
    () => fastHist([0] as unknown as Int32Array, i32([0]), 2),
    oneLine(TypeError, /gt must be an Int32Array, received Array/),
  );
  assert.throws(
    () => hungarianMatch(new Float64Array([0]) as unknown as Int32Array, i32([0]), 2),
    oneLine(TypeError, /pred must be an Int32Array, received Float64Array/),
  );
  assert.throws(
    () => fastHist(i32([0]), i32([0]), 0),
    oneLine(RangeError, /nClasses must be an integer >= 1/),
  );
  assert.throws(() => fastHist(i32([0]), i32([0]), -3), oneLine(RangeError, /received -3/));
  assert.throws(() => fastHist(i32([0]), i32([0]), 2.5), RangeError);
  assert.throws(() => fastHist(i32([0]), i32([0]), NaN), RangeError);
  assert.throws(() => hungarianMatch(i32([0, -1]), i32([0, 0]), 2), oneLine(RangeError, /-1 at index 1/));
  assert.throws(
    () => mergeUnmatchedToBackground(i32([0]), i32([0]), 1),
    oneLine(RangeError, /nClasses must be an integer >= 2/),
  );
  assert.throws(() => new SegmentationScore(0), RangeError);
  assert.throws(
    () => new SegmentationScore(2).add([1], [0, 0], [0, 0], 1),
    oneLine(TypeError, /tp has length 1/),
  );
  assert.throws(() => new SegmentationScore(2).add([1, 0], [0, 0], [0, 0], -1), RangeError);
  assert.throws(() => new SegmentationScore(2).add([1, 0], [0, 0], [0, 0], NaN), RangeError);
  assert.throws(
    () => new SegmentationScore(2).addMatch(hungarianMatch(i32([0]), i32([0]), 3)),
    oneLine(TypeError, /expected 2/),
  );
});
