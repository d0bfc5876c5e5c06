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
 * Every option is checked before a folder is read or the encoder loaded; errors are one line (`error: …`) naming
 * the option or folder, what was expected and the value received. Images a folder leaves out (no annotation)
 * are reported as `skipped: …` lines.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readVocFolder, type VocFolder } from "../datasets/voc_folder.ts";
import { loadEncoder } from "../encoder/load_encoder.ts";
import { hungarianMatch, perImageMiou, SegmentationScore } from "../eval/matching.ts";
import { prepareEvalSample } from "../eval/protocol.ts";
import { printable } from "../io/printable.ts";
import { skippedLines } from "../eval/report.ts";
import { checkAlpha } from "../affinity/affinity.ts";
import { checkTau } from "../ncut/partition_tree.ts";
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
  /** Sample id. */
  id: string;
  /** The folder it came from (classes are only comparable within one folder). */
  group: string;
  /** Encoder features. */
  features: FeatureMap;
  /** The image at the scoring size (PAMR's input). */
  scoringImage: ImageRGB;
  /** Ground truth at the scoring size, classes 0..N−1, −1 = ignore. */
  gt: Int32Array;
  /** Classes of its folder. */
  nClasses: number;
}

/** One scored configuration. */
export interface CalibrationRow {
  /** Affinity exponent. */
  alpha: number;
  /** Whether the affinity kept its diagonal. */
  selfLoops: boolean;
  /** Cut threshold. */
  tau: number;
  /** Whether PAMR refined the labels. */
  refine: boolean;
  /** Mean over images of the per-image mIoU. */
  meanImageMiou: number;
  /** mIoU of TP/FP/FN accumulated over each folder's images (the paper's dataset-level number), averaged over folders. */
  datasetMiou: number;
  /** Mean number of segments per image. */
  meanSegments: number;
  /** Images whose cut reached the segment cap. */
  capped: number;
}

/**
 * Loads, prepares and encodes every sample of the given VOC folders.
 *
 * @param roots VOC-layout folders (paths, or folders already read with `readVocFolder`).
 * @param encode Encoder function.
 * @param log Progress callback: one `skipped: …` line per image left out (or a count), one line per image encoded.
 * @returns The encoded images; classes are remapped per folder to 0..N−1 in ascending order, 255 → −1.
 * @throws {Deno.errors.NotFound} Naming a folder that is not in the VOC layout.
 */
