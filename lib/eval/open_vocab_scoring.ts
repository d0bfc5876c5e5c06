/**
 * The open-vocabulary protocol of the paper's Table 4 (REFERENCE.md §5.5): every segment of a prediction is named by
 * a CLIP among the dataset's class names (mask pooling of the CLIP's dense features, argmax of the text classifier
 * with the ViLD templates, no void), and the resulting class map is compared with the ground truth pixel by pixel.
 * There is no matching: a segment named wrongly counts against the class it was given and the class it missed.
 *
 * Counts are per class and summed over the dataset like the unsupervised protocol's (IoU per class, nanmean); the
 * authors' script instead averages torchmetrics' per-image Jaccard index over images, which weighs small images'
 * rare classes more. Ignore values (−1 after the dataset's label map) are left out, except on many-to-one datasets,
 * where they are the background class N − 1, one of the names the CLIP chooses from.
 *
 * @module
 */
import type { LabelledSegment } from "../openvocab/clip_labeller.ts";
import type { OpenVocab } from "../openvocab/open_vocab.ts";
import type { ImageRGB, LabelMap } from "../types.ts";

/** Names the segments of a label map: returns the class of every pixel (−1 where a segment was named void). */
export type SegmentClassifier = (segments: LabelMap) => Promise<Int32Array>;

/** Per-class counts of a class map against the ground truth. */
export interface ClassMapCounts {
  /** Pixels of class c predicted as c. */
  tp: Float64Array;
  /** Valid pixels predicted as c whose class is another. */
  fp: Float64Array;
  /** Pixels of class c predicted as something else (another class or void). */
  fn: Float64Array;
  /** Pixels whose ground truth is a class in `[0, nClasses)`. */
  valid: number;
}

/**
 * Counts TP, FP and FN per class of a predicted class map against the ground truth, without any matching.
 *
 * @param pred Class per pixel, `[0, nClasses)` or −1 (void: no class).
 * @param gt Ground-truth class per pixel; values outside `[0, nClasses)` are ignored.
 * @param nClasses Number of classes.
 * @throws {RangeError} When the lengths differ or a prediction is outside `[−1, nClasses)`.
 */
export function classMapCounts(pred: Int32Array, gt: Int32Array, nClasses: number): ClassMapCounts {
  if (pred.length !== gt.length) {
    throw new RangeError(
      `Invalid class map: ${pred.length} predictions for ${gt.length} pixels; expected equal`,
    );
  }
  const tp = new Float64Array(nClasses), fp = new Float64Array(nClasses), fn = new Float64Array(nClasses);
  let valid = 0;
  for (let i = 0; i < gt.length; i++) {
    const g = gt[i], p = pred[i];
    if (p < -1 || p >= nClasses) {
      throw new RangeError(`Invalid class map: class ${p} at pixel ${i}; expected -1 to ${nClasses - 1}`);
    }
    if (g < 0 || g >= nClasses) continue;
    valid++;
    if (p === g) tp[g]++;
    else {
      fn[g]++;
      if (p >= 0) fp[p]++;
    }
  }
  return { tp, fp, fn, valid };
}

/**
 * The class map of named segments: each pixel gets its segment's class (`label`, −1 for void).
 *
 * @param segments Segment id per pixel.
 * @param named One entry per segment id present (as `ClipLabeller.label` returns them).
 * @throws {RangeError} When a segment of the map has no entry.
 */
export function classMapOf(segments: Int32Array, named: readonly LabelledSegment[]): Int32Array {
  const classOf = new Map(named.map((s) => [s.segment, s.label]));
  const out = new Int32Array(segments.length);
  for (let i = 0; i < segments.length; i++) {
    const c = classOf.get(segments[i]);
    if (c === undefined) {
      throw new RangeError(`Segment ${segments[i]} has no class; expected every segment named`);
    }
    out[i] = c;
  }
  return out;
}

/**
 * A {@linkcode SegmentClassifier} for one image: the CLIP trunk encodes `image` once (stretched to the trunk's
 * input side), and every label map given later is pooled on those features and named among `classNames`.
 */
export async function openVocabClassifier(
  openVocab: OpenVocab,
  image: ImageRGB,
  classNames: readonly string[],
): Promise<SegmentClassifier> {
  const features = await openVocab.encoder.encode(image);
  return async (segments) =>
    classMapOf(segments.data, await openVocab.labeller.label(features, segments, classNames));
}
