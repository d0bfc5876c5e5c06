/**
 * WebGPU path of the patch affinity `W = minmax(F̂ F̂ᵀ)^α` (reference: affinity.ts).
 *
 * Three kernels in one submission: row L2-normalisation (`shaders/features/normalize_rows.wgsl`), the
 * register-tiled cosine Gram matrix fused with the global min/max (`cosine_gram.wgsl`: 16 × 8·WG tiles over the
 * upper triangle, mirrored), and min-max + power α in place (`minmax_power.wgsl`). Arithmetic is float32 throughout (the
 * reference accumulates dot products in float64), so values agree to a few float32 ulps of the cosine, amplified
 * α times by the power.
 *
 * Exact zeros (REFERENCE.md §10): an entry is 0 exactly when its IEEE float32 power would round to 0, decided by
 * a rule on the min-max value `t` (`t ≤ zeroBelow(α)`, computed on the host with the CPU path's arithmetic), so a
 * device that flushes subnormals neither adds nor drops exact zeros; rows holding one are flagged.
 *
 * A matrix above the device's storage binding limit (128 MiB on llvmpipe: n > 5792) is refused with a
 * RangeError; `backend: "auto"` then uses the CPU path.
 *
 * @module
 */
import type { DeviceFeatureRows, DeviceFeatures, FeatureMap } from "../types.ts";
import { powInt } from "./affinity.ts";
import { ConstantAffinityError } from "./constant_affinity_error.ts";
import { type GpuContext, withErrorScope } from "../gpu/device.ts";
import { destroyAll, storageBuffer, submitAndRead, uniformBuffer, uploadBuffer } from "../gpu/buffers.ts";
import { dispatch, getKernel, grid2d, groupsFor } from "../gpu/kernel.ts";
import { checkFeatureRowStatus } from "../encoder/feature_rows.ts";
import {
  createNormalizeRowsKernel,
  type NormalizeRowsKernel,
  paddedChannels as padded,
} from "../features/normalize_rows_gpu.ts";
import {
  createFeatureRowsKernel,
  encodeFeatureRows,
  type FeatureRowsOnDevice,
} from "../encoder/feature_rows_gpu.ts";

/** Options of the GPU affinity. */
export interface AffinityGpuOptions {
  /** Affinity exponent (≥ 1). @default 10 */
  alpha?: number;
  /** Keep the diagonal. @default true */
  selfLoops?: boolean;
  /** Gram workgroup width WG: a workgroup computes a 16 × 8·WG output tile. @default 16 */
  tile?: number;
}

/** Device-resident affinity, as the tree stage consumes it. */
export interface AffinityOnDevice {
  /** `n·n` float32 affinity. */
  w: GPUBuffer;
  /** `[minKey, maxKey]` of the cosine (order-preserving u32 keys). */
  minmax: GPUBuffer;
  /** Per-row u32 flag: the row holds an exact zero. */
  zeroRows: GPUBuffer;
  /** Matrix order. */
  n: number;
  /** Frees the buffers. */
  destroy(): void;
}

/** Rows of one Gram tile (fixed in `cosine_gram.wgsl`). */
export const GRAM_TILE_ROWS = 16;

/** A compiled Gram kernel. */
export interface CosineGramKernel {
  /** Output columns per workgroup tile (8·WG). */
  colSpan: number;
  /**
   * Records the dispatch.
   * @param pass Open compute pass.
   * @param io `unit` rows in; `gram` (n·n) and `minmax` (2 keys, pre-set to [max u32, 0]) out.
   * @param params Sizes (`c` unpadded).
   */
  encode(
    pass: GPUComputePassEncoder,
    io: { unit: GPUBuffer; gram: GPUBuffer; minmax: GPUBuffer },
    params: { n: number; c: number },
  ): void;
}

