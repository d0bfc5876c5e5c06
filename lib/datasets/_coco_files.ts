/**
 * Private: the COCO-Stuff 164k val folder shared by COCO-Object and COCO-Stuff-27, restricted to the
 * 2,175-image list (`Coco164kFull_Stuff_Coarse_7.txt` of PiCIE/IIC, also in DiffSeg and DiffCut).
 *
 * @module
 */
import { join } from "node:path";
import { type EvalSample, isDir } from "./eval_dataset.ts";

/** File name of the 2,175-image list. */
export const COCO_LIST_NAME = "Coco164kFull_Stuff_Coarse_7.txt";

/** Number of ids in the protocol's list. */
export const COCO_LIST_SIZE = 2175;

/** Where the list comes from (it is not shipped with this project), for error messages and notes. */
export const COCO_LIST_SOURCE =
  "the PiCIE/IIC COCO-Stuff-27 val list: 2,175 image ids such as 000000000139, " +
  "one per line; it is data/coco/Coco164kFull_Stuff_Coarse_7.txt in google/diffseg and " +
  "dataloader/coco/val2017/Coco164kFull_Stuff_Coarse_7.txt in PaulCouairon/DiffCut; not shipped with this project";

/** Options shared by the COCO loaders. */
export interface CocoOptions {
  /** Split (folders `<split>2017`). @default "val" */
  split?: string;
  /**
   * The image list. @default {`<root>/Coco164kFull_Stuff_Coarse_7.txt`, else
   * `<root>/curated/<split>2017/Coco164kFull_Stuff_Coarse_7.txt`}
   */
  listPath?: string;
}

/**
 * Lists the samples of the COCO subset.
 *
 * @param root The `coco/` folder (`images/val2017/` or `val2017/`, and `annotations/val2017/` stuffthingmaps).
 * @param what Dataset name for messages.
 * @param options Split and list path.
 * @returns Samples in list order (sorted), the list path used, and a note when the list does not have the
 *   protocol's 2,175 ids.
 * @throws {Deno.errors.NotFound} Naming the missing list, folder or file.
 */
export async function cocoSamples(
  root: string,
  what: string,
  options: CocoOptions,
): Promise<{ samples: EvalSample[]; listPath: string; notes: string[] }> {
  const split = options.split ?? "val";
  const candidates = options.listPath
    ? [options.listPath]
    : [join(root, COCO_LIST_NAME), join(root, "curated", `${split}2017`, COCO_LIST_NAME)];
  let text: string | undefined;
  let listPath = candidates[0];
  for (const path of candidates) {
    try {
      text = await Deno.readTextFile(path);
      listPath = path;
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  if (text === undefined) {
    throw new Deno.errors.NotFound(
      `${what}: missing the 2,175-image list ${
        candidates.map((c) => `'${c}'`).join(" or ")
      }; put ${COCO_LIST_NAME} ` +
        `there or pass --list PATH (${COCO_LIST_SOURCE})`,
    );
  }
  const imageDir = (await isDir(join(root, "images", `${split}2017`)))
    ? join(root, "images", `${split}2017`)
    : join(root, `${split}2017`);
  const labelDir = join(root, "annotations", `${split}2017`);
  for (const [dir, kind] of [[imageDir, "image"], [labelDir, "stuffthingmaps annotation"]]) {
    if (!(await isDir(dir))) {
      throw new Deno.errors.NotFound(`${what}: missing ${kind} folder '${dir}'`);
    }
  }
  const ids = [
    ...new Set(text.split(/\r?\n/).map((s) => s.trim().replace(/\.(jpg|png)$/i, "")).filter(Boolean)),
  ]
    .sort();
  const samples: EvalSample[] = [];
  for (const id of ids) {
    const sample = { id, imagePath: join(imageDir, `${id}.jpg`), labelPath: join(labelDir, `${id}.png`) };
    for (const [path, kind] of [[sample.imagePath, "image"], [sample.labelPath, "annotation"]]) {
      try {
        await Deno.stat(path);
      } catch {
        throw new Deno.errors.NotFound(`${what}: ${kind} '${path}' listed in '${listPath}' is missing`);
      }
    }
    samples.push(sample);
  }
  if (samples.length === 0) throw new Deno.errors.NotFound(`${what}: image list '${listPath}' is empty`);
  const notes = samples.length === COCO_LIST_SIZE ? [] : [
    `${what}: the image list '${listPath}' has ${samples.length} ids, not the protocol's ${COCO_LIST_SIZE}`,
  ];
  return { samples, listPath, notes };
}
