/**
 * `deno task calibrate [VOC folder]… [--encoder ID] [--alphas 1,2,5,10] [--taus 0.1,0.2,…] [--cap 128]`:
 * scores DiffCut settings on labelled images with the reference's unsupervised protocol (crop, 1024² encoder
 * input, 128² scoring, per-image Hungarian matching), building one partition tree per image, α and self-loop
 * setting, and cutting it at every τ. This is how each encoder's recommended τ and α are chosen.
 *
 * Trees are built lowest-NCut-first with at most `--cap` segments; a cut at τ that stays below the cap is the
 * same as an uncapped one (the build expands every node with NCut < τ before any other), so capped rows are
 * flagged rather than wrong.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readVocFolder } from "../datasets/voc_folder.ts";
import { loadEncoder } from "../encoder/load_encoder.ts";
import { hungarianMatch, perImageMiou, SegmentationScore } from "../eval/matching.ts";
import { prepareEvalSample } from "../eval/protocol.ts";
import { loadImage } from "../image/load_image.ts";
import { loadLabelMap } from "../image/load_labels.ts";
import { cutTreeDetailed } from "../ncut/cut_tree.ts";
import { assignConcepts, buildPartitionTree, refinePamr } from "../stages.ts";
import type { FeatureMap, ImageRGB } from "../types.ts";

/** labelme-examples' VOC-layout folders (Debian package `labelme-examples`). */
export const LABELME_VOC_FOLDERS = [
  "/usr/share/doc/labelme-examples/examples/semantic_segmentation/data_dataset_voc",
  "/usr/share/doc/labelme-examples/examples/video_annotation/data_dataset_voc",
];

/** One prepared, encoded image with its ground truth remapped to 0..N−1 (−1 = ignore). */
export interface CalibrationImage {
  id: string;
  /** The folder it came from (classes are only comparable within one folder). */
  group: string;
  features: FeatureMap;
  scoringImage: ImageRGB;
  gt: Int32Array;
  nClasses: number;
}

/** One scored configuration. */
export interface CalibrationRow {
  alpha: number;
  selfLoops: boolean;
  tau: number;
  refine: boolean;
  /** Mean over images of the per-image mIoU. */
  meanImageMiou: number;
  /** mIoU of TP/FP/FN accumulated over each folder's images (the paper's dataset-level number), averaged over folders. */
  datasetMiou: number;
  meanSegments: number;
  /** Images whose cut reached the segment cap. */
  capped: number;
}

/**
 * Loads, prepares and encodes every sample of the given VOC folders.
 *
 * @param roots VOC-layout folders.
 * @param encode Encoder function.
 * @param log Progress callback.
 * @returns The encoded images; classes are remapped per folder to 0..N−1 in ascending order, 255 → −1.
 */
