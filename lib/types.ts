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
  /** Side of the square the encoder reads (e.g. 1024). */
  inputSize: number;
}
