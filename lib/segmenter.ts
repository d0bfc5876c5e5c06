/**
 * `createSegmenter`: the whole DiffCut pipeline behind one object (encoder → affinity → partition tree → cut →
 * concept assignment → PAMR), in the style of a `pipeline()` factory. Defaults for τ, α and the guards come from
 * the encoder's sidecar, because they depend on the backbone (REFERENCE.md §2.4).
 *
 * @module
 */
import { checkAlpha } from "./affinity/affinity.ts";
import { startPamrThreads } from "./pamr/pamr_simd.ts";
import { kernelThreads } from "./wasm/row_team.ts";
import { loadEncoder, type LoadEncoderOptions } from "./encoder/load_encoder.ts";
import { checkBackend, noticeCpuFallback, recordStageRuns, type StageRun } from "./gpu/backend.ts";
import { getGpu, GpuDeviceLostError, GpuUnavailableError } from "./gpu/device.ts";
import { resizeImage, resizeLabelsNearestExact } from "./image/resize.ts";
import { checkTau, checkTreeOptions, type PartitionTree } from "./ncut/partition_tree.ts";
import { checkSegments, SEGMENTS_TAU_MAX } from "./ncut/cut_segments.ts";
import { checkStopRule, type StopRule, treeTauMax } from "./ncut/stop_rule.ts";
import { runDeviceRoute } from "./pipeline/device_route.ts";
import { runHostRoute } from "./pipeline/host_route.ts";
import type { LabelledSegment } from "./openvocab/clip_labeller.ts";
import { DEFAULT_OPEN_VOCAB_MODEL, loadOpenVocab, type OpenVocab } from "./openvocab/open_vocab.ts";
import type { RouteInput } from "./pipeline/route.ts";
import { refinePamr } from "./stages.ts";
import type { Backend, Encoder, FeatureMap, ImageRGB } from "./types.ts";
import { rankLabels } from "./rank_labels.ts";

