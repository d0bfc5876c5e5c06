/**
 * `deno task eval`: scores DiffCut and the baselines on a benchmark with the paper's unsupervised protocol.
 *
 * ```
 * deno task eval --dataset NAME --root DIR [--encoder ID] [--tau 0.3,0.4,…] [--alpha A] [--refine | --refine-both]
 *                [--limit N] [--shard i/n] [--out DIR] [--method diffcut,kmeans,kmeans-gt,autosc,maskcut]
 *                [--upsample concept,nearest] [--k 6] [--maskcut-k 5] [--maskcut-tau 0.2] [--seed 0]
 *                [--split S] [--list FILE] [--ade-labels reference|shifted] [--compat reference]
 * deno task eval merge DIR… [--out DIR]
 * ```
 *
 * Every image gets one fsync'd JSON line in `<out>/records*.jsonl` as it finishes; running the same command
 * again resumes. The table is printed as Markdown and written to `<out>/results.{md,csv,json}`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { DATASET_NAMES, openDataset } from "../datasets/open_dataset.ts";
import { loadEncoder } from "../encoder/load_encoder.ts";
import { encoderIdentity } from "../eval/encoder_identity.ts";
import {
  type EvalSettings,
  METHOD_NAMES,
  type MethodName,
  UPSAMPLE_MODES,
  type UpsampleMode,
} from "../eval/methods.ts";
import { ProgressBar } from "../eval/progress.ts";
import { markdownTable, mergeRuns, writeResults } from "../eval/report.ts";
import { parseShard, runEval } from "../eval/run_eval.ts";

const USAGE = `Usage:
  deno task eval --dataset NAME --root DIR [options]
  deno task eval merge DIR... [--out DIR]

Datasets: ${DATASET_NAMES.join(", ")}
Options:
  --encoder ID          isnet (default), mobilenet-v2, rgb-grid, a prepared registry id, or a sidecar JSON path
  --tau LIST            DiffCut τ values, e.g. 0.1,0.2,0.3 (default: the encoder's)
  --alpha A             affinity exponent (default: the encoder's)
  --refine              PAMR + median on every row; --refine-both adds rows with and without
  --method LIST         ${METHOD_NAMES.join(",")} (default diffcut)
  --upsample LIST       concept,nearest (default concept)
  --k LIST              k-means K (default 6)
  --maskcut-k LIST      MaskCut objects k (default 5); --maskcut-tau T graph threshold (default 0.2)
  --seed N              k-means RNG seed (default 0)
  --limit N             first N images only
  --shard i/n           images with index mod n = i (merge the shard folders with 'eval merge')
  --out DIR             output folder (default out/eval/<dataset>-<encoder>-<settings hash>)
  --split S, --list FILE (COCO 2,175-image list), --ade-labels reference|shifted, --compat reference
  --no-progress         no progress bar`;

function numbers(value: string | undefined, name: string): number[] | undefined {
  if (value === undefined) return undefined;
  const out = value.split(",").map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((v) => !Number.isFinite(v))) {
    throw new RangeError(`Invalid --${name} "${value}": expected numbers separated by commas`);
  }
  return out;
}

function integers(value: string | undefined, name: string, fallback: number[]): number[] {
  const out = numbers(value, name) ?? fallback;
  if (out.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new RangeError(`Invalid --${name} "${value}": expected positive integers separated by commas`);
  }
  return out;
}

function choices<T extends string>(
  value: string | undefined,
  name: string,
  allowed: readonly T[],
  fallback: T[],
): T[] {
  if (value === undefined) return fallback;
  const out = value.split(",").map((s) => s.trim());
  for (const v of out) {
    if (!allowed.includes(v as T)) {
      throw new RangeError(`Invalid --${name} "${v}": expected one of ${allowed.join(", ")}`);
    }
  }
  return [...new Set(out)] as T[];
}

async function shortHash(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(value)));
  return [...new Uint8Array(digest)].slice(0, 4).map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function merge(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string" } },
  });
  if (positionals.length === 0) throw new RangeError("Nothing to merge: expected one or more run folders");
  const results = await mergeRuns(positionals);
  const out = values.out ?? positionals[0];
  await Deno.mkdir(out, { recursive: true });
  await writeResults(out, "results", results);
  console.log(markdownTable(results));
  console.error(
    `merged ${results.images}/${results.expectedImages} images from ${results.shards} record file(s) → ${
      join(out, "results.{md,csv,json}")
    }`,
  );
  if (results.images < results.expectedImages) {
    console.error(`warning: ${results.expectedImages - results.images} image(s) have no record yet`);
  }
}

async function main(args: string[]): Promise<void> {
  if (args[0] === "merge") return await merge(args.slice(1));
  const { values } = parseArgs({
    args,
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
      "no-progress": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.dataset || !values.root) throw new RangeError("Missing --dataset or --root; see --help");
  const adeLabels = values["ade-labels"];
  if (adeLabels !== undefined && adeLabels !== "reference" && adeLabels !== "shifted") {
    throw new RangeError(`Invalid --ade-labels "${adeLabels}": expected reference or shifted`);
  }
  if (values.compat !== undefined && values.compat !== "reference" && values.compat !== "default") {
    throw new RangeError(`Invalid --compat "${values.compat}": expected reference or default`);
  }
  const limit = values.limit === undefined ? undefined : integers(values.limit, "limit", [])[0];
  const shard = values.shard === undefined ? undefined : parseShard(values.shard);
  const dataset = await openDataset(values.dataset, values.root, {
    split: values.split,
    listPath: values.list,
    adeLabels,
  });
  const encoder = await loadEncoder(values.encoder ?? "isnet");
  try {
    const d = encoder.defaults;
    const taus = numbers(values.tau, "tau") ?? [d.tau];
    if (taus.some((t) => t <= 0)) throw new RangeError(`Invalid --tau "${values.tau}": expected values > 0`);
    const seed = numbers(values.seed, "seed")?.[0] ?? 0;
    const settings: EvalSettings = {
      methods: choices<MethodName>(values.method, "method", METHOD_NAMES, ["diffcut"]),
      taus,
      alpha: numbers(values.alpha, "alpha")?.[0] ?? d.alpha,
      selfLoops: d.selfLoops ?? true,
      minSegmentSize: d.minSegmentSize ?? 1,
      maxSegments: d.maxSegments ?? null,
      compat: (values.compat as "default" | "reference" | undefined) ?? "default",
      kmeansK: integers(values.k, "k", [6]),
      seed,
      maskcutK: integers(values["maskcut-k"], "maskcut-k", [5]),
      maskcutTau: numbers(values["maskcut-tau"], "maskcut-tau")?.[0] ?? 0.2,
      autoscAlphas: [1, 5, 10, 15],
      upsample: choices<UpsampleMode>(values.upsample, "upsample", UPSAMPLE_MODES, ["concept"]),
      refine: values["refine-both"] ? [false, true] : [values.refine ?? false],
      encoderSize: d.inputSize ?? 1024,
      scoringSize: 128,
    };
    const encoderInfo = await encoderIdentity(encoder);
    const hash = await shortHash({
      dataset: dataset.name,
      root: resolve(dataset.root),
      options: dataset.options,
      encoder: encoderInfo,
      settings,
      limit: limit ?? null,
    });
    const outDir = values.out ?? join("out", "eval", `${dataset.name}-${encoder.id}-${hash}`);
    const total = Math.min(limit ?? Infinity, dataset.samples.length);
    console.error(
      `eval ${dataset.name}: ${total} image(s)${
        shard ? `, shard ${shard.index}/${shard.count}` : ""
      }, encoder ${encoder.id}, methods ${settings.methods.join(",")} → ${outDir}`,
    );
    for (const note of dataset.notes) console.error(`note: ${note}`);
    const progress = values["no-progress"] ? undefined : new ProgressBar(`eval ${dataset.name}`);
    const results = await runEval({
      dataset,
      encoder,
      encoderInfo,
      settings,
      outDir,
      limit,
      shard,
      progress,
    });
    console.log(markdownTable(results));
    const skipped = results.images - results.timing.imagesThisSession;
    if (skipped > 0) {
      console.error(
        `resumed: ${skipped} image(s) were already recorded in ${outDir}, ${results.timing.imagesThisSession} computed now`,
      );
    }
    console.error(
      `results → ${
        join(outDir, shard ? `results-${shard.index}of${shard.count}.*` : "results.{md,csv,json}")
      }`,
    );
  } finally {
    await encoder.dispose();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`error: ${(e as Error).message.split("\n")[0]}`);
    Deno.exit(1);
  }
}
