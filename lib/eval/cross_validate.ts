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
  const all = [...Array(n).keys()];
  const inSample = settings[bestSetting(settings, all)];
  const chosen = all.map((i) => settings[bestSetting(settings, all.filter((j) => j !== i))]);
  const loo = all.map((i) => chosen[i].perImage[i]);
  return {
    inSample: { name: inSample.name, mean: mean(inSample.perImage) },
    leaveOneOut: mean(loo),
    leaveOneGroupOut: mean(leaveOneGroupOut(settings, groups).heldOutPerImage),
    chosen: chosen.map((s) => s.name),
  };
}

/** Index of the setting with the best mean over the given images (the first one on ties). */
function bestSetting(settings: ScoredSetting[], images: number[]): number {
  let pick = 0, top = -Infinity;
  settings.forEach((s, k) => {
    const m = mean(images.map((i) => s.perImage[i]));
    if (m > top) [pick, top] = [k, m];
  });
  return pick;
}

/** One fold of {@linkcode leaveOneGroupOut}: a group held out, the setting picked on the others. */
export interface HeldOutFold {
  /** The group (folder) held out. */
  group: string;
  /** Indices of its images (in image order). */
  images: number[];
  /** Index (into `settings`) of the setting with the best mean on the other groups' images. */
  picked: number;
  /** That setting's mean on the other groups (the score it was picked by). */
  trainMean: number;
  /** That setting's mean on the held-out images (the honest score). */
  heldOutMean: number;
  /** Index of the best setting on the held-out images themselves (what tuning on them would report). */
  bestOnHeldOut: number;
  /** Its mean on the held-out images (in-sample, optimistic). */
  bestOnHeldOutMean: number;
}

/** Result of {@linkcode leaveOneGroupOut}. */
export interface LeaveOneGroupOut {
  /** One fold per group, in order of first appearance. */
  folds: HeldOutFold[];
  /** Each image's score under the setting picked without its group (NaN as 0), in image order. */
  heldOutPerImage: number[];
}

/**
 * Leave-one-group-out choice of settings, fold by fold: each group (folder) is held out in turn, the setting with
 * the best mean on the other groups is picked, and scored on the held-out images only. With a single group there is
 * nothing to train on, and the in-sample best is used (said by `trainMean` being that group's own mean).
 *
 * @param settings Candidate settings with their per-image scores.
 * @param groups Group of each image.
 * @returns The folds and the per-image held-out scores.
 * @throws {RangeError} When there are no settings or no images, or a setting's scores do not match the images.
 *
 * @example Group y prefers "b", but "b" is picked on group x alone
 * ```ts
 * import assert from "node:assert/strict";
 * import { leaveOneGroupOut } from "./cross_validate.ts";
 * const cv = leaveOneGroupOut([
 *   { name: "a", perImage: [0.2, 0.4, 0.9] },
 *   { name: "b", perImage: [0.5, 0.5, 0.1] },
 * ], ["x", "x", "y"]);
 * assert.deepEqual(cv.folds.map((f) => f.picked), [0, 1]);
 * assert.deepEqual(cv.heldOutPerImage, [0.2, 0.4, 0.1]);
 * ```
 */
export function leaveOneGroupOut(settings: ScoredSetting[], groups: string[]): LeaveOneGroupOut {
  const n = groups.length;
  if (settings.length === 0 || n === 0) throw new RangeError("Leave-one-group-out needs settings and images");
  for (const s of settings) {
    if (s.perImage.length !== n) {
      throw new RangeError(`Setting '${s.name}' has ${s.perImage.length} scores for ${n} images`);
    }
  }
  const all = [...Array(n).keys()];
  const heldOutPerImage = new Array<number>(n);
  const folds: HeldOutFold[] = [];
  for (const group of new Set(groups)) {
    const images = all.filter((i) => groups[i] === group);
    const others = all.filter((i) => groups[i] !== group);
    const train = others.length ? others : images;
    const picked = bestSetting(settings, train);
    const bestOnHeldOut = bestSetting(settings, images);
    const on = (k: number, idx: number[]) => mean(idx.map((i) => settings[k].perImage[i]));
    for (const i of images) {
      const v = settings[picked].perImage[i];
      heldOutPerImage[i] = Number.isFinite(v) ? v : 0;
    }
    folds.push({
      group,
      images,
      picked,
      trainMean: on(picked, train),
      heldOutMean: on(picked, images),
      bestOnHeldOut,
      bestOnHeldOutMean: on(bestOnHeldOut, images),
    });
  }
  return { folds, heldOutPerImage };
}
