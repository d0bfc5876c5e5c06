/**
 * An evaluation run: every image of a dataset (or of one shard of it) through the encoder and every configured
 * method, one durable record per image, resuming where a previous session stopped, and the final table.
 *
 * Folder layout (`outDir`):
 * - `.lock`: held (an advisory exclusive file lock, `FsFile.tryLock`) by the one session writing the folder;
 *   it holds that session's pid, is removed when the session ends, and is released by the system when the
 *   process dies, so a killed run never blocks the next one;
 * - `run.json`: the configuration; a later session must match it (otherwise it refuses to mix results);
 * - `records.jsonl`, or `records-<i>of<n>.jsonl` for shard i of n: one JSON line per finished image;
 * - `results.{json,csv,md}` (`results-<i>of<n>.*` for a shard): the table over the records present.
 *
 * Shards take the images whose index `k` (in the dataset's sorted order, after `limit`) has `k mod n = i`.
 * Shards that run at the same time need their own folders (the lock is per folder); merge them with
 * `mergeRuns`.
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
import { checkEvalSettings, type EvalSettings, methodParams } from "./methods.ts";
import type { ProgressBar } from "./progress.ts";
import { printable } from "../io/printable.ts";
import { prepareEvalSample } from "./protocol.ts";
import { checkRecordProtocol, type ImageRecord, openRecordLog, readRecords } from "./records.ts";
import type { OpenVocab } from "../openvocab/open_vocab.ts";
import { openVocabClassifier, type SegmentClassifier } from "./open_vocab_scoring.ts";
import {
  aggregate,
  configMismatch,
  type EvalResults,
  meanStageMs,
  readRunConfig,
  recordFiles,
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
  /** Receives one-line notices (a dropped incomplete record, a replaced run.json). */
  note?: (message: string) => void;
  /** The lock of `outDir`, when the caller already holds it (then runEval neither takes nor releases it). */
  lock?: FolderLock;
  /** The CLIP of the `open-vocab` protocol (the caller disposes it); its trunk's side must be `clipSize`. */
  openVocab?: OpenVocab;
  /** The CLIP trunk's identity, recorded with the results (`open-vocab` protocol). */
  openVocabInfo?: RunConfig["encoder"];
}

/** Thrown when another session holds a folder's lock (see {@linkcode lockRunFolder}). */
export class FolderBusyError extends Error {
  /** Process id written by the holder (null when it could not be read). */
  readonly pid: number | null;
  /** The folder. */
  readonly dir: string;

  /**
   * The error for a folder locked by another session.
   *
   * @param dir The busy folder.
   * @param pid The holder's process id, when known.
   */
  constructor(dir: string, pid: number | null) {
    super(
      `Output folder '${printable(dir)}' is busy: another eval (pid ${
        pid ?? "unknown"
      }) is writing to it; wait for it to end or use another --out`,
    );
    this.name = "FolderBusyError";
    this.dir = dir;
    this.pid = pid;
  }
}

/** Name of the lock file of a run folder, or of one shard's part of it. */
function lockName(shard?: { index: number; count: number }): string {
  return shard ? `.lock-${shard.index}of${shard.count}` : ".lock";
}

/** The exclusive lock of a run folder, from {@linkcode lockRunFolder}. */
export interface FolderLock {
  /** Path of the lock file. */
  path: string;
  /** Removes the lock file and releases the lock. */
  release(): Promise<void>;
}

async function readLockPid(path: string): Promise<number | null> {
  // The holder writes its pid right after locking; give it a moment.
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const m = /^(\d+)\n/.exec(await Deno.readTextFile(path));
      if (m) return Number(m[1]);
    } catch { /* removed meanwhile */ }
    await new Promise((r) => setTimeout(r, 25));
  }
  return null;
}

/**
 * Takes the exclusive lock of a run folder (`<dir>/.lock`, an advisory lock through `FsFile.tryLock`), without
 * waiting: a folder that another process (or another call in this one) holds is an error at once. The
 * operating system releases the lock when the holding process exits or is killed, so a stale `.lock` file
 * left by a killed run does not block.
 *
 * Shards lock apart (`.lock-<i>of<n>`), so the shards of one run may write their own record files into one folder
 * at the same time; two sessions of the same shard (or of the whole run) may not.
 *
 * @param dir An existing folder.
 * @param shard The shard this session writes, if any.
 * @returns The lock; call `release()` when done.
 * @throws {FolderBusyError} Naming the folder and the holder's pid when the folder is locked.
 */