/** Options of {@linkcode createSegmenter}. Unset clustering options come from the encoder's sidecar. */
export interface SegmenterOptions {
  /** Encoder id (`"isnet"`, `"rgb-grid"`), a sidecar path, or an {@linkcode Encoder}. @default "isnet" */
  encoder?: string | Encoder;
  /**
   * How to load an encoder given by id or path: ONNX Runtime runner, input size, diffusion timestep and noise seed
   * (see {@linkcode LoadEncoderOptions}); refused with an {@linkcode Encoder} object.
   */
  encoderOptions?: LoadEncoderOptions;
  /** NCut stopping threshold. @default the encoder's (ISNet: see models/isnet.json) */
  tau?: number;
  /**
   * Cut the tree at the τ that gives this many segments (or the nearest count the tree allows) instead of at
   * `tau`: the tree is built lowest-NCut-first up to K segments, and `result.tau` is the τ used. Not with `tau`.
   * @default undefined (cut at τ)
   */
  segments?: number;
  /**
   * How τ reads: `"tau"` (the paper's rule: split while NCut < τ), `"relative"` (split while NCut < τ · the
   * root split's NCut) or `"min-split"` (τ, with at least one split unless the image is uniform); see
   * `lib/ncut/stop_rule.ts`. @default the encoder's (ISNet: `"relative"`), else `"tau"`;
   * always `"tau"` with `compat: "reference"` unless given
   */
  stopRule?: StopRule;
  /**
   * Patch rings along the grid's border kept out of the partition graph and labelled afterwards by concept
   * assignment (`lib/pipeline/border_ring.ts`): no thin strips along the image's edges from an encoder's padding.
   * With a ring, the features come back to the host (the device route is not taken). @default the encoder's
   * (ISNet: 2), else 0; always 0 with `compat: "reference"` unless given
   */
  borderRing?: number;
  /**
   * `"kway"` improves the recursive cut's K segments with the discrete K-way normalized cut (`kwayNcut`, same K,
   * started from the cut, never worse on the NCut objective); `result.ncut` then holds both objectives. The
   * features are brought to the host for it. @default "recursive"
   */
  solver?: "recursive" | "kway";
  /** Affinity exponent. @default the encoder's */
  alpha?: number;
  /** PAMR refinement + 3×3 median after concept assignment. @default true */
  refine?: boolean;
  /** Long side (pixels) of the working resolution for concept assignment and PAMR; labels are then resized
   * (nearest) to the input size. @default 512 (never above the input's own long side) */
  outputSize?: number;
  /** Keep self-loops in the affinity. @default the encoder's, else true */
  selfLoops?: boolean;
  /** Smallest segment in patches. @default the encoder's, else 1 */
  minSegmentSize?: number;
  /** Cap on the number of segments. @default the encoder's, else none */
  maxSegments?: number;
  /** `"reference"` reproduces the reference's exact-zero node dropping. @default "default" */
  compat?: "default" | "reference";
  /** Where clustering and refinement run. @default "auto" */
  backend?: Backend;
  /**
   * With `backend: "webgpu"` and an encoder that runs on the shared device (ONNX Runtime's `"webgpu"` runner), the
   * features stay on the GPU from the encoder to the labels; this copies them back for `result.features` (in the
   * same host wait as the affinity's range, no extra one). With `false` nothing but the tree stage's per-level
   * records and the labels comes back, and reading `result.features` throws. No effect on other paths.
   * @default true
   */
  hostFeatures?: boolean;
  /**
   * Encoder for the CPU fallback, used when the GPU device an encoder on ONNX Runtime's `"webgpu"` runner lives on
   * is lost (or the GPU becomes unavailable) during `segment`: the image is then redone with it on backend
   * `"cpu"`, after a one-line notice, and so are later images. An encoder object or a function that loads one
   * (called once, on the first loss); `dispose()` frees it. By default an encoder given by id or path is loaded
   * again on runner `"wasm"` with the same `encoderOptions`; an {@linkcode Encoder} object has no default
   * fallback, so the loss is thrown as a `GpuDeviceLostError`.
   */
  fallbackEncoder?: Encoder | (() => Promise<Encoder>);
  /**
   * Class names for open-vocabulary labels (the paper's Table 4): each segment is labelled with one of them by a
   * CLIP (`openVocab`) into `result.segmentLabels`. Synonyms of one class are separated by commas
   * (`"sofa, couch"`). @default undefined (no labels)
   */
  labels?: readonly string[];
  /**
   * The CLIP for `labels`: a registry id or sidecar path with an `openVocab` section, or a loaded
   * {@linkcode OpenVocab} (not disposed by the segmenter). @default "convnext-clip"
   */
  openVocab?: string | OpenVocab;
  /** How to load an `openVocab` given by id or path (runner, the trunk's input size, cache folder). */
  openVocabOptions?: LoadEncoderOptions;
}

/** Per-stage wall-clock milliseconds of one `segment` call. */
export interface SegmentTimings {
  /** Encoder forward pass (including its preprocessing). */
  encode: number;
  /** Affinity matrix (0 when the encoder output stays on the device: the affinity then runs in the tree's first
   * submission and is counted in `tree`). */
  affinity: number;
  /** Partition tree (eigen-solves and split searches). */
  tree: number;
  /** Cutting the tree at τ. */
  cut: number;
  /** Concept assignment at the working resolution. */
  assign: number;
  /** PAMR + median (0 when off). */
  refine: number;
  /** The whole call. */
  total: number;
}