/**
 * Origins `(row0, col0)` of the Gram tiles covering the upper triangle of an `n×n` matrix: 16-row blocks, each
 * swept from its own first row to the last column in steps of `colSpan` (so no tile lies wholly below the
 * diagonal, and every pair j ≥ i is in exactly one tile).
 *
 * @param n Matrix order.
 * @param colSpan Tile width.
 * @returns Interleaved origins.
 */
export function gramTiles(n: number, colSpan: number): Uint32Array {
  const origins: number[] = [];
  for (let row0 = 0; row0 < n; row0 += GRAM_TILE_ROWS) {
    for (let col0 = row0; col0 < n; col0 += colSpan) origins.push(row0, col0);
  }
  return Uint32Array.from(origins);
}

/**
 * Compiles `shaders/affinity/cosine_gram.wgsl` once per workgroup width.
 *
 * @param ctx Device context.
 * @param tile Workgroup width WG: a tile is 16 rows × 8·WG columns. @default 16
 * @returns The kernel.
 * @throws {RangeError} On a bad width.
 */
export async function createCosineGramKernel(ctx: GpuContext, tile = 16): Promise<CosineGramKernel> {
  if (!Number.isInteger(tile) || tile < 1 || tile > ctx.device.limits.maxComputeInvocationsPerWorkgroup) {
    throw new RangeError(
      `Invalid tile ${tile}: expected an integer from 1 to the device's invocations limit`,
    );
  }
  const kernel = await getKernel(ctx.device, {
    stage: "affinity",
    kernel: "cosine_gram",
    overrides: { WG: tile },
  });
  const colSpan = 8 * tile;
  return {
    colSpan,
    encode(pass, io, { n, c }) {
      const origins = gramTiles(n, colSpan);
      const tiles = uploadBuffer(ctx, "affinity.cosine_gram.tiles", origins);
      const params = uniformBuffer(ctx, "affinity.cosine_gram.params", [["u32", n], ["u32", padded(c)]]);
      dispatch(
        ctx.device,
        pass,
        kernel,
        [io.unit, io.gram, io.minmax, tiles, params],
        grid2d(origins.length / 2, ctx),
      );
    },
  };
}

/** A compiled min-max + power kernel. */
export interface MinMaxPowerKernel {
  /**
   * Records the dispatch.
   * @param pass Open compute pass.
   * @param io `w` (Gram in, affinity out), `minmax` keys, `zeroRows` flags (zeroed).
   * @param params Order, exponent, diagonal.
   */
  encode(
    pass: GPUComputePassEncoder,
    io: { w: GPUBuffer; minmax: GPUBuffer; zeroRows: GPUBuffer },
    params: { n: number; alpha: number; selfLoops: boolean },
  ): void;
}

/**
 * Compiles `shaders/affinity/minmax_power.wgsl` once.
 *
 * @param ctx Device context.
 * @returns The kernel.
 */
export async function createMinMaxPowerKernel(ctx: GpuContext): Promise<MinMaxPowerKernel> {
  const wg = 256;
  const kernel = await getKernel(ctx.device, {
    stage: "affinity",
    kernel: "minmax_power",
    overrides: { WORKGROUP_SIZE: wg },
  });
  return {
    encode(pass, io, { n, alpha, selfLoops }) {
      const integer = Number.isInteger(alpha) && alpha <= 0xffffffff;
      const params = uniformBuffer(ctx, "affinity.minmax_power.params", [
        ["u32", n],
        ["u32", integer ? alpha : 0],
        ["f32", Math.fround(alpha)],
        ["f32", zeroBelow(alpha)],
        ["u32", selfLoops ? 1 : 0],
      ]);
      // x: columns, y: rows (n ≤ 5792 rows fit the 65535 workgroups per dimension).
      dispatch(ctx.device, pass, kernel, [io.w, io.minmax, io.zeroRows, params], [groupsFor(n, wg), n]);
    },
  };
}

