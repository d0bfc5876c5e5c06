/**
 * Scoring one image under every configuration of a run (REFERENCE.md §5.3): method variants × upsampling ×
 * PAMR, each giving per-class TP/FP/FN from the per-image Hungarian matching, after the many-to-one background
 * merge on datasets that have one; or, under the open-vocabulary protocol (`open_vocab_scoring.ts`), from the
 * class map of the segments named by a CLIP, with no matching and no merge.
 *
 * @module
 */
import type { EvalDataset } from "../datasets/eval_dataset.ts";
import { mapLabels } from "../datasets/eval_dataset.ts";
import { resizeLabelsNearest } from "../image/resize.ts";
import { assignConcepts, refinePamr } from "../stages.ts";
import type { FeatureMap, ImageRGB, LabelMap } from "../types.ts";
import { hungarianMatch, mergeUnmatchedToBackground } from "./matching.ts";
import { classMapCounts, type SegmentClassifier } from "./open_vocab_scoring.ts";
import { type EvalSettings, gridVariants, type MethodName, type UpsampleMode } from "./methods.ts";

/** One table row's identity. */
export interface RowSpec {
  /** Method. */
  method: MethodName;
  /** Parameter label (`τ=0.3`, `K=6` …). */
  param: string;
  /** Upsampling mode. */
  upsample: UpsampleMode;
  /** Whether PAMR ran. */
  refine: boolean;
}

/** One image's counts for one row. Per-class counts are sparse: `[class, tp, fp, fn]` for non-zero classes. */
export interface ImageRowResult {
  /** Sparse per-class counts. */
  c: [number, number, number, number][];
  /** Valid pixels (the histogram's sum, ALL of the protocol). */
  all: number;
  /** Distinct labels of the method's upsampled prediction (before the background merge and PAMR). */
  segments: number;
  /** FNV-1a hash (hex) of the final prediction, to compare runs. */
  hash: string;
}

/**
 * The key of a row in records and tables.
 *
 * @param r Row identity.
 * @returns `method|param|upsample|pamr-or-raw`.
 */
export function rowKey(r: RowSpec): string {
  return `${r.method}|${r.param}|${r.upsample}|${r.refine ? "pamr" : "raw"}`;
}

/**
 * The GT used for scoring: the dataset's mapping, and on many-to-one datasets −1 turned into the background
 * class N−1 (the merge does this too; it is used here to count classes for K*).
 *
 * @param dataset Dataset.
 * @param labels Raw annotation at the scoring size.
 * @returns Mapped GT and the number of classes present.
 */
export function scoringGt(dataset: EvalDataset, labels: LabelMap): { gt: Int32Array; present: number } {
  const gt = mapLabels(dataset, labels.data);
  const seen = new Set<number>();
  for (const g of gt) {
    if (g >= 0) seen.add(g);
    else if (dataset.manyToOne) seen.add(dataset.nClasses - 1);
  }
  return { gt, present: seen.size };
}

/**
 * Scores one prepared image under every row of the settings.
 *
 * @param dataset Dataset (classes, background rule, label map).
 * @param features Encoder features of the image.
 * @param scoringImage The image at the scoring size (PAMR input).
 * @param labels Raw annotation at the scoring size.
 * @param settings Run settings.
 * @param classify The open-vocabulary protocol's namer of segments (absent: the Hungarian protocol).
 * @returns Results by row key, and milliseconds per stage.
 */
export async function scoreImage(
  dataset: EvalDataset,
  features: FeatureMap,
  scoringImage: ImageRGB,
  labels: LabelMap,
  settings: EvalSettings,
  classify?: SegmentClassifier,
): Promise<
  { results: Record<string, ImageRowResult>; ms: Record<string, number>; info: Record<string, unknown> }
> {
  const { gt, present } = scoringGt(dataset, labels);
  const { variants, ms } = await gridVariants(features, settings, present);
  const size = { height: labels.height, width: labels.width };
  const results: Record<string, ImageRowResult> = {};
  const info: Record<string, unknown> = {};
  let tUp = 0, tPamr = 0, tMatch = 0;
  for (const v of variants) {
    if (v.info) info[`${v.method}|${v.param}`] = v.info;
    for (const upsample of settings.upsample) {
      let t = performance.now();
      let pred = upsample === "concept" ? await assignConcepts(features, v.grid, size) : resizeLabelsNearest(
        { data: v.grid, height: features.height, width: features.width },
        size.height,
        size.width,
      )
        .data;
      const segments = countDistinct(pred);
      let target = gt;
      if (classify) {
        // Open vocabulary: background is a class name like the others; nothing is merged.
        if (dataset.manyToOne) target = gt.map((g) => (g < 0 ? dataset.nClasses - 1 : g));
      } else if (dataset.manyToOne) {
        const merged = mergeUnmatchedToBackground(pred, gt, dataset.nClasses);
        pred = merged.pred;
        target = merged.gt;
      }
      tUp += performance.now() - t;
      for (const refine of settings.refine) {
        t = performance.now();
        let final = pred;
        if (refine && countDistinct(pred) > 1) final = await refinePamr(scoringImage, pred);
        const t2 = performance.now();
        tPamr += t2 - t;
        const m = classify
          ? classMapCounts(await classify({ data: final, ...size }), target, dataset.nClasses)
          : hungarianMatch(final, target, dataset.nClasses);
        const c: [number, number, number, number][] = [];
        for (let i = 0; i < dataset.nClasses; i++) {
          if (m.tp[i] || m.fp[i] || m.fn[i]) c.push([i, m.tp[i], m.fp[i], m.fn[i]]);
        }
        results[rowKey({ method: v.method, param: v.param, upsample, refine })] = {
          c,
          all: m.valid,
          segments,
          hash: fnv1a(final),
        };
        tMatch += performance.now() - t2;
      }
    }
  }
  return { results, ms: { ...ms, upsample: tUp, pamr: tPamr, match: tMatch }, info };
}

function countDistinct(a: Int32Array): number {
  return new Set(a).size;
}

/** FNV-1a 32-bit hash of int32 labels, hex. */
function fnv1a(a: Int32Array): string {
  let h = 0x811c9dc5;
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
