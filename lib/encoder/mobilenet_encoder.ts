/**
 * `"mobilenet-v2"`: a second real pretrained encoder, offline. The network is the Keras MobileNetV2 (α = 1.0)
 * bundled, under the MIT licence, in the npm package [`nsfwjs`](https://www.npmjs.com/package/nsfwjs) 4.4.0
 * (`dist/models/mobilenet_v2`: Keras topology + uint8-quantised weights as base64 in a JS module). Its backbone
 * starts from ImageNet weights and was fine-tuned by the nsfwjs authors on a 5-class image classifier; only the
 * convolutional backbone is used here, the classifier head is dropped. It runs with TensorFlow.js
 * (`@tensorflow/tfjs` layers, WebAssembly backend, one thread; the plain-JS CPU backend is ~13× slower).
 * TensorFlow.js and nsfwjs are optional: they are loaded (and, the first time, downloaded from npm, ~300 MB) only
 * when {@linkcode createMobileNetEncoder} runs, never by importing this module.
 *
 * Choices (measured on the 8 labelled photos of Debian's `labelme-examples`, see `docs/guide.md`):
 * - **Input**: the image stretched to 512×512 (PyTorch-style bilinear), RGB in [0, 1] as nsfwjs feeds it. The
 *   network is fully convolutional up to its pooling head, so the topology's 224×224 input shape is replaced.
 * - **Layer**: `block_13_expand_relu`, the 576-channel expansion (ReLU6) of the first stride-32 block, still at
 *   stride 16, so a 512² input gives a 32×32 grid like ISNet's. Scored with `calibrate`'s protocol (mean
 *   per-image mIoU, no PAMR, best τ/α per layer), it beat `block_12_add` (96 channels) and `block_5_add` (stride
 *   8 at 256²), and came within 2 points of `block_15_add` at 1024² for a quarter of the time (0.33 s against
 *   1.2 s per image). Other layers can be picked with `layer` (see {@linkcode MOBILENET_LAYERS}). A patch whose
 *   576 activations are all 0 (possible after ReLU6, never seen on real photos) gets a tiny constant vector, so
 *   that cosine similarity stays defined.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { resizeImage } from "../image/resize.ts";
import type { Encoder, EncoderDefaults, FeatureMap, ImageRGB } from "../types.ts";
import { checkImage } from "./preprocess.ts";

/** Layers of the bundled MobileNetV2 that make useful patch grids, with their stride and channel count. */
export const MOBILENET_LAYERS: Readonly<Record<string, { stride: number; channels: number }>> = Object.freeze(
  {
    block_5_add: { stride: 8, channels: 32 },
    block_12_add: { stride: 16, channels: 96 },
    block_13_expand_relu: { stride: 16, channels: 576 },
    block_15_add: { stride: 32, channels: 160 },
    block_16_project_BN: { stride: 32, channels: 320 },
  },
);

/** Options of {@linkcode createMobileNetEncoder}. */
export interface MobileNetEncoderOptions {
  /**
   * Layer whose output is the feature map (a key of {@linkcode MOBILENET_LAYERS}).
   * @default {"block_13_expand_relu"}
   */
  layer?: string;
  /**
   * Side of the square the image is stretched to; a multiple of the layer's stride.
   * @default {512}
   */
  inputSize?: number;
  /**
   * TensorFlow.js backend: `"wasm"` (WebAssembly, SIMD when available) or `"cpu"` (plain JS).
   * @default {"wasm"}
   */
  backend?: "wasm" | "cpu";
}

/**
 * Clustering defaults of the MobileNetV2 encoder: the cross-validated choice of `deno task calibrate --encoder
 * mobilenet-v2` on the 9 whole labelme-examples photos (the `relative` rule had the best held-out scores, 25.0
 * leave-one-out and 24.2 leave-one-folder-out; see docs/calibration.md). The former τ 0.1 with the paper's rule
 * cut the grid into crumbs of one or two patches.
 */
export const MOBILENET_ENCODER_DEFAULTS: EncoderDefaults = Object.freeze({
  tau: 1.4,
  alpha: 10,
  selfLoops: true,
  stopRule: "relative",
  borderRing: 1,
  maxSegments: 64,
  inputSize: 512,
});

/**
 * The optional engine, loaded only when a MobileNetV2 encoder is created. The specifiers are not literals in an
 * `import()`, so that Deno's module graph (and a fresh install for the default ISNet path) does not include
 * TensorFlow.js and nsfwjs (~300 MB).
 */