export async function lockRunFolder(
  dir: string,
  shard?: { index: number; count: number },
): Promise<FolderLock> {
  const path = join(dir, lockName(shard));
  for (let attempt = 0;; attempt++) {
    const file = await Deno.open(path, { read: true, write: true, create: true });
    let locked = false;
    try {
      locked = await file.tryLock(true);
    } catch (e) {
      file.close();
      throw e;
    }
    if (!locked) {
      file.close();
      throw new FolderBusyError(dir, await readLockPid(path));
    }
    // A holder removes the file before it unlocks: make sure the locked file is still the one at `path`.
    const held = await file.stat();
    const current = await Deno.stat(path).catch(() => null);
    if (current === null || (held.ino !== null && current.ino !== held.ino)) {
      file.close();
      if (attempt < 100) continue;
      throw new Error(
        `Cannot lock output folder '${printable(dir)}': '${printable(path)}' keeps being replaced`,
      );
    }
    await file.truncate(0);
    const bytes = new TextEncoder().encode(`${Deno.pid}\n`);
    for (let written = 0; written < bytes.length;) written += await file.write(bytes.subarray(written));
    let released = false;
    return {
      path,
      async release() {
        if (released) return;
        released = true;
        try {
          await Deno.remove(path);
        } catch { /* already gone */ }
        file.close();
      },
    };
  }
}

/**
 * Checks the run options that are not {@linkcode EvalSettings}: `limit` and `shard`.
 *
 * @param limit Image limit (undefined: none).
 * @param shard Shard (undefined: none).
 * @throws {RangeError} Naming the option and the value received.
 */
export function checkRunOptions(limit?: number, shard?: { index: number; count: number }): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`Invalid limit ${limit}: expected an integer >= 1`);
  }
  if (
    shard !== undefined &&
    (!Number.isInteger(shard.count) || shard.count < 1 || !Number.isInteger(shard.index) || shard.index < 0 ||
      shard.index >= shard.count)
  ) {
    throw new RangeError(`Invalid shard ${shard.index}/${shard.count}: expected i/n with 0 ≤ i < n`);
  }
}

/**
 * What the `open-vocab` protocol needs besides its settings: a loaded CLIP whose trunk runs at `clipSize`, its
 * identity, and class names that mean something.
 */
function checkOpenVocab(o: RunEvalOptions): void {
  if (!o.openVocab || !o.openVocabInfo) {
    throw new RangeError(
      "Invalid protocol open-vocab: expected openVocab and openVocabInfo (the CLIP) in the options",
    );
  }
  const side = o.openVocab.encoder.defaults.inputSize;
  if (o.settings.clipSize !== undefined && side !== o.settings.clipSize) {
    throw new RangeError(
      `Invalid clipSize ${o.settings.clipSize}: the CLIP was loaded for ${side}² inputs; expected the same side`,
    );
  }
  if (o.dataset.genericClassNames) {
    throw new RangeError(
      `Dataset '${printable(o.dataset.root)}' has placeholder class names (${
        o.dataset.classNames.slice(0, 2).join(", ")
      }, …); the open-vocabulary protocol names segments by class names, so expected a class_names.txt`,
    );
  }
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
 * Every setting is checked ({@linkcode checkEvalSettings}, {@linkcode checkRunOptions}) before the folder is
 * created; the folder is then locked ({@linkcode lockRunFolder}) for the whole session, so two sessions never
 * write the same folder.
 *
 * @param o See {@linkcode RunEvalOptions}.
 * @returns The results over every record of this run (or shard).
 * @throws {RangeError} On a bad setting (nothing written), or when `outDir` holds a run with a different
 *   configuration.
 * @throws {FolderBusyError} When another session holds `outDir` (nothing written).
 * @throws {Error} Naming the image when one cannot be loaded or scored (finished images stay recorded).
 */
export async function runEval(o: RunEvalOptions): Promise<EvalResults> {
  const t0 = performance.now();
  const { dataset, settings } = o;
  checkEvalSettings(settings);
  checkRunOptions(o.limit, o.shard);
  if (settings.protocol === "open-vocab") checkOpenVocab(o);
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
    ...(settings.protocol === "open-vocab" ? { openVocab: o.openVocabInfo } : {}),
    settings,
    rows: tableRows(settings),
    limit: o.limit ?? null,
    codeVersion: readCodeVersion().commit,
  };
  if (o.lock) {
    if (resolve(o.lock.path) !== resolve(o.outDir, lockName(o.shard))) {
      throw new RangeError(
        `Invalid lock '${printable(o.lock.path)}': expected the lock of '${printable(o.outDir)}'`,
      );
    }
    return await runLocked(o, samples, config, t0);
  }
  await Deno.mkdir(o.outDir, { recursive: true });
  const lock = await lockRunFolder(o.outDir, o.shard);
  try {
    return await runLocked(o, samples, config, t0);
  } finally {
    await lock.release();
  }
}

