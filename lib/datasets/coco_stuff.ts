/**
 * COCO-Stuff-27 (REFERENCE.md §5.1): the 2,175-image val subset, stuffthingmaps fine values mapped to the 27
 * coarse classes in the PiCIE order; 255 → −1 (ignored). No background class (N = 27).
 *
 * The image list cannot be downloaded here: put `Coco164kFull_Stuff_Coarse_7.txt` in the root (or pass
 * `listPath`); a clear error names the paths tried.
 *
 * @module
 */
import { type CocoOptions, cocoSamples } from "./_coco_files.ts";
import type { EvalDataset } from "./eval_dataset.ts";
import { COCO_STUFF_COARSE, cocoStuffFineToCoarse } from "./label_maps.ts";

/**
 * Opens COCO-Stuff-27.
 *
 * @param root The `coco/` folder.
 * @param options Split and list path.
 * @returns The dataset.
 * @throws {Deno.errors.NotFound} Naming the missing list, folder or file.
 */
export async function openCocoStuff27(root: string, options: CocoOptions = {}): Promise<EvalDataset> {
  const { samples, listPath, notes } = await cocoSamples(root, "COCO-Stuff", options);
  return {
    name: "coco-stuff",
    root,
    nClasses: 27,
    manyToOne: false,
    classNames: [...COCO_STUFF_COARSE],
    samples,
    lut: cocoStuffFineToCoarse(),
    options: { split: options.split ?? "val", list: listPath },
    notes,
  };
}
