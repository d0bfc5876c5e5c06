/**
 * Any VOC-format folder (`JPEGImages/` + `SegmentationClassPNG/`, e.g. Debian's `labelme-examples`) as an
 * evaluation dataset.
 *
 * Classes come from `class_names.txt` (one per line, index = annotation value); without it, from the largest
 * annotation value found (255 excluded). When class 0 is a background class (`_background_`, `background`),
 * the folder is scored like VOC20: background and 255 become −1 and form the background class N−1 with the
 * many-to-one rule, and the other classes shift down by one. Otherwise every value is a class and 255 is
 * ignored.
 *
 * @module
 */
import { loadLabelMap } from "../image/load_labels.ts";
import { type EvalDataset, makeLut } from "./eval_dataset.ts";
import { readVocFolder, type SkippedImage } from "./voc_folder.ts";

const BACKGROUND_NAMES = new Set(["_background_", "background", "__background__"]);

/**
 * Opens a VOC-format folder for evaluation.
 *
 * @param root Folder with `JPEGImages/` and `SegmentationClassPNG/` (or `SegmentationClass/`).
 * @returns The dataset, with the files of `JPEGImages/` that were left out (no annotation, not an image).
 * @throws {Deno.errors.NotFound} Naming the missing folder.
 * @throws {RangeError} When no class is found.
 */
export async function openVocFolderDataset(
  root: string,
): Promise<EvalDataset & { skipped: SkippedImage[] }> {
  const folder = await readVocFolder(root);
  let names = folder.classNames;
  const generic = !names;
  if (!names) {
    let max = -1;
    for (const s of folder.samples) {
      for (const v of (await loadLabelMap(s.labelPath)).data) if (v !== 255 && v > max) max = v;
    }
    if (max < 0) throw new RangeError(`VOC folder '${root}' has no labelled pixel; expected class indices`);
    names = Array.from({ length: max + 1 }, (_, i) => `class ${i}`);
  }
  const samples = folder.samples.map((s) => ({ id: s.id, imagePath: s.imagePath, labelPath: s.labelPath }));
  if (BACKGROUND_NAMES.has(names[0]) && names.length >= 2) {
    const fg = names.slice(1);
    return {
      name: "voc-folder",
      root,
      nClasses: fg.length + 1,
      manyToOne: true,
      classNames: [...fg, "background"],
      samples,
      lut: makeLut(256, (v) => (v >= 1 && v <= fg.length ? v - 1 : undefined)),
      options: { classes: names.length, background: "many-to-one" },
      notes: [`VOC folder: '${names[0]}' and 255 are −1, scored as one background class (many-to-one)`],
      skipped: folder.skipped,
    };
  }
  return {
    name: "voc-folder",
    root,
    nClasses: names.length,
    manyToOne: false,
    classNames: names,
    samples,
    lut: makeLut(256, (v) => (v < names.length ? v : undefined)),
    options: { classes: names.length, background: "none" },
    notes: [],
    ...(generic ? { genericClassNames: true } : {}),
    skipped: folder.skipped,
  };
}
