/**
 * The one module that talks to ONNX Runtime. Everything else in the project sees {@linkcode OrtSession}: float32
 * (or integer) tensors in, float32 tensors out, whatever precision the model uses inside.
 *
 * Three runners, chosen by one option ({@linkcode OrtRunner}): `"wasm"` (`onnxruntime-web`'s WebAssembly
 * backend), `"webgpu"` (`onnxruntime-web/webgpu`, needs a WebGPU adapter) and `"node"` (`onnxruntime-node`, native
 * CPU, needs `--allow-ffi`; loaded only when asked for, so that nothing else downloads its 288 MB package). The
 * default, `"auto"` ({@linkcode chooseRunner}), picks `"webgpu"` on a hardware adapter, else `"node"` when
 * onnxruntime-node is already installed in the project's `node_modules` (`deno task native-runner`) and the process
 * may load it (FFI permission for that folder), else `"wasm"` with a one-line note saying how to get the native
 * runner. `"auto"` never downloads onnxruntime-node: an installed copy is loaded from its folder with
 * `createRequire`, which neither fetches nor writes `deno.lock`.
 *
 * The `"webgpu"` runner creates its sessions on the project's own device (`getGpu().device`, passed as
 * `executionProviders: [{ name: "webgpu", device }]`; `ort.env.webgpu.device` would not share it) with
 * `preferredOutputLocation: "gpu-buffer"`, so that {@linkcode OrtSession.runOnDevice} can hand an output's
 * `GPUBuffer` straight to the project's WGSL kernels; `run` downloads outputs as usual. fp16 models need the
 * device's `shader-f16` feature (Mesa's Vulkan llvmpipe has it, its GL backend does not).
 *
 * Notes: the wasm backend runs large models (16 MB and up) on several threads in a worker under a watchdog, and
 * small ones on one thread in-process, unless `$DIFFCUT_ORT_THREADS` says otherwise ({@linkcode createWasmSession},
 * `threaded_wasm_session.ts`). Runs on one session are serialised, because ONNX Runtime Web rejects overlapping
 * runs on a session. float16 inputs are encoded from float32 and float16 or float64 outputs decoded to float32.
 *
 * @module
 */

import * as ort from "npm:onnxruntime-web@1.30.0";
import { createRequire } from "node:module";
import { float16ToFloat32, float32ToFloat16 } from "./float16.ts";
import { getGpu, type GpuContext, GpuUnavailableError } from "../gpu/device.ts";
import {
  runTimeoutMs,
  startThreadedWasm,
  type ThreadedWasm,
  type ThreadedWasmOptions,
  wasmThreads,
  WorkerGoneError,
} from "./threaded_wasm_session.ts";
import { wireBuffer, wireData, type WireTensor } from "./wire_tensor.ts";

/** A dense float32 tensor, row-major, with its dimensions. */
export interface FloatTensor {
  /** `dims.reduce((a, b) => a * b, 1)` values, row-major. */
  data: Float32Array;
  /** The tensor's dimensions, outermost first. */
  dims: readonly number[];
}

/** An integer tensor (token ids, timesteps), row-major, with its dimensions. */
export interface IntTensor {
  /** `dims.reduce((a, b) => a * b, 1)` values, row-major. */
  data: Int32Array | BigInt64Array;
  /** The tensor's dimensions, outermost first. */
  dims: readonly number[];
}

/**
 * A model input: its values are converted to the element type the model declares (float32, float16, int32,
 * int64); integer inputs must hold integers.
 */
export type InputTensor = FloatTensor | IntTensor;

/** Which ONNX Runtime runs a model. */
export type OrtRunner = "wasm" | "webgpu" | "node";

/** A runner, or `"auto"`: the fastest one available here ({@linkcode chooseRunner}). */
export type OrtRunnerChoice = OrtRunner | "auto";

/** The runners {@linkcode createOrtSession} knows. */
export const ORT_RUNNERS: readonly OrtRunner[] = Object.freeze(["wasm", "webgpu", "node"] as const);

/** The values a runner option takes: `"auto"` and the {@linkcode ORT_RUNNERS}. */
export const ORT_RUNNER_CHOICES: readonly OrtRunnerChoice[] = Object.freeze(
  ["auto", "wasm", "webgpu", "node"] as const,
);

