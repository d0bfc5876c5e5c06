/**
 * ADE20K-150 val (`ADEChallengeData2016/images/<split>/*.jpg`, `annotations/<split>/*.png`, REFERENCE.md §5.1).
 *
 * Two label conventions:
 * - `"reference"` (default, as the DiffCut evaluation): raw values are classes, only 255 is ignored. Raw 0
 *   ("other", unlabelled) is scored as class 0 and raw 150 ("flag") falls outside `[0, 150)` and is dropped.
 *   This looks like an off-by-one in the reference; it is kept by default so that numbers are comparable.
 * - `"shifted"` (the standard ADE20K-150 protocol): raw 0 → −1 (ignored), raw k → k − 1 for k = 1..150.
 *
 * No background class (N = 150).
 *
 * @module
 */
import { join } from "node:path";
import { type EvalDataset, makeLut, pairByStem } from "./eval_dataset.ts";
import { ADE_CLASSES } from "./label_maps.ts";

/** Options of {@linkcode openAde20k}. */
export interface Ade20kOptions {
  /** Split folder. @default "validation" */
  split?: string;
  /** Label convention (see the module doc). @default "reference" */
  labels?: "reference" | "shifted";
}

/**
 * Opens ADE20K-150.
 *
 * @param root The `ADEChallengeData2016/` folder.
 * @param options Split and label convention.
 * @returns The dataset.
 * @throws {Deno.errors.NotFound} Naming the missing folder or file.
 * @throws {RangeError} On an unknown label convention.
 */
export async function openAde20k(root: string, options: Ade20kOptions = {}): Promise<EvalDataset> {
  const split = options.split ?? "validation";
  const labels = options.labels ?? "reference";
  if (labels !== "reference" && labels !== "shifted") {
    throw new RangeError(`Invalid ADE20K label convention "${labels}": expected "reference" or "shifted"`);
  }
  const samples = await pairByStem(join(root, "images", split), join(root, "annotations", split), "ADE20K");
  const shifted = labels === "shifted";
  return {
    name: "ade20k",
    root,
    nClasses: 150,
    manyToOne: false,
    classNames: shifted ? [...ADE_CLASSES] : ["other", ...ADE_CLASSES.slice(0, 149)],
    samples,
    lut: shifted
      ? makeLut(256, (v) => (v >= 1 && v <= 150 ? v - 1 : undefined))
      : makeLut(256, (v) => (v < 150 ? v : undefined)),
    options: { split, labels },
    notes: shifted ? ["ADE20K: standard shifted labels (0 ignored, k → k−1)"] : [
      "ADE20K: reference labels (raw 0 'other' scored as class 0, raw 150 'flag' dropped); use --ade-labels shifted for the standard protocol",
    ],
  };
}
