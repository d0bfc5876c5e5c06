/**
 * The benchmark loaders on generated folders in each reference layout: sample pairing and order, the label
 * mappings (with the documented checks of REFERENCE.md §5.1), and errors naming what is missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { mapLabels } from "../../lib/datasets/eval_dataset.ts";
import {
  ADE_CLASSES,
  CITYSCAPES_27,
  COCO_STUFF_CLASSES,
  COCO_STUFF_COARSE,
  COCO_THINGS,
  cocoObjectLut,
  cocoStuffFineToCoarse,
  CONTEXT_CLASSES,
  VOC_CLASSES,
} from "../../lib/datasets/label_maps.ts";
import { DATASET_NAMES, openDataset } from "../../lib/datasets/open_dataset.ts";
import { withTempDir, writePair } from "./_synthetic_layouts.ts";

const V = { a: 1, b: 2, void: 255 };

Deno.test("label maps: COCO-Stuff fine → coarse follows the PiCIE order and the documented checks", () => {
  assert.equal(COCO_STUFF_CLASSES.length, 182);
  assert.deepEqual(COCO_STUFF_COARSE.slice(0, 3), ["electronic", "appliance", "food"]);
  assert.equal(COCO_STUFF_COARSE.length, 27);
  assert.equal(COCO_STUFF_COARSE[26], "water");
  const lut = cocoStuffFineToCoarse();
  assert.equal(lut[0], 9, "fine 0 person → 9");
  assert.equal(lut[1], 11, "fine 1 bicycle → 11 vehicle");
  for (let f = 170; f <= 176; f++) assert.equal(lut[f], 18, `fine ${f} (a wall) → 18`);
  assert.equal(lut[255], -1);
  assert.equal(lut[182], -1);
  // Every fine class maps to a coarse class, and every coarse class receives at least one fine class.
  const used = new Set<number>();
  for (let f = 0; f < 182; f++) {
    assert.ok(lut[f] >= 0 && lut[f] < 27, `fine ${f}`);
    used.add(lut[f]);
  }
  assert.equal(used.size, 27);
  // Spot checks of stuff supercategories.
  const fine = (name: string) => COCO_STUFF_CLASSES.find((c) => c.name === name)!.fine;
  assert.equal(COCO_STUFF_COARSE[lut[fine("sky-other")]], "sky");
  assert.equal(COCO_STUFF_COARSE[lut[fine("fog")]], "water");
  assert.equal(COCO_STUFF_COARSE[lut[fine("tree")]], "plant");
  assert.equal(COCO_STUFF_COARSE[lut[fine("window-blind")]], "window");
});

Deno.test("label maps: COCO thing ids → 0..79, stuff and 255 → −1; name lists have the protocol's sizes", () => {
  const lut = cocoObjectLut();
  assert.equal(COCO_THINGS.length, 80);
  const things = [...lut.slice(0, 91)].filter((v) => v >= 0);
  assert.deepEqual(things, Array.from({ length: 80 }, (_, i) => i));
  for (const unused of [11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90]) {
    assert.equal(lut[unused], -1, `fine ${unused}`);
  }
  for (let v = 91; v < 256; v++) assert.equal(lut[v], -1);
  assert.equal(COCO_THINGS[0], "person");
  assert.equal(COCO_THINGS[79], "toothbrush");
  assert.equal(VOC_CLASSES.length, 20);
  assert.equal(CONTEXT_CLASSES.length, 59);
  assert.equal(ADE_CLASSES.length, 150);
  assert.deepEqual([CITYSCAPES_27.length, CITYSCAPES_27[0], CITYSCAPES_27[26]], [27, "road", "bicycle"]);
});

Deno.test("openDataset: VOC20 in the prepared and VOCdevkit layouts", async () => {
  await withTempDir(async (root) => {
    await writePair(root, "voc20-d2", V);
    const ds = await openDataset("voc20", root);
    assert.deepEqual(ds.samples.map((s) => s.id), ["img_a", "img_b"]);
    assert.equal(ds.samples[0].labelPath, join(root, "annotations_pascal20", "val", "img_a.png"));
    assert.deepEqual([ds.nClasses, ds.manyToOne, ds.classNames[20]], [21, true, "background"]);
    assert.deepEqual([...mapLabels(ds, new Int32Array([0, 19, 20, 255]))], [0, 19, -1, -1]);
  });
  await withTempDir(async (root) => {
    await writePair(root, "voc20-devkit", V);
    const ds = await openDataset("voc20", root);
    assert.deepEqual(ds.samples.map((s) => s.id), ["img_a", "img_b"]);
    // Background 0 and void 255 → −1; 1..20 → 0..19.
    assert.deepEqual([...mapLabels(ds, new Int32Array([0, 1, 20, 255]))], [-1, 0, 19, -1]);
    await Deno.remove(join(root, "SegmentationClass", "img_a.png"));
    await assert.rejects(() => openDataset("voc20", root), /SegmentationClass\/img_a\.png' listed in/);
    await Deno.remove(join(root, "ImageSets"), { recursive: true });
    await assert.rejects(() => openDataset("voc20", root), /Missing PASCAL VOC split list '.*val\.txt'/);
  });
  await withTempDir(async (root) => {
    await assert.rejects(
      () => openDataset("voc20", root),
      /neither annotations_pascal20\/.*nor JPEGImages\//,
    );
  });
});

Deno.test("openDataset: Context, ADE20K (reference and shifted labels), Cityscapes", async () => {
  await withTempDir(async (root) => {
    await writePair(root, "context", V);
    const ds = await openDataset("context", root);
    assert.deepEqual([ds.nClasses, ds.manyToOne, ds.samples.length], [60, true, 2]);
    assert.deepEqual([...mapLabels(ds, new Int32Array([0, 58, 59, 255]))], [0, 58, -1, -1]);
  });
  await withTempDir(async (root) => {
    await writePair(root, "ade20k", V);
    const ref = await openDataset("ade20k", root);
    assert.deepEqual([ref.nClasses, ref.manyToOne, ref.classNames[0], ref.classNames[1]], [
      150,
      false,
      "other",
      "wall",
    ]);
    assert.deepEqual([...mapLabels(ref, new Int32Array([0, 1, 149, 150, 255]))], [0, 1, 149, -1, -1]);
    const shifted = await openDataset("ade20k", root, { adeLabels: "shifted" });
    assert.deepEqual([...mapLabels(shifted, new Int32Array([0, 1, 150, 255]))], [-1, 0, 149, -1]);
    assert.equal(shifted.classNames[149], "flag");
  });
  await withTempDir(async (root) => {
    await writePair(root, "cityscapes", { a: 26, b: 7, void: 0 });
    const ds = await openDataset("cityscapes", root);
    assert.deepEqual(ds.samples.map((s) => s.id), ["aachen/aachen_img_a", "bonn/bonn_img_b"]);
    assert.deepEqual([...mapLabels(ds, new Int32Array([0, 6, 7, 26, 33]))], [-1, -1, 0, 19, 26]);
    await Deno.remove(join(root, "gtFine", "val", "bonn", "bonn_img_b_gtFine_labelIds.png"));
    await assert.rejects(
      () => openDataset("cityscapes", root),
      /has no annotation '.*bonn_img_b_gtFine_labelIds\.png'/,
    );
  });
});

Deno.test("openDataset: COCO-Object and COCO-Stuff read the 2,175-image list from the root or --list", async () => {
  await withTempDir(async (root) => {
    await writePair(root, "coco", V);
    const obj = await openDataset("coco-object", root);
    const stuff = await openDataset("coco-stuff", root);
    assert.deepEqual(obj.samples.map((s) => s.id), ["img_a", "img_b"]);
    assert.deepEqual([obj.nClasses, obj.manyToOne, stuff.nClasses, stuff.manyToOne], [81, true, 27, false]);
    assert.deepEqual([...mapLabels(obj, new Int32Array([0, 89, 91, 170, 255]))], [0, 79, -1, -1, -1]);
    assert.deepEqual([...mapLabels(stuff, new Int32Array([0, 1, 170, 255]))], [9, 11, 18, -1]);
    // A list other than the protocol's 2,175 ids is allowed but noted in the run's configuration.
    assert.match(
      stuff.notes.join("\n"),
      /image list '.*Coco164kFull_Stuff_Coarse_7\.txt' has 2 ids, not the protocol's 2175/,
    );
    assert.ok(obj.notes.some((n) => /has 2 ids/.test(n)));
    const list = join(root, "my_list.txt");
    await Deno.writeTextFile(list, "img_b.jpg\n");
    assert.deepEqual((await openDataset("coco-stuff", root, { listPath: list })).samples.map((s) => s.id), [
      "img_b",
    ]);
    await Deno.remove(join(root, "Coco164kFull_Stuff_Coarse_7.txt"));
    await assert.rejects(
      () => openDataset("coco-object", root),
      /missing the 2,175-image list '.*Coco164kFull_Stuff_Coarse_7\.txt'.*pass --list PATH/,
    );
    await assert.rejects(
      () => openDataset("coco-stuff", root, { listPath: join(root, "nope.txt") }),
      /nope\.txt/,
    );
  });
});

Deno.test("openDataset: VOC folders with a background class are scored many-to-one", async () => {
  await withTempDir(async (root) => {
    await writePair(root, "voc-folder", V);
    const ds = await openDataset("voc-folder", root);
    assert.deepEqual([ds.nClasses, ds.manyToOne, ds.classNames], [3, true, ["car", "track", "background"]]);
    assert.deepEqual([...mapLabels(ds, new Int32Array([0, 1, 2, 3, 255]))], [-1, 0, 1, -1, -1]);
    await Deno.writeTextFile(join(root, "class_names.txt"), "sky\nroad\ncar\n");
    const plain = await openDataset("voc-folder", root);
    assert.deepEqual([plain.nClasses, plain.manyToOne], [3, false]);
    assert.deepEqual([...mapLabels(plain, new Int32Array([0, 2, 3, 255]))], [0, 2, -1, -1]);
    await Deno.remove(join(root, "class_names.txt"));
    const scanned = await openDataset("voc-folder", root); // classes from the largest value (2)
    assert.deepEqual([scanned.nClasses, scanned.manyToOne], [3, false]);
  });
});

Deno.test("openDataset: unknown names and missing folders give one-line errors naming them", async () => {
  await assert.rejects(
    () => openDataset("pascal", "/nowhere"),
    /Unknown dataset "pascal": expected one of voc20/,
  );
  assert.equal(DATASET_NAMES.length, 7);
  await assert.rejects(
    () => openDataset("context", "/nowhere"),
    /Missing Context image folder '\/nowhere\/images\/val'/,
  );
  await assert.rejects(() => openDataset("ade20k", "/nowhere"), /Missing ADE20K image folder/);
  await assert.rejects(() => openDataset("cityscapes", "/nowhere"), /Missing Cityscapes image folder/);
  await assert.rejects(
    () => openDataset("voc-folder", "/nowhere"),
    /^NotFound: VOC folder '\/nowhere' does not exist; expected a folder with JPEGImages\/ and SegmentationClassPNG\/$/,
  );
  await withTempDir(async (root) => {
    await writePair(root, "context", V);
    await Deno.remove(join(root, "annotations_ctx59", "val", "img_b.png"));
    await assert.rejects(() => openDataset("context", root), /image '.*img_b\.jpg' has no annotation/);
  });
});