/** Environment variable naming the default runner (`auto`, `wasm`, `webgpu` or `node`). */
export const RUNNER_ENV = "DIFFCUT_ORT_RUNNER";

/** An external-data file a model refers to, by the `location` written in the model. */
export interface ExternalDataFile {
  /** The `location` string as written in the model's tensors (a path relative to the model). */
  path: string;
  /** The file's bytes. */
  data: Uint8Array;
}

/** Element type and (possibly symbolic) shape of one model input or output, as the model declares it. */
export interface TensorInfo {
  /** ONNX Runtime's type name: `"float32"`, `"float16"`, `"int64"`, ... */
  type: string;
  /** Declared dimensions; symbolic ones are strings, unknown shapes are `undefined`. */
  shape?: readonly (number | string)[];
}

/** Options of {@linkcode createOrtSession}. */
export interface OrtSessionOptions {
  /**
   * Name of the model in error messages.
   * @default {"model"}
   */
  label?: string;
  /**
   * Which ONNX Runtime runs the model; `"auto"` picks one ({@linkcode chooseRunner}).
   * @default {`$DIFFCUT_ORT_RUNNER`, else "auto"}
   */
  runner?: OrtRunnerChoice;
  /** External-data files the model's tensors refer to (models over 2 GB keep their weights outside). */
  externalData?: readonly ExternalDataFile[];
  /**
   * Path of the model file on disk. The `"node"` runner loads models with external data from here (it resolves
   * their `location`s relative to it) instead of from `modelBytes`.
   */
  modelPath?: string;
}

/**
 * A float output left on the GPU by the `"webgpu"` runner: ONNX Runtime's own buffer on the project's device.
 * Call `dispose()` once the commands reading it have been submitted (the buffer then goes back to ONNX Runtime's
 * pool; the queue keeps earlier reads ordered before any reuse).
 */
export interface DeviceTensor {
  /** The buffer (STORAGE | COPY_SRC usage at least), holding the values row-major from offset 0. */
  buffer: GPUBuffer;
  /** Element type of the values in `buffer`. */
  type: "float32" | "float16";
  /** The device the buffer belongs to (the project's shared device). */
  device: GPUDevice;
  /** The tensor's dimensions, outermost first. */
  dims: readonly number[];
  /** Hands the buffer back; later use of `buffer` is invalid. */
  dispose(): void;
}

