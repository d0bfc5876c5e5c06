/**
 * `deno task calibrate [folder]… [--encoder ID] [--alphas 1,2,5,10] [--taus 0.1,0.2,…] [--cap 48]
 * [--protocol whole|reference] [--rules tau,relative,min-split] [--ratios …] [--rings 0,1,2]`: scores DiffCut
 * settings on labelled images (per-image Hungarian matching), building one partition tree per image, border ring,
 * α and self-loop setting, and cutting it with every stopping rule and τ. By default the images are taken whole, as
 * a user gives them (`--protocol reference`: the reference's centre crop, 1024², 128² scoring). It reports the
 * leave-one-out and leave-one-folder-out scores of choosing the best setting on the other images, never only the
 * in-sample best: this is how each encoder's defaults are chosen (docs/calibration.md).
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
import { crossValidate } from "../eval/cross_validate.ts";
import { checkStopRule, effectiveTau, type StopRule, treeTauMax } from "../ncut/stop_rule.ts";
import { extendRingLabels, interiorFeatures, ringApplies } from "../pipeline/border_ring.ts";
import { resizeImage, resizeLabelsNearestExact } from "../image/resize.ts";
import { workingSize } from "../segmenter.ts";
import { basename, join } from "node:path";

/** labelme-examples' VOC-layout folders (Debian package `labelme-examples`). */
export const LABELME_VOC_FOLDERS = [
  "/usr/share/doc/labelme-examples/examples/semantic_segmentation/data_dataset_voc",
  "/usr/share/doc/labelme-examples/examples/video_annotation/data_dataset_voc",
];

/** labelme-examples' tutorial photo (`img.png` + `label.png`, labelme's JSON-export layout). */
export const LABELME_TUTORIAL_FOLDER = "/usr/share/doc/labelme-examples/examples/tutorial/apc2016_obj3_json";

/**
 * Reads a labelled folder: the VOC layout, or labelme's JSON-export layout (`img.png` + `label.png`, one image
 * named after the folder).
 *
 * @param root The folder.
 * @returns Its samples.
 * @throws {Deno.errors.NotFound} Naming a folder in neither layout.
 */
export async function readLabelledFolder(root: string): Promise<VocFolder> {
  try {
    return await readVocFolder(root);
  } catch (e) {
    const [img, lbl] = [join(root, "img.png"), join(root, "label.png")];
    const isFile = (p: string) => Deno.stat(p).then((s) => s.isFile, () => false);
    if (await isFile(img) && await isFile(lbl)) {
      return {
        root,
        samples: [{ id: basename(root), imagePath: img, labelPath: lbl }],
        classNames: undefined,
        skipped: [],
      };
    }
    throw e;
  }
}

/**
 * How images are prepared: `"whole"` feeds the image as a user gives it (the encoder stretches it to its input)
 * and scores at long side 128 with the aspect kept; `"reference"` is the reference evaluation's centre crop to a
 * square, 1024², scored at 128².
 */
export type CalibrationProtocol = "whole" | "reference";

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

/** The `"whole"` protocol: the image as given, scored at long side 128 (aspect kept). */
function prepareWhole(image: ImageRGB, labels: { data: Int32Array; height: number; width: number }) {
  const size = workingSize(image, 128);
  return {
    image,
    scoringImage: resizeImage(image, size.height, size.width),
    labels: resizeLabelsNearestExact(labels, size.height, size.width),
  };
}