/** Result of `segmenter.segment(image)`. */
export interface SegmentationResult {
  /** Labels `0..K−1` at the input's size (row-major). */
  labels: Int32Array;
  /** Input rows. */
  height: number;
  /** Input columns. */
  width: number;
  /** Number of segments K. */
  segments: number;
  /** Pixels per segment at the input's size. */
  segmentSizes: number[];
  /** Labels on the feature grid (before upsampling), numbered like the reference. */
  gridLabels: Int32Array;
  /** The partition tree (cut it at other τ ≤ tau with `cutTree`). */
  tree: PartitionTree;
  /** The encoder's feature map. */
  features: FeatureMap;
  /** Id of the encoder used. */
  encoderId: string;
  /** τ used. */
  tau: number;
  /** α used. */
  alpha: number;
  /** Whether PAMR ran. */
  refine: boolean;
  /** Every setting used (sidecar defaults and overrides resolved). */
  settings: ResolvedSegmenterOptions;
  /** Working resolution of assignment and PAMR. */
  workSize: { height: number; width: number };
  /** Per-stage milliseconds. */
  timings: SegmentTimings;
  /** Remarks (tiny segments, degenerate features, a GPU loss that sent the image to the CPU path …). */
  notes: string[];
  /**
   * With `solver: "kway"` and more than one segment: the NCut objective (`Σ cut/vol` over K) of the recursive cut's
   * partition and of the K-way solver's, the sweeps it made and where the K-way stage ran.
   */
  ncut?: { k: number; recursive: number; kway: number; iterations: number; moves: number };
  /**
   * Where each stage actually ran, in order (`settings.backend` is what was asked for): a `"webgpu"` request
   * without an adapter runs on `"cpu"`, with the reason in `fallback` and in `notes`.
   */
  stageRuns: StageRun[];
  /**
   * Whether the features stayed on the GPU from the encoder to the labels (`backend: "webgpu"` with an encoder on
   * ONNX Runtime's `"webgpu"` runner).
   */
  featuresOnDevice: boolean;
  /** With `labels`: the label of each segment `0..K−1`, in order (class index, name, score, logit). */
  segmentLabels?: LabelledSegment[];
}

/** A ready-to-use pipeline; call `dispose()` when done to free the encoder. */
export interface Segmenter {
  /** The encoder this segmenter runs. */
  readonly encoder: Encoder;
  /** The resolved options (sidecar defaults filled in). */
  readonly options: Readonly<ResolvedSegmenterOptions>;
  /** Segments one image, optionally overriding τ, α or refinement. */
  segment(
    image: ImageRGB,
    overrides?: Partial<
      Pick<SegmenterOptions, "tau" | "segments" | "stopRule" | "alpha" | "refine" | "maxSegments">
    >,
  ): Promise<SegmentationResult>;
  /** Frees the encoder (and the CPU fallback's, if one was loaded). */
  dispose(): Promise<void>;
}

/** Segmenter options after defaults are applied (see {@linkcode SegmenterOptions}). */
export interface ResolvedSegmenterOptions {
  /** NCut stopping threshold. */
  tau: number;
  /** Wanted number of segments (cut at the τ that gives it), or undefined to cut at `tau`. */
  segments: number | undefined;
  /** How τ reads. */
  stopRule: StopRule;
  /** Border patch rings kept out of the graph. */
  borderRing: number;
  /** Partition solver. */
  solver: "recursive" | "kway";
  /** Affinity exponent. */
  alpha: number;
  /** PAMR on or off. */
  refine: boolean;
  /** Long side of the working resolution. */
  outputSize: number;
  /** Keep the affinity diagonal. */
  selfLoops: boolean;
  /** Smallest segment, in patches. */
  minSegmentSize: number;
  /** Segment cap. */
  maxSegments: number | undefined;
  /** Compatibility mode. */
  compat: "default" | "reference";
  /** Backend. */
  backend: Backend;
  /** Copy device-resident features back for `result.features`. */
  hostFeatures: boolean;
}

/**
 * Creates a DiffCut segmenter.
 *
 * @param options See {@linkcode SegmenterOptions}.
 * @returns A segmenter bound to one encoder.
 * @throws {RangeError} On invalid τ, α or sizes, or an unknown encoder id.
 *
 * @example
 * ```ts
 * import { createSegmenter } from "./segmenter.ts";
 * const seg = await createSegmenter({ encoder: "rgb-grid", refine: false });
 * const image = { height: 64, width: 64, data: new Float32Array(64 * 64 * 3) };
 * for (let i = 0; i < 64 * 64; i++) image.data.set(i % 64 < 32 ? [0.9, 0.1, 0.1] : [0.1, 0.2, 0.9], i * 3);
 * const result = await seg.segment(image);
 * if (result.segments !== 2) throw new Error(`expected 2 segments, got ${result.segments}`);
 * await seg.dispose();
 * ```
 */