/**
 * Largest float32 `t ∈ [0, 1]` whose power `t^α` rounds to exactly 0 in IEEE float32 with the CPU path's
 * arithmetic (power by squaring in float64 for integer α, `Math.pow` otherwise, then rounding): the reference's
 * exact-zero rule expressed on the min-max value.
 *
 * @param alpha Exponent ≥ 1.
 * @returns The threshold (a float32 value).
 *
 * @example
 * ```ts
 * import { zeroBelow } from "./affinity_gpu.ts";
 * const t = zeroBelow(10);
 * if (!(Math.fround(t ** 10) === 0 && Math.fround(Math.fround(t * (1 + 2 ** -20)) ** 10) > 0)) throw new Error();
 * ```
 */
export function zeroBelow(alpha: number): number {
  const integer = Number.isInteger(alpha);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  const isZero = (b: number) => {
    bits[0] = b;
    const t = f[0];
    return Math.fround(integer ? powInt(t, alpha) : Math.pow(t, alpha)) === 0;
  };
  let lo = 0; // isZero(0) holds for α ≥ 1
  let hi = 0x3f800000; // 1.0: not zero
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (isZero(mid)) lo = mid;
    else hi = mid;
  }
  bits[0] = lo;
  return f[0];
}

/**
 * Why an `n×n` affinity does not fit the device, or null.
 *
 * @param ctx Device context.
 * @param n Patches.
 * @param c Channels.
 * @returns A one-line reason, or null when it fits.
 */
export function affinityGpuUnfit(ctx: GpuContext, n: number, c: number): string | null {
  const limit = ctx.device.limits.maxStorageBufferBindingSize;
  const bytes = n * n * 4;
  if (bytes > limit) {
    return `Affinity of ${n}×${n} patches needs ${
      (bytes / 2 ** 20).toFixed(1)
    } MiB, above the device's storage ` +
      `binding limit of ${(limit / 2 ** 20).toFixed(0)} MiB (at most ${
        Math.floor(Math.sqrt(limit / 4))
      } patches); use backend "cpu"`;
  }
  if (n * padded(c) * 4 > limit) {
    return `Features of ${n}×${c} exceed the device's storage binding limit of ${
      (limit / 2 ** 20).toFixed(0)
    } MiB; use backend "cpu"`;
  }
  return null;
}

/** All three kernels, compiled once per device. */
export interface AffinityKernels {
  /** Row normalisation. */
  normalize: NormalizeRowsKernel;
  /** Gram + min/max. */
  gram: CosineGramKernel;
  /** Min-max + power. */
  power: MinMaxPowerKernel;
}

/**
 * Compiles the affinity kernels.
 *
 * @param ctx Device context.
 * @param tile Gram workgroup width (a tile is 16 rows × 8·tile columns). @default 16
 * @returns The kernels.
 */
export async function createAffinityKernels(ctx: GpuContext, tile = 16): Promise<AffinityKernels> {
  const [normalize, gram, power] = await Promise.all([
    createNormalizeRowsKernel(ctx),
    createCosineGramKernel(ctx, tile),
    createMinMaxPowerKernel(ctx),
  ]);
  return { normalize, gram, power };
}

/**
 * Records the whole affinity on `encoder` and returns the device buffers (nothing is submitted).
 *
 * @param ctx Device context.
 * @param kernels From {@linkcode createAffinityKernels}.
 * @param encoder Command encoder to record into.
 * @param features Feature map (validated by the caller), or float32 rows already on the device (not freed by
 * `destroy()`).
 * @param options Exponent and diagonal.
 * @returns Device-resident affinity.
 * @throws {RangeError} When the matrix exceeds the device's binding limit.
 */
