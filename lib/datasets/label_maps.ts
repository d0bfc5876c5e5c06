/**
 * The label mappings of the benchmarks (REFERENCE.md §5.1), built from the definitions in `data/*.json`:
 * COCO-Stuff fine → 27 coarse classes (PiCIE order), COCO thing ids → 0..79, Cityscapes ids 7..33 → 0..26,
 * and the class-name lists of VOC, Context and ADE20K.
 *
 * Every table maps a raw annotation value (0..255) to a class, or to −1 for ignore/background.
 *
 * @module
 */
import cocoStuff from "./data/coco_stuff_182.json" with { type: "json" };
import cityscapes from "./data/cityscapes_ids.json" with { type: "json" };
import vocNames from "./data/pascal_voc_20.json" with { type: "json" };
import contextNames from "./data/pascal_context_59.json" with { type: "json" };
import adeNames from "./data/ade20k_150.json" with { type: "json" };
import { makeLut } from "./eval_dataset.ts";

/** One fine COCO-Stuff class as stored in `data/coco_stuff_182.json`. */
export interface CocoStuffClass {
  /** Value in the stuffthingmaps PNGs (COCO id − 1). */
  fine: number;
  /** COCO category id (1..182). */
  id: number;
  /** Class name. */
  name: string;
  /** COCO / COCO-Stuff supercategory (the coarse class). */
  supercategory: string;
  /** Whether it is a thing class (id ≤ 91). */
  thing: boolean;
  /** One of the 11 thing ids COCO 2017 never annotates. */
  unusedInStuffthingmaps?: boolean;
}

/** The 182 fine COCO-Stuff classes. */
export const COCO_STUFF_CLASSES: readonly CocoStuffClass[] = Object.freeze(
  cocoStuff.classes as CocoStuffClass[],
);

/** The 27 coarse COCO-Stuff classes in the PiCIE order (0 electronic … 26 water). */
export const COCO_STUFF_COARSE: readonly string[] = Object.freeze([...cocoStuff.coarse]);

/** The 80 COCO thing classes in id order (COCO-Object classes 0..79). */
export const COCO_THINGS: readonly string[] = Object.freeze(
  COCO_STUFF_CLASSES.filter((c) => c.thing && !c.unusedInStuffthingmaps).map((c) => c.name),
);

/** PASCAL VOC's 20 object classes (VOC20 classes 0..19). */
export const VOC_CLASSES: readonly string[] = Object.freeze([...vocNames.classes]);

/** PASCAL-Context's 59 classes (Context classes 0..58). */
export const CONTEXT_CLASSES: readonly string[] = Object.freeze([...contextNames.classes]);

/** ADE20K's 150 classes: raw value k (1..150) is `ADE_CLASSES[k − 1]`. */
export const ADE_CLASSES: readonly string[] = Object.freeze([...adeNames.classes]);

/** Cityscapes label names by id 0..33. */
export const CITYSCAPES_IDS: readonly string[] = Object.freeze([...cityscapes.ids]);

/** The 27 Cityscapes classes of the protocol (ids 7..33). */
export const CITYSCAPES_27: readonly string[] = Object.freeze(CITYSCAPES_IDS.slice(cityscapes.firstClassId));

/**
 * COCO-Stuff-27: fine value → coarse index (position of its supercategory in {@linkcode COCO_STUFF_COARSE});
 * 255 and any value above 181 → −1.
 *
 * @returns A 256-entry table.
 *
 * @example The documented checks
 * ```ts
 * import { cocoStuffFineToCoarse } from "./label_maps.ts";
 * import assert from "node:assert/strict";
 * const lut = cocoStuffFineToCoarse();
 * assert.equal(lut[0], 9); // person
 * assert.equal(lut[1], 11); // bicycle → vehicle
 * assert.ok([170, 171, 172, 173, 174, 175, 176].every((f) => lut[f] === 18)); // walls
 * assert.equal(lut[255], -1);
 * ```
 */
export function cocoStuffFineToCoarse(): Int32Array {
  const coarse = new Map(COCO_STUFF_COARSE.map((name, i) => [name, i]));
  const byFine = new Map(COCO_STUFF_CLASSES.map((c) => [c.fine, coarse.get(c.supercategory)]));
  return makeLut(256, (v) => byFine.get(v));
}

/**
 * COCO-Object: thing fine values (< 91) → 0..79 in id order; stuff, the 11 unannotated thing ids and 255 → −1.
 *
 * @returns A 256-entry table.
 *
 * @example
 * ```ts
 * import { cocoObjectLut } from "./label_maps.ts";
 * import assert from "node:assert/strict";
 * const lut = cocoObjectLut();
 * assert.deepEqual([lut[0], lut[1], lut[12], lut[89], lut[90], lut[91], lut[255]], [0, 1, 11, 79, -1, -1, -1]);
 * ```
 */
export function cocoObjectLut(): Int32Array {
  const used = COCO_STUFF_CLASSES.filter((c) => c.thing && !c.unusedInStuffthingmaps);
  const index = new Map(used.map((c, i) => [c.fine, i]));
  return makeLut(256, (v) => index.get(v));
}

/**
 * Cityscapes-27: label ids 7..33 → 0..26; ids 0..6, 34.. and 255 → −1.
 *
 * @returns A 256-entry table.
 *
 * @example
 * ```ts
 * import { cityscapes27Lut } from "./label_maps.ts";
 * import assert from "node:assert/strict";
 * const lut = cityscapes27Lut();
 * assert.deepEqual([lut[6], lut[7], lut[26], lut[33], lut[34]], [-1, 0, 19, 26, -1]);
 * ```
 */
export function cityscapes27Lut(): Int32Array {
  const first = cityscapes.firstClassId;
  return makeLut(256, (v) => (v >= first && v < CITYSCAPES_IDS.length ? v - first : undefined));
}
