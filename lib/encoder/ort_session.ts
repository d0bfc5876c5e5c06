/**
 * The one module that talks to ONNX Runtime (`onnxruntime-web`, wasm backend). Everything else in the project sees
 * {@linkcode OrtSession}: float32 tensors in, float32 tensors out, whatever precision the model uses inside.
 *
 * Notes: the wasm backend runs on one thread: more give no speed-up on the project's machines (see
 * `docs/ENVIRONMENT.md`), and with 2 threads a Deno 2.9.6 process running ISNet exits silently during its first run. Runs on one session are serialised, because ONNX Runtime Web rejects overlapping runs on a
 * session. float16 inputs are encoded from float32 and float16 or float64 outputs decoded to float32.
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import { float16ToFloat32, float32ToFloat16 } from "./float16.ts";

/** A dense float32 tensor, row-major, with its dimensions. */
export interface FloatTensor {
  /** `dims.reduce((a, b) => a * b, 1)` values, row-major. */
  data: Float32Array;
  /** The tensor's dimensions, outermost first. */
  dims: readonly number[];
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
}

/** An ONNX Runtime inference session restricted to float tensors. */
export interface OrtSession {
  /** The model's input names, in declaration order. */
  readonly inputNames: readonly string[];
  /** The model's output names, in declaration order. */
  readonly outputNames: readonly string[];
  /** Declared type and shape of an input or output, or `undefined` if the model has no such name. */
  info(name: string): TensorInfo | undefined;
  /**
   * Runs the model.
   *
   * @param feeds One float32 tensor per model input.
   * @param outputNames The outputs to compute (default: all of them).
   * @returns The requested outputs as float32 tensors.
   */
  run(
    feeds: Readonly<Record<string, FloatTensor>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, FloatTensor>>;
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

/**
 * Creates a wasm-backend ONNX Runtime session from the bytes of an `.onnx` model.
 *
 * @param modelBytes The serialised ONNX model.
 * @param options The name used in error messages.
 * @returns A session that takes and returns float32 tensors.
 * @throws {Error} If ONNX Runtime cannot load the model (the runtime's message is kept as `cause`).
 *
 * @example Run a one-node model (an `Identity`) built with onnx-proto
 * ```ts
 * import { createOrtSession } from "./ort_session.ts";
 * import p from "onnx-proto";
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
  const label = options.label ?? "model";
  ort.env.wasm.numThreads = 1;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelBytes, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot create an ONNX Runtime session for ${label}: ${reason.split("\n")[0]}`, {
      cause: error,
    });
  }
  const infos = new Map<string, TensorInfo>();
  for (const meta of [...session.inputMetadata, ...session.outputMetadata]) {
    if (meta.isTensor) infos.set(meta.name, { type: meta.type, shape: meta.shape });
    else infos.set(meta.name, { type: "non-tensor" });
  }
  let queue: Promise<unknown> = Promise.resolve();
  let disposed = false;

  async function runNow(
    feeds: Readonly<Record<string, FloatTensor>>,
    outputNames: readonly string[],
  ): Promise<Record<string, FloatTensor>> {
    if (disposed) throw new Error(`Session of ${label} was disposed; create a new one to run it`);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) {
      const feed = feeds[name];
      if (feed === undefined) {
        throw new TypeError(
          `Input '${name}' of ${label} is missing; expected a tensor for each of [${
            session.inputNames.join(", ")
          }]`,
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
      if (type === "float32") ortFeeds[name] = new ort.Tensor("float32", feed.data, feed.dims);
      else if (type === "float16") {
        ortFeeds[name] = new ort.Tensor("float16", float32ToFloat16(feed.data), feed.dims);
      } else {throw new TypeError(
          `Input '${name}' of ${label} has element type ${type}, expected float32 or float16`,
        );}
    }
    for (const name of Object.keys(feeds)) {
      if (!session.inputNames.includes(name)) {
        throw new TypeError(
          `Feed '${name}' is not an input of ${label}; expected one of [${session.inputNames.join(", ")}]`,
        );
      }
    }
    for (const name of outputNames) {
      if (!session.outputNames.includes(name)) {
        throw new TypeError(
          `Output '${name}' is not an output of ${label}; expected one of [${
            session.outputNames.join(", ")
          }]`,
        );
      }
    }
    const results = await session.run(ortFeeds, [...outputNames]);
    const out: Record<string, FloatTensor> = {};
    for (const name of outputNames) {
      const tensor = results[name];
      const data = tensorDataToFloat32(tensor.type, tensor.data, `Output '${name}' of ${label}`);
      out[name] = { data, dims: tensor.dims.map(Number) };
    }
    for (const tensor of Object.values(results)) tensor.dispose();
    return out;
  }

  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    info: (name) => infos.get(name),
    run(feeds, outputNames = session.outputNames) {
      const result = queue.then(() => runNow(feeds, outputNames));
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
