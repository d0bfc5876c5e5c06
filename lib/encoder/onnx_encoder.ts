/**
 * An {@linkcode Encoder} backed by an ONNX model and its sidecar: preprocess (stretch to the input size, normalise),
 * run, check the output's shape and values, and return the feature map channels last.
 *
 * @module
 */

import type { DeviceFeatures, Encoder, EncoderDefaults, FeatureMap, ImageRGB } from "../types.ts";
import {
  createOrtSession,
  type DeviceTensor,
  type ExternalDataFile,
  type FloatTensor,
  type OrtRunner,
  type OrtRunnerChoice,
} from "../onnx/ort_session.ts";
import { preprocessImage } from "./preprocess.ts";
import type { EncoderSidecar, SidecarOutput } from "./sidecar.ts";

/** An encoder that runs an ONNX model described by a sidecar. */
export interface OnnxEncoder extends Encoder {
  /** The sidecar the encoder was made from (stand-in label, licence, source, ...). */
  readonly sidecar: EncoderSidecar;
  /** The ONNX Runtime runner its session uses. */
  readonly runner: OrtRunner;
  /** Runner `"wasm"`: how many threads its session runs on (see `OrtSession.threads`). */
  readonly threads?: number;
}

/**
 * The dims a sidecar's output section expects.
 *
 * @param output The sidecar's `output` section.
 * @returns `[1, C, g, g]`, `[1, g, g, C]` or `[1, prefixTokens + g * g, C]` by layout.
 *
 * @example
 * ```ts
 * import { expectedOutputDims } from "./onnx_encoder.ts";
 * import assert from "node:assert/strict";
 * const dims = expectedOutputDims({ name: "y", layout: "NCHW", channels: 512, grid: 32, prefixTokens: 0 });
 * assert.deepEqual(dims, [1, 512, 32, 32]);
 * ```
 */
export function expectedOutputDims(output: SidecarOutput): number[] {
  const { channels: c, grid: g } = output;
  switch (output.layout) {
    case "NCHW":
      return [1, c, g, g];
    case "NHWC":
      return [1, g, g, c];
    case "tokens":
      return [1, output.prefixTokens + g * g, c];
  }
}

/**
 * Checks a model output against the sidecar and converts it to a channels-last feature map.
 *
 * @param tensor The model output.
 * @param sidecar The encoder's sidecar (its `id` and `output` section are used).
 * @returns The `[grid, grid, channels]` feature map.
 * @throws {TypeError} If the output's dims differ from {@linkcode expectedOutputDims}.
 * @throws {RangeError} If the output holds NaN or ±Infinity.
 *
 * @example An NCHW output `[1, 2, 1, 2]` becomes HWC
 * ```ts
 * import { outputToFeatureMap } from "./onnx_encoder.ts";
 * import assert from "node:assert/strict";
 * const sidecar = { id: "t", output: { name: "y", layout: "NCHW", channels: 2, grid: 1, prefixTokens: 0 } } as const;
 * const map = outputToFeatureMap({ data: new Float32Array([1, 2]), dims: [1, 2, 1, 1] }, sidecar);
 * assert.deepEqual(Array.from(map.data), [1, 2]);
 * ```
 */
export function outputToFeatureMap(
  tensor: FloatTensor,
  sidecar: Pick<EncoderSidecar, "id"> & { output: SidecarOutput },
): FeatureMap {
  const { output } = sidecar;
  const expected = expectedOutputDims(output);
  if (tensor.dims.length !== expected.length || tensor.dims.some((d, i) => d !== expected[i])) {
    throw new TypeError(
      `Model output '${output.name}' of encoder '${sidecar.id}' has shape [${
        tensor.dims.join(",")
      }], expected [${expected.join(",")}]`,
    );
  }
  const src = tensor.data;
  const bad = firstNonFinite(src);
  if (bad >= 0) {
    throw new RangeError(
      `Model output '${output.name}' of encoder '${sidecar.id}' has ${
        src[bad]
      } at index ${bad}; expected finite features`,
    );
  }
  const { channels, grid } = output;
  const pixels = grid * grid;
  let data: Float32Array;
  if (output.layout === "NCHW") {
    data = new Float32Array(pixels * channels);
    // Transposed in 32×32 tiles: column by column, every write strides `channels` floats (10 ms at 512×1024).
    const T = 32;
    for (let c0 = 0; c0 < channels; c0 += T) {
      for (let p0 = 0; p0 < pixels; p0 += T) {
        transposeTile(
          src,
          data,
          pixels,
          channels,
          p0,
          Math.min(pixels, p0 + T),
          c0,
          Math.min(channels, c0 + T),
        );
      }
    }
  } else {
    const skip = output.layout === "tokens" ? output.prefixTokens * channels : 0;
    data = src.slice(skip, skip + pixels * channels);
  }
  return { data, height: grid, width: grid, channels };
}

/**
 * The index of the first NaN or ±Infinity, or −1: a sum of `0·v` over blocks of 4,096 values finds whether a block
 * has one (`0·v` is NaN exactly for those), and only such a block is searched value by value.
 */
