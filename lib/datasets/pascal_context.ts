/**
 * PASCAL-Context 59 (VOC2010 val) as prepared by the reference (`prepare_pascal_ctx_sem_seg.py`, REFERENCE.md
 * §5.1): `images/<split>/*.jpg` and `annotations_ctx59/<split>/*.png` with classes 0..58 and 255 for
 * background/ignore. 255 becomes −1 and is scored as the background class 59 with the many-to-one rule
 * (N = 60).
 *
 * @module
 */
import { join } from "node:path";
import { type EvalDataset, makeLut, pairByStem } from "./eval_dataset.ts";
import { CONTEXT_CLASSES } from "./label_maps.ts";

/**
 * Opens PASCAL-Context 59.
 *
 * @param root The `pascal_ctx_d2/` folder.
 * @param options Split (default `"val"`).
 * @returns The dataset.
 * @throws {Deno.errors.NotFound} Naming the missing folder or file.
 */
export async function openPascalContext59(
  root: string,
  options: { split?: string } = {},
): Promise<EvalDataset> {
  const split = options.split ?? "val";
  const samples = await pairByStem(
    join(root, "images", split),
    join(root, "annotations_ctx59", split),
    "Context",
  );
  return {
    name: "context",
    root,
    nClasses: 60,
    manyToOne: true,
    classNames: [...CONTEXT_CLASSES, "background"],
    samples,
    lut: makeLut(256, (v) => (v < 59 ? v : undefined)),
    options: { split },
    notes: ["Context: 255 (background/ignore) is −1, scored as one background class (many-to-one)"],
  };
}