const TFJS = "npm:@tensorflow/tfjs@4.22.0";
const TFJS_WASM = "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
const NSFWJS_MOBILENET = "npm:nsfwjs@4.4.0/models/mobilenet_v2";

/** The few TensorFlow.js types used here, declared locally: even a type-only import would put it in the graph. */
declare namespace Tf {
  interface Tensor {
    readonly shape: number[];
    data(): Promise<ArrayLike<number>>;
    dispose(): void;
  }
  interface LayersModel {
    predict(input: Tensor): Tensor | Tensor[];
    dispose(): void;
  }
  interface WeightsManifestEntry {
    name: string;
    shape: number[];
    dtype: string;
  }
  interface IOHandler {
    load(): Promise<unknown>;
  }
  interface Module {
    env(): { set(flag: string, value: boolean): void };
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    tidy<T>(fn: () => T): T;
    tensor4d(values: Float32Array, shape: [number, number, number, number]): Tensor;
    loadLayersModel(handler: IOHandler, options: { strict: boolean }): Promise<LayersModel>;
    io: {
      fromMemory(
        artifacts: { modelTopology: unknown; weightSpecs: WeightsManifestEntry[]; weightData: ArrayBuffer },
      ): IOHandler;
    };
  }
}

interface Engine {
  tf: Tf.Module;
  MobileNetV2Model: {
    modelJson(): Promise<unknown>;
    weightBundles: (() => Promise<unknown>)[];
  };
}

let engine: Promise<Engine> | undefined;

function loadEngine(): Promise<Engine> {
  engine ??= (async () => {
    const tf = await import(TFJS) as Tf.Module;
    const { MobileNetV2Model } = await import(NSFWJS_MOBILENET) as Pick<Engine, "MobileNetV2Model">;
    return { tf, MobileNetV2Model };
  })().catch((error) => {
    engine = undefined;
    throw new Error(
      `Encoder "mobilenet-v2" needs the npm packages @tensorflow/tfjs@4.22.0 and nsfwjs@4.4.0, loaded on first use: ${
        (error as Error).message.split("\n")[0]
      }`,
      { cause: error },
    );
  });
  return engine;
}

let backendReady: Promise<void> | undefined;
let backendName: string | undefined;

async function ensureBackend(tf: Tf.Module, name: "wasm" | "cpu"): Promise<void> {
  if (backendName !== undefined && backendName !== name) {
    throw new RangeError(
      `TensorFlow.js backend '${backendName}' is already active in this process; got a request for '${name}'`,
    );
  }
  if (!backendReady) {
    backendName = name;
    backendReady = (async () => {
      if (name === "wasm") {
        // The .wasm files sit next to the package's entry point; Deno fetches file: URLs.
        const { setWasmPaths } = await import(TFJS_WASM) as { setWasmPaths(prefix: string): void };
        const entry = import.meta.resolve(TFJS_WASM);
        setWasmPaths(new URL("./", entry).href);
        tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      }
      if (!(await tf.setBackend(name))) {
        throw new Error(`TensorFlow.js backend '${name}' failed to initialise`);
      }
      await tf.ready();
    })();
  }
  await backendReady;
}

type ModelJson = {
  modelTopology: {
    model_config: { config: { layers: { name: string; config: Record<string, unknown> }[] } };
  };
  weightsManifest: { paths: string[]; weights: Tf.WeightsManifestEntry[] }[];
};

/**
 * Loads the bundled network cut after `layer`, with a `size × size` input.
 *
 * @param layer Output layer name.
 * @param size Input side.
 * @returns A TensorFlow.js layers model mapping `[1, size, size, 3]` to `[1, size/stride, size/stride, C]`.
 */
async function loadTruncatedModel(layer: string, size: number): Promise<Tf.LayersModel> {
  const { tf, MobileNetV2Model } = await loadEngine();
  const jsonModule = await MobileNetV2Model.modelJson() as { default: ModelJson };
  const json: ModelJson = structuredClone(jsonModule.default);
  const config = json.modelTopology.model_config.config as {
    layers: { name: string; config: Record<string, unknown> }[];
    output_layers?: unknown;
  };
  const cut = config.layers.findIndex((l) => l.name === layer);
  config.layers[0].config.batch_input_shape = [null, size, size, 3];
  config.layers.splice(cut + 1);
  config.output_layers = [[layer, 0, 0]];
  const chunks: Uint8Array[] = [];
  for (const load of MobileNetV2Model.weightBundles) {
    const base64 = (await load() as { default: string }).default;
    chunks.push(Buffer.from(base64, "base64"));
  }
  const weightData = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    weightData.set(c, offset);
    offset += c.length;
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  // strict: false, because the weights of the dropped classifier head have no layer to go to.
  return await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer }),
    { strict: false },
  );
}

