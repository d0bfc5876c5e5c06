/**
 * PASCAL VOC 2012 val with the VOC20 semantics of the DiffCut protocol (REFERENCE.md §5.1): 20 object classes
 * 0..19; background **and** void become −1, scored as the background class 20 with the many-to-one rule
 * (N = 21).
 *
 * Two layouts are read:
 * - the reference's prepared folder (`pascal_voc_d2/`, written by `prepare_pascal_voc_sem_seg.py`):
 *   `images/<split>/*.jpg` and `annotations_pascal20/<split>/*.png` with values 0..19 and 255;
 * - the original `VOCdevkit/VOC2012/` folder: `ImageSets/Segmentation/<split>.txt`, `JPEGImages/<id>.jpg` and
 *   `SegmentationClass/<id>.png` (palette indices 0 = background, 1..20, 255 = void), mapped `v → v − 1`.
 *
 * @module
 */
import { join } from "node:path";
import { type EvalDataset, type EvalSample, isDir, makeLut, pairByStem } from "./eval_dataset.ts";
import { VOC_CLASSES } from "./label_maps.ts";

/** Options of {@linkcode openPascalVoc20}. */
export interface PascalVocOptions {
  /** Split name (a folder of the prepared layout, or an ImageSets list of VOCdevkit). @default "val" */
  split?: string;
}

/**
 * Opens PASCAL VOC 2012 (VOC20 protocol) from either layout.
 *
 * @param root `pascal_voc_d2/` (with `annotations_pascal20/`) or `VOCdevkit/VOC2012/`.
 * @param options Split.
 * @returns The dataset.
 * @throws {Deno.errors.NotFound} Naming the missing folder or file.
 */
export async function openPascalVoc20(root: string, options: PascalVocOptions = {}): Promise<EvalDataset> {
  const split = options.split ?? "val";
  const base = {
    name: "voc20",
    root,
    nClasses: 21,
    manyToOne: true,
    classNames: [...VOC_CLASSES, "background"],
  };
  if (await isDir(join(root, "annotations_pascal20"))) {
    const samples = await pairByStem(
      join(root, "images", split),
      join(root, "annotations_pascal20", split),
      "VOC20",
    );
    return {
      ...base,
      samples,
      lut: makeLut(256, (v) => (v < 20 ? v : undefined)),
      options: { layout: "pascal_voc_d2", split },
      notes: ["VOC20: background and void are both −1, scored as one background class (many-to-one)"],
    };
  }
  const listPath = join(root, "ImageSets", "Segmentation", `${split}.txt`);
  if (!(await isDir(join(root, "JPEGImages")))) {
    throw new Deno.errors.NotFound(
      `PASCAL VOC root '${root}' has neither annotations_pascal20/ (prepared layout) nor JPEGImages/ (VOCdevkit/VOC2012 layout)`,
    );
  }
  const samples = await readIdList(listPath, root);
  return {
    ...base,
    samples,
    lut: makeLut(256, (v) => (v >= 1 && v <= 20 ? v - 1 : undefined)),
    options: { layout: "VOCdevkit", split },
    notes: ["VOC20: background and void are both −1, scored as one background class (many-to-one)"],
  };
}

async function readIdList(listPath: string, root: string): Promise<EvalSample[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(listPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Missing PASCAL VOC split list '${listPath}': no such file`);
    }
    throw e;
  }
  const ids = text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean).sort();
  const samples: EvalSample[] = [];
  for (const id of ids) {
    const sample = {
      id,
      imagePath: join(root, "JPEGImages", `${id}.jpg`),
      labelPath: join(root, "SegmentationClass", `${id}.png`),
    };
    for (const [path, what] of [[sample.imagePath, "image"], [sample.labelPath, "annotation"]]) {
      try {
        await Deno.stat(path);
      } catch {
        throw new Deno.errors.NotFound(`PASCAL VOC ${what} '${path}' listed in '${listPath}' is missing`);
      }
    }
    samples.push(sample);
  }
  if (samples.length === 0) throw new Deno.errors.NotFound(`PASCAL VOC split list '${listPath}' is empty`);
  return samples;
}