/** An ONNX Runtime inference session restricted to float tensors. */
export interface OrtSession {
  /** The model's input names, in declaration order. */
  readonly inputNames: readonly string[];
  /** The model's output names, in declaration order. */
  readonly outputNames: readonly string[];
  /** The runner the session uses. */
  readonly runner: OrtRunner;
  /** Runner `"wasm"`: the threads its runs use now (1 in-process, or after a hung threaded run was redone
   * in-process); undefined for the other runners, whose threads ONNX Runtime picks. */
  readonly threads?: number;
  /** Declared type and shape of an input or output, or `undefined` if the model has no such name. */
  info(name: string): TensorInfo | undefined;
  /**
   * Runs the model.
   *
   * @param feeds One tensor per model input (converted to the declared element type).
   * @param outputNames The outputs to compute (default: all of them).
   * @returns The requested outputs as float32 tensors.
   */
  run(
    feeds: Readonly<Record<string, InputTensor>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, FloatTensor>>;
  /**
   * Runs the model and leaves the requested outputs on the GPU (runner `"webgpu"` only).
   *
   * @param feeds One tensor per model input.
   * @param outputNames The outputs to compute (default: all of them).
   * @returns One {@linkcode DeviceTensor} per requested output, on {@linkcode OrtSession.device}.
   * @throws {TypeError} If the session's runner is not `"webgpu"`, or an output is not float32 or float16.
   */
  runOnDevice(
    feeds: Readonly<Record<string, InputTensor>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, DeviceTensor>>;
  /** The GPU device the session runs on (runner `"webgpu"`: the project's `getGpu().device`), else undefined. */
  readonly device?: GPUDevice;
  /** Frees the session; later calls to `run` throw. */
  dispose(): Promise<void>;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Converts the data of a float tensor, as ONNX Runtime returns it, to float32: float32 as is, float16 from a
 * `Float16Array` or from raw bit patterns in a `Uint16Array` (what ONNX Runtime gives where no `Float16Array`
 * exists), float64 rounded.
 *
 * @param type ONNX Runtime's element type name.
 * @param data The tensor's data.
 * @param what Names the tensor in error messages.
 * @returns The values as a Float32Array (the same array for float32 data).
 * @throws {TypeError} If `type` is not float32, float16 or float64.
 *
 * @example fp16 bit patterns
 * ```ts
 * import { tensorDataToFloat32 } from "./ort_session.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(tensorDataToFloat32("float16", new Uint16Array([0x3c00, 0xb800]))), [1, -0.5]);
 * ```
 */
export function tensorDataToFloat32(type: string, data: unknown, what = "Tensor"): Float32Array {
  switch (type) {
    case "float32":
      return data as Float32Array;
    case "float16":
      if (data instanceof Uint16Array) return float16ToFloat32(data);
      return Float32Array.from(data as ArrayLike<number>); // a Float16Array
    case "float64":
      return Float32Array.from(data as Float64Array);
    default:
      throw new TypeError(`${what} has element type ${type}, expected float32, float16 or float64`);
  }
}

type OrtModule = typeof ort;

/** Specifier of the optional native runner, kept out of the static module graph on purpose. */
const NODE_RUNTIME = "npm:onnxruntime-node@1.30.0";
let webgpuModule: Promise<OrtModule> | undefined;
let nodeModule: Promise<OrtModule> | undefined;

function envRunner(): string | undefined {
  try {
    return Deno.env.get(RUNNER_ENV) || undefined;
  } catch {
    return undefined; // no --allow-env: the default
  }
}

/**
 * Checks a runner name.
 *
 * @param value A runner name, or `undefined` for the default.
 * @param what Names the value in error messages.
 * @returns The runner: `value`, else `$DIFFCUT_ORT_RUNNER`, else `"auto"`.
 * @throws {RangeError} If the name is not one of {@linkcode ORT_RUNNER_CHOICES}.
 *
 * @example
 * ```ts
 * import { resolveRunner } from "./ort_session.ts";
 * import assert from "node:assert/strict";
 * assert.equal(resolveRunner("node"), "node");
 * assert.throws(() => resolveRunner("cuda"), /Runner "cuda" is not supported; expected one of "auto", "wasm", "webgpu", "node"/);
 * ```
 */
export function resolveRunner(value?: string, what = "Runner"): OrtRunnerChoice {
  const runner = value ?? envRunner() ?? "auto";
  if (!(ORT_RUNNER_CHOICES as readonly string[]).includes(runner)) {
    throw new RangeError(
      `${what} "${runner}" is not supported; expected one of ${
        ORT_RUNNER_CHOICES.map((r) => `"${r}"`).join(", ")
      }`,
    );
  }
  return runner as OrtRunnerChoice;
}

/**
 * The narrowest `--allow-ffi` scope that loads onnxruntime-node from the project's `node_modules` (relative to the
 * folder of `deno.json`, where `deno task` runs): the encoding tasks grant `--allow-ffi=` this.
 */
export const NODE_FFI_SCOPE = "node_modules/.deno/onnxruntime-node@1.30.0";

/** The folder of an installed onnxruntime-node in the project's `node_modules` (Deno's layout), if any. */
const NODE_PACKAGE_DIR = `${NODE_FFI_SCOPE}/node_modules/onnxruntime-node/`;

/**
 * Where onnxruntime-node is installed beside this module (a local checkout), else undefined: imported from a
 * registry, not installed, or no read permission for the folder.
 *
 * @returns The package folder (absolute, with a trailing slash), or undefined.
 */
export function installedNodeRuntime(): string | undefined {
  if (!import.meta.url.startsWith("file:")) return undefined;
  const dir = new URL(`../../${NODE_PACKAGE_DIR}`, import.meta.url);
  try {
    if (!Deno.statSync(new URL("package.json", dir)).isFile) return undefined;
    return decodeURIComponent(dir.pathname);
  } catch {
    return undefined;
  }
}

/** Whether the process may load native code from `dir` (`--allow-ffi`, plain or scoped to a folder above it). */
function ffiGranted(dir: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi", path: dir }).state === "granted";
  } catch {
    return false;
  }
}

/** Software rasterisers: ONNX Runtime's WebGPU backend is slower there than its wasm backend. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

/** What {@linkcode chooseRunner} picked, and why not a faster runner (a one-line note, or undefined). */
export interface RunnerChoice {
  /** The runner that runs the model. */
  runner: OrtRunner;
  /** Why a faster runner was not used and how to get it; undefined when the fastest available runs. */
  note?: string;
}

let autoChoice: Promise<RunnerChoice> | undefined;

/**
 * Resolves `"auto"` (once per process): `"webgpu"` on a hardware WebGPU adapter, else `"node"` when onnxruntime-node
 * is installed in the project's `node_modules` and FFI is granted for it, else `"wasm"` with a note saying how to
 * get the native runner. Any other choice is returned as is.
 *
 * @param choice A runner or `"auto"`.
 * @returns The runner, and a note when `"auto"` fell back to `"wasm"`.
 *
 * @example
 * ```ts
 * import { chooseRunner } from "./ort_session.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await chooseRunner("wasm"), { runner: "wasm" });
 * assert.ok(["wasm", "webgpu", "node"].includes((await chooseRunner("auto")).runner));
 * ```
 */
export function chooseRunner(choice: OrtRunnerChoice): Promise<RunnerChoice> {
  if (choice !== "auto") return Promise.resolve({ runner: choice });
  autoChoice ??= (async (): Promise<RunnerChoice> => {
    try {
      const gpu = await getGpu();
      const fallback = (gpu.adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
      if (!fallback && !SOFTWARE_ADAPTER.test(gpu.description)) return { runner: "webgpu" };
    } catch (error) {
      if (!(error instanceof GpuUnavailableError)) throw error;
    }
    const dir = installedNodeRuntime();
    if (dir === undefined) {
      return {
        runner: "wasm",
        note:
          "ONNX Runtime runs on wasm; for the native CPU runner (about 5x faster than wasm on 2 cores, 288 MB) run " +
          "`deno task native-runner` once",
      };
    }
    if (!ffiGranted(dir)) {
      return {
        runner: "wasm",
        note: "ONNX Runtime runs on wasm: onnxruntime-node is installed but FFI is not granted; add " +
          `--allow-ffi=${dir.slice(0, -"node_modules/onnxruntime-node/".length)} for the native CPU runner`,
      };
    }
    return { runner: "node" };
  })();
  return autoChoice;
}

let noted = false;

/** The shared device for the `"webgpu"` runner, with the runner's error message when there is none. */
async function sharedGpu(): Promise<GpuContext> {
  try {
    return await getGpu();
  } catch (error) {
    if (!(error instanceof GpuUnavailableError)) throw error;
    throw new Error(
      `Runner "webgpu" needs a WebGPU adapter, and navigator.gpu gave none (${error.message}); use runner "wasm"`,
      { cause: error },
    );
  }
}

async function runtimeFor(runner: OrtRunner): Promise<OrtModule> {
  if (runner === "wasm") return ort;
  if (runner === "webgpu") {
    webgpuModule ??= import("npm:onnxruntime-web@1.30.0/webgpu") as Promise<OrtModule>;
    return await webgpuModule;
  }
  const installed = installedNodeRuntime();
  // An installed copy is required from its folder: no download and no deno.lock entry (see the module notes).
  nodeModule ??=
    (installed !== undefined && ffiGranted(installed)
      ? Promise.resolve().then(() => createRequire(installed)(installed) as OrtModule)
      : import(NODE_RUNTIME) as Promise<OrtModule>).catch((error) => {
        nodeModule = undefined;
        throw new Error(
          `Runner "node" needs the npm package onnxruntime-node@1.30.0 and --allow-ffi: ${
            (error as Error).message.split("\n")[0]
          }`,
          { cause: error },
        );
      });
  return await nodeModule;
}

function toInputData(
  type: string,
  feed: InputTensor,
  where: string,
): Float32Array | Uint16Array | Int32Array | BigInt64Array {
  const data = feed.data;
  switch (type) {
    case "float32":
      if (data instanceof Float32Array) return data;
      return Float32Array.from(data as ArrayLike<number | bigint>, Number);
    case "float16":
      return float32ToFloat16(
        data instanceof Float32Array ? data : Float32Array.from(data as Int32Array, Number),
      );
    case "int32":
    case "int64": {
      if (data instanceof Float32Array) {
        for (let i = 0; i < data.length; i++) {
          if (!Number.isInteger(data[i])) {
            throw new TypeError(
              `${where} has ${data[i]} at index ${i}; expected integers for an ${type} input`,
            );
          }
        }
      }
      if (type === "int64") {
        return data instanceof BigInt64Array
          ? data
          : BigInt64Array.from(data as Int32Array, (v) => BigInt(v));
      }
      return data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number | bigint>, Number);
    }
    default:
      throw new TypeError(`${where} has element type ${type}, expected float32, float16, int32 or int64`);
  }
}

/**
 * Creates an ONNX Runtime session from the bytes of an `.onnx` model.
 *
 * @param modelBytes The serialised ONNX model.
 * @param options The name used in error messages, the runner, external-data files.
 * @returns A session that takes float32 (or integer) tensors and returns float32 tensors.
 * @throws {Error} If ONNX Runtime cannot load the model (the runtime's message is kept as `cause`), or the runner
 * is unavailable (no WebGPU adapter; `onnxruntime-node` missing or no `--allow-ffi`).
 * @throws {RangeError} If the runner name is unknown.
 *
 * @example Run a one-node model (an `Identity`) built with onnx-proto
 * ```ts
 * import { createOrtSession } from "./ort_session.ts";
 * import p from "npm:onnx-proto@8.0.1";
 * import assert from "node:assert/strict";
 * const { onnx } = p;
 * const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } });
 * const bytes = onnx.ModelProto.encode({
 *   irVersion: 8,
 *   opsetImport: [{ version: 17 }],
 *   graph: { name: "g", node: [{ opType: "Identity", input: ["x"], output: ["y"] }], input: [vi("x")], output: [vi("y")] },
 * }).finish();
 * const session = await createOrtSession(bytes);
 * const { y } = await session.run({ x: { data: new Float32Array([1, 2]), dims: [2] } });
 * assert.deepEqual(Array.from(y.data), [1, 2]);
 * await session.dispose();
 * ```
 */
export async function createOrtSession(
  modelBytes: Uint8Array,
  options: OrtSessionOptions = {},
): Promise<OrtSession> {
  const choice = resolveRunner(options.runner);
  // "auto" never picks "node" for a model with external data that the native runner could not find on disk.
  const chosen = choice === "auto" && options.externalData?.length && !options.modelPath
    ? { runner: "wasm" as const }
    : await chooseRunner(choice);
  const runner = chosen.runner;
  if (chosen.note && !noted) {
    noted = true;
    console.warn(`note: ${chosen.note}`);
  }
  if (runner === "wasm") {
    return await createWasmSession(modelBytes, options, {
      threads: wasmThreads(undefined, modelBytes.length),
    });
  }
  return await createInProcessSession(modelBytes, options, runner);
}

let threadsNoted = false;

/**
 * Creates a session on the `"wasm"` runner: with `threading.threads` threads in a worker under a watchdog
 * ({@linkcode startThreadedWasm}) when that is more than 1 and the model has no external data (those models are
 * huge, and the worker would need a copy), else, or when threads never come up, one thread in-process (with a
 * one-line note, once per process). A run whose worker hangs or dies is run again on one thread in-process.
 *
 * @param modelBytes The serialised ONNX model (kept for that fallback while the session lives).
 * @param options As for {@linkcode createOrtSession}; `runner` is ignored.
 * @param threading Threads, and the watchdog settings (tests shorten them).
 * @returns The session; its `runner` is `"wasm"`.
 * @throws {Error} If ONNX Runtime cannot load the model.
 */
export async function createWasmSession(
  modelBytes: Uint8Array,
  options: OrtSessionOptions,
  threading: ThreadedWasmOptions,
): Promise<OrtSession> {
  const label = options.label ?? "model";
  const single = () => createInProcessSession(modelBytes, options, "wasm");
  if (threading.threads <= 1 || options.externalData?.length) return await single();
  const started = await startThreadedWasm(modelBytes, threading);
  if (started.session) {
    const runTimeout = threading.runTimeoutMs ?? runTimeoutMs(modelBytes.byteLength);
    return threadedOrtSession(started.session, threading.threads, label, runTimeout, single);
  }
  const session = await single(); // a model ONNX Runtime cannot load throws its own error here
  noteThreads(`${started.failure}`);
  return session;
}

function noteThreads(reason: string): void {
  if (threadsNoted) return;
  threadsNoted = true;
  console.warn(`note: ONNX Runtime's wasm threads did not work (${reason}); running on 1 thread`);
}

async function createInProcessSession(
  modelBytes: Uint8Array,
  options: OrtSessionOptions,
  runner: OrtRunner,
): Promise<OrtSession> {
  const label = options.label ?? "model";
  const gpu = runner === "webgpu" ? await sharedGpu() : undefined;
  const runtime = await runtimeFor(runner);
  let session: ort.InferenceSession;
  try {
    if (runner === "node") {
      const sessionOptions = { graphOptimizationLevel: "all", logSeverityLevel: 3 } as const;
      if (options.externalData?.length) {
        if (!options.modelPath) {
          throw new TypeError(
            `Runner "node" loads models with external data from a file; no modelPath was given`,
          );
        }
        session = await runtime.InferenceSession.create(options.modelPath, sessionOptions);
      } else session = await runtime.InferenceSession.create(modelBytes, sessionOptions);
    } else {
      runtime.env.wasm.numThreads = 1;
      session = await runtime.InferenceSession.create(modelBytes, {
        executionProviders: [gpu ? { name: "webgpu", device: gpu.device } : "wasm"],
        ...(gpu ? { preferredOutputLocation: "gpu-buffer" } as const : {}),
        graphOptimizationLevel: "all",
        logSeverityLevel: 3,
        ...(options.externalData?.length
          ? { externalData: options.externalData.map((f) => ({ ...f })) }
          : {}),
      });
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = f16Hint(reason);
    throw new Error(
      `Cannot create an ONNX Runtime session for ${label}${runner === "wasm" ? "" : ` (runner ${runner})`}: ${
        reason.split("\n")[0]
      }${hint}`,
      {
        cause: error,
      },
    );
  }
  const infos = new Map<string, TensorInfo>();
  const metadata = (session as { inputMetadata?: unknown }).inputMetadata
    ? [...session.inputMetadata, ...session.outputMetadata]
    : [];
  for (const meta of metadata) {
    if (meta.isTensor) infos.set(meta.name, { type: meta.type, shape: meta.shape });
    else infos.set(meta.name, { type: "non-tensor" });
  }
  let queue: Promise<unknown> = Promise.resolve();
  let disposed = false;

  async function runOrt(
    feeds: Readonly<Record<string, InputTensor>>,
    outputNames: readonly string[],
  ): Promise<ort.InferenceSession.OnnxValueMapType> {
    if (disposed) throw new Error(`Session of ${label} was disposed; create a new one to run it`);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(checkFeeds(feeds, session.inputNames, infos, label))) {
      ortFeeds[name] = new runtime.Tensor(feed.type as "float32", feed.data as Float32Array, feed.dims);
    }
    checkOutputNames(outputNames, session.outputNames, label);
    try {
      return await session.run(ortFeeds, [...outputNames]);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const hint = f16Hint(reason);
      if (!hint) throw error;
      // ONNX Runtime compiles some kernels only at the first run (e.g. a Cast to float16).
      throw new Error(`Cannot run ${label} (runner ${runner}): ${reason.split("\n")[0]}${hint}`, {
        cause: error,
      });
    }
  }

  async function runNow(
    feeds: Readonly<Record<string, InputTensor>>,
    outputNames: readonly string[],
  ): Promise<Record<string, FloatTensor>> {
    const results = await runOrt(feeds, outputNames);
    try {
      const out: Record<string, FloatTensor> = {};
      for (const name of outputNames) {
        const tensor = results[name];
        // A "gpu-buffer" output (runner webgpu) is downloaded here; a CPU one is returned as is. Either is an
        // array of its own (every runner copies its outputs out of its heap, and dispose() only drops the
        // tensor's reference), so it is handed over without another copy (42 MB per 4,096² Gram).
        const raw = tensor.location === "cpu" ? tensor.data : await tensor.getData();
        const data = tensorDataToFloat32(tensor.type, raw, `Output '${name}' of ${label}`);
        out[name] = { data, dims: tensor.dims.map(Number) };
      }
      return out;
    } finally {
      for (const tensor of Object.values(results)) tensor.dispose?.();
    }
  }

  async function runOnDeviceNow(
    feeds: Readonly<Record<string, InputTensor>>,
    outputNames: readonly string[],
  ): Promise<Record<string, DeviceTensor>> {
    if (!gpu) {
      throw new TypeError(
        `Session of ${label} runs on runner ${runner}; runOnDevice needs runner "webgpu"`,
      );
    }
    const results = await runOrt(feeds, outputNames);
    const out: Record<string, DeviceTensor> = {};
    try {
      for (const name of outputNames) {
        const tensor = results[name];
        if (tensor.type !== "float32" && tensor.type !== "float16") {
          throw new TypeError(
            `Output '${name}' of ${label} has element type ${tensor.type}, expected float32 or float16 on the device`,
          );
        }
        out[name] = deviceTensor(gpu, tensor, `${label}.${name}`);
      }
    } catch (error) {
      for (const t of Object.values(out)) t.dispose();
      throw error;
    } finally {
      // Outputs handed out keep their buffer until their own dispose(); the others are released now.
      for (const [name, tensor] of Object.entries(results)) if (!(name in out)) tensor.dispose?.();
    }
    return out;
  }

  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    runner,
    ...(runner === "wasm" ? { threads: 1 } : {}),
    info: (name) => infos.get(name),
    device: gpu?.device,
    run(feeds, outputNames = session.outputNames) {
      const result = queue.then(() => runNow(feeds, outputNames));
      queue = result.catch(() => undefined);
      return result;
    },
    runOnDevice(feeds, outputNames = session.outputNames) {
      const result = queue.then(() => runOnDeviceNow(feeds, outputNames));
      queue = result.catch(() => undefined);
      return result;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue;
      await session.release();
    },
  };
}

/** A feed converted to the element type the model declares, with that type's name. */
interface TypedFeed {
  type: string;
  data: Float32Array | Uint16Array | Int32Array | BigInt64Array;
  dims: readonly number[];
}

/** Checks feeds against the model's inputs and converts each to its declared element type. */
function checkFeeds(
  feeds: Readonly<Record<string, InputTensor>>,
  inputNames: readonly string[],
  infos: ReadonlyMap<string, TensorInfo>,
  label: string,
): Record<string, TypedFeed> {
  const out: Record<string, TypedFeed> = {};
  for (const name of inputNames) {
    const feed = feeds[name];
    if (feed === undefined) {
      throw new TypeError(
        `Input '${name}' of ${label} is missing; expected a tensor for each of [${inputNames.join(", ")}]`,
      );
    }
    if (feed.data.length !== product(feed.dims)) {
      throw new RangeError(
        `Input '${name}' of ${label} has ${feed.data.length} values for dims [${feed.dims}], expected ${
          product(feed.dims)
        }`,
      );
    }
    const type = infos.get(name)?.type ?? "float32";
    out[name] = { type, data: toInputData(type, feed, `Input '${name}' of ${label}`), dims: feed.dims };
  }
  for (const name of Object.keys(feeds)) {
    if (!inputNames.includes(name)) {
      throw new TypeError(
        `Feed '${name}' is not an input of ${label}; expected one of [${inputNames.join(", ")}]`,
      );
    }
  }
  return out;
}

function checkOutputNames(names: readonly string[], outputNames: readonly string[], label: string): void {
  for (const name of names) {
    if (!outputNames.includes(name)) {
      throw new TypeError(
        `Output '${name}' is not an output of ${label}; expected one of [${outputNames.join(", ")}]`,
      );
    }
  }
}

/**
 * Wraps a session running in ONNX Runtime's worker as an {@linkcode OrtSession}. Feeds are checked and converted
 * here; the worker gets them moved where they are our own copies. If the worker hangs during a run (watchdog
 * `runTimeout`) or dies, the session goes on in-process on one thread (`single`) and the run is repeated there.
 */
function threadedOrtSession(
  threaded: ThreadedWasm,
  threads: number,
  label: string,
  runTimeout: number,
  single: () => Promise<OrtSession>,
): OrtSession {
  let queue: Promise<unknown> = Promise.resolve();
  let disposed = false;
  let fallback: OrtSession | undefined;

  async function runNow(
    feeds: Readonly<Record<string, InputTensor>>,
    outputNames: readonly string[],
  ): Promise<Record<string, FloatTensor>> {
    if (disposed) throw new Error(`Session of ${label} was disposed; create a new one to run it`);
    if (fallback) return await fallback.run(feeds, outputNames);
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (
      const [name, feed] of Object.entries(checkFeeds(feeds, threaded.inputNames, threaded.infos, label))
    ) {
      // A converted copy is ours to move; the caller's own array is copied.
      const buffer = wireBuffer(feed.data, feed.data !== feeds[name].data);
      transfer.push(buffer);
      wire[name] = { type: feed.type, buffer, dims: [...feed.dims] };
    }
    checkOutputNames(outputNames, threaded.outputNames, label);
    let outputs: Record<string, WireTensor>;
    try {
      outputs = await threaded.run(wire, outputNames, transfer, runTimeout);
    } catch (error) {
      if (!(error instanceof WorkerGoneError)) throw error;
      await threaded.dispose();
      fallback = await single();
      noteThreads(error.message);
      return await fallback.run(feeds, outputNames);
    }
    const out: Record<string, FloatTensor> = {};
    for (const name of outputNames) {
      const tensor = outputs[name];
      const what = `Output '${name}' of ${label}`;
      out[name] = { data: tensorDataToFloat32(tensor.type, wireData(tensor), what), dims: tensor.dims };
    }
    return out;
  }

  return {
    inputNames: threaded.inputNames,
    outputNames: threaded.outputNames,
    runner: "wasm",
    get threads() {
      return fallback ? 1 : threads;
    },
    info: (name) => threaded.infos.get(name),
    run(feeds, outputNames = threaded.outputNames) {
      const result = queue.then(() => runNow(feeds, outputNames));
      queue = result.catch(() => undefined);
      return result;
    },
    runOnDevice() {
      return Promise.reject(
        new TypeError(`Session of ${label} runs on runner wasm; runOnDevice needs runner "webgpu"`),
      );
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue;
      await threaded.dispose();
      await fallback?.dispose();
    },
  };
}

/**
 * Wraps an output of the `"webgpu"` runner as a {@linkcode DeviceTensor}: its own GPU buffer when ONNX Runtime left
 * it there, else (an output ONNX Runtime computed on the CPU) a copy uploaded to the shared device.
 */
function deviceTensor(gpu: GpuContext, tensor: ort.Tensor, label: string): DeviceTensor {
  const type = tensor.type as "float32" | "float16";
  const dims = tensor.dims.map(Number);
  if (tensor.location === "gpu-buffer") {
    const buffer = tensor.gpuBuffer as GPUBuffer;
    return { buffer, type, dims, device: gpu.device, dispose: () => tensor.dispose() };
  }
  const data = tensor.data as Float32Array | Uint16Array;
  const buffer = gpu.device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  gpu.device.queue.writeBuffer(buffer, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  tensor.dispose();
  return { buffer, type, dims, device: gpu.device, dispose: () => buffer.destroy() };
}

/** The advice for ONNX Runtime's "requires f16" error (a float16 model on an adapter without shader-f16), or "". */
function f16Hint(reason: string): string {
  return /requires f16 but the device does not support it/.test(reason)
    ? '; the model computes in float16 and this WebGPU adapter lacks shader-f16: use runner "wasm" or "node"'
    : "";
}