export function encodeAffinity(
  ctx: GpuContext,
  kernels: AffinityKernels,
  encoder: GPUCommandEncoder,
  features: FeatureMap | DeviceFeatureRows,
  options: { alpha: number; selfLoops: boolean },
): AffinityOnDevice {
  const n = features.height * features.width;
  const c = features.channels;
  const unfit = affinityGpuUnfit(ctx, n, c);
  if (unfit) throw new RangeError(unfit);
  // Rows already on the device (an encoder output, see feature_rows_gpu.ts) are read in place and left alone.
  const onDevice = "buffer" in features;
  const input = onDevice
    ? features.buffer
    : uploadBuffer(ctx, "affinity.normalize_rows.features", features.data);
  const unit = storageBuffer(ctx, "affinity.normalize_rows.unit", n * padded(c) * 4);
  const w = storageBuffer(ctx, "affinity.cosine_gram.w", n * n * 4);
  const minmax = uploadBuffer(ctx, "affinity.cosine_gram.minmax", new Uint32Array([0xffffffff, 0]));
  const zeroRows = storageBuffer(ctx, "affinity.minmax_power.zero_rows", n * 4);
  const pass = encoder.beginComputePass({ label: "affinity.pass" });
  kernels.normalize.encode(pass, { features: input, unit }, { n, c });
  kernels.gram.encode(pass, { unit, gram: w, minmax }, { n, c });
  kernels.power.encode(pass, { w, minmax, zeroRows }, {
    n,
    alpha: options.alpha,
    selfLoops: options.selfLoops,
  });
  pass.end();
  return {
    w,
    minmax,
    zeroRows,
    n,
    destroy: () => destroyAll(w, minmax, zeroRows, onDevice ? undefined : input, unit),
  };
}

/**
 * Decodes the order-preserving u32 key of the Gram kernel back to a float.
 *
 * @param key Key.
 * @returns The float32 value.
 */
export function unkey(key: number): number {
  const u = new Uint32Array([(key & 0x80000000) !== 0 ? key & 0x7fffffff : ~key >>> 0]);
  return new Float32Array(u.buffer)[0];
}

/** Result of {@linkcode affinityMatrixGpu}. */
export interface AffinityGpuResult {
  /** `n·n` affinity, row-major. */
  w: Float32Array;
  /** Smallest and largest cosine. */
  min: number;
  /** Largest cosine. */
  max: number;
  /** `zeroRows[i] = 1` when row i holds an exact zero (the reference's exclusion set). */
  zeroRows: Uint8Array;
}

/**
 * Computes the affinity on the GPU and reads it back (one submission, one host wait).
 *
 * @param ctx Device context.
 * @param features Feature map `[h, w, c]` (validated by the caller: finite, non-zero rows).
 * @param options Exponent, diagonal, tile.
 * @returns The affinity, the cosine range and the exact-zero rows.
 * @throws {RangeError} When the matrix exceeds the device's binding limit, or the features are all identical.
 * @throws {GpuUnavailableError} When the device is lost (callers fall back to the CPU path).
 */
export async function affinityMatrixGpu(
  ctx: GpuContext,
  features: FeatureMap,
  options: AffinityGpuOptions = {},
): Promise<AffinityGpuResult> {
  const alpha = options.alpha ?? 10;
  const selfLoops = options.selfLoops ?? true;
  const kernels = await createAffinityKernels(ctx, options.tile ?? 16);
  const n = features.height * features.width;
  return await withErrorScope(ctx, "affinity", async () => {
    const encoder = ctx.device.createCommandEncoder({ label: "affinity" });
    const dev = encodeAffinity(ctx, kernels, encoder, features, { alpha, selfLoops });
    try {
      const [w, mm, z] = await submitAndRead(ctx, encoder, [
        { buffer: dev.w, bytes: n * n * 4 },
        { buffer: dev.minmax, bytes: 8 },
        { buffer: dev.zeroRows, bytes: n * 4 },
      ], "affinity");
      const keys = new Uint32Array(mm);
      const min = unkey(keys[0]), max = unkey(keys[1]);
      if (!(Math.fround(max - min) > 0)) {
        throw new ConstantAffinityError();
      }
      return {
        w: new Float32Array(w),
        min,
        max,
        zeroRows: Uint8Array.from(new Uint32Array(z), (v) => v ? 1 : 0),
      };
    } finally {
      dev.destroy();
    }
  });
}

