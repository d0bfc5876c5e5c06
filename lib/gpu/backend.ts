/**
 * Backend choice for every entry point: `"cpu"` runs the TypeScript reference, `"webgpu"` the WGSL kernels
 * (falling back to the CPU path with a one-line notice when no adapter exists or the device is lost mid-run),
 * `"auto"` picks per stage by measurement.
 *
 * `"auto"` rules, in order: work below the stage's minimum (where one ~10 ms host wait already costs more than
 * the CPU path) runs on the CPU; without an adapter it runs on the CPU silently; otherwise the first call of a
 * stage in a size class (powers of 4 of the work) on an adapter times a warm GPU run against the CPU run,
 * returns the CPU result, and caches the faster backend for that adapter, stage and size class.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Backend } from "../types.ts";
import { getGpu, type GpuContext, GpuUnavailableError } from "./device.ts";

/** Stages with a WebGPU path. */
export type GpuStage = "affinity" | "tree" | "assign" | "pamr" | "kway";

/** Work (stage-specific units, see each entry point) below which `"auto"` always runs on the CPU. */
export const AUTO_MIN_WORK: Readonly<Record<GpuStage, number>> = Object.freeze({
  affinity: 1 << 24, // n²·c multiply-adds
  tree: 1 << 20, // n² affinity entries
  assign: 1 << 22, // output pixels · clusters + n·clusters·c
  pamr: 1 << 22, // pixels · 8L · iterations · labels
  kway: 1 << 22, // n² affinity entries (one product per K-way sweep)
});

const decisions = new Map<string, "cpu" | "webgpu">();
let warned = false;

/** Where one stage ran, as recorded by {@linkcode recordStageRuns}. */
export interface StageRun {
  /** The stage. */
  stage: GpuStage;
  /** The backend that produced its result. */
  backend: "cpu" | "webgpu";
  /** Why it ran on the CPU although `"webgpu"` was asked for (no adapter, device lost). */
  fallback?: string;
}

// Every stage run inside recordStageRuns lands in its own list, however deep the call or how many awaits.
const stageRuns = new AsyncLocalStorage<StageRun[]>();

/**
 * Runs `fn` and lists where each stage it ran (through {@linkcode runStage}, or {@linkcode recordStageRun})
 * actually ran, so a result can say which backend produced it and whether it fell back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordStageRuns, runStage } from "./backend.ts";
 * const { value, runs } = await recordStageRuns(() =>
 *   runStage("cpu", { stage: "pamr", work: 1, gpu: () => Promise.resolve("gpu"), cpu: () => Promise.resolve("cpu") })
 * );
 * assert.equal(value, "cpu");
 * assert.deepEqual(runs, [{ stage: "pamr", backend: "cpu" }]);
 * ```
 *
 * @param fn The work.
 * @returns Its value and the stage runs, in order.
 */
export async function recordStageRuns<T>(fn: () => Promise<T>): Promise<{ value: T; runs: StageRun[] }> {
  const runs: StageRun[] = [];
  const value = await stageRuns.run(runs, fn);
  return { value, runs };
}

/**
 * Records a stage run that did not go through {@linkcode runStage} (the device-resident path).
 *
 * @param run The stage and its backend.
 */
export function recordStageRun(run: StageRun): void {
  stageRuns.getStore()?.push(run);
}

function recordRuns(runners: StageRunners<unknown>, backend: "cpu" | "webgpu", fallback?: string): void {
  for (const stage of [runners.stage, ...(runners.alsoRuns ?? [])]) {
    recordStageRun({ stage, backend, ...(fallback ? { fallback } : {}) });
  }
}

async function onCpu<T>(runners: StageRunners<T>, fallback?: string): Promise<T> {
  const value = await runners.cpu();
  recordRuns(runners, "cpu", fallback);
  return value;
}

/**
 * Checks a backend option.
 *
 * @param backend Candidate value (undefined means `"auto"`).
 * @returns The backend.
 * @throws {RangeError} When it is not `"auto"`, `"cpu"` or `"webgpu"`.
 */
export function checkBackend(backend: unknown): Backend {
  if (backend === undefined) return "auto";
  if (backend !== "auto" && backend !== "cpu" && backend !== "webgpu") {
    throw new RangeError(`Invalid backend ${JSON.stringify(backend)}: expected "auto", "cpu" or "webgpu"`);
  }
  return backend;
}

