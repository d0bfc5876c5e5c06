/**
 * Turning per-image records into the final table: TP/FP/FN summed over the dataset per row, IoU per class, mIoU
 * (nanmean) and pixel accuracy; Markdown, CSV and JSON output; and merging the records of several shards.
 *
 * @module
 */
import { join } from "node:path";
import { printable } from "../io/printable.ts";
import { writeFileAtomic } from "../io/write_file_atomic.ts";
import { SegmentationScore } from "./matching.ts";
import type { ImageRecord } from "./records.ts";
import { checkRecordProtocol, readRecords } from "./records.ts";
import { rowKey, type RowSpec } from "./score_image.ts";
import type { EvalSettings } from "./methods.ts";
import type { SkippedImage } from "../datasets/voc_folder.ts";

/** The configuration of a run, written to `run.json` (everything that decides its numbers). */
export interface RunConfig {
  /** Format version of run.json. */
  format: 1;
  /** Dataset facts. */
  dataset: {
    name: string;
    root: string;
    nClasses: number;
    manyToOne: boolean;
    classNames: string[];
    options: Record<string, string | number | boolean>;
    /** Samples in the run (after --limit, before sharding). */
    images: number;
    notes: string[];
  };
  /** Encoder id, model SHA-256 (null when it has no model file) and whether it is a stand-in. */
  encoder: { id: string; sha256: string | null; standIn: boolean; note?: string };
  /** The open-vocabulary protocol's CLIP (its trunk's identity); absent under the Hungarian protocol. */
  openVocab?: { id: string; sha256: string | null; standIn: boolean; note?: string };
  /** Methods and their parameters. */
  settings: EvalSettings;
  /** Rows in table order. */
  rows: RowSpec[];
  /** `--limit` (null: all images). */
  limit: number | null;
  /** Commit of the code that started the run. */
  codeVersion: string | null;
}

/** One row of the final table. */
export interface ResultRow extends RowSpec {
  /** Row key. */
  key: string;
  /** Images counted. */
  images: number;
  /** mIoU in [0, 1] (null when every class is 0/0). */
  miou: number | null;
  /** Pixel accuracy (null when no valid pixel). */
  pixelAccuracy: number | null;
  /** Mean number of segments per image (distinct labels after upsampling, before merge and PAMR). */
  meanSegments: number;
  /** IoU per class (null for 0/0). */
  iou: (number | null)[];
  /** Summed true positives per class. */
  tp: number[];
  /** Summed false positives per class. */
  fp: number[];
  /** Summed false negatives per class. */
  fn: number[];
  /** Valid pixels (ALL). */
  all: number;
}

/** The final results written to `results.json`. */
export interface EvalResults {
  /** The run's configuration. */
  config: RunConfig;
  /** One row per configuration. */
  rows: ResultRow[];
  /** Images with a record. */
  images: number;
  /** Images expected (the run's images; all shards together for a merge). */
  expectedImages: number;
  /** Shards merged (1 for a single run). */
  shards: number;
  /** Timing of the session(s) that computed the records. */
  timing: {
    /** Images computed in this session (0 for a merge). */
    imagesThisSession: number;
    /** Wall-clock seconds of this session. */
    wallSeconds: number;
    /** Images per second in this session (null if none computed). */
    imagesPerSecond: number | null;
    /** Mean milliseconds per image and stage over all records. */
    meanMs: Record<string, number>;
  };
}

/**
 * Sums records into table rows.
 *
 * @param config Run configuration (rows, classes).
 * @param records Image records (each image once).
 * @returns One row per configuration row.
 */
export function aggregate(config: RunConfig, records: Iterable<ImageRecord>): ResultRow[] {
  const n = config.dataset.nClasses;
  const scores = config.rows.map(() => new SegmentationScore(n));
  const segs = config.rows.map(() => 0);
  const keys = config.rows.map(rowKey);
  for (const rec of records) {
    keys.forEach((key, r) => {
      const res = rec.results[key];
      if (!res) {
        throw new RangeError(
          `Record '${printable(rec.id)}' has no result for row '${printable(key)}'; expected every row`,
        );
      }
      const tp = new Float64Array(n), fp = new Float64Array(n), fn = new Float64Array(n);
      for (const [i, a, b, c] of res.c) {
        tp[i] = a;
        fp[i] = b;
        fn[i] = c;
      }
      scores[r].add(tp, fp, fn, res.all);
      segs[r] += res.segments;
    });
  }
  return config.rows.map((row, r) => {
    const j = scores[r].toJSON();
    return {
      ...row,
      key: keys[r],
      images: j.images,
      miou: j.miou,
      pixelAccuracy: j.pixelAccuracy,
      meanSegments: j.images ? segs[r] / j.images : 0,
      iou: j.iou,
      tp: j.tp,
      fp: j.fp,
      fn: j.fn,
      all: j.all,
    };
  });
}