/** The part of {@linkcode runEval} that runs while the folder is locked. */
async function runLocked(
  o: RunEvalOptions,
  samples: { id: string; imagePath: string; labelPath: string; index: number }[],
  config: RunConfig,
  t0: number,
): Promise<EvalResults> {
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
      const invalid = await invalidUnusedSettings(o.outDir, existing);
      if (invalid === null) {
        throw new RangeError(
          `Output folder '${
            printable(o.outDir)
          }' holds a run with a different ${diff}; expected the same settings to resume, or use another --out`,
        );
      }
      o.note?.(
        `replaced '${
          printable(runPath)
        }': its settings were invalid (${invalid}) and no image was recorded with them`,
      );
      existing = undefined;
    }
  }
  if (!existing) await writeFileAtomic(runPath, JSON.stringify(config, null, 1) + "\n");
  const mine = o.shard ? samples.filter((s) => s.index % o.shard!.count === o.shard!.index) : samples;
  const suffix = o.shard ? `-${o.shard.index}of${o.shard.count}` : "";
  const log = await openRecordLog(join(o.outDir, `records${suffix}.jsonl`));
  const protocol = o.settings.protocol ?? "hungarian";
  try {
    for (const rec of log.records.values()) checkRecordProtocol(rec, protocol, log.path);
  } catch (e) {
    log.close();
    throw e;
  }
  if (log.droppedBytes > 0) {
    o.note?.(
      `dropped an incomplete last record (${log.droppedBytes} bytes) from '${
        printable(log.path)
      }'; that image is computed again`,
    );
  }
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

/**
 * Why a folder's existing configuration is invalid, when no record was made with it (a run.json written by a
 * version that checked settings only at the first image); null when it is valid or has records.
 */
async function invalidUnusedSettings(dir: string, existing: RunConfig): Promise<string | null> {
  let reason: string;
  try {
    checkEvalSettings(existing.settings ?? {});
    return null;
  } catch (e) {
    reason = (e as Error).message;
  }
  for (const path of await recordFiles(dir)) {
    if ((await readRecords(path)).records.length > 0) return null;
  }
  return reason;
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
    // Open vocabulary: the CLIP sees the same image as the encoder (the authors' set-up), once per image.
    const classify: SegmentClassifier | undefined = o.settings.protocol === "open-vocab"
      ? await openVocabClassifier(o.openVocab!, sample.image, o.dataset.classNames)
      : undefined;
    const t3 = performance.now();
    const { results, ms, info } = await scoreImage(
      o.dataset,
      features,
      sample.scoringImage,
      sample.labels,
      o.settings,
      classify,
    );
    const round = (x: number) => Math.round(x * 10) / 10;
    const allMs: Record<string, number> = {
      load: t1 - t0,
      encode: t2 - t1,
      ...(classify ? { clip: t3 - t2 } : {}),
      ...ms,
      total: performance.now() - t0,
    };
    return {
      id: s.id,
      index: s.index,
      protocol: o.settings.protocol ?? "hungarian",
      results,
      ms: Object.fromEntries(Object.entries(allMs).map(([k, v]) => [k, round(v)])),
      ...(Object.keys(info).length ? { info } : {}),
    };
  } catch (e) {
    throw new Error(
      `Cannot evaluate image '${printable(s.id)}' ('${printable(s.imagePath)}', '${
        printable(s.labelPath)
      }'): ${printable((e as Error).message)}`,
      { cause: e },
    );
  }
}
