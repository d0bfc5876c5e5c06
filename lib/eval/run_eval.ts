/**
 * An evaluation run: every image of a dataset (or of one shard of it) through the encoder and every configured
 * method, one durable record per image, resuming where a previous session stopped, and the final table.
 *
 * Folder layout (`outDir`):
 * - `run.json`: the configuration; a later session must match it (otherwise it refuses to mix results);
 * - `records.jsonl`, or `records-<i>of<n>.jsonl` for shard i of n: one JSON line per finished image;
 * - `results.{json,csv,md}` (`results-<i>of<n>.*` for a shard): the table over the records present.
 *
 * Shards take the images whose index `k` (in the dataset's sorted order, after `limit`) has `k mod n = i`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import type { EvalDataset } from "../datasets/eval_dataset.ts";
import { loadImage } from "../image/load_image.ts";
import { loadLabelMap } from "../image/load_labels.ts";
import { writeFileAtomic } from "../io/write_file_atomic.ts";
import type { Encoder } from "../types.ts";
import { readCodeVersion } from "./code_version.ts";
import { type EvalSettings, methodParams } from "./methods.ts";
import type { ProgressBar } from "./progress.ts";
import { prepareEvalSample } from "./protocol.ts";
import { type ImageRecord, openRecordLog } from "./records.ts";
import {
  aggregate,
  configMismatch,
  type EvalResults,
  meanStageMs,
  readRunConfig,
  type RunConfig,
  writeResults,
} from "./report.ts";
import { type RowSpec, scoreImage } from "./score_image.ts";

/** Options of {@linkcode runEval}. */
export interface RunEvalOptions {
  /** The dataset. */
  dataset: EvalDataset;
  /** The encoder (the caller disposes it). */
  encoder: Encoder;
  /** Encoder identity recorded with the results. */
  encoderInfo: RunConfig["encoder"];
  /** Methods and parameters. */
  settings: EvalSettings;
  /** Output folder (created if needed). */
  outDir: string;
  /** Evaluate only the first `limit` images. */
  limit?: number;
  /** Shard `index` (0-based) of `count`. */
  shard?: { index: number; count: number };
  /** Progress display (none when omitted). */
  progress?: ProgressBar;
  /** Stop after this many images computed in this session, as if killed (for tests). */
  stopAfter?: number;
}

/** Rows of a configuration in table order: methods × parameters × upsampling × PAMR. */
export function tableRows(settings: EvalSettings): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const method of settings.methods) {
    for (const param of methodParams(method, settings)) {
      for (const upsample of settings.upsample) {
        for (const refine of settings.refine) rows.push({ method, param, upsample, refine });
      }
    }
  }
  return rows;
}

/**
 * Parses `i/n` (0 ≤ i < n).
 *
 * @param text Shard spec.
 * @returns Index and count.
 * @throws {RangeError} On anything else.
 *
 * @example
 * ```ts
 * import { parseShard } from "./run_eval.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseShard("1/4"), { index: 1, count: 4 });
 * ```
 */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new RangeError(`Invalid shard "${text}": expected i/n with 0 ≤ i < n, e.g. 0/4`);
  }
  return { index, count };
}

/**
 * Runs (or resumes) an evaluation and writes its table.
 *
 * @param o See {@linkcode RunEvalOptions}.
 * @returns The results over every record of this run (or shard).
 * @throws {RangeError} When `outDir` holds a run with a different configuration.
 * @throws {Error} Naming the image when one cannot be loaded or scored (finished images stay recorded).
 */