/** An affinity built on the device from an encoder output that was already there. */
export interface DeviceAffinity {
  /** The affinity buffers, as `encodeAffinity` leaves them (the tree stage reads them in place). */
  affinity: AffinityOnDevice;
  /** The patch rows, left on the device for concept assignment. */
  rows: FeatureRowsOnDevice;
  /** Smallest cosine. */
  min: number;
  /** Largest cosine (equal to `min`: the features are all identical, the affinity is constant). */
  max: number;
  /** Host copy of the features, when `readFeatures` was set or the affinity is constant (a CPU stage needs it). */
  features?: FeatureMap;
  /** Bytes copied back to the host. */
  readBytes: number;
  /** Frees the affinity and the rows. */
  destroy(): void;
}

/** The affinity of an encoder output, recorded on an encoder but not submitted ({@linkcode encodeDeviceAffinity}). */
export interface EncodedDeviceAffinity {
  /** The affinity buffers (filled once the encoder is submitted). */
  affinity: AffinityOnDevice;
  /** The patch rows. */
  rows: FeatureRowsOnDevice;
  /** What to read back with the submission: the per-patch status, then the features when `readFeatures` is set. */
  reads: { buffer: GPUBuffer; bytes: number }[];
  /**
   * Checks what `reads` brought back and returns the host features, if read.
   * @param data The read buffers, in `reads` order.
   * @returns The features, or undefined.
   * @throws {RangeError} If a patch holds NaN/±Inf.
   * @throws {TypeError} If a patch is all zero.
   */
  check(data: ArrayBuffer[]): FeatureMap | undefined;
  /** Frees the affinity and the rows. */
  destroy(): void;
}

/**
 * Records the layout kernel (`shaders/encoder/feature_rows.wgsl`: NCHW / tokens → rows, fp16 → f32, NaN and
 * zero-patch flags) and the three affinity kernels for an encoder output already on the device, without
 * submitting: the segmenter submits them with the tree's first levels, so the status check costs no host wait of
 * its own. The source must stay alive until that submission.
 *
 * @param ctx Device context (the device the source lives on).
 * @param source The encoder output.
 * @param encoder Command encoder to record into.
 * @param options Exponent, diagonal, tile; `readFeatures` also reads the features back.
 * @returns The recorded work; the caller submits it, checks the reads and destroys the buffers.
 * @throws {RangeError} If the source buffer is too small or the matrix exceeds the device's binding limit.
 */
export async function encodeDeviceAffinity(
  ctx: GpuContext,
  source: DeviceFeatures,
  encoder: GPUCommandEncoder,
  options: AffinityGpuOptions & { readFeatures?: boolean } = {},
): Promise<EncodedDeviceAffinity> {
  const [kernels, layout] = await Promise.all([
    createAffinityKernels(ctx, options.tile ?? 16),
    createFeatureRowsKernel(ctx),
  ]);
  const { height, width, channels } = source;
  const n = height * width;
  const rows = encodeFeatureRows(ctx, layout, encoder, source);
  let affinity: AffinityOnDevice;
  try {
    affinity = encodeAffinity(ctx, kernels, encoder, rows, {
      alpha: options.alpha ?? 10,
      selfLoops: options.selfLoops ?? true,
    });
  } catch (error) {
    rows.destroy();
    throw error;
  }
  const reads = [{ buffer: rows.status, bytes: n * 4 }];
  if (options.readFeatures) reads.push({ buffer: rows.buffer, bytes: n * channels * 4 });
  const done = affinity;
  return {
    affinity: done,
    rows,
    reads,
    check([status, data]) {
      checkFeatureRowStatus(new Uint32Array(status), width, source.what);
      return data ? { data: new Float32Array(data), height, width, channels } : undefined;
    },
    destroy: () => {
      done.destroy();
      rows.destroy();
    },
  };
}