function firstNonFinite(src: Float32Array): number {
  for (let from = 0; from < src.length; from += 4096) {
    const to = Math.min(src.length, from + 4096);
    if (Number.isNaN(zeroProbe(src, from, to))) {
      for (let i = from; i < to; i++) if (!Number.isFinite(src[i])) return i;
    }
  }
  return -1;
}

function zeroProbe(src: Float32Array, from: number, to: number): number {
  let probe = 0;
  for (let i = from; i < to; i++) probe += 0 * src[i];
  return probe;
}

/** `data[p·channels + c] = src[c·pixels + p]` over one tile (a function per tile, which V8 optimises after a few
 * hundred calls; as the inner loops of a function called once per image they deoptimised at every row's end). */
function transposeTile(
  src: Float32Array,
  data: Float32Array,
  pixels: number,
  channels: number,
  p0: number,
  p1: number,
  c0: number,
  c1: number,
): void {
  for (let p = p0; p < p1; p++) {
    const o = p * channels;
    for (let c = c0; c < c1; c++) data[o + c] = src[c * pixels + p];
  }
}

/** Options of {@linkcode createOnnxEncoder}. */
export interface OnnxEncoderOptions {
  /** ONNX Runtime runner, or `"auto"` (chooseRunner). @default {`$DIFFCUT_ORT_RUNNER`, else "auto"} */
  runner?: OrtRunnerChoice;
  /**
   * Side of the square input; other than `input.size` only for sidecars with `input.resizable` (the grid is then
   * `floor(size / output.patchSize)`).
   * @default {the sidecar's input.size}
   */
  inputSize?: number;
  /** External-data files of the model. */
  externalData?: readonly ExternalDataFile[];
  /** Path of the model file (the `"node"` runner loads models with external data from it). */
  modelPath?: string;
}

/**
 * A sidecar resized to another input size: `input.size` and `output.grid` (= `floor(size / patchSize)`) changed.
 *
 * @param sidecar The sidecar.
 * @param inputSize The new side.
 * @returns The sidecar itself if the size is unchanged, else a resized copy.
 * @throws {RangeError} If the sidecar is not resizable, or the size is not a positive integer of at least one
 * patch.
 *
 * @example DINOv2 at 448: a 32×32 grid of 14-pixel patches
 * ```ts
 * import { resizeSidecar } from "./onnx_encoder.ts";
 * import { readSidecar } from "./sidecar.ts";
 * import assert from "node:assert/strict";
 * const sidecar = await readSidecar(new URL("../../models/dinov2-large.json", import.meta.url).pathname);
 * assert.equal(resizeSidecar(sidecar, 448).output.grid, 32);
 * ```
 */
export function resizeSidecar(sidecar: EncoderSidecar, inputSize: number): EncoderSidecar {
  if (inputSize === sidecar.input.size) return sidecar;
  if (!sidecar.input.resizable || !sidecar.output.patchSize) {
    throw new RangeError(
      `Encoder '${sidecar.id}' takes only ${sidecar.input.size}² inputs (its sidecar is not resizable), got ${inputSize}`,
    );
  }
  const patch = sidecar.output.patchSize;
  if (!Number.isInteger(inputSize) || inputSize < patch) {
    throw new RangeError(
      `Input size of encoder '${sidecar.id}' must be an integer of at least ${patch}, got ${inputSize}`,
    );
  }
  return {
    ...sidecar,
    input: { ...sidecar.input, size: inputSize },
    output: { ...sidecar.output, grid: Math.floor(inputSize / patch) },
    defaults: { ...sidecar.defaults, inputSize },
  };
}

/**
 * Creates an encoder from a sidecar and the bytes of its ONNX model (runner `auto` by default; on wasm, threads for
 * models of 16 MB and up).
 *
 * @param sidecar The validated sidecar (see `readSidecar` / `parseSidecar`).
 * @param modelBytes The serialised ONNX model.
 * @param options Runner, input size (resizable sidecars), external data.
 * @returns An encoder whose `encode` stretches an image to `input.size`², runs the model and returns the
 * `grid × grid × channels` feature map of `output.name`.
 * @throws {Error} If ONNX Runtime cannot load the model.
 * @throws {TypeError} If the model lacks the sidecar's input or output name, or needs inputs the sidecar does not
 * describe.
 *
 * @example A 4×4 average pool as a 3-channel "encoder" on a 16×16 input
 * ```ts
 * import { createOnnxEncoder } from "./onnx_encoder.ts";
 * import { parseSidecar } from "./sidecar.ts";
 * import p from "npm:onnx-proto@8.0.1";
 * import assert from "node:assert/strict";
 * const { onnx } = p;
 * const ints = (name: string, v: number[]) => ({ name, ints: v, type: onnx.AttributeProto.AttributeType.INTS });
 * const model = onnx.ModelProto.encode({
 *   irVersion: 8,
 *   opsetImport: [{ version: 17 }],
 *   graph: {
 *     name: "pool",
 *     node: [{ opType: "AveragePool", input: ["x"], output: ["y"], attribute: [ints("kernel_shape", [4, 4]), ints("strides", [4, 4])] }],
 *     input: [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: [1, 3, 16, 16].map((d) => ({ dimValue: d })) } } } }],
 *     output: [{ name: "y", type: { tensorType: { elemType: 1 } } }],
 *   },
 * }).finish();
 * const sidecar = parseSidecar({
 *   id: "pool", name: "Pool", description: "4x4 average pool", licence: "MIT", source: { kind: "file" },
 *   model: "pool.onnx", standIn: false,
 *   input: { name: "x", size: 16, layout: "NCHW", channelOrder: "RGB", normalisation: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } },
 *   output: { name: "y", layout: "NCHW", channels: 3, grid: 4 },
 *   defaults: { tau: 0.5, alpha: 10 },
 * }, "pool.json");
 * const encoder = await createOnnxEncoder(sidecar, model);
 * const map = await encoder.encode({ height: 16, width: 16, data: new Float32Array(16 * 16 * 3).fill(0.25) });
 * assert.deepEqual([map.height, map.width, map.channels, map.data[0]], [4, 4, 3, 0.25]);
 * await encoder.dispose();
 * ```
 */