/**
 * Replaces all-zero patch vectors by a tiny constant vector (1e-6 per channel), in place.
 *
 * @param data Channels-last features.
 * @param channels Channels per patch.
 * @returns How many patches were replaced.
 *
 * @example
 * ```ts
 * import { fillZeroPatches } from "./mobilenet_encoder.ts";
 * import assert from "node:assert/strict";
 * const data = new Float32Array([0, 0, 1, 2]);
 * assert.equal(fillZeroPatches(data, 2), 1);
 * assert.deepEqual(Array.from(data), [1e-6, 1e-6, 1, 2].map(Math.fround));
 * ```
 */
export function fillZeroPatches(data: Float32Array, channels: number): number {
  let replaced = 0;
  for (let o = 0; o < data.length; o += channels) {
    let zero = true;
    for (let k = 0; k < channels && zero; k++) zero = data[o + k] === 0;
    if (zero) {
      data.fill(1e-6, o, o + channels);
      replaced++;
    }
  }
  return replaced;
}

/**
 * Creates the `"mobilenet-v2"` encoder (see the module notes for the network, input and layer).
 *
 * @param options Layer, input size and backend.
 * @returns An encoder with id `"mobilenet-v2"` (or `"mobilenet-v2:<layer>@<size>"` when not the default).
 * @throws {RangeError} On an unknown layer, an input size that is not a positive multiple of the layer's stride,
 * or a request for a backend other than the one already active in the process.
 *
 * @example
 * ```ts ignore
 * import { createMobileNetEncoder } from "./mobilenet_encoder.ts";
 * const encoder = await createMobileNetEncoder();
 * const map = await encoder.encode({ height: 64, width: 64, data: new Float32Array(64 * 64 * 3).fill(0.5) });
 * // map: 32×32×576
 * await encoder.dispose();
 * ```
 */
export async function createMobileNetEncoder(options: MobileNetEncoderOptions = {}): Promise<Encoder> {
  const layer = options.layer ?? "block_13_expand_relu";
  const size = options.inputSize ?? 512;
  const info = MOBILENET_LAYERS[layer];
  if (!info) {
    throw new RangeError(
      `Unknown MobileNetV2 layer '${layer}'; expected one of ${Object.keys(MOBILENET_LAYERS).join(", ")}`,
    );
  }
  if (!Number.isInteger(size) || size < info.stride || size % info.stride !== 0) {
    throw new RangeError(
      `Invalid MobileNetV2 input size ${size}: expected a positive multiple of ${info.stride} (layer ${layer})`,
    );
  }
  const { tf } = await loadEngine();
  await ensureBackend(tf, options.backend ?? "wasm");
  let model: Tf.LayersModel | undefined = await loadTruncatedModel(layer, size);
  const isDefault = layer === "block_13_expand_relu" && size === 512;
  const grid = size / info.stride;
  return {
    id: isDefault ? "mobilenet-v2" : `mobilenet-v2:${layer}@${size}`,
    defaults: { ...MOBILENET_ENCODER_DEFAULTS, inputSize: size },
    encode(image: ImageRGB): Promise<FeatureMap> {
      return Promise.resolve().then(async () => {
        if (!model) throw new Error("MobileNetV2 encoder was disposed");
        checkImage(image);
        const resized = image.height === size && image.width === size
          ? image
          : resizeImage(image, size, size);
        const out = tf.tidy(() => model!.predict(tf.tensor4d(resized.data, [1, size, size, 3])) as Tf.Tensor);
        try {
          const [, h, w, c] = out.shape;
          if (h !== grid || w !== grid || c !== info.channels) {
            throw new TypeError(
              `MobileNetV2 ${layer} gave shape [${out.shape}], expected [1, ${grid}, ${grid}, ${info.channels}]`,
            );
          }
          const data = new Float32Array(await out.data());
          if (!data.every(Number.isFinite)) {
            throw new RangeError(`MobileNetV2 ${layer} produced NaN or Infinity`);
          }
          fillZeroPatches(data, info.channels);
          return { data, height: grid, width: grid, channels: info.channels };
        } finally {
          out.dispose();
        }
      });
    },
    dispose(): Promise<void> {
      model?.dispose();
      model = undefined;
      return Promise.resolve();
    },
  };
}
