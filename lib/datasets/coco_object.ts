/**
 * COCO-Object (REFERENCE.md §5.1): the 2,175 COCO-Stuff-27 val images (not the 5,000 val images), with the
 * stuffthingmaps' thing values (< 91) mapped to 80 classes 0..79; stuff and unlabeled become −1 and are
 * scored as the background class 80 with the many-to-one rule (N = 81).
 *
 * The image list cannot be downloaded here: put `Coco164kFull_Stuff_Coarse_7.txt` in the root (or pass
 * `listPath`); a clear error names the paths tried.
 *
 * @module
 */
import { type CocoOptions, cocoSamples } from "./_coco_files.ts";
import type { EvalDataset } from "./eval_dataset.ts";
import { COCO_THINGS, cocoObjectLut } from "./label_maps.ts";

/**
 * Opens COCO-Object.
 *
 * @param root The `coco/` folder.
 * @param options Split and list path.
 * @returns The dataset.
 * @throws {Deno.errors.NotFound} Naming the missing list, folder or file.
 */
export async function openCocoObject(root: string, options: CocoOptions = {}): Promise<EvalDataset> {
  const { samples, listPath, notes } = await cocoSamples(root, "COCO-Object", options);
  return {
    name: "coco-object",
    root,
    nClasses: 81,
    manyToOne: true,
    classNames: [...COCO_THINGS, "background"],
    samples,
    lut: cocoObjectLut(),
    options: { split: options.split ?? "val", list: listPath },
    notes: [
      "COCO-Object: stuff and unlabeled are −1, scored as one background class (many-to-one)",
      ...notes,
    ],
  };
}
