/**
 * `deno task eval`: scores DiffCut and the baselines on a benchmark with the paper's unsupervised protocol.
 *
 * ```
 * deno task eval --dataset NAME --root DIR [--encoder ID] [--tau 0.3,0.4,…] [--alpha A] [--refine | --refine-both]
 *                [--limit N] [--shard i/n] [--out DIR] [--method diffcut,kmeans,kmeans-gt,autosc,maskcut]
 *                [--upsample concept,nearest] [--k 6] [--maskcut-k 5] [--maskcut-tau 0.2] [--seed 0]
 *                [--split S] [--list FILE] [--ade-labels reference|shifted] [--compat reference]
 *                [--open-vocab [ID]] [--clip-size N]
 * deno task eval merge DIR… [--out DIR]
 * ```
 *
 * `--open-vocab` scores with the paper's Table 4 protocol instead of Hungarian matching: every segment is named by
 * a CLIP (default `convnext-clip`) among the dataset's class names and the class map is compared with the ground
 * truth (`lib/eval/open_vocab_scoring.ts`).
 *
 * Every image gets one fsync'd JSON line in `<out>/records*.jsonl` as it finishes; running the same command
 * again resumes. The table is printed as Markdown and written to `<out>/results.{md,csv,json}`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { DATASET_NAMES, openDataset, type OpenedDataset } from "../datasets/open_dataset.ts";
import { loadEncoder } from "../encoder/load_encoder.ts";
import { encoderIdentity } from "../eval/encoder_identity.ts";
import {
  checkEvalSettings,
  EVAL_OPTION_NAMES,
  type EvalSettings,
  METHOD_NAMES,
  type MethodName,
  UPSAMPLE_MODES,
  type UpsampleMode,
} from "../eval/methods.ts";
import { ProgressBar } from "../eval/progress.ts";
import { printable } from "../io/printable.ts";
import { markdownTable, mergeRuns, skippedLines, writeResults } from "../eval/report.ts";
import { type FolderLock, lockRunFolder, parseShard, runEval } from "../eval/run_eval.ts";
import type { Encoder } from "../types.ts";
import { checkClipSize, readClipInput } from "../openvocab/clip_size.ts";
import { DEFAULT_OPEN_VOCAB_MODEL, loadOpenVocab, type OpenVocab } from "../openvocab/open_vocab.ts";

const USAGE = `Usage:
  deno task eval --dataset NAME --root DIR [options]
  deno task eval merge DIR... [--out DIR]

Datasets: ${DATASET_NAMES.join(", ")}
Options:
  --encoder ID          isnet (default), mobilenet-v2, rgb-grid, a prepared registry id, or a sidecar JSON path
  --tau LIST            DiffCut τ values > 0, e.g. 0.1,0.2,0.3 (default: the encoder's)
  --alpha A             affinity exponent >= 1 (default: the encoder's)
  --refine              PAMR + median on every row; --refine-both adds rows with and without
  --method LIST         ${METHOD_NAMES.join(",")} (default diffcut)
  --upsample LIST       ${UPSAMPLE_MODES.join(",")} (default concept)
  --k LIST              k-means K, and the fixed K of kway rows (default 6)
  --maskcut-k LIST      MaskCut objects k (default 5); --maskcut-tau T graph threshold in [-1, 1) (default 0.2)
  --seed N              k-means RNG seed, 0 to 4294967295 (default 0)
  --limit N             first N images only
  --shard i/n           images with index mod n = i (merge the shard folders with 'eval merge')
  --out DIR             output folder (default out/eval/<dataset>-<encoder>-<settings hash>); one eval at a time
  --split S, --list FILE (COCO 2,175-image list), --ade-labels reference|shifted, --compat reference
  --open-vocab [ID]     the paper's Table 4 protocol instead of Hungarian matching: each segment is named by a
                        CLIP among the dataset's class names (ID: registry id or sidecar path, default
                        convnext-clip; deno task models prepare convnext-clip --from DIR)
  --clip-size N         side of the CLIP input with --open-vocab, a positive multiple of the CLIP's stride (32)
                        (default: the encoder's input side rounded down to the stride, 1024 for most encoders)
  --no-progress         no progress bar`;

/** Parses a comma-separated list of numbers; every entry must be a number. */
function numbers(value: string | undefined, name: string): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === "") || out.some((v) => !Number.isFinite(v))) {
    throw new RangeError(`Invalid --${name} "${printable(value)}": expected numbers separated by commas`);
  }
  return out;
}