/** Mean milliseconds per stage over records. */
export function meanStageMs(records: ImageRecord[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r.ms ?? {})) sum[k] = (sum[k] ?? 0) + v;
  return Object.fromEntries(
    Object.entries(sum).map(([k, v]) => [k, Math.round((10 * v) / records.length) / 10]),
  );
}

/** How the run was scored, for the table's header. */
function protocolLine(c: RunConfig): string {
  if (c.settings.protocol !== "open-vocab") return "Hungarian matching per image";
  return `open vocabulary: segments named by CLIP \`${c.openVocab?.id ?? "?"}\` at ${
    c.settings.clipSize ?? "?"
  }² among the dataset's class names, no matching`;
}

const pct = (x: number | null) => (x === null ? "n/a" : (100 * x).toFixed(1));

/**
 * The results as a Markdown table with a header naming the configuration.
 *
 * @param res Results.
 * @returns Markdown text.
 */
export function markdownTable(res: EvalResults): string {
  const c = res.config;
  const s = c.settings;
  const lines = [
    `**${c.dataset.name}** (${
      printable(c.dataset.root)
    }): ${res.images}/${res.expectedImages} images, N = ${c.dataset.nClasses}${
      c.dataset.manyToOne ? " (many-to-one background)" : ""
    }; encoder \`${c.encoder.id}\`${c.encoder.sha256 ? ` (sha256 ${c.encoder.sha256.slice(0, 12)}…)` : ""}${
      c.encoder.standIn ? " — stand-in features" : ""
    }; α = ${s.alpha}, self-loops ${s.selfLoops ? "on" : "off"}${
      s.maxSegments ? `, max ${s.maxSegments} segments` : ""
    }; ${protocolLine(c)}; code ${c.codeVersion?.slice(0, 10) ?? "unknown"}`,
    "",
    "| method | param | upsample | PAMR | mIoU | pixel acc. | mean segments |",
    "| --- | --- | --- | --- | ---: | ---: | ---: |",
    ...res.rows.map((r) =>
      `| ${r.method} | ${r.param} | ${r.upsample} | ${r.refine ? "yes" : "no"} | ${pct(r.miou)} | ${
        pct(r.pixelAccuracy)
      } | ${r.meanSegments.toFixed(1)} |`
    ),
  ];
  const t = res.timing;
  if (t.imagesPerSecond !== null) {
    lines.push(
      "",
      `${t.imagesThisSession} images computed in ${t.wallSeconds.toFixed(1)} s: ${
        t.imagesPerSecond.toFixed(3)
      } images/s`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The results as CSV: one line per row with the configuration in columns.
 *
 * @param res Results.
 * @returns CSV text.
 */
export function csvTable(res: EvalResults): string {
  const c = res.config;
  const head = [
    "dataset",
    "encoder",
    "encoder_sha256",
    "alpha",
    "self_loops",
    "method",
    "param",
    "upsample",
    "refine",
    "images",
    "miou",
    "pixel_accuracy",
    "mean_segments",
    "code_version",
  ];
  const q = (v: unknown) => {
    const s = String(v ?? "");
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [head.join(",")];
  for (const r of res.rows) {
    lines.push(
      [
        c.dataset.name,
        c.encoder.id,
        c.encoder.sha256 ?? "",
        c.settings.alpha,
        c.settings.selfLoops,
        r.method,
        r.param,
        r.upsample,
        r.refine,
        r.images,
        r.miou ?? "",
        r.pixelAccuracy ?? "",
        r.meanSegments,
        c.codeVersion ?? "",
      ].map(q).join(","),
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Writes `<base>.json`, `<base>.csv` and `<base>.md` atomically into a folder.
 *
 * @param dir Folder.
 * @param base File base name (`results`, `results-0of2` …).
 * @param res Results.
 * @returns The paths written.
 */
export async function writeResults(dir: string, base: string, res: EvalResults): Promise<string[]> {
  const paths = [join(dir, `${base}.json`), join(dir, `${base}.csv`), join(dir, `${base}.md`)];
  await writeFileAtomic(paths[0], JSON.stringify(res, null, 1) + "\n");
  await writeFileAtomic(paths[1], csvTable(res));
  await writeFileAtomic(paths[2], markdownTable(res));
  return paths;
}

/**
 * Reads a run folder's configuration.
 *
 * @param dir Run folder.
 * @returns Its `run.json`.
 * @throws {Deno.errors.NotFound} When the folder has no run.json.
 */
export async function readRunConfig(dir: string): Promise<RunConfig> {
  const path = join(dir, "run.json");
  try {
    return JSON.parse(await Deno.readTextFile(path)) as RunConfig;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Missing '${printable(path)}': expected a folder written by 'deno task eval'`,
      );
    }
    throw new SyntaxError(`Invalid '${printable(path)}': ${printable((e as Error).message)}`);
  }
}

/**
 * The parts of two configurations that must agree for their records to be combined, as a message, or null
 * when they agree.
 *
 * @param a One configuration.
 * @param b The other.
 * @returns Null, or the first differing field.
 */
export function configMismatch(a: RunConfig, b: RunConfig): string | null {
  const pick = (c: RunConfig) => ({
    dataset: { ...c.dataset, notes: undefined },
    encoder: { id: c.encoder.id, sha256: c.encoder.sha256 },
    settings: c.settings,
    openVocab: c.openVocab ? { id: c.openVocab.id, sha256: c.openVocab.sha256 } : null,
    rows: c.rows,
    limit: c.limit,
  });
  const pa = pick(a) as Record<string, unknown>, pb = pick(b) as Record<string, unknown>;
  for (const k of Object.keys(pa)) {
    if (JSON.stringify(pa[k]) !== JSON.stringify(pb[k])) return k;
  }
  return null;
}

/** Record files of a run folder (`records.jsonl`, `records-<i>of<n>.jsonl`), sorted. */
export async function recordFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && /^records(-\d+of\d+)?\.jsonl$/.test(e.name)) out.push(join(dir, e.name));
  }
  return out.sort();
}

/**
 * Merges the records of run folders (shards of one run, possibly on different machines) into one table.
 *
 * @param dirs Run folders; every one must hold the same configuration.
 * @returns The merged results.
 * @throws {RangeError} When configurations differ or one image has different results in two files.
 * @throws {Deno.errors.NotFound} When a folder has no run.json or no records.
 */
export async function mergeRuns(dirs: string[]): Promise<EvalResults> {
  if (dirs.length === 0) throw new RangeError("Nothing to merge: expected at least one run folder");
  const config = await readRunConfig(dirs[0]);
  const byId = new Map<string, { rec: ImageRecord; from: string }>();
  let files = 0;
  for (const dir of dirs) {
    const cfg = await readRunConfig(dir);
    const diff = configMismatch(config, cfg);
    if (diff) {
      throw new RangeError(
        `Cannot merge '${printable(dir)}' with '${
          printable(dirs[0])
        }': their ${diff} differ; expected shards of the same run`,
      );
    }
    const paths = await recordFiles(dir);
    if (paths.length === 0) {
      throw new Deno.errors.NotFound(`Run folder '${printable(dir)}' has no records*.jsonl file`);
    }
    for (const path of paths) {
      files++;
      for (const rec of (await readRecords(path)).records) {
        checkRecordProtocol(rec, config.settings.protocol ?? "hungarian", path);
        const seen = byId.get(rec.id);
        if (seen) {
          if (JSON.stringify(seen.rec.results) !== JSON.stringify(rec.results)) {
            throw new RangeError(
              `Image '${printable(rec.id)}' has different results in '${printable(seen.from)}' and '${
                printable(path)
              }'; expected one result per image`,
            );
          }
          continue;
        }
        byId.set(rec.id, { rec, from: path });
      }
    }
  }
  const records = [...byId.values()].map((v) => v.rec).sort((a, b) => a.index - b.index);
  return {
    config,
    rows: aggregate(config, records),
    images: records.length,
    expectedImages: config.dataset.images,
    shards: files,
    timing: { imagesThisSession: 0, wallSeconds: 0, imagesPerSecond: null, meanMs: meanStageMs(records) },
  };
}

/**
 * The log lines that report skipped files: one line per file, or, beyond `max` files, one line with the
 * count and the first `max` of them. Names are passed through {@linkcode printable}.
 *
 * @param skipped Skipped files (from `readVocFolder`).
 * @param max Most files named. @default 5
 * @returns Lines without a trailing newline (none when nothing was skipped).
 *
 * @example
 * ```ts
 * import { skippedLines } from "./report.ts";
 * import assert from "node:assert/strict";
 * const reason = "no annotation in SegmentationClassPNG/";
 * assert.deepEqual(skippedLines([{ path: "JPEGImages/x.jpg", reason }]), [
 *   "skipped: JPEGImages/x.jpg (no annotation in SegmentationClassPNG/)",
 * ]);
 * ```
 */
export function skippedLines(skipped: readonly SkippedImage[], max = 5): string[] {
  const item = (s: SkippedImage) => `${printable(s.path)} (${printable(s.reason)})`;
  if (skipped.length <= max) return skipped.map((s) => `skipped: ${item(s)}`);
  return [
    `skipped: ${skipped.length} files of JPEGImages/, e.g. ${skipped.slice(0, max).map(item).join(", ")}, …`,
  ];
}