export async function loadCalibrationImages(
  roots: string[],
  encode: (image: ImageRGB) => Promise<FeatureMap>,
  log: (line: string) => void = () => {},
): Promise<CalibrationImage[]> {
  const out: CalibrationImage[] = [];
  for (const root of roots) {
    const folder = await readVocFolder(root);
    const prepared = [];
    const classes = new Set<number>();
    for (const s of folder.samples) {
      const sample = prepareEvalSample(await loadImage(s.imagePath), await loadLabelMap(s.labelPath));
      for (const v of sample.labels.data) if (v !== 255) classes.add(v);
      prepared.push({ id: s.id, sample });
    }
    const order = [...classes].sort((a, b) => a - b);
    const remap = new Map(order.map((c, i) => [c, i]));
    for (const { id, sample } of prepared) {
      const t = performance.now();
      const features = await encode(sample.image);
      log(`encoded ${id} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      out.push({
        id,
        group: root,
        features,
        scoringImage: sample.scoringImage,
        gt: Int32Array.from(sample.labels.data, (v) => remap.get(v) ?? -1),
        nClasses: order.length,
      });
    }
  }
  return out;
}

/**
 * Scores a grid of settings (one tree per image, α and self-loop setting; every τ cut from it).
 *
 * @param images Encoded images.
 * @param grid Values to try.
 * @returns One row per (α, selfLoops, τ, refine).
 */
export async function scoreGrid(
  images: CalibrationImage[],
  grid: { alphas: number[]; taus: number[]; selfLoops: boolean[]; refine: boolean[]; cap: number },
): Promise<CalibrationRow[]> {
  const rows: CalibrationRow[] = [];
  const tauMax = Math.max(...grid.taus);
  for (const alpha of grid.alphas) {
    for (const selfLoops of grid.selfLoops) {
      const trees = [];
      for (const img of images) {
        trees.push(
          await buildPartitionTree(img.features, { alpha, selfLoops, tauMax, maxSegments: grid.cap }),
        );
      }
      for (const tau of grid.taus) {
        for (const refine of grid.refine) {
          let sumImage = 0, segments = 0, capped = 0;
          const scores = new Map<string, SegmentationScore>();
          for (const [k, img] of images.entries()) {
            const cut = cutTreeDetailed(trees[k], tau);
            segments += cut.segments;
            if (cut.segments >= grid.cap) capped++;
            let pred = await assignConcepts(img.features, cut.labels, { height: 128, width: 128 });
            if (refine && cut.segments > 1) pred = await refinePamr(img.scoringImage, pred);
            sumImage += perImageMiou(pred, img.gt, img.nClasses);
            const m = hungarianMatch(pred, img.gt, img.nClasses);
            if (!scores.has(img.group)) scores.set(img.group, new SegmentationScore(img.nClasses));
            scores.get(img.group)!.add(m.tp, m.fp, m.fn, m.valid);
          }
          rows.push({
            alpha,
            selfLoops,
            tau,
            refine,
            meanImageMiou: sumImage / images.length,
            datasetMiou: [...scores.values()].reduce((acc, sc) => acc + sc.miou(), 0) / scores.size,
            meanSegments: segments / images.length,
            capped,
          });
        }
      }
    }
  }
  return rows;
}

function list(value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const out = value.split(",").map(Number);
  if (out.some((v) => !Number.isFinite(v))) {
    throw new RangeError(`Invalid list "${value}": expected numbers separated by commas`);
  }
  return out;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      encoder: { type: "string" },
      alphas: { type: "string" },
      taus: { type: "string" },
      cap: { type: "string" },
      refine: { type: "boolean" },
      top: { type: "string" },
    },
  });
  const roots = positionals.length ? positionals : LABELME_VOC_FOLDERS;
  const encoder = await loadEncoder(values.encoder ?? "isnet");
  const images = await loadCalibrationImages(roots, (im) => encoder.encode(im), (l) => console.error(l));
  await encoder.dispose();
  const rows = await scoreGrid(images, {
    alphas: list(values.alphas, [1, 2, 3, 5, 10]),
    taus: list(values.taus, [
      0.05,
      0.1,
      0.15,
      0.2,
      0.25,
      0.3,
      0.35,
      0.4,
      0.45,
      0.5,
      0.55,
      0.6,
      0.65,
      0.7,
      0.75,
      0.8,
      0.85,
      0.9,
      0.95,
    ]),
    selfLoops: [true, false],
    refine: values.refine ? [false, true] : [false],
    cap: Number(values.cap ?? 128),
  });
  rows.sort((a, b) => b.meanImageMiou - a.meanImageMiou);
  console.log(`${images.length} images from ${roots.length} folder(s), encoder '${encoder.id}'\n`);
  console.log("| α | self-loops | τ | PAMR | mean per-image mIoU | dataset mIoU | mean segments | capped |");
  console.log("| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |");
  for (const r of rows.slice(0, Number(values.top ?? 25))) {
    console.log(
      `| ${r.alpha} | ${r.selfLoops} | ${r.tau} | ${r.refine} | ${(100 * r.meanImageMiou).toFixed(1)} | ${
        (100 * r.datasetMiou).toFixed(1)
      } | ${r.meanSegments.toFixed(1)} | ${r.capped} |`,
    );
  }
}
