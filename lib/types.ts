/**
 * Shared data types of the DiffCut pipeline. Shapes are row-major, channels last.
 *
 * @module
 */

/** A dense feature map `[height, width, channels]`, row-major, channels last. */
export interface FeatureMap {
  /** `height * width * channels` values; patch `(y, x)` starts at `(y * width + x) * channels`. */
  /** Values, `height·width·channels`. */
  data: Float32Array;
  /** Grid rows. */
  height: number;
  /** Grid columns. */
  width: number;
  /** Channels per patch. */
  channels: number;
}

/** An RGB image with values in [0, 1], `[height, width, 3]`, row-major (HWC). */
export interface ImageRGB {
  /** `height·width·3` values in [0, 1]. */
  data: Float32Array;
  /** Rows (pixels). */
  height: number;
  /** Columns (pixels). */
  width: number;
}

/** A label map `[height, width]`, row-major. */
export interface LabelMap {
  /** `height·width` labels. */
  data: Int32Array;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
}

/** Where a stage runs: WGSL kernels on WebGPU, the plain-TypeScript path, or the faster of the two. */
export type Backend = "auto" | "webgpu" | "cpu";

/** Something that turns an image into a patch feature map (an ONNX network, a colour baseline, ...). */
export interface Encoder {
  /** Stable identifier, e.g. `"isnet"`; recorded in every result. */
  readonly id: string;
  /** Recommended clustering settings for this encoder's features (from its sidecar). */
  readonly defaults: EncoderDefaults;
  /** Computes the feature map of one image. */
  encode(image: ImageRGB): Promise<FeatureMap>;
  /**
   * Computes the features of one image and leaves them on the GPU, in the model's own layout. Present only on
   * encoders that run on the project's shared device (ONNX encoders on the `"webgpu"` runner).
   */
  encodeOnDevice?(image: ImageRGB): Promise<DeviceFeatures>;
  /**
   * The GPU device the encoder runs on (ONNX encoders on the `"webgpu"` runner: the project's shared device at
   * the time the session was created). Lets the segmenter tell that the encoder's session was lost with it.
   */
  readonly device?: GPUDevice;
  /** Frees the runtime session. */
  dispose(): Promise<void>;
}

/** Clustering settings an encoder recommends for its own features. */
export interface EncoderDefaults {
  /** NCut stopping threshold. */
  tau: number;
  /** Affinity exponent. */
  alpha: number;
  /** Keep the affinity diagonal. */
  selfLoops?: boolean;
  /** Smallest segment a split may create, in patches. */
  minSegmentSize?: number;
  /** Cap on the number of segments. */
  maxSegments?: number;
  /**
   * Where the tree is cut: `"tau"` (the paper's rule: split while NCut < τ), `"relative"` (split while
   * NCut < τ · the root split's NCut) or `"min-split"` (τ, with at least one split unless the image is uniform), see
   * `lib/ncut/stop_rule.ts`. Absent: `"tau"`.
   */
  stopRule?: "tau" | "relative" | "min-split";
  /**
   * Patch rings along the grid's border kept out of the partition graph (their features are the encoder's padding
   * artefacts) and labelled afterwards by concept assignment. Absent: 0.
   */
  borderRing?: number;
  /** Side of the square the encoder reads (e.g. 1024). */
  inputSize: number;
}

/**
 * An encoder output left on the GPU (ONNX Runtime's buffer on the shared device), with what is needed to read it
 * as patch rows: the feature grid, the channels and how the tensor lays them out.
 */
export interface DeviceFeatures {
  /** The model output, row-major from offset 0. */
  buffer: GPUBuffer;
  /** The device `buffer` belongs to (the project's shared device, `getGpu().device`). */
  device: GPUDevice;
  /** Element type of the values in `buffer`. */
  dtype: "float32" | "float16";
  /**
   * `"NCHW"`: `[1, C, H, W]` (channels first); `"NHWC"`: `[1, H, W, C]`; `"tokens"`: `[1, prefixTokens + H·W, C]`
   * (channels last, after `prefixTokens` CLS/register tokens).
   */
  layout: "NCHW" | "NHWC" | "tokens";
  /** Grid rows. */
  height: number;
  /** Grid columns. */
  width: number;
  /** Channels per patch. */
  channels: number;
  /** Leading tokens to drop (layout `"tokens"`; 0 otherwise). */
  prefixTokens: number;
  /** Names the output in error messages, e.g. `"Model output 'y' of encoder 'isnet'"`. */
  what: string;
  /** Hands the buffer back to its owner; call once the commands reading it have been submitted. */
  release(): void;
}

/** Patch features on the GPU as float32 rows `[height·width, channels]`, channels last (what the kernels read). */
export interface DeviceFeatureRows {
  /** `height·width·channels` float32 values, row-major. */
  buffer: GPUBuffer;
  /** Grid rows. */
  height: number;
  /** Grid columns. */
  width: number;
  /** Channels per patch. */
  channels: number;
}