export async function createSegmenter(options: SegmenterOptions = {}): Promise<Segmenter> {
  if (typeof options.encoder === "object" && options.encoderOptions) {
    throw new TypeError("Option encoderOptions applies to an encoder id or path, not to an Encoder object");
  }
  checkSegmenterOptions(options); // before the encoder loads: a bad value fails in milliseconds, not seconds
  if (options.labels?.length === 0) throw new RangeError("Option labels needs at least one class name");
  const encoder = typeof options.encoder === "object"
    ? options.encoder
    : await loadEncoder(options.encoder ?? "isnet", options.encoderOptions);
  const d = encoder.defaults;
  const resolved: ResolvedSegmenterOptions = Object.freeze({
    tau: options.tau ?? d.tau,
    segments: options.segments,
    stopRule: options.stopRule ?? (options.compat === "reference" ? "tau" : d.stopRule ?? "tau"),
    borderRing: options.borderRing ?? (options.compat === "reference" ? 0 : d.borderRing ?? 0),
    solver: options.solver ?? "recursive",
    alpha: options.alpha ?? d.alpha,
    refine: options.refine ?? true,
    outputSize: options.outputSize ?? 512,
    selfLoops: options.selfLoops ?? d.selfLoops ?? true,
    minSegmentSize: options.minSegmentSize ?? d.minSegmentSize ?? 1,
    maxSegments: options.maxSegments ?? d.maxSegments,
    compat: options.compat ?? "default",
    backend: options.backend ?? "auto",
    hostFeatures: options.hostFeatures ?? true,
  });
  checkSegmenterOptions({ ...resolved, tau: resolved.segments === undefined ? resolved.tau : undefined });
  kernelThreads(); // a bad DIFFCUT_KERNEL_THREADS is reported now, before any image is encoded
  // PAMR's CPU helpers start now and are up when the first image gets there (they cost nothing while idle).
  if (resolved.refine && resolved.backend !== "webgpu") startPamrThreads();
  const givenFallback = options.fallbackEncoder;
  const loadFallback: (() => Promise<Encoder>) | undefined = typeof givenFallback === "function"
    ? givenFallback
    : givenFallback
    ? () => Promise.resolve(givenFallback)
    : typeof options.encoder === "object"
    ? undefined
    : () =>
      loadEncoder(options.encoder as string | undefined ?? "isnet", {
        ...options.encoderOptions,
        runner: "wasm",
      });
  if (encoder.device) watchLoss(encoder.device);
  const classNames = options.labels;
  let openVocab: OpenVocab | undefined;
  if (classNames) {
    try {
      openVocab = typeof options.openVocab === "object"
        ? options.openVocab
        : await loadOpenVocab(options.openVocab ?? DEFAULT_OPEN_VOCAB_MODEL, options.openVocabOptions);
    } catch (error) {
      if (typeof options.encoder !== "object") await encoder.dispose();
      throw error;
    }
  }
  const withLabels = async (image: ImageRGB, result: SegmentationResult): Promise<SegmentationResult> => {
    if (!openVocab || !classNames) return result;
    const map = { data: result.labels, height: result.height, width: result.width };
    return { ...result, segmentLabels: await openVocab.label(image, map, classNames) };
  };
  // Set once the GPU was lost under this segmenter: every later image runs on the host encoder + CPU path.
  let fallback: Promise<Encoder> | undefined;
  const segment = async (image: ImageRGB, o: ResolvedSegmenterOptions): Promise<SegmentationResult> => {
    if (!fallback) {
      try {
        return await segmentImage(encoder, o, image);
      } catch (error) {
        const lost = usesSharedDevice(encoder) ? await gpuLossReason(error, encoder.device) : null;
        if (lost === null) throw error;
        if (!loadFallback) {
          throw new GpuDeviceLostError(
            `${lost}, and encoder '${encoder.id}' ran on it; pass fallbackEncoder to createSegmenter to complete on the CPU path`,
            { cause: error },
          );
        }
        noticeCpuFallback("encoder", lost);
        if (!fallback) {
          fallback = loadFallback();
          fallback.catch(() => fallback = undefined); // a failed load is tried again on the next image
        }
      }
    }
    const result = await segmentImage(await fallback!, { ...o, backend: "cpu" }, image);
    result.notes.unshift("The WebGPU device was lost: this image ran on the host encoder and the CPU path");
    return result;
  };
  return {
    encoder,
    options: resolved,
    segment: (image, overrides = {}) => {
      try {
        checkSegmenterOptions(overrides);
      } catch (error) {
        return Promise.reject(error); // a bad override rejects like every other failure of segment()
      }
      // A τ given alone replaces a `segments` of the segmenter (and the other way round).
      const cut = overrides.segments === undefined && overrides.tau !== undefined
        ? { segments: undefined }
        : {};
      return segment(image, { ...resolved, ...cut, ...stripUndefined(overrides) }).then((r) =>
        withLabels(image, r)
      );
    },
    async dispose() {
      try {
        await encoder.dispose();
      } finally {
        const host = fallback && await fallback.catch(() => undefined);
        if (host && host !== encoder) await host.dispose();
        if (openVocab && typeof options.openVocab !== "object") await openVocab.dispose();
      }
    },
  };
}

