/**
 * Shared data types of the DiffCut pipeline. Shapes are row-major, channels last.
 *
 * @module
 */

/** A dense feature map `[height, width, channels]`, row-major, channels last. */
export interface FeatureMap {
  /** `height * width * channels` values; patch `(y, x)` starts at `(y * width + x) * channels`. */
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/** An RGB image with values in [0, 1], `[height, width, 3]`, row-major (HWC). */
export interface ImageRGB {
  data: Float32Array;
  height: number;
  width: number;
}

/** A label map `[height, width]`, row-major. */
export interface LabelMap {
  data: Int32Array;
  height: number;
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
  tau: number;
  alpha: number;
  selfLoops?: boolean;
  minSegmentSize?: number;
  maxSegments?: number;
  /** Side of the square the encoder reads (e.g. 1024). */
  inputSize: number;
}
