/**
 * `readVocFolder` on VOC-layout folders built in a temporary directory: pairing, sorting, skipping unpaired
 * images, class names, the `SegmentationClass/` fallback, and errors that name the missing folder.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { readVocFolder } from "../../lib/datasets/voc_folder.ts";
import { encodeLabelPng } from "../../lib/image/encode_png.ts";
import { loadImage } from "../../lib/image/load_image.ts";
import { loadLabelMap } from "../../lib/image/load_labels.ts";

/** A w×h JPEG of one grey level. */
function jpegBytes(width: number, height: number, grey: number): Uint8Array {
  const rgba = new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : grey));
  return new Uint8Array(jpeg.encode({ width, height, data: rgba }, 90).data);
}

/** A palette PNG of one class. */
function labelBytes(width: number, height: number, label: number): Uint8Array {
  return encodeLabelPng({ data: new Int32Array(width * height).fill(label), height, width });
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "diffcut-voc-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `JPEGImages/<id>.jpg` for `images` and `<labelDir>/<id>.png` for `labels`. */
async function makeVoc(
  root: string,
  images: string[],
  labels: string[],
  labelDir = "SegmentationClassPNG",
): Promise<void> {
  await Deno.mkdir(join(root, "JPEGImages"), { recursive: true });
  await Deno.mkdir(join(root, labelDir), { recursive: true });
  for (const [k, name] of images.entries()) {
    await Deno.writeFile(join(root, "JPEGImages", name), jpegBytes(6, 4, 40 * k));
  }
  for (const [k, id] of labels.entries()) {
    await Deno.writeFile(join(root, labelDir, `${id}.png`), labelBytes(6, 4, k + 1));
  }
}

Deno.test("readVocFolder: pairs images with annotations, sorted by id, skipping unpaired images", async () => {
  await withTempDir(async (root) => {
    await makeVoc(root, ["2011_c.jpg", "2011_a.jpg", "2011_b.jpeg", "orphan.jpg"], [
      "2011_b",
      "2011_a",
      "2011_c",
      "extra",
    ]);
    await Deno.writeTextFile(join(root, "JPEGImages", "readme.txt"), "not an image");
    await Deno.mkdir(join(root, "JPEGImages", "sub.jpg")); // a folder is not an image
    const voc = await readVocFolder(root);
    assert.equal(voc.root, root);
    assert.deepEqual(voc.samples, [
      {
        id: "2011_a",
        imagePath: join(root, "JPEGImages", "2011_a.jpg"),
        labelPath: join(root, "SegmentationClassPNG", "2011_a.png"),
      },
      {
        id: "2011_b",
        imagePath: join(root, "JPEGImages", "2011_b.jpeg"),
        labelPath: join(root, "SegmentationClassPNG", "2011_b.png"),
      },
      {
        id: "2011_c",
        imagePath: join(root, "JPEGImages", "2011_c.jpg"),
        labelPath: join(root, "SegmentationClassPNG", "2011_c.png"),
      },
    ]);
    assert.equal(voc.classNames, undefined);
    // What was left out is listed (a folder named like an image is not a file and is not listed).
    assert.deepEqual(voc.skipped, [
      { path: "JPEGImages/orphan.jpg", reason: "no annotation in SegmentationClassPNG/" },
      { path: "JPEGImages/readme.txt", reason: "not a .jpg, .jpeg or .png image" },
    ]);
    // The paths load: the JPEG as an RGB image, the palette PNG as raw class indices.
    const image = await loadImage(voc.samples[0].imagePath);
    assert.deepEqual([image.height, image.width], [4, 6]);
    const labels = await loadLabelMap(voc.samples[0].labelPath);
    assert.deepEqual(Array.from(new Set(labels.data)), [2]); // "2011_a" was the second label written
  });
});

Deno.test("readVocFolder: reads class_names.txt, one name per line, blank lines dropped", async () => {
  await withTempDir(async (root) => {
    await makeVoc(root, ["x.jpg"], ["x"]);
    await Deno.writeTextFile(
      join(root, "class_names.txt"),
      "_background_\r\naeroplane\n  potted plant  \n\ntv/monitor\n",
    );
    const voc = await readVocFolder(root);
    assert.deepEqual(voc.classNames, ["_background_", "aeroplane", "potted plant", "tv/monitor"]);
    assert.equal(voc.samples.length, 1);
    assert.deepEqual(voc.skipped, []);
  });
});

Deno.test("readVocFolder: falls back to SegmentationClass/ and ignores one without PNGs", async () => {
  await withTempDir(async (root) => {
    await makeVoc(root, ["a.jpg"], ["a"], "SegmentationClass");
    await Deno.writeFile(join(root, "JPEGImages", "b.jpg"), jpegBytes(6, 4, 0));
    const voc = await readVocFolder(root);
    assert.deepEqual(voc.samples.map((s) => s.labelPath), [join(root, "SegmentationClass", "a.png")]);
    // The reason names the annotation folder in use.
    assert.deepEqual(voc.skipped, [{
      path: "JPEGImages/b.jpg",
      reason: "no annotation in SegmentationClass/",
    }]);
  });
  await withTempDir(async (root) => {
    // labelme's layout: .npy files in SegmentationClass/, PNGs in SegmentationClassPNG/.
    await makeVoc(root, ["a.jpg"], ["a"]);
    await Deno.mkdir(join(root, "SegmentationClass"));
    await Deno.writeFile(join(root, "SegmentationClass", "a.npy"), new Uint8Array(8));
    const voc = await readVocFolder(root);
    assert.deepEqual(voc.samples.map((s) => s.labelPath), [join(root, "SegmentationClassPNG", "a.png")]);
  });
});

Deno.test("readVocFolder: missing folders and empty pairings are errors naming the folder", async () => {
  await withTempDir(async (root) => {
    const missing = join(root, "nowhere");
    await assert.rejects(
      () => readVocFolder(missing),
      (e: Error) =>
        e instanceof Deno.errors.NotFound &&
        e.message ===
          `VOC folder '${missing}' does not exist; expected a folder with JPEGImages/ and SegmentationClassPNG/`,
    );
    await Deno.mkdir(join(root, "JPEGImages"));
    await Deno.writeFile(join(root, "JPEGImages", "a.jpg"), jpegBytes(2, 2, 0));
    const noLabels = `VOC folder '${root}' has no SegmentationClassPNG/ folder with .png annotations`;
    await assert.rejects(
      () => readVocFolder(root),
      (e: Error) => e instanceof Deno.errors.NotFound && e.message === noLabels,
    );
    await Deno.mkdir(join(root, "SegmentationClassPNG"));
    await Deno.writeTextFile(join(root, "SegmentationClassPNG", "README"), "no pngs");
    await assert.rejects(
      () => readVocFolder(root),
      (e: Error) => e instanceof Deno.errors.NotFound && e.message === noLabels,
    );
    await Deno.writeFile(join(root, "SegmentationClassPNG", "b.png"), labelBytes(2, 2, 1));
    await assert.rejects(
      () => readVocFolder(root),
      (e: Error) =>
        e instanceof Deno.errors.NotFound &&
        e.message === `VOC folder '${root}' has no image with a matching annotation`,
    );
  });
});