/**
 * Checks the clustering options that are set (τ, α, working size, self-loops, guards, compat, backend), so that a
 * caller can refuse bad settings before any encoder loads or image is read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSegmenterOptions } from "./segmenter.ts";
 * checkSegmenterOptions({ tau: 0.2, maxSegments: 8 });
 * assert.throws(() => checkSegmenterOptions({ minSegmentSize: -3 }), /Invalid minSegmentSize -3/);
 * ```
 *
 * @param options Options as given (unset ones are not checked).
 * @throws {RangeError} Naming the option and the value received.
 */
export function checkSegmenterOptions(
  options: Pick<
    SegmenterOptions,
    | "tau"
    | "segments"
    | "stopRule"
    | "borderRing"
    | "solver"
    | "alpha"
    | "outputSize"
    | "selfLoops"
    | "minSegmentSize"
    | "maxSegments"
    | "compat"
    | "backend"
  >,
): void {
  if (options.tau !== undefined) checkTau(options.tau);
  if (options.stopRule !== undefined) checkStopRule(options.stopRule);
  const ring = options.borderRing;
  if (ring !== undefined && (!Number.isInteger(ring) || ring < 0)) {
    throw new RangeError(`Invalid borderRing ${ring}: expected an integer >= 0`);
  }
  if (options.segments !== undefined) {
    checkSegments(options.segments);
    if (options.tau !== undefined) {
      throw new RangeError(
        `Options tau (${options.tau}) and segments (${options.segments}) both given; expected one of them`,
      );
    }
  }
  if (options.alpha !== undefined) checkAlpha(options.alpha);
  if (options.solver !== undefined && options.solver !== "recursive" && options.solver !== "kway") {
    throw new RangeError(`Invalid solver ${JSON.stringify(options.solver)}: expected "recursive" or "kway"`);
  }
  const size = options.outputSize;
  if (size !== undefined && (!Number.isInteger(size) || size < 1)) {
    throw new RangeError(`Invalid outputSize ${size}: expected a positive integer`);
  }
  checkTreeOptions({
    selfLoops: options.selfLoops,
    minSegmentSize: options.minSegmentSize,
    maxSegments: options.maxSegments,
    compat: options.compat,
  });
  checkBackend(options.backend);
}

/** Devices whose loss has been reported (`device.lost` resolved). */
const lostDevices = new WeakSet<GPUDevice>();
const watchedDevices = new WeakSet<GPUDevice>();