export async function loadCalibrationImages(
  roots: (string | VocFolder)[],
  encode: (image: ImageRGB) => Promise<FeatureMap>,
  log: (line: string) => void = () => {},
): Promise<CalibrationImage[]> {
  const out: CalibrationImage[] = [];
  for (const given of roots) {
    const folder = typeof given === "string" ? await readVocFolder(given) : given;
    const root = folder.root;
    for (const line of skippedLines(folder.skipped)) log(`${line} in '${printable(root)}'`);
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
      log(`encoded ${printable(id)} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
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

/** Default α values tried. */
export const DEFAULT_ALPHAS: readonly number[] = Object.freeze([1, 2, 3, 5, 10]);

/**
 * Default τ values tried: 0.05, 0.1, …, 0.95, each computed as k/20 (one correctly rounded division, so every
 * value is the double nearest to its two-decimal spelling and no two are equal; summing 0.05 steps would drift,
 * e.g. to 0.15000000000000002).
 */
export const DEFAULT_TAUS: readonly number[] = Object.freeze(
  Array.from({ length: 19 }, (_, k) => (k + 1) / 20),
);

/** Usage text of `deno task calibrate`. */
export const USAGE = `Usage:
  deno task calibrate [VOC folder]... [options]

Scores DiffCut's α, self-loops and τ on labelled VOC-layout folders (JPEGImages/ + SegmentationClassPNG/);
without a folder, the labelme-examples folders:
  ${LABELME_VOC_FOLDERS.join("\n  ")}
Options:
  --encoder ID     isnet (default), mobilenet-v2, rgb-grid, a prepared registry id, or a sidecar JSON path
  --alphas LIST    affinity exponents >= 1 (default ${DEFAULT_ALPHAS.join(",")})
  --taus LIST      τ values > 0 (default 0.05,0.1,…,0.95)
  --cap N          most segments per tree, an integer >= 1 (default 128)
  --refine         also score with PAMR
  --top N          rows printed, an integer >= 1 (default 25)
  -h, --help       this text`;

/** `deno task calibrate` options, parsed and checked. */
export interface CalibrateArgs {
  /** VOC folders. */
  roots: string[];
  /** Encoder id. */
  encoder: string;
  /** α values. */
  alphas: number[];
  /** τ values. */
  taus: number[];
  /** Segment cap. */
  cap: number;
  /** Also score with PAMR. */
  refine: boolean;
  /** Rows printed. */
  top: number;
}

/** A list option: numbers separated by commas, each checked, no repeats. */
function list(
  value: string | undefined,
  name: string,
  fallback: readonly number[],
  check: (v: number) => void,
): number[] {
  if (value === undefined) return [...fallback];
  const parts = value.split(",").map((p) => p.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === "") || out.some((v) => !Number.isFinite(v))) {
    throw new RangeError(
      `Invalid --${name} "${printable(value)}": expected finite numbers separated by commas`,
    );
  }
  for (const v of out) {
    try {
      check(v);
    } catch (e) {
      const expected = /: (expected .*)$/.exec((e as Error).message)?.[1] ?? (e as Error).message;
      throw new RangeError(`Invalid --${name} value ${v} in ${printable(value)}: ${expected}`);
    }
  }
  const repeated = out.find((v, k) => out.indexOf(v) !== k);
  if (repeated !== undefined) {
    throw new RangeError(
      `Invalid --${name} ${printable(value)}: ${repeated} is repeated; expected distinct values`,
    );
  }
  return out;
}

/** An option that takes one integer >= 1. */
function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const v = Number(value.trim());
  if (value.trim() === "" || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`Invalid --${name} "${printable(value)}": expected an integer >= 1`);
  }
  return v;
}

/**
 * Parses and checks the options of `deno task calibrate` without reading anything: α values through
 * `checkAlpha`, τ values through `checkTau` (no repeats in either), `--cap` and `--top` integers >= 1.
 *
 * @param args Command-line arguments.
 * @returns The options, or `"help"` for `--help`.
 * @throws {RangeError} Naming the option, the value received and what was expected.
 * @throws {TypeError} On an unknown option (from `parseArgs`).
 *
 * @example
 * ```ts
 * import { parseCalibrateArgs } from "./calibrate.ts";
 * import assert from "node:assert/strict";
 * const a = parseCalibrateArgs(["data/voc", "--alphas", "2,5", "--taus", "0.2,0.3"]);
 * assert.ok(a !== "help");
 * assert.deepEqual([a.roots, a.alphas, a.taus, a.cap, a.top], [["data/voc"], [2, 5], [0.2, 0.3], 128, 25]);
 * assert.throws(() => parseCalibrateArgs(["--alphas", "0.5"]), {
 *   message: "Invalid --alphas value 0.5 in 0.5: expected a finite number >= 1",
 * });
 * ```
 */
export function parseCalibrateArgs(args: string[]): CalibrateArgs | "help" {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      encoder: { type: "string" },
      alphas: { type: "string" },
      taus: { type: "string" },
      cap: { type: "string" },
      refine: { type: "boolean" },
      top: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  return {
    roots: positionals.length ? positionals : [...LABELME_VOC_FOLDERS],
    encoder: values.encoder ?? "isnet",
    alphas: list(values.alphas, "alphas", DEFAULT_ALPHAS, checkAlpha),
    taus: list(values.taus, "taus", DEFAULT_TAUS, (t) => checkTau(t)),
    cap: count(values.cap, "cap", 128),
    refine: values.refine ?? false,
    top: count(values.top, "top", 25),
  };
}

/**
 * Runs `deno task calibrate`: options are checked, then the folders read (a missing one is an error naming
 * it), then the encoder loaded and the images encoded and scored.
 *
 * @param args Command-line arguments.
 * @returns The exit code: 0 on success, 1 on an error (printed as one `error: …` line).
 */
export async function main(args: string[]): Promise<number> {
  try {
    const a = parseCalibrateArgs(args);
    if (a === "help") {
      console.log(USAGE);
      return 0;
    }
    const folders: VocFolder[] = [];
    for (const root of a.roots) folders.push(await readVocFolder(root));
    const encoder = await loadEncoder(a.encoder);
    let images: CalibrationImage[];
    try {
      images = await loadCalibrationImages(folders, (im) => encoder.encode(im), (l) => console.error(l));
    } finally {
      await encoder.dispose();
    }
    const rows = await scoreGrid(images, {
      alphas: a.alphas,
      taus: a.taus,
      selfLoops: [true, false],
      refine: a.refine ? [false, true] : [false],
      cap: a.cap,
    });
    rows.sort((x, y) => y.meanImageMiou - x.meanImageMiou);
    console.log(
      `${images.length} images from ${a.roots.length} folder(s), encoder '${printable(encoder.id)}'\n`,
    );
    console.log(
      "| α | self-loops | τ | PAMR | mean per-image mIoU | dataset mIoU | mean segments | capped |",
    );
    console.log("| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |");
    for (const r of rows.slice(0, a.top)) {
      console.log(
        `| ${r.alpha} | ${r.selfLoops} | ${r.tau} | ${r.refine} | ${(100 * r.meanImageMiou).toFixed(1)} | ${
          (100 * r.datasetMiou).toFixed(1)
        } | ${r.meanSegments.toFixed(1)} | ${r.capped} |`,
      );
    }
    return 0;
  } catch (e) {
    console.error(`error: ${printable((e as Error)?.message ?? String(e))}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