/** One scored configuration. */
export interface CalibrationRow {
  /** Stopping rule (`tau` reads as a ratio for `"relative"`). */
  stopRule: StopRule;
  /** Border patch rings kept out of the graph. */
  borderRing: number;
  /** Per-image mIoU, in image order (for cross-validation). */
  perImage: number[];
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
  protocol: CalibrationProtocol = "reference",
): Promise<CalibrationImage[]> {
  const out: CalibrationImage[] = [];
  for (const given of roots) {
    const folder = typeof given === "string" ? await readVocFolder(given) : given;
    const root = folder.root;
    for (const line of skippedLines(folder.skipped)) log(`${line} in '${printable(root)}'`);
    const prepared = [];
    const classes = new Set<number>();
    for (const s of folder.samples) {
      const sample = protocol === "reference"
        ? prepareEvalSample(await loadImage(s.imagePath), await loadLabelMap(s.labelPath))
        : prepareWhole(await loadImage(s.imagePath), await loadLabelMap(s.labelPath));
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
  grid: {
    alphas: number[];
    taus: number[];
    selfLoops: boolean[];
    refine: boolean[];
    cap: number;
    /** Stopping rules. @default ["tau"] */
    stopRules?: StopRule[];
    /** τ ratios of the `"relative"` rule. @default DEFAULT_RATIOS */
    ratios?: number[];
    /** Border rings. @default [0] */
    rings?: number[];
  },
): Promise<CalibrationRow[]> {
  const rows: CalibrationRow[] = [];
  const rules = grid.stopRules ?? ["tau"];
  const ratios = grid.ratios ?? [...DEFAULT_RATIOS];
  const tauMax = Math.max(
    ...rules.map((r) => treeTauMax(r, Math.max(...(r === "relative" ? ratios : grid.taus)))),
  );
  for (const ring of grid.rings ?? [0]) {
    for (const alpha of grid.alphas) {
      for (const selfLoops of grid.selfLoops) {
        const trees = [];
        for (const img of images) {
          const r = ringApplies(img.features, ring) ? ring : 0;
          const f = r ? interiorFeatures(img.features, r) : img.features;
          trees.push(await buildPartitionTree(f, { alpha, selfLoops, tauMax, maxSegments: grid.cap }));
        }
        for (const stopRule of rules) {
          for (const tau of stopRule === "relative" ? ratios : grid.taus) {
            for (const refine of grid.refine) {
              rows.push(
                await scoreSetting(images, trees, {
                  alpha,
                  selfLoops,
                  tau,
                  refine,
                  stopRule,
                  ring,
                  cap: grid.cap,
                }),
              );
            }
          }
        }
      }
    }
  }
  return rows;
}

async function scoreSetting(
  images: CalibrationImage[],
  trees: Awaited<ReturnType<typeof buildPartitionTree>>[],
  s: {
    alpha: number;
    selfLoops: boolean;
    tau: number;
    refine: boolean;
    stopRule: StopRule;
    ring: number;
    cap: number;
  },
): Promise<CalibrationRow> {
  const { alpha, selfLoops, tau, refine, stopRule } = s;
  let sumImage = 0, segments = 0, capped = 0;
  const perImage: number[] = [];
  const scores = new Map<string, SegmentationScore>();
  for (const [k, img] of images.entries()) {
    const cut = cutTreeDetailed(trees[k], effectiveTau(trees[k], stopRule, tau));
    segments += cut.segments;
    if (cut.segments >= s.cap) capped++;
    const grid = trees[k].height === img.features.height
      ? cut.labels
      : extendRingLabels(img.features, cut.labels, (img.features.height - trees[k].height) / 2);
    const size = { height: img.scoringImage.height, width: img.scoringImage.width };
    let pred = await assignConcepts(img.features, grid, size);
    if (refine && cut.segments > 1) pred = await refinePamr(img.scoringImage, pred);
    const score = perImageMiou(pred, img.gt, img.nClasses);
    perImage.push(Number.isFinite(score) ? score : 0);
    sumImage += score;
    const m = hungarianMatch(pred, img.gt, img.nClasses);
    if (!scores.has(img.group)) scores.set(img.group, new SegmentationScore(img.nClasses));
    scores.get(img.group)!.add(m.tp, m.fp, m.fn, m.valid);
  }
  return {
    stopRule,
    borderRing: s.ring,
    perImage,
    alpha,
    selfLoops,
    tau,
    refine,
    meanImageMiou: sumImage / images.length,
    datasetMiou: [...scores.values()].reduce((acc, sc) => acc + sc.miou(), 0) / scores.size,
    meanSegments: segments / images.length,
    capped,
  };
}

/** Default τ ratios of the `"relative"` rule. */
export const DEFAULT_RATIOS: readonly number[] = Object.freeze([1.05, 1.2, 1.4, 1.6, 2, 2.5, 3]);

/** A row's setting as one string (`min-split α5 sl=false τ0.2 ring2 PAMR`). */
export function settingName(r: CalibrationRow): string {
  return `${r.stopRule} α${r.alpha} sl=${r.selfLoops} τ${r.tau} ring${r.borderRing}${
    r.refine ? " PAMR" : ""
  }`;
}

/**
 * The cross-validation table: for each family of settings (one stopping rule, one border ring, all), the in-sample
 * best and the leave-one-out and leave-one-folder-out means of choosing the best setting on the other images.
 *
 * @param rows Scored settings (every row scores the same images, in order).
 * @param groups Folder of each image.
 * @returns Markdown lines.
 */
export function crossValidationTable(rows: CalibrationRow[], groups: string[]): string[] {
  const families: [string, CalibrationRow[]][] = [
    ...[...new Set(rows.map((r) => r.stopRule))].map((
      rule,
    ) => [`stopRule ${rule}`, rows.filter((r) => r.stopRule === rule)] as [string, CalibrationRow[]]),
    ...[...new Set(rows.map((r) => r.borderRing))].map((
      ring,
    ) => [`borderRing ${ring}`, rows.filter((r) => r.borderRing === ring)] as [string, CalibrationRow[]]),
    ["all settings", rows],
  ];
  const lines = [
    "| family | in-sample best setting | in-sample mIoU | leave-one-out mIoU | leave-one-folder-out mIoU |",
    "| --- | --- | ---: | ---: | ---: |",
  ];
  for (const [name, family] of families) {
    const cv = crossValidate(family.map((r) => ({ name: settingName(r), perImage: r.perImage })), groups);
    lines.push(
      `| ${name} | ${cv.inSample.name} | ${(100 * cv.inSample.mean).toFixed(1)} | ${
        (100 * cv.leaveOneOut).toFixed(1)
      } | ${(100 * cv.leaveOneGroupOut).toFixed(1)} |`,
    );
  }
  return lines;
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
without a folder, the labelme-examples folders (VOC layout, and the tutorial's img.png + label.png):
  ${[...LABELME_VOC_FOLDERS, LABELME_TUTORIAL_FOLDER].join("\n  ")}
Prints the leave-one-out and leave-one-folder-out scores of choosing the best setting on the other images
(per stopping rule, per border ring, over all), then the best settings in-sample.
Options:
  --encoder ID     isnet (default), mobilenet-v2, rgb-grid, a prepared registry id, or a sidecar JSON path
  --alphas LIST    affinity exponents >= 1 (default ${DEFAULT_ALPHAS.join(",")})
  --taus LIST      τ values > 0 (default 0.05,0.1,…,0.95)
  --cap N          most segments per tree, an integer >= 1 (default 48)
  --protocol P     whole (default: images as given, scored at long side 128) or reference (centre crop, 128²)
  --rules LIST     stopping rules: tau, relative, min-split (default all three)
  --ratios LIST    τ ratios of the relative rule, each > 0 (default ${DEFAULT_RATIOS.join(",")})
  --rings LIST     border patch rings kept out of the graph, integers >= 0 (default 0,1,2)
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
  /** Image preparation. */
  protocol: CalibrationProtocol;
  /** Stopping rules. */
  rules: StopRule[];
  /** Ratios of the relative rule. */
  ratios: number[];
  /** Border rings. */
  rings: number[];
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
 * assert.deepEqual([a.roots, a.alphas, a.taus, a.cap, a.top], [["data/voc"], [2, 5], [0.2, 0.3], 48, 25]);
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
      protocol: { type: "string" },
      rules: { type: "string" },
      ratios: { type: "string" },
      rings: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const protocol = values.protocol ?? "whole";
  if (protocol !== "whole" && protocol !== "reference") {
    throw new RangeError(`Invalid --protocol "${printable(protocol)}": expected "whole" or "reference"`);
  }
  const rules = (values.rules ?? "tau,relative,min-split").split(",").map((r) => r.trim());
  for (const r of rules) checkStopRule(r, "--rules value");
  return {
    protocol,
    rules: rules as StopRule[],
    ratios: list(values.ratios, "ratios", DEFAULT_RATIOS, (t) => checkTau(t)),
    rings: list(values.rings, "rings", [0, 1, 2], (v) => {
      if (!Number.isInteger(v) || v < 0) throw new RangeError("Invalid ring: expected an integer >= 0");
    }),
    roots: positionals.length ? positionals : [...LABELME_VOC_FOLDERS, LABELME_TUTORIAL_FOLDER],
    encoder: values.encoder ?? "isnet",
    alphas: list(values.alphas, "alphas", DEFAULT_ALPHAS, checkAlpha),
    taus: list(values.taus, "taus", DEFAULT_TAUS, (t) => checkTau(t)),
    cap: count(values.cap, "cap", 48),
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
    for (const root of a.roots) folders.push(await readLabelledFolder(root));
    const encoder = await loadEncoder(a.encoder);
    let images: CalibrationImage[];
    try {
      images = await loadCalibrationImages(
        folders,
        (im) => encoder.encode(im),
        (l) => console.error(l),
        a.protocol,
      );
    } finally {
      await encoder.dispose();
    }
    const rows = await scoreGrid(images, {
      alphas: a.alphas,
      taus: a.taus,
      selfLoops: [true, false],
      refine: a.refine ? [false, true] : [false],
      cap: a.cap,
      stopRules: a.rules,
      ratios: a.ratios,
      rings: a.rings,
    });
    rows.sort((x, y) => y.meanImageMiou - x.meanImageMiou);
    console.log(
      `${images.length} images from ${a.roots.length} folder(s), encoder '${printable(encoder.id)}'\n`,
    );
    if (images.length >= 2) {
      console.log(`Cross-validated (${a.protocol} images; the best setting chosen on the other images):\n`);
      console.log(crossValidationTable(rows, images.map((i) => i.group)).join("\n") + "\n");
    }
    console.log("In-sample (scored on the images the setting was chosen on):\n");
    console.log(
      "| α | self-loops | τ | PAMR | mean per-image mIoU | dataset mIoU | mean segments | capped | stop rule | border ring |",
    );
    console.log("| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |");
    for (const r of rows.slice(0, a.top)) {
      console.log(
        `| ${r.alpha} | ${r.selfLoops} | ${r.tau} | ${r.refine} | ${(100 * r.meanImageMiou).toFixed(1)} | ${
          (100 * r.datasetMiou).toFixed(1)
        } | ${r.meanSegments.toFixed(1)} | ${r.capped} | ${r.stopRule} | ${r.borderRing} |`,
      );
    }
    return 0;
  } catch (e) {
    console.error(`error: ${printable((e as Error)?.message ?? String(e))}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