function watchLoss(device: GPUDevice): void {
  if (watchedDevices.has(device)) return;
  watchedDevices.add(device);
  device.lost.then(() => lostDevices.add(device));
}

/** How long a failure on the device path waits for `device.lost` before it counts as an ordinary error. */
const LOSS_GRACE_MS = 100;

/** Whether the encoder runs (ONNX Runtime) on the shared GPU device, so that losing the device loses it too. */
function usesSharedDevice(encoder: Encoder): boolean {
  return encoder.encodeOnDevice !== undefined || encoder.device !== undefined;
}

/**
 * Why `error` means the GPU became unusable, or null when it does not. `device.lost` resolves a task or more after
 * `destroy()` or a driver reset, and ONNX Runtime (or a kernel) may already have failed on the dead device with an
 * unrelated message ("Buffer with '' label is invalid"): so an error is a loss when it is a
 * {@linkcode GpuUnavailableError}, or when the device turns out lost within {@linkcode LOSS_GRACE_MS}.
 */
async function gpuLossReason(error: unknown, device: GPUDevice | undefined): Promise<string | null> {
  if (error instanceof GpuUnavailableError) return error.message.split("\n")[0];
  if (!device) {
    try {
      device = (await getGpu()).device;
    } catch {
      return null;
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const info = await Promise.race([
    device.lost,
    new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), LOSS_GRACE_MS)),
  ]);
  clearTimeout(timer);
  return info ? `GPU device lost (${[info.reason, info.message].filter(Boolean).join(": ")})` : null;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** {@linkcode segmentStages} with the record of where each stage ran, and a note for each fallback. */
async function segmentImage(
  encoder: Encoder,
  o: ResolvedSegmenterOptions,
  image: ImageRGB,
): Promise<SegmentationResult> {
  const { value: result, runs } = await recordStageRuns(() => segmentStages(encoder, o, image));
  result.stageRuns = runs;
  const fellBack = runs.filter((r) => r.fallback !== undefined);
  if (fellBack.length > 0) {
    result.notes.unshift(
      `WebGPU was asked for but ${fellBack.map((r) => r.stage).join(", ")} ran on the CPU path (${
        fellBack[0].fallback
      })`,
    );
  }
  return result;
}