export async function runEval(o: RunEvalOptions): Promise<EvalResults> {
  const t0 = performance.now();
  const { dataset, settings } = o;
  const samples = dataset.samples.slice(0, o.limit ?? dataset.samples.length).map((s, index) => ({
    ...s,
    index,
  }));
  const config: RunConfig = {
    format: 1,
    dataset: {
      name: dataset.name,
      root: resolve(dataset.root),
      nClasses: dataset.nClasses,
      manyToOne: dataset.manyToOne,
      classNames: dataset.classNames,
      options: dataset.options,
      images: samples.length,
      notes: dataset.notes,
    },
    encoder: o.encoderInfo,
    settings,
    rows: tableRows(settings),
    limit: o.limit ?? null,
    codeVersion: readCodeVersion().commit,
  };
  await Deno.mkdir(o.outDir, { recursive: true });
  const runPath = join(o.outDir, "run.json");
  let existing: RunConfig | undefined;
  try {
    existing = await readRunConfig(o.outDir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (existing) {
    const diff = configMismatch(existing, config);
    if (diff) {
      throw new RangeError(
        `Output folder '${o.outDir}' holds a run with a different ${diff}; expected the same settings to resume, or use another --out`,
      );
    }
  } else {
    await writeFileAtomic(runPath, JSON.stringify(config, null, 1) + "\n");
  }
  const mine = o.shard ? samples.filter((s) => s.index % o.shard!.count === o.shard!.index) : samples;
  const suffix = o.shard ? `-${o.shard.index}of${o.shard.count}` : "";
  const log = await openRecordLog(join(o.outDir, `records${suffix}.jsonl`));
  let processed = 0;
  try {
    const todo = mine.filter((s) => !log.records.has(s.id));
    let done = mine.length - todo.length;
    o.progress?.update(done, mine.length, 0);
    for (const s of todo) {
      if (o.stopAfter !== undefined && processed >= o.stopAfter) break;
      const record = await evaluateSample(o, s);
      await log.append(record);
      processed++;
      done++;
      o.progress?.update(done, mine.length, processed);
    }
  } finally {
    log.close();
    o.progress?.finish();
  }
  const ids = new Set(mine.map((s) => s.id));
  const records = [...log.records.values()].filter((r) => ids.has(r.id)).sort((a, b) => a.index - b.index);
  const wallSeconds = (performance.now() - t0) / 1000;
  const results: EvalResults = {
    config: existing ? { ...config, codeVersion: existing.codeVersion } : config,
    rows: aggregate(config, records),
    images: records.length,
    expectedImages: mine.length,
    shards: 1,
    timing: {
      imagesThisSession: processed,
      wallSeconds,
      imagesPerSecond: processed > 0 ? processed / wallSeconds : null,
      meanMs: meanStageMs(records),
    },
  };
  await writeResults(o.outDir, `results${suffix}`, results);
  return results;
}

async function evaluateSample(
  o: RunEvalOptions,
  s: { id: string; imagePath: string; labelPath: string; index: number },
): Promise<ImageRecord> {
  try {
    const t0 = performance.now();
    const sample = prepareEvalSample(
      await loadImage(s.imagePath),
      await loadLabelMap(s.labelPath),
      o.settings.encoderSize,
      o.settings.scoringSize,
    );
    const t1 = performance.now();
    const features = await o.encoder.encode(sample.image);
    const t2 = performance.now();
    const { results, ms, info } = await scoreImage(
      o.dataset,
      features,
      sample.scoringImage,
      sample.labels,
      o.settings,
    );
    const round = (x: number) => Math.round(x * 10) / 10;
    const allMs: Record<string, number> = {
      load: t1 - t0,
      encode: t2 - t1,
      ...ms,
      total: performance.now() - t0,
    };
    return {
      id: s.id,
      index: s.index,
      results,
      ms: Object.fromEntries(Object.entries(allMs).map(([k, v]) => [k, round(v)])),
      ...(Object.keys(info).length ? { info } : {}),
    };
  } catch (e) {
    throw new Error(
      `Cannot evaluate image '${s.id}' ('${s.imagePath}', '${s.labelPath}'): ${
        (e as Error).message.split("\n")[0]
      }`,
      { cause: e },
    );
  }
}