/** Parses an option that takes one number. */
function number(value: string | undefined, name: string): number | undefined {
  const out = numbers(value, name);
  if (out === undefined) return undefined;
  if (out.length !== 1) throw new RangeError(`Invalid --${name} "${printable(value!)}": expected one number`);
  return out[0];
}

function choices<T extends string>(
  value: string | undefined,
  name: string,
  allowed: readonly T[],
): T[] | undefined {
  if (value === undefined) return undefined;
  const out = value.split(",").map((s) => s.trim());
  for (const v of out) {
    if (!allowed.includes(v as T)) {
      throw new RangeError(`Invalid --${name} "${printable(v)}": expected one of ${allowed.join(", ")}`);
    }
  }
  return [...new Set(out)] as T[];
}

async function shortHash(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(value)));
  return [...new Uint8Array(digest)].slice(0, 4).map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `deno task eval` options, parsed and checked (the encoder's defaults fill what is left out). */
export interface EvalArgs {
  /** Dataset name (one of `DATASET_NAMES`). */
  dataset: string;
  /** Dataset root. */
  root: string;
  /** Encoder id or sidecar path. */
  encoder: string;
  /** Settings given on the command line (checked); the rest come from the encoder and the defaults. */
  given: Partial<EvalSettings>;
  /** `--limit`. */
  limit?: number;
  /** `--shard`. */
  shard?: { index: number; count: number };
  /** `--out`. */
  out?: string;
  /** `--split` (each dataset has its own default). */
  split?: string;
  /** `--list`: COCO's 2,175-image list. */
  listPath?: string;
  /** `--ade-labels`. */
  adeLabels?: "reference" | "shifted";
  /** `--open-vocab`: the CLIP (registry id or sidecar path) of the open-vocabulary protocol. */
  openVocab?: string;
  /** `--clip-size` (checked against the CLIP's stride before the dataset is read). */
  clipSize?: number;
  /** Show the progress bar. */
  progress: boolean;
}

/**
 * Parses and checks every `deno task eval` option, without reading or writing anything: α, τ, K, MaskCut k and
 * threshold, seed, methods and upsampling modes through `checkEvalSettings` (the table in methods.ts),
 * `--limit`, `--shard`, `--ade-labels`, `--compat` and the dataset name.
 *
 * @param args Command-line arguments (without `merge`).
 * @returns The options, or `"help"` for `--help`.
 * @throws {RangeError} Naming the option, the value received and what was expected.
 * @throws {TypeError} On an unknown option or a missing value (from `parseArgs`).
 *
 * @example
 * ```ts
 * import { parseEvalArgs } from "./eval.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseEvalArgs(["--dataset", "voc20", "--root", "x", "--alpha", "0"]), {
 *   message: "Invalid --alpha 0: expected a finite number >= 1",
 * });
 * ```
 */
export function parseEvalArgs(args: string[]): EvalArgs | "help" {
  const { values } = parseArgs({
    args: withOpenVocabDefault(args),
    options: {
      dataset: { type: "string" },
      root: { type: "string" },
      encoder: { type: "string" },
      tau: { type: "string" },
      alpha: { type: "string" },
      refine: { type: "boolean" },
      "refine-both": { type: "boolean" },
      limit: { type: "string" },
      shard: { type: "string" },
      out: { type: "string" },
      method: { type: "string" },
      upsample: { type: "string" },
      k: { type: "string" },
      "maskcut-k": { type: "string" },
      "maskcut-tau": { type: "string" },
      seed: { type: "string" },
      split: { type: "string" },
      list: { type: "string" },
      "ade-labels": { type: "string" },
      compat: { type: "string" },
      "open-vocab": { type: "string" },
      "clip-size": { type: "string" },
      "no-progress": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (!values.dataset || !values.root) throw new RangeError("Missing --dataset or --root; see --help");
  if (!DATASET_NAMES.includes(values.dataset)) {
    throw new RangeError(
      `Unknown dataset "${printable(values.dataset)}": expected one of ${DATASET_NAMES.join(", ")}`,
    );
  }
  const adeLabels = values["ade-labels"];
  if (adeLabels !== undefined && adeLabels !== "reference" && adeLabels !== "shifted") {
    throw new RangeError(`Invalid --ade-labels "${printable(adeLabels)}": expected reference or shifted`);
  }
  const given: Partial<EvalSettings> = {};
  const set = <K extends keyof EvalSettings>(key: K, value: EvalSettings[K] | undefined) => {
    if (value !== undefined) given[key] = value;
  };
  set("methods", choices<MethodName>(values.method, "method", METHOD_NAMES));
  set("taus", numbers(values.tau, "tau"));
  set("alpha", number(values.alpha, "alpha"));
  set("compat", values.compat as EvalSettings["compat"] | undefined);
  set("kmeansK", numbers(values.k, "k"));
  set("seed", number(values.seed, "seed"));
  set("maskcutK", numbers(values["maskcut-k"], "maskcut-k"));
  set("maskcutTau", number(values["maskcut-tau"], "maskcut-tau"));
  set("upsample", choices<UpsampleMode>(values.upsample, "upsample", UPSAMPLE_MODES));
  if (values["refine-both"]) given.refine = [false, true];
  else if (values.refine) given.refine = [true];
  checkEvalSettings(given, EVAL_OPTION_NAMES);
  const clipSize = number(values["clip-size"], "clip-size");
  if (clipSize !== undefined && values["open-vocab"] === undefined) {
    throw new RangeError("Option --clip-size needs --open-vocab");
  }
  const limit = number(values.limit, "limit");
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`Invalid --limit ${limit}: expected an integer >= 1`);
  }
  return {
    dataset: values.dataset,
    root: values.root,
    encoder: values.encoder ?? "isnet",
    given,
    limit,
    shard: values.shard === undefined ? undefined : parseShard(values.shard),
    out: values.out,
    split: values.split,
    listPath: values.list,
    adeLabels,
    openVocab: values["open-vocab"],
    clipSize,
    progress: !values["no-progress"],
  };
}

/** `--open-vocab` may come without its value: the default CLIP is then inserted after it. */
function withOpenVocabDefault(args: string[]): string[] {
  return args.flatMap((arg, i) =>
    arg === "--open-vocab" && (i + 1 === args.length || args[i + 1].startsWith("-"))
      ? [arg, DEFAULT_OPEN_VOCAB_MODEL]
      : [arg]
  );
}

async function merge(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length === 0) throw new RangeError("Nothing to merge: expected one or more run folders");
  const out = values.out ?? positionals[0];
  // Reading the inputs needs no lock (records are appended whole lines); writing into `out` does.
  const lock = await lockOutput(out);
  try {
    const results = await mergeRuns(positionals);
    await writeResults(out, "results", results);
    console.log(markdownTable(results));
    console.error(
      `merged ${results.images}/${results.expectedImages} images from ${results.shards} record file(s) → ${
        printable(join(out, "results.{md,csv,json}"))
      }`,
    );
    if (results.images < results.expectedImages) {
      console.error(`warning: ${results.expectedImages - results.images} image(s) have no record yet`);
    }
  } finally {
    await lock.release();
  }
}

/** A locked output folder; `release()` also removes the folder when this call created it and it stayed empty. */
async function lockOutput(dir: string, shard?: { index: number; count: number }): Promise<FolderLock> {
  let created = false;
  try {
    await Deno.lstat(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    created = true;
  }
  await Deno.mkdir(dir, { recursive: true });
  const removeIfEmpty = async () => {
    if (created) await Deno.remove(dir).catch(() => {}); // fails, as wanted, unless empty
  };
  let lock: FolderLock;
  try {
    lock = await lockRunFolder(dir, shard);
  } catch (e) {
    await removeIfEmpty();
    throw e;
  }
  return {
    path: lock.path,
    async release() {
      await lock.release();
      await removeIfEmpty();
    },
  };
}

async function evaluate(a: EvalArgs): Promise<void> {
  // The CLIP's sidecar gives its stride: a bad --clip-size fails before the dataset is read.
  const clip = a.openVocab === undefined ? undefined : await readClipInput(a.openVocab);
  if (clip && a.clipSize !== undefined) checkClipSize(a.clipSize, clip.stride, "--clip-size", clip.id);
  const dataset = await openDataset(a.dataset, a.root, {
    split: a.split,
    listPath: a.listPath,
    adeLabels: a.adeLabels,
  });
  // With --out, the folder is locked before the encoder loads, so that a busy folder fails at once; the
  // default folder is named after the encoder's identity, so it is locked once that is known.
  let lock = a.out === undefined ? undefined : await lockOutput(a.out, a.shard);
  try {
    for (const line of skippedLines(dataset.skipped)) console.error(line);
    const encoder = await loadEncoder(a.encoder);
    try {
      let openVocab: OpenVocab | undefined;
      if (clip) {
        // By default the CLIP sees the image at the encoder's side, as in the authors' script.
        const side = encoder.defaults.inputSize ?? 1024;
        const inputSize = a.clipSize ?? Math.max(clip.stride, Math.floor(side / clip.stride) * clip.stride);
        openVocab = await loadOpenVocab(clip.path, { inputSize });
      }
      try {
        await evaluateWith(
          a,
          dataset,
          encoder,
          openVocab,
          async (outDir) => lock ??= await lockOutput(outDir, a.shard),
        );
      } finally {
        await openVocab?.dispose();
      }
    } finally {
      await encoder.dispose();
    }
  } finally {
    await lock?.release();
  }
}

async function evaluateWith(
  a: EvalArgs,
  dataset: OpenedDataset,
  encoder: Encoder,
  openVocab: OpenVocab | undefined,
  lockFolder: (outDir: string) => Promise<FolderLock>,
): Promise<void> {
  const d = encoder.defaults;
  const g = a.given;
  const settings: EvalSettings = {
    methods: g.methods ?? ["diffcut"],
    taus: g.taus ?? [d.tau],
    alpha: g.alpha ?? d.alpha,
    selfLoops: d.selfLoops ?? true,
    minSegmentSize: d.minSegmentSize ?? 1,
    maxSegments: d.maxSegments ?? null,
    compat: g.compat ?? "default",
    kmeansK: g.kmeansK ?? [6],
    seed: g.seed ?? 0,
    maskcutK: g.maskcutK ?? [5],
    maskcutTau: g.maskcutTau ?? 0.2,
    autoscAlphas: [1, 5, 10, 15],
    upsample: g.upsample ?? ["concept"],
    refine: g.refine ?? [false],
    encoderSize: d.inputSize ?? 1024,
    scoringSize: 128,
    ...(openVocab ? { protocol: "open-vocab" as const, clipSize: openVocab.encoder.defaults.inputSize } : {}),
  };
  // The encoder's defaults are checked too, before anything is encoded or written.
  checkEvalSettings(settings);
  const encoderInfo = await encoderIdentity(encoder);
  const openVocabInfo = openVocab ? await encoderIdentity(openVocab.encoder) : undefined;
  const hash = await shortHash({
    dataset: dataset.name,
    root: resolve(dataset.root),
    options: dataset.options,
    encoder: encoderInfo,
    ...(openVocabInfo ? { openVocab: openVocabInfo } : {}),
    settings,
    limit: a.limit ?? null,
  });
  const outDir = a.out ?? join("out", "eval", `${dataset.name}-${encoder.id}-${hash}`);
  const lock = await lockFolder(outDir);
  const total = Math.min(a.limit ?? Infinity, dataset.samples.length);
  console.error(
    `eval ${dataset.name}: ${total} image(s)${
      a.shard ? `, shard ${a.shard.index}/${a.shard.count}` : ""
    }, encoder ${printable(encoder.id)}, methods ${settings.methods.join(",")}${
      openVocabInfo ? `, open vocabulary (CLIP ${printable(openVocabInfo.id)} at ${settings.clipSize}²)` : ""
    } → ${printable(outDir)}`,
  );
  for (const note of dataset.notes) console.error(`note: ${printable(note)}`);
  const progress = a.progress ? new ProgressBar(`eval ${dataset.name}`) : undefined;
  const results = await runEval({
    dataset,
    encoder,
    encoderInfo,
    settings,
    outDir,
    limit: a.limit,
    shard: a.shard,
    progress,
    lock,
    note: (message) => console.error(`note: ${printable(message)}`),
    ...(openVocab ? { openVocab, openVocabInfo } : {}),
  });
  console.log(markdownTable(results));
  const skipped = results.images - results.timing.imagesThisSession;
  if (skipped > 0) {
    console.error(
      `resumed: ${skipped} image(s) were already recorded in ${
        printable(outDir)
      }, ${results.timing.imagesThisSession} computed now`,
    );
  }
  console.error(
    `results → ${
      printable(
        join(outDir, a.shard ? `results-${a.shard.index}of${a.shard.count}.*` : "results.{md,csv,json}"),
      )
    }`,
  );
}

/**
 * Runs `deno task eval` (or `deno task eval merge`): every option is checked before the dataset is read or
 * the encoder loaded; errors are one line on stderr.
 *
 * @param args Command-line arguments.
 * @returns The exit code: 0 on success, 1 on an error (printed as `error: …`).
 */
export async function main(args: string[]): Promise<number> {
  try {
    if (args[0] === "merge") {
      await merge(args.slice(1));
      return 0;
    }
    const parsed = parseEvalArgs(args);
    if (parsed === "help") {
      console.log(USAGE);
      return 0;
    }
    await evaluate(parsed);
    return 0;
  } catch (e) {
    console.error(`error: ${printable((e as Error)?.message ?? String(e))}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