/**
 * Prints the one-line fallback notice (once per process).
 *
 * @param stage Stage that falls back.
 * @param reason Why.
 */
export function noticeCpuFallback(stage: string, reason: string): void {
  if (warned) return;
  warned = true;
  console.warn(`DiffCut: WebGPU unavailable, ${stage} and later stages run on the CPU path (${reason})`);
}

/** The cached `"auto"` decisions, keyed `adapter|stage|sizeClass` (for tests and benchmarks). */
export function autoDecisions(): Map<string, "cpu" | "webgpu"> {
  return decisions;
}

/** How one stage runs on each backend. */
export interface StageRunners<T> {
  /** Stage name (for notices and the auto cache). */
  stage: GpuStage;
  /** Work estimate in the stage's units ({@linkcode AUTO_MIN_WORK}). */
  work: number;
  /** The WebGPU path. */
  gpu: (ctx: GpuContext) => Promise<T>;
  /** The TypeScript path. */
  cpu: () => Promise<T>;
  /** Returns why the input does not fit the device (e.g. a binding limit), or null. `"auto"` then runs on the
   * CPU; `"webgpu"` throws a RangeError with that reason. */
  fits?: (ctx: GpuContext) => string | null;
  /** Later stages that the same call also runs (fused assignment + PAMR), recorded with the same backend. */
  alsoRuns?: GpuStage[];
}

/**
 * Runs a stage on the chosen backend.
 *
 * @param backend `"auto"`, `"cpu"` or `"webgpu"` (validated).
 * @param runners The two paths.
 * @returns The stage's result.
 * @throws {RangeError} On an unknown backend; anything the paths throw other than {@linkcode GpuUnavailableError}.
 */
export async function runStage<T>(backend: Backend | undefined, runners: StageRunners<T>): Promise<T> {
  const choice = checkBackend(backend);
  if (choice === "cpu") return onCpu(runners);
  if (choice === "auto" && runners.work < AUTO_MIN_WORK[runners.stage]) return onCpu(runners);
  let ctx: GpuContext;
  try {
    ctx = await getGpu();
  } catch (e) {
    if (!(e instanceof GpuUnavailableError)) throw e;
    if (choice === "auto") return onCpu(runners);
    noticeCpuFallback(runners.stage, e.message);
    return onCpu(runners, e.message.split("\n")[0]);
  }
  const unfit = runners.fits?.(ctx) ?? null;
  if (unfit !== null) {
    if (choice === "auto") return onCpu(runners);
    throw new RangeError(unfit);
  }
  // Software rasterisers (Mesa llvmpipe/lavapipe) run most stages slower than the CPU path (bench_gpu.ts; only
  // PAMR and large assignments are faster there), so `auto` does not spend a probe on them.
  if (choice === "auto" && /llvmpipe|lavapipe|softpipe|swiftshader/i.test(ctx.description)) {
    return onCpu(runners);
  }
  if (choice === "auto") {
    const key = `${ctx.key}|${runners.stage}|${Math.round(Math.log2(Math.max(1, runners.work)) / 2)}`;
    const decided = decisions.get(key);
    if (decided === "cpu") return onCpu(runners);
    if (decided === undefined) return measure(key, ctx, runners);
  }
  let value: T;
  try {
    value = await runners.gpu(ctx);
  } catch (e) {
    if (!(e instanceof GpuUnavailableError)) throw e;
    noticeCpuFallback(runners.stage, e.message);
    return onCpu(runners, e.message.split("\n")[0]);
  }
  recordRuns(runners, "webgpu");
  return value;
}

async function measure<T>(key: string, ctx: GpuContext, runners: StageRunners<T>): Promise<T> {
  let gpuMs = Infinity;
  try {
    await runners.gpu(ctx); // warm-up: compiles the kernels
    const t0 = performance.now();
    await runners.gpu(ctx);
    gpuMs = performance.now() - t0;
  } catch (e) {
    if (!(e instanceof GpuUnavailableError)) throw e;
  }
  await runners.cpu(); // warm-up too: the CPU path may start a session (ONNX Runtime) on its first call
  const t1 = performance.now();
  const result = await runners.cpu();
  const cpuMs = performance.now() - t1;
  decisions.set(key, gpuMs < cpuMs ? "webgpu" : "cpu");
  recordRuns(runners, "cpu"); // the result returned is the CPU run's
  return result;
}