/**
 * The affinity of an encoder output that is already on the device (ONNX Runtime's buffer on the shared device):
 * {@linkcode encodeDeviceAffinity} submitted at once; only the per-patch status and the cosine range come back
 * (plus the features when `readFeatures` is set), in one host wait. The affinity stays on the device for the tree
 * stage (`buildPartitionTreeOnDevice`). The source is not released here.
 *
 * @param ctx Device context (the device the source lives on).
 * @param source The encoder output.
 * @param options Exponent, diagonal, tile; `readFeatures` also copies the features back.
 * @returns The device affinity and rows; the caller destroys them.
 * @throws {RangeError} If a patch holds NaN/±Inf, the source buffer is too small, or the matrix exceeds the
 * device's binding limit.
 * @throws {TypeError} If a patch is all zero.
 * @throws {GpuUnavailableError} When the device is lost.
 */
export async function prepareDeviceAffinity(
  ctx: GpuContext,
  source: DeviceFeatures,
  options: AffinityGpuOptions & { readFeatures?: boolean } = {},
): Promise<DeviceAffinity> {
  const { height, width, channels } = source;
  const featureBytes = height * width * channels * 4;
  return await withErrorScope(ctx, "affinity", async () => {
    const encoder = ctx.device.createCommandEncoder({ label: "affinity.device" });
    const dev = await encodeDeviceAffinity(ctx, source, encoder, options);
    try {
      const requests = [...dev.reads, { buffer: dev.affinity.minmax, bytes: 8 }];
      const got = await submitAndRead(ctx, encoder, requests, "affinity");
      let readBytes = requests.reduce((sum, r) => sum + r.bytes, 0);
      let features = dev.check(got.slice(0, dev.reads.length));
      const keys = new Uint32Array(got[got.length - 1]);
      const min = unkey(keys[0]), max = unkey(keys[1]);
      if (!features && !(Math.fround(max - min) > 0)) {
        const copy = ctx.device.createCommandEncoder({ label: "affinity.device.features" });
        const [back] = await submitAndRead(
          ctx,
          copy,
          [{ buffer: dev.rows.buffer, bytes: featureBytes }],
          "affinity",
        );
        features = { data: new Float32Array(back), height, width, channels };
        readBytes += featureBytes;
      }
      return { affinity: dev.affinity, rows: dev.rows, min, max, features, readBytes, destroy: dev.destroy };
    } catch (error) {
      dev.destroy();
      throw error;
    }
  });
}

/**
 * {@linkcode affinityMatrixGpu} for an encoder output already on the device: {@linkcode prepareDeviceAffinity},
 * then the affinity is read back (a second host wait). For tests and CPU tree stages; the segmenter keeps the
 * affinity on the device.
 *
 * @param ctx Device context (the device the source lives on).
 * @param source The encoder output (not released here).
 * @param options Exponent, diagonal, tile.
 * @returns The affinity, the cosine range and the exact-zero rows, as {@linkcode affinityMatrixGpu} returns them.
 * @throws {RangeError} As {@linkcode prepareDeviceAffinity}, and when the features are all identical.
 * @throws {TypeError} If a patch is all zero.
 * @throws {GpuUnavailableError} When the device is lost.
 */
export async function affinityFromDeviceGpu(
  ctx: GpuContext,
  source: DeviceFeatures,
  options: AffinityGpuOptions = {},
): Promise<AffinityGpuResult> {
  const dev = await prepareDeviceAffinity(ctx, source, options);
  try {
    if (!(Math.fround(dev.max - dev.min) > 0)) {
      throw new ConstantAffinityError();
    }
    const n = dev.affinity.n;
    const encoder = ctx.device.createCommandEncoder({ label: "affinity.device.read" });
    const [w, z] = await withErrorScope(ctx, "affinity", () =>
      submitAndRead(ctx, encoder, [
        { buffer: dev.affinity.w, bytes: n * n * 4 },
        { buffer: dev.affinity.zeroRows, bytes: n * 4 },
      ], "affinity"));
    return {
      w: new Float32Array(w),
      min: dev.min,
      max: dev.max,
      zeroRows: Uint8Array.from(new Uint32Array(z), (v) => v ? 1 : 0),
    };
  } finally {
    dev.destroy();
  }
}
