/**
 * One entry point for the evaluation datasets by name (`deno task eval --dataset NAME --root DIR`).
 *
 * | name | root | N | background |
 * | --- | --- | --- | --- |
 * | `voc20` | `pascal_voc_d2/` or `VOCdevkit/VOC2012/` | 21 | many-to-one |
 * | `context` | `pascal_ctx_d2/` | 60 | many-to-one |
 * | `coco-object` | `coco/` + the 2,175-image list | 81 | many-to-one |
 * | `coco-stuff` | `coco/` + the 2,175-image list | 27 | none |
 * | `cityscapes` | `cityscapes/` | 27 | none |
 * | `ade20k` | `ADEChallengeData2016/` | 150 | none |
 * | `voc-folder` | any `JPEGImages/` + `SegmentationClassPNG/` folder | from `class_names.txt` | many-to-one when class 0 is background |
 *
 * @module
 */
import { openAde20k } from "./ade20k.ts";
import { openCityscapes27 } from "./cityscapes.ts";
import { openCocoObject } from "./coco_object.ts";
import { openCocoStuff27 } from "./coco_stuff.ts";
import type { EvalDataset } from "./eval_dataset.ts";
import { openPascalContext59 } from "./pascal_context.ts";
import { openPascalVoc20 } from "./pascal_voc.ts";
import type { SkippedImage } from "./voc_folder.ts";
import { openVocFolderDataset } from "./voc_folder_dataset.ts";

/** Dataset names {@linkcode openDataset} knows. */
export const DATASET_NAMES: readonly string[] = Object.freeze([
  "voc20",
  "context",
  "coco-object",
  "coco-stuff",
  "cityscapes",
  "ade20k",
  "voc-folder",
]);

/** A dataset as {@linkcode openDataset} returns it. */
export interface OpenedDataset extends EvalDataset {
  /** Files of the image folder that were left out (only `voc-folder` skips files; the benchmarks fail instead). */
  skipped: SkippedImage[];
}

/** Options of {@linkcode openDataset}. */
export interface OpenDatasetOptions {
  /** Split (each dataset has its own default: `val`, or `validation` for ADE20K). */
  split?: string;
  /** COCO: path of the 2,175-image list. */
  listPath?: string;
  /** ADE20K label convention. @default "reference" */
  adeLabels?: "reference" | "shifted";
}

/**
 * Opens a dataset by name.
 *
 * @param name One of {@linkcode DATASET_NAMES}.
 * @param root Its root folder.
 * @param options Split, COCO list path, ADE20K labels.
 * @returns The dataset, and the files it left out.
 * @throws {RangeError} On an unknown name.
 * @throws {Deno.errors.NotFound} Naming a missing folder or file.
 */
export async function openDataset(
  name: string,
  root: string,
  options: OpenDatasetOptions = {},
): Promise<OpenedDataset> {
  if (name === "voc-folder") return await openVocFolderDataset(root);
  return { ...(await openBenchmark(name, root, options)), skipped: [] };
}

function openBenchmark(name: string, root: string, options: OpenDatasetOptions): Promise<EvalDataset> {
  const split = options.split;
  switch (name) {
    case "voc20":
      return openPascalVoc20(root, { split });
    case "context":
      return openPascalContext59(root, { split });
    case "coco-object":
      return openCocoObject(root, { split, listPath: options.listPath });
    case "coco-stuff":
      return openCocoStuff27(root, { split, listPath: options.listPath });
    case "cityscapes":
      return openCityscapes27(root, { split });
    case "ade20k":
      return openAde20k(root, { split, labels: options.adeLabels });
  }
  return Promise.reject(
    new RangeError(`Unknown dataset "${name}": expected one of ${DATASET_NAMES.join(", ")}`),
  );
}
