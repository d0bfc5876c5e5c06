import assert from "node:assert/strict";
import { cosineMap, patchLabels, samplePatchPairs } from "../../lib/viz/patch_alignment.ts";
import { rocCurve } from "../../lib/viz/roc.ts";

Deno.test("rocCurve: AUC equals the Mann–Whitney statistic, ties count half", () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.4, 0.3];
  const labels = [1, 1, 0, 1, 0, 1, 0, 0];
  let wins = 0;
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < 8; j++) {
      if (labels[i] && !labels[j]) wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  const roc = rocCurve(scores, labels);
  assert.ok(Math.abs(roc.auc - wins / 16) < 1e-12);
  assert.deepEqual([roc.positives, roc.negatives], [4, 4]);
  assert.deepEqual([roc.fpr[0], roc.tpr[0], roc.fpr.at(-1), roc.tpr.at(-1)], [0, 0, 1, 1]);
  // Monotone curve.
  for (let i = 1; i < roc.fpr.length; i++) {
    assert.ok(roc.fpr[i] >= roc.fpr[i - 1] && roc.tpr[i] >= roc.tpr[i - 1]);
  }
  assert.equal(rocCurve([1, 0], [0, 1]).auc, 0);
});

Deno.test("rocCurve: invalid input", () => {
  assert.throws(() => rocCurve([1, 2], [1]), RangeError);
  assert.throws(() => rocCurve([1, 2], [1, 1]), /positives and negatives/);
  assert.throws(() => rocCurve([NaN, 2], [1, 0]), /NaN/);
});

Deno.test("patchLabels: majority class, purity and ignore rules", () => {
  // 4×4 pixels on a 2×2 grid.
  const data = Int32Array.from([
    1,
    1,
    2,
    2,
    1,
    1,
    2,
    3,
    255,
    255,
    4,
    5,
    255,
    7,
    6,
    7,
  ]);
  const labels = patchLabels({ height: 4, width: 4, data }, 2, 2);
  // pure 1 | 2 with 3/4 (= 0.75, kept) | mostly ignored | no 75 % majority
  assert.deepEqual(Array.from(labels), [1, 2, -1, -1]);
  assert.deepEqual(Array.from(patchLabels({ height: 4, width: 4, data }, 2, 2, { minPurity: 0.8 })), [
    1,
    -1,
    -1,
    -1,
  ]);
  assert.throws(() => patchLabels({ height: 2, width: 2, data: new Int32Array(4) }, 3, 3), RangeError);
});

Deno.test("samplePatchPairs: balanced, deterministic, flags match the classes", () => {
  const f = {
    height: 2,
    width: 3,
    channels: 2,
    data: new Float32Array([1, 0, 1, 0.2, 0, 1, 0.1, 1, 1, 0.1, 0, 1]),
  };
  const labels = Int32Array.from([0, 0, 1, 1, 0, 1]);
  const a = samplePatchPairs([{ features: f, labels }, { features: f, labels }], {
    pairsPerKind: 50,
    seed: 7,
  });
  const b = samplePatchPairs([{ features: f, labels }, { features: f, labels }], {
    pairsPerKind: 50,
    seed: 7,
  });
  assert.deepEqual(a, b);
  assert.equal(a.same.reduce((s, v) => s + v, 0), 50);
  assert.equal(a.scores.length, 100);
  assert.ok(a.scores.every((s) => s >= -1 - 1e-12 && s <= 1 + 1e-12));
  // Same-class pairs of this toy map are more similar on average.
  const mean = (want: number) =>
    a.scores.filter((_, i) => a.same[i] === want).reduce((s, v) => s + v, 0) / 50;
  assert.ok(mean(1) > mean(0));
  assert.throws(() => samplePatchPairs([{ features: f, labels: new Int32Array(6).fill(1) }]), /two classes/);
  assert.throws(() => samplePatchPairs([{ features: f, labels: new Int32Array(5) }]), RangeError);
});

Deno.test("cosineMap: 1 at the query patch, symmetric, validated", () => {
  const f = { height: 1, width: 3, channels: 2, data: new Float32Array([3, 4, 4, 3, -3, -4]) };
  const m = cosineMap(f, 0, f);
  assert.ok(Math.abs(m[0] - 1) < 1e-6 && Math.abs(m[2] + 1) < 1e-6 && Math.abs(m[1] - 24 / 25) < 1e-6);
  assert.ok(Math.abs(cosineMap(f, 1, f)[0] - m[1]) < 1e-7);
  assert.throws(() => cosineMap(f, 3, f), RangeError);
  assert.throws(() => cosineMap(f, 0, { ...f, channels: 3, data: new Float32Array(9) }), RangeError);
});
