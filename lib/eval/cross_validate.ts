/**
 * Cross-validated choice of settings: for each held-out fold, the setting with the best mean score on the other
 * images is chosen and scored on the held-out images only. `deno task calibrate` reports these numbers beside the
 * in-sample best, because with a handful of labelled images the in-sample best overstates what a setting scores
 * on new images.
 *
 * @module
 */

/** One setting's per-image scores (same image order in every row). */
export interface ScoredSetting {
  /** A label for the setting. */
  name: string;
  /** Score per image (higher is better; NaN counts as 0). */
  perImage: number[];
}

/** Result of {@linkcode crossValidate}. */
export interface CrossValidation {
  /** The setting with the best mean over all images, and that (in-sample) mean. */
  inSample: { name: string; mean: number };
  /** Mean over images of the held-out score when each image is left out in turn. */
  leaveOneOut: number;
  /** Mean over images of the held-out score when each group (folder) is left out in turn. */
  leaveOneGroupOut: number;
  /** The setting chosen for each left-out image (leave-one-out), in image order. */
  chosen: string[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) / xs.length;

/**
 * Leave-one-out and leave-one-group-out scores of choosing the best setting on the training images.
 *
 * @param settings Candidate settings with their per-image scores.
 * @param groups Group (folder) of each image.
 * @returns In-sample best, and the two held-out means.
 * @throws {RangeError} When there are no settings or fewer than 2 images.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { crossValidate } from "./cross_validate.ts";
 * const cv = crossValidate([
 *   { name: "a", perImage: [1, 1, 0] },
 *   { name: "b", perImage: [0.6, 0.6, 0.6] },
 * ], ["x", "x", "y"]);
 * assert.equal(cv.inSample.name, "a");
 * assert.ok(Math.abs(cv.leaveOneOut - (0.6 + 0.6 + 0) / 3) < 1e-12);
 * ```
 */
export function crossValidate(settings: ScoredSetting[], groups: string[]): CrossValidation {
  const n = groups.length;
  if (settings.length === 0 || n < 2) {
    throw new RangeError("Cross-validation needs settings and at least 2 images");
  }
  const best = (train: number[]) => {
    let pick = settings[0], top = -Infinity;
    for (const s of settings) {
      const m = mean(train.map((i) => s.perImage[i]));
      if (m > top) [pick, top] = [s, m];
    }
    return pick;
  };
  const all = [...Array(n).keys()];
  const inSample = best(all);
  const chosen = all.map((i) => best(all.filter((j) => j !== i)));
  const loo = all.map((i) => chosen[i].perImage[i]);
  const lofo = new Array<number>(n);
  for (const g of new Set(groups)) {
    const train = all.filter((j) => groups[j] !== g);
    const s = train.length ? best(train) : inSample;
    for (const i of all) if (groups[i] === g) lofo[i] = s.perImage[i];
  }
  return {
    inSample: { name: inSample.name, mean: mean(inSample.perImage) },
    leaveOneOut: mean(loo),
    leaveOneGroupOut: mean(lofo),
    chosen: chosen.map((s) => s.name),
  };
}
