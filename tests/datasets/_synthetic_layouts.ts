/**
 * Private test helpers: the benchmark folder layouts built from generated images and label maps, so that
 * loaders and the evaluation run end to end without the real datasets.
 *
 * The standard pair of images is designed for hand-computed scores (see tests/eval/run_eval_test.ts): every
 * image is a flat grey 1025×1024 picture, so any method gives one segment; the evaluation crop keeps columns
 * 1…1023 and rows 0…1022, and the 128² scoring GT samples raw row 8i and raw column 8j + 1.
 * - image "a": raw rows < 760 have value `A`, the others `B` (96 and 32 scoring rows);
 * - image "b": raw columns < 256 have value `VOID`, the others `A` (32 and 96 scoring columns).
 *
 * @module
 */
import { dirname, join } from "node:path";
import jpeg from "jpeg-js";
import { encodeLabelPng, encodeRgbPng } from "../../lib/image/encode_png.ts";

/** Width and height of the generated pictures. */
export const W = 1025, H = 1024;

/** A flat-grey JPEG (or PNG) of the standard size. */
export function flatImage(format: "jpg" | "png", grey = 120, width = W, height = H): Uint8Array {
  if (format === "png") {
    return encodeRgbPng({ width, height, data: new Float32Array(width * height * 3).fill(grey / 255) });
  }
  const rgba = new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : grey));
  return new Uint8Array(jpeg.encode({ width, height, data: rgba }, 95).data);
}

/** A label PNG from a function of (row, column). */
export function labelImage(f: (y: number, x: number) => number, width = W, height = H): Uint8Array {
  const data = new Int32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(y, x);
  return encodeLabelPng({ data, height, width });
}

/** Raw values used by the standard pair. */
export interface PairValues {
  /** The class present in both images. */
  a: number;
  /** Image "a"'s second value (a class, or the background value). */
  b: number;
  /** Image "b"'s ignored/void value. */
  void: number;
}

/** The standard pair's two annotations. */
export function pairLabels(v: PairValues): { a: Uint8Array; b: Uint8Array } {
  return {
    a: labelImage((y) => (y < 760 ? v.a : v.b)),
    b: labelImage((_, x) => (x < 256 ? v.void : v.a)),
  };
}

async function put(path: string, bytes: Uint8Array | string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  if (typeof bytes === "string") await Deno.writeTextFile(path, bytes);
  else await Deno.writeFile(path, bytes);
}

/** Layouts the helper can build. */
export type Layout =
  | "voc20-d2"
  | "voc20-devkit"
  | "context"
  | "coco"
  | "cityscapes"
  | "ade20k"
  | "voc-folder";

/**
 * Writes the standard pair (ids `img_a`, `img_b`) in a benchmark layout under `root`.
 *
 * @param root Empty folder.
 * @param layout Which layout.
 * @param v Raw label values.
 */
export async function writePair(root: string, layout: Layout, v: PairValues): Promise<void> {
  const labels = pairLabels(v);
  const jpg = flatImage("jpg");
  const ids = ["img_a", "img_b"] as const;
  const lab = (k: number) => (k === 0 ? labels.a : labels.b);
  for (const [k, id] of ids.entries()) {
    switch (layout) {
      case "voc20-d2":
        await put(join(root, "images", "val", `${id}.jpg`), jpg);
        await put(join(root, "annotations_pascal20", "val", `${id}.png`), lab(k));
        break;
      case "voc20-devkit":
        await put(join(root, "JPEGImages", `${id}.jpg`), jpg);
        await put(join(root, "SegmentationClass", `${id}.png`), lab(k));
        break;
      case "context":
        await put(join(root, "images", "val", `${id}.jpg`), jpg);
        await put(join(root, "annotations_ctx59", "val", `${id}.png`), lab(k));
        break;
      case "coco":
        await put(join(root, "images", "val2017", `${id}.jpg`), jpg);
        await put(join(root, "annotations", "val2017", `${id}.png`), lab(k));
        break;
      case "cityscapes": {
        const city = k === 0 ? "aachen" : "bonn";
        await put(join(root, "leftImg8bit", "val", city, `${city}_${id}_leftImg8bit.png`), flatImage("png"));
        await put(join(root, "gtFine", "val", city, `${city}_${id}_gtFine_labelIds.png`), lab(k));
        break;
      }
      case "ade20k":
        await put(join(root, "images", "validation", `${id}.jpg`), jpg);
        await put(join(root, "annotations", "validation", `${id}.png`), lab(k));
        break;
      case "voc-folder":
        await put(join(root, "JPEGImages", `${id}.jpg`), jpg);
        await put(join(root, "SegmentationClassPNG", `${id}.png`), lab(k));
        break;
    }
  }
  if (layout === "voc20-devkit") {
    await put(join(root, "ImageSets", "Segmentation", "val.txt"), "img_b\nimg_a\n");
  }
  if (layout === "coco") await put(join(root, "Coco164kFull_Stuff_Coarse_7.txt"), "img_a\nimg_b\n");
  if (layout === "voc-folder") await put(join(root, "class_names.txt"), "_background_\ncar\ntrack\n");
}

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "diffcut-eval-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
