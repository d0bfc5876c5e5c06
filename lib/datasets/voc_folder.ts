/**
 * Any folder in the PASCAL VOC layout: `JPEGImages/<id>.jpg` and `SegmentationClassPNG/<id>.png` (palette PNGs
 * whose indices are classes, 255 = ignore), optionally with `class_names.txt`. Debian's `labelme-examples`
 * ships several such folders.
 *
 * @module
 */
import { join } from "node:path";

/** One image/annotation pair. */
export interface VocSample {
  /** File stem of the image. */
  id: string;
  /** `JPEGImages/<id>.jpg` (or `.jpeg`, `.png`). */
  imagePath: string;
  /** The annotation PNG of the same stem. */
  labelPath: string;
}

/** A file of `JPEGImages/` that is not a sample, and why. */
export interface SkippedImage {
  /** Path relative to the folder's root, e.g. `JPEGImages/x.jpg`. */
  path: string;
  /** Why it was left out, e.g. `no annotation in SegmentationClassPNG/`. */
  reason: string;
}

/** A VOC-layout folder. */
export interface VocFolder {
  /** The folder as given. */
  root: string;
  /** Image/annotation pairs, sorted by id. */
  samples: VocSample[];
  /** Class names from `class_names.txt` when present (index = class id). */
  classNames: string[] | undefined;
  /** Files of `JPEGImages/` left out (no annotation, or not an image), sorted by name. */
  skipped: SkippedImage[];
}

/** Annotation folders tried in order. */
const LABEL_DIRS = ["SegmentationClassPNG", "SegmentationClass"];

/**
 * Lists the samples of a VOC-layout folder (sorted by id). Images without an annotation, and files of
 * `JPEGImages/` that are not `.jpg`/`.jpeg`/`.png` images, are left out and listed in `skipped`, so that
 * callers can say so (`skippedLines` in lib/eval/report.ts).
 *
 * @param root Folder holding `JPEGImages/` and `SegmentationClassPNG/` (or `SegmentationClass/` with PNGs).
 * @returns The folder's samples, class names and skipped files.
 * @throws {Deno.errors.NotFound} Naming the missing folder when the layout is not there.
 */
export async function readVocFolder(root: string): Promise<VocFolder> {
  try {
    await Deno.stat(root);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `VOC folder '${root}' does not exist; expected a folder with JPEGImages/ and SegmentationClassPNG/`,
      );
    }
    throw e;
  }
  const images = await listDir(join(root, "JPEGImages"), `VOC folder '${root}' has no JPEGImages/ folder`);
  let labelDir: string | undefined;
  let labels: Map<string, string> | undefined;
  for (const dir of LABEL_DIRS) {
    try {
      const names = await listDir(join(root, dir), "");
      const pngs = names.filter((n) => n.toLowerCase().endsWith(".png"));
      if (pngs.length) {
        labelDir = join(root, dir);
        labels = new Map(pngs.map((n) => [n.replace(/\.png$/i, ""), n]));
        break;
      }
    } catch { /* try the next layout */ }
  }
  if (!labelDir || !labels) {
    throw new Deno.errors.NotFound(
      `VOC folder '${root}' has no SegmentationClassPNG/ folder with .png annotations`,
    );
  }
  const samples: VocSample[] = [];
  const skipped: SkippedImage[] = [];
  const labelDirName = labelDir.slice(root.length).replace(/^[\\/]+/, "");
  for (const name of images.sort()) {
    const id = name.replace(/\.(jpe?g|png)$/i, "");
    const label = labels.get(id);
    if (id === name) {
      skipped.push({ path: `JPEGImages/${name}`, reason: "not a .jpg, .jpeg or .png image" });
    } else if (!label) {
      skipped.push({ path: `JPEGImages/${name}`, reason: `no annotation in ${labelDirName}/` });
    } else {
      samples.push({ id, imagePath: join(root, "JPEGImages", name), labelPath: join(labelDir, label) });
    }
  }
  if (samples.length === 0) {
    throw new Deno.errors.NotFound(`VOC folder '${root}' has no image with a matching annotation`);
  }
  let classNames: string[] | undefined;
  try {
    classNames = (await Deno.readTextFile(join(root, "class_names.txt"))).split("\n").map((s) => s.trim())
      .filter(Boolean);
  } catch { /* optional */ }
  return { root, samples, classNames, skipped };
}

async function listDir(path: string, message: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) if (e.isFile) out.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Deno.errors.NotFound(message || `No folder '${path}'`);
    throw e;
  }
  return out;
}