async function segmentStages(
  encoder: Encoder,
  o: ResolvedSegmenterOptions,
  image: ImageRGB,
): Promise<SegmentationResult> {
  checkTau(o.tau);
  checkAlpha(o.alpha);
  if (!(image.height >= 2 && image.width >= 2)) {
    throw new RangeError(`Image is ${image.width}×${image.height}; expected at least 2×2 pixels to segment`);
  }
  const work = workingSize(image, o.outputSize);
  let resized: ImageRGB | undefined;
  const input: RouteInput = {
    encoder,
    image,
    tau: o.tau,
    segments: o.segments,
    stopRule: o.stopRule,
    borderRing: o.borderRing,
    tree: {
      alpha: o.alpha,
      // `segments: K`: every split is a candidate, and the tree is built lowest-NCut-first up to K segments.
      tauMax: o.segments !== undefined ? SEGMENTS_TAU_MAX : treeTauMax(o.stopRule, o.tau),
      // The relative rule reads the tree only below τ · NCut(root): the CPU path stops there.
      rootRatio: o.segments === undefined && o.stopRule === "relative" ? o.tau : undefined,
      selfLoops: o.selfLoops,
      minSegmentSize: o.minSegmentSize,
      maxSegments: o.segments ?? o.maxSegments,
      compat: o.compat,
      backend: o.backend,
    },
    work,
    workImage: () =>
      resized ??= work.height === image.height && work.width === image.width
        ? image
        : resizeImage(image, work.height, work.width),
    // With backend "webgpu", assignment and PAMR run in one submission (one host wait instead of two).
    fused: o.backend === "webgpu" && o.refine,
    refineAhead: o.backend !== "webgpu" && o.refine,
    hostFeatures: o.hostFeatures,
    solver: o.solver,
  };
  // The one place the route is chosen: features stay on the GPU only with backend "webgpu" and an encoder that
  // runs on the shared device.
  const onDevice = o.backend === "webgpu" && encoder.encodeOnDevice !== undefined && o.solver !== "kway" &&
    o.borderRing === 0;
  if (!onDevice && encoder.device !== undefined && lostDevices.has(encoder.device)) {
    throw new GpuDeviceLostError(`GPU device of encoder '${encoder.id}' was lost`);
  }
  const t0 = performance.now();
  const route = onDevice ? await runDeviceRoute(input) : await runHostRoute(input);
  const { features, tree, cut, ms } = route;
  let labels = route.labels;
  const t4 = performance.now();
  if (o.refine && cut.segments > 1 && !route.refined) {
    labels = await refinePamr(input.workImage(), labels, { backend: o.backend });
  }
  const t5 = performance.now();
  if (work.height !== image.height || work.width !== image.width) {
    labels = resizeLabelsNearestExact({ data: labels, ...work }, image.height, image.width).data;
  }
  const { compact, sizes } = compactLabels(labels);
  const t6 = performance.now();
  const result: SegmentationResult = {
    labels: compact,
    height: image.height,
    width: image.width,
    segments: sizes.length,
    segmentSizes: sizes,
    gridLabels: cut.labels,
    tree,
    features: features!,
    encoderId: encoder.id,
    tau: cut.tau,
    alpha: o.alpha,
    refine: o.refine,
    settings: cut.tau === o.tau ? o : { ...o, tau: cut.tau },
    workSize: work,
    timings: {
      encode: ms.encode,
      affinity: ms.affinity,
      tree: ms.tree,
      cut: ms.cut,
      // Fused assignment + PAMR is reported under `refine` (its assignment share is not timed apart).
      assign: route.refined ? 0 : ms.assign,
      refine: (route.refined ? ms.assign : 0) + t5 - t4,
      total: t6 - t0,
    },
    notes: [...tree.notes, ...cut.notes, ...oneSegmentNote(sizes.length, o)],
    stageRuns: [],
    featuresOnDevice: onDevice,
    ...(route.kway
      ? {
        ncut: {
          k: route.kway.k,
          recursive: route.kway.initialObjective,
          kway: route.kway.objective,
          iterations: route.kway.iterations,
          moves: route.kway.moves,
        },
      }
      : {}),
  };
  if (!features) {
    Object.defineProperty(result, "features", {
      enumerable: false,
      get() {
        throw new Error(
          "Features stayed on the GPU (hostFeatures: false), so result.features is not available; create the segmenter with hostFeatures: true to read them back",
        );
      },
    });
  }
  return result;
}

/** A hint when a cut at τ left the image in one piece. */
function oneSegmentNote(segments: number, o: ResolvedSegmenterOptions): string[] {
  if (segments !== 1 || o.segments !== undefined) return [];
  return [
    `The result is one segment at tau ${o.tau}; try segments: K (--segments K) for K segments, or a larger tau`,
  ];
}

/** The working resolution: the input's aspect ratio with its long side at most `outputSize`. */
export function workingSize(
  image: { height: number; width: number },
  outputSize: number,
): { height: number; width: number } {
  const long = Math.max(image.height, image.width);
  if (long <= outputSize) return { height: image.height, width: image.width };
  const s = outputSize / long;
  return {
    height: Math.max(1, Math.round(image.height * s)),
    width: Math.max(1, Math.round(image.width * s)),
  };
}

/** Renumbers labels to 0..K−1 in ascending order of the original values (like `torch.unique`). */
export function compactLabels(labels: Int32Array): { compact: Int32Array; sizes: number[] } {
  const { values, ranks } = rankLabels(labels);
  const sizes = new Array(values.length).fill(0);
  for (let i = 0; i < ranks.length; i++) sizes[ranks[i]]++;
  return { compact: ranks, sizes };
}
