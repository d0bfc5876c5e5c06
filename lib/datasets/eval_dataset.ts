/**
 * What every benchmark loader returns: the image/annotation pairs of a split and how raw annotation values
 * become the protocol's classes (REFERENCE.md §5.1). Shared helpers for listing folders with errors that name
 * the missing folder or file.
 *
 * Label convention after {@linkcode EvalDataset.mapLabels}: classes are `0 … nClasses−1`; −1 means "ignore"
 * on datasets without a background class, and "background" on datasets scored with the many-to-one rule
 * (VOC20, Context, COCO-Object), where the protocol turns −1 into class `nClasses − 1`.
 *
 * @module
 */
import { join } from "node:path";

/** One image and its annotation. */
export interface EvalSample {
  /** Stable id (file stem, or a relative path for nested layouts); records are keyed by it. */
  id: string;
  /** Image file (JPEG or PNG). */
  imagePath: string;
  /** Annotation PNG (palette or greyscale indices). */
  labelPath: string;
}

/** A benchmark split ready for evaluation. */
export interface EvalDataset {
  /** Dataset name as given to `deno task eval --dataset`. */
  name: string;
  /** Root folder it was read from. */
  root: string;
  /** Number of classes N of the protocol (including the background class when `manyToOne`). */
  nClasses: number;
  /** Whether unmatched clusters are merged into a background cluster before the final matching. */
  manyToOne: boolean;
  /** Class names, `nClasses` of them (the last is `"background"` when `manyToOne`). */
  classNames: string[];
  /**
   * True when the names are placeholders (`class 0` …, a VOC folder without `class_names.txt`): they are fine for
   * tables but say nothing to the open-vocabulary protocol, which names segments by them.
   */
  genericClassNames?: boolean;
  /** Samples in a fixed (sorted) order. */
  samples: EvalSample[];
  /** Lookup table from a raw annotation value to a class (−1 for ignore/background); values beyond it map to −1. */
  lut: Int32Array;
  /** Loader options that change results (recorded with the run). */
  options: Record<string, string | number | boolean>;
  /** Remarks on how this dataset is scored (shown with the results). */
  notes: string[];
}

/**
 * Maps raw annotation values to protocol classes with a dataset's lookup table.
 *
 * @param dataset Dataset (its `lut`).
 * @param raw Raw annotation values.
 * @returns Classes `0 … N−1`, or −1 for ignore/background.
 *
 * @example
 * ```ts
 * import { mapLabels } from "./eval_dataset.ts";
 * import assert from "node:assert/strict";
 * const lut = new Int32Array([-1, 0, 1]);
 * assert.deepEqual([...mapLabels({ lut }, new Int32Array([2, 0, 1, 255]))], [1, -1, 0, -1]);
 * ```
 */
export function mapLabels(dataset: Pick<EvalDataset, "lut">, raw: Int32Array): Int32Array {
  const lut = dataset.lut;
  const out = new Int32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    out[i] = v >= 0 && v < lut.length ? lut[v] : -1;
  }
  return out;
}

/**
 * A lookup table of `size` entries filled with −1, then `table[v] = f(v)` for every v where f is defined.
 *
 * @param size Table length (the largest raw value + 1).
 * @param f Raw value → class, or undefined for ignore.
 * @returns The table.
 */
export function makeLut(size: number, f: (v: number) => number | undefined): Int32Array {
  const lut = new Int32Array(size).fill(-1);
  for (let v = 0; v < size; v++) {
    const c = f(v);
    if (c !== undefined) lut[v] = c;
  }
  return lut;
}

/**
 * Names of the regular files in a folder, sorted.
 *
 * @param dir Folder.
 * @param what What the folder is, for the error message (e.g. "VOC20 image folder").
 * @returns File names, sorted by code unit.
 * @throws {Deno.errors.NotFound} Naming the folder when it does not exist.
 */
export async function listFiles(dir: string, what: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile) out.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Missing ${what} '${dir}': no such folder`);
    }
    if (e instanceof Deno.errors.NotADirectory) {
      throw new Deno.errors.NotFound(`Missing ${what} '${dir}': not a folder`);
    }
    throw e;
  }
  return out.sort();
}

/**
 * Names of the sub-folders of a folder, sorted.
 *
 * @param dir Folder.
 * @param what What the folder is, for the error message.
 * @returns Sub-folder names.
 * @throws {Deno.errors.NotFound} Naming the folder when it does not exist.
 */
export async function listDirs(dir: string, what: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) out.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      throw new Deno.errors.NotFound(`Missing ${what} '${dir}': no such folder`);
    }
    throw e;
  }
  return out.sort();
}

/**
 * Whether a path is an existing folder.
 *
 * @param path Path.
 * @returns True for a folder.
 */
export async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** The file stem: the name without its last extension. */
export function stem(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

/**
 * Pairs image files with annotation PNGs of the same stem in two folders.
 *
 * The reference zips the two sorted listings; pairing by stem gives the same pairs when the folders match and
 * an error instead of silently shifted pairs when they do not.
 *
 * @param imageDir Folder of images.
 * @param labelDir Folder of annotation PNGs.
 * @param what Dataset name for messages.
 * @param imageExt Accepted image extensions (lower case, with the dot).
 * @returns Samples sorted by id.
 * @throws {Deno.errors.NotFound} When a folder is missing, is empty, or an image has no annotation.
 */
export async function pairByStem(
  imageDir: string,
  labelDir: string,
  what: string,
  imageExt: string[] = [".jpg", ".jpeg", ".png"],
): Promise<EvalSample[]> {
  const images = (await listFiles(imageDir, `${what} image folder`))
    .filter((n) => imageExt.some((e) => n.toLowerCase().endsWith(e)));
  const labels = new Map(
    (await listFiles(labelDir, `${what} annotation folder`))
      .filter((n) => n.toLowerCase().endsWith(".png"))
      .map((n) => [stem(n), n]),
  );
  if (images.length === 0) throw new Deno.errors.NotFound(`${what} image folder '${imageDir}' has no images`);
  const samples: EvalSample[] = [];
  for (const name of images) {
    const id = stem(name);
    const label = labels.get(id);
    if (!label) {
      throw new Deno.errors.NotFound(
        `${what}: image '${join(imageDir, name)}' has no annotation '${join(labelDir, id + ".png")}'`,
      );
    }
    samples.push({ id, imagePath: join(imageDir, name), labelPath: join(labelDir, label) });
  }
  return samples;
}
