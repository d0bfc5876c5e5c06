/**
 * Cross-validated choice of settings (lib/eval/cross_validate.ts): leave-one-out, and the fold-by-fold
 * leave-one-group-out that the sensitivity notebook draws, on hand-made per-image scores.
 */
import assert from "node:assert/strict";
import { crossValidate, leaveOneGroupOut } from "../../lib/eval/cross_validate.ts";

// Group y prefers "a", group x prefers "b": each group's pick comes from the other and scores lower on it.
const settings = [
  { name: "a", perImage: [0.2, 0.4, 0.9] },
  { name: "b", perImage: [0.5, 0.5, 0.1] },
];
const groups = ["x", "x", "y"];

Deno.test("leaveOneGroupOut: each folder scored with the setting picked on the others", () => {
  const cv = leaveOneGroupOut(settings, groups);
  assert.deepEqual(cv.folds, [
    // x held out: trained on image 2 (a 0.9, b 0.1) → a; a on x = (0.2 + 0.4) / 2; b is x's own best (0.5).
    {
      group: "x",
      images: [0, 1],
      picked: 0,
      trainMean: 0.9,
      heldOutMean: 0.30000000000000004,
      bestOnHeldOut: 1,
      bestOnHeldOutMean: 0.5,
    },
    // y held out: trained on x (a 0.3, b 0.5) → b, which scores 0.1 on y, where a would score 0.9.
    {
      group: "y",
      images: [2],
      picked: 1,
      trainMean: 0.5,
      heldOutMean: 0.1,
      bestOnHeldOut: 0,
      bestOnHeldOutMean: 0.9,
    },
  ]);
  assert.deepEqual(cv.heldOutPerImage, [0.2, 0.4, 0.1]);
});

Deno.test("leaveOneGroupOut: one group picks in-sample; ties keep the first setting; NaN scores 0", () => {
  const one = leaveOneGroupOut(settings, ["x", "x", "x"]);
  // a: (0.2 + 0.4 + 0.9) / 3 = 0.5 > b: 1.1 / 3.
  assert.equal(one.folds.length, 1);
  assert.equal(one.folds[0].picked, 0);
  const tie = leaveOneGroupOut([{ name: "p", perImage: [1, NaN] }, { name: "q", perImage: [1, 0.5] }], [
    "u",
    "v",
  ]);
  assert.deepEqual(tie.folds.map((f) => f.picked), [1, 0]);
  assert.deepEqual(tie.heldOutPerImage, [1, 0]);
  assert.throws(() => leaveOneGroupOut([], ["x"]), RangeError);
  assert.throws(
    () => leaveOneGroupOut([{ name: "short", perImage: [1] }], ["x", "y"]),
    /1 scores for 2 images/,
  );
});

Deno.test("crossValidate: in-sample best, leave-one-out and leave-one-folder-out means", () => {
  const cv = crossValidate(settings, groups);
  assert.deepEqual(cv.inSample, { name: "a", mean: 0.5 });
  // Leaving out image 0: a (0.65) vs b (0.3) → a scores 0.2; image 1: a 0.55 vs b 0.3 → 0.4; image 2: b → 0.1.
  assert.deepEqual(cv.chosen, ["a", "a", "b"]);
  assert.ok(Math.abs(cv.leaveOneOut - 0.7 / 3) < 1e-12);
  assert.ok(Math.abs(cv.leaveOneGroupOut - 0.7 / 3) < 1e-12);
  assert.throws(() => crossValidate(settings, ["x"]), RangeError);
});
