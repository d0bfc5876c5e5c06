/**
 * Cityscapes-27 val (REFERENCE.md §5.1): `leftImg8bit/<split>/<city>/*_leftImg8bit.png` with
 * `gtFine/<split>/<city>/*_gtFine_labelIds.png`; label ids 7..33 → classes 0..26, everything else −1 (ignored).
 * No background class (N = 27).
 *
 * @module
 */
import { join } from "node:path";
import { type EvalDataset, type EvalSample, listDirs, listFiles } from "./eval_dataset.ts";
import { cityscapes27Lut, CITYSCAPES_27 } from "./label_maps.ts";

/**
 * Opens Cityscapes-27.
 *
 * @param root The `cityscapes/` folder.
 * @param options Split (default `"val"`).
 * @returns The dataset, samples sorted by city then file name.
 * @throws {Deno.errors.NotFound} Naming the missing folder or annotation.
 */
export async function openCityscapes27(root: string, options: { split?: string } = {}): Promise<EvalDataset> {
  const split = options.split ?? "val";
  const imageRoot = join(root, "leftImg8bit", split);
  const labelRoot = join(root, "gtFine", split);
  const samples: EvalSample[] = [];
  for (const city of await listDirs(imageRoot, "Cityscapes image folder")) {
    const labels = new Set(await listFiles(join(labelRoot, city), "Cityscapes annotation folder"));
    for (const name of await listFiles(join(imageRoot, city), "Cityscapes image folder")) {
      if (!name.endsWith("_leftImg8bit.png")) continue;
      const labelName = name.replace(/_leftImg8bit\.png$/, "_gtFine_labelIds.png");
      if (!labels.has(labelName)) {
        throw new Deno.errors.NotFound(
          `Cityscapes: image '${join(imageRoot, city, name)}' has no annotation '${
            join(labelRoot, city, labelName)
          }'`,
        );
      }
      samples.push({
        id: `${city}/${name.replace(/_leftImg8bit\.png$/, "")}`,
        imagePath: join(imageRoot, city, name),
        labelPath: join(labelRoot, city, labelName),
      });
    }
  }
  if (samples.length === 0) {
    throw new Deno.errors.NotFound(`Cityscapes image folder '${imageRoot}' has no images`);
  }
  return {
    name: "cityscapes",
    root,
    nClasses: 27,
    manyToOne: false,
    classNames: [...CITYSCAPES_27],
    samples,
    lut: cityscapes27Lut(),
    options: { split },
    notes: [],
  };
}