export async function createOnnxEncoder(
  sidecar: EncoderSidecar,
  modelBytes: Uint8Array,
  options: OnnxEncoderOptions = {},
): Promise<OnnxEncoder> {
  sidecar = resizeSidecar(sidecar, options.inputSize ?? sidecar.input.size);
  const session = await createOrtSession(modelBytes, {
    label: `encoder '${sidecar.id}'`,
    runner: options.runner,
    externalData: options.externalData,
    modelPath: options.modelPath,
  });
  const { input, output } = sidecar;
  try {
    if (!session.inputNames.includes(input.name)) {
      throw new TypeError(
        `Model of encoder '${sidecar.id}' has no input '${input.name}'; expected one of [${
          session.inputNames.join(", ")
        }]`,
      );
    }
    const others = session.inputNames.filter((name) => name !== input.name);
    if (others.length > 0) {
      throw new TypeError(
        `Model of encoder '${sidecar.id}' needs inputs [${
          others.join(", ")
        }] besides '${input.name}'; expected only the image input`,
      );
    }
    if (!session.outputNames.includes(output.name)) {
      throw new TypeError(
        `Model of encoder '${sidecar.id}' has no output '${output.name}'; expected one of [${
          session.outputNames.join(", ")
        }]`,
      );
    }
  } catch (error) {
    await session.dispose();
    throw error;
  }
  const defaults: EncoderDefaults = Object.freeze({ ...sidecar.defaults });
  const encoder: OnnxEncoder = {
    id: sidecar.id,
    defaults,
    sidecar,
    runner: session.runner,
    get threads() {
      return session.threads;
    },
    ...(session.device ? { device: session.device } : {}),
    async encode(image: ImageRGB): Promise<FeatureMap> {
      const tensor = preprocessImage(image, input);
      const result = await session.run({ [input.name]: tensor }, [output.name]);
      return outputToFeatureMap(result[output.name], sidecar);
    },
    dispose: () => session.dispose(),
  };
  if (session.runner === "webgpu") {
    encoder.encodeOnDevice = async (image: ImageRGB): Promise<DeviceFeatures> => {
      const tensor = preprocessImage(image, input);
      const result = await session.runOnDevice({ [input.name]: tensor }, [output.name]);
      return outputToDeviceFeatures(result[output.name], sidecar);
    };
  }
  return encoder;
}

/**
 * Checks a model output left on the GPU against the sidecar and describes its layout (the values are checked for
 * NaN/±Inf by the layout kernel, `shaders/encoder/feature_rows.wgsl`).
 *
 * @param tensor The output on the device.
 * @param sidecar The encoder's sidecar (its `id` and `output` section are used).
 * @returns The output as {@linkcode DeviceFeatures}; `release()` disposes the tensor.
 * @throws {TypeError} If the output's dims differ from {@linkcode expectedOutputDims} (the tensor is disposed).
 */
export function outputToDeviceFeatures(
  tensor: DeviceTensor,
  sidecar: Pick<EncoderSidecar, "id"> & { output: SidecarOutput },
): DeviceFeatures {
  const { output } = sidecar;
  const expected = expectedOutputDims(output);
  if (tensor.dims.length !== expected.length || tensor.dims.some((d, i) => d !== expected[i])) {
    tensor.dispose();
    throw new TypeError(
      `Model output '${output.name}' of encoder '${sidecar.id}' has shape [${
        tensor.dims.join(",")
      }], expected [${expected.join(",")}]`,
    );
  }
  return {
    buffer: tensor.buffer,
    device: tensor.device,
    dtype: tensor.type,
    layout: output.layout,
    height: output.grid,
    width: output.grid,
    channels: output.channels,
    prefixTokens: output.layout === "tokens" ? output.prefixTokens : 0,
    what: `Model output '${output.name}' of encoder '${sidecar.id}'`,
    release: () => tensor.dispose(),
  };
}
