/**
 * PAMR's CPU kernels in WebAssembly SIMD (`lib/wasm/pamr.wat`): the affinity (local standard deviation, logits,
 * softmax) and the propagation steps, on one WebAssembly memory that holds the padded image, the weight planes
 * and the two ping-pong mask buffers, so nothing is copied between steps.
 *
 * The results equal the TypeScript reference's (`lib/pamr/pamr.ts`: `affinityUnchecked`, `propagate`) bit for
 * bit: the kernels perform the same float32 and float64 operations in the same order, several pixels per
 * 128-bit operation (each lane an independent IEEE operation), and the softmax calls JavaScript's own
 * `Math.exp`. The propagation's zero-skipping (which columns of a row can be non-zero) is the reference's,
 * driven from here; the kernel computes one row of one mask plane.
 *
 * @module
 */
import { embeddedModule } from "../wasm/embedded_module.ts";
import { WASM_BASE64 } from "../wasm/pamr_wasm.ts";
import type { ImageRGB } from "../types.ts";

/** The exports of `lib/wasm/pamr.wat` (addresses and strides in bytes). */
interface Kernels {
  denominatorRow(
    c: number,
    plane: number,
    w: number,
    taps: number,
    n: number,
    den: number,
    stride: number,
  ): void;
  logitRow(
    c: number,
    plane: number,
    w: number,
    nbs: number,
    np: number,
    den: number,
    logits: number,
    stride: number,
    shifted: number,
  ): void;
  normalizeRow(
    exps: number,
    estride: number,
    w: number,
    np: number,
    sums: number,
    out: number,
    plane: number,
  ): number;
  propagateRow(
    a: number,
    b: number,
    wts: number,
    plane: number,
    acc: number,
    dil: number,
    nl: number,
    h: number,
    w: number,
    y: number,
    lo: number,
    hi: number,
  ): void;
}

const PAGE = 65536;
/** Problems above this stay on the TypeScript path (a 32-bit memory tops out at 4 GiB; allocations this large
 * are better not attempted at all). */
const MAX_BYTES = 2 ** 31;
/** A memory up to this size is kept for the next call (the CLI refines image after image at one size). */
const KEEP_BYTES = 64 * 2 ** 20;

let kept: { memory: WebAssembly.Memory; kernels: Kernels } | undefined;

/** Instantiates the kernels on a memory. */
function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as Kernels;
}

/**
 * A memory of at least `bytes` bytes with the kernels bound to it: the kept one (grown if needed) when small
 * enough, otherwise a fresh one for this call.
 */
function memoryFor(
  module: WebAssembly.Module,
  bytes: number,
): { memory: WebAssembly.Memory; kernels: Kernels } {
  const pages = Math.ceil(bytes / PAGE);
  if (bytes > KEEP_BYTES) {
    const memory = new WebAssembly.Memory({ initial: pages });
    return { memory, kernels: instantiate(module, memory) };
  }
  if (!kept) {
    const memory = new WebAssembly.Memory({ initial: pages });
    kept = { memory, kernels: instantiate(module, memory) };
  } else if (kept.memory.buffer.byteLength < pages * PAGE) {
    kept.memory.grow(pages - kept.memory.buffer.byteLength / PAGE);
  }
  return kept;
}

/** Rounds a byte count up to a multiple of 16. */
function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/**
 * One PAMR problem (image size, labels, dilations) laid out in a WebAssembly memory. Its arrays are views of that
 * memory, valid until the next {@linkcode pamrWorkspace} call.
 */
export interface PamrWorkspace {
  /** `8L × H × W` float32 softmax weights, neighbour-major (filled by `affinity`). */
  readonly weights: Float32Array;
  /** `K × H × W` float32 mask planes: the input of `propagate` (it may overwrite them). */
  readonly masks: Float32Array;
  /**
   * Computes the affinity of `image` into `weights`, bit-identical to the reference's `affinityUnchecked(image,
   * dilations, true)`.
   *
   * @returns Whether every weight is a number (a pixel's weights are all NaN or all in [0, 1]).
   */
  affinity(image: ImageRGB): boolean;
  /**
   * Runs propagation steps from `masks`, bit-identical to the reference's `propagate(masks, weights, …)`.
   *
   * @returns The `K × H × W` planes after the steps (a view of the memory).
   */
  propagate(iterations: number): Float32Array;
}

/**
 * Lays out a PAMR problem in WebAssembly memory.
 *
 * @param H Image height.
 * @param W Image width.
 * @param K Number of mask planes (0 for the affinity alone).
 * @param dilations Dilations (validated by the caller).
 * @returns The workspace, or `null` where WebAssembly SIMD is missing or the problem is too large for one
 * memory (the caller then runs the TypeScript reference).
 *
 * @example
 * ```ts
 * import { pamrWorkspace } from "./pamr_simd.ts";
 * const ws = pamrWorkspace(1, 2, 1, [1]);
 * if (ws) {
 *   ws.affinity({ data: new Float32Array([0, 0, 0, 1, 1, 1]), height: 1, width: 2 });
 *   ws.masks.set([1, 0]);
 *   const out = ws.propagate(1);
 *   if (Math.abs(out[0] + out[1] - 1) > 1e-6) throw new Error("propagation does not keep the mass");
 * }
 * ```
 */
export function pamrWorkspace(
  H: number,
  W: number,
  K: number,
  dilations: readonly number[],
): PamrWorkspace | null {
  const module = embeddedModule(WASM_BASE64);
  if (!module) return null;
  const L = dilations.length;
  const P = 8 * L;
  const n = H * W;
  const dMax = Math.max(...dilations);
  // Replicate padding: a tap d rows away clamps like one min(d, H) rows away, so the padding never exceeds H, W.
  const padY = Math.min(dMax, H), padX = Math.min(dMax, W);
  const Hp = H + 2 * padY, Wp = W + 2 * padX;
  const W4 = Math.ceil(W / 4) * 4;
  const plane = Hp * Wp * 4;
  // Byte layout; the image is followed by slack for the lanes past a row's end.
  const imgAt = 0;
  const tapsAt = align(imgAt + 3 * plane + 64);
  const nbsAt = align(tapsAt + 9 * L * 4);
  const dilAt = align(nbsAt + P * 4);
  const denAt = align(dilAt + L * 4);
  const logitsAt = align(denAt + 3 * W4 * 4);
  const expsAt = align(logitsAt + P * W4 * 4);
  const sumsAt = align(expsAt + P * W4 * 8);
  const accAt = align(sumsAt + W4 * 8);
  const weightsAt = align(accAt + W * 8);
  const aAt = align(weightsAt + P * n * 4);
  const bAt = align(aAt + K * n * 4);
  const bytes = bAt + K * n * 4;
  if (bytes > MAX_BYTES) return null;
  let memory: WebAssembly.Memory, kernels: Kernels;
  try {
    ({ memory, kernels } = memoryFor(module, bytes));
  } catch {
    return null; // no memory this large here: the reference runs instead
  }
  const buffer = memory.buffer;
  const taps = new Int32Array(buffer, tapsAt, 9 * L);
  const nbs = new Int32Array(buffer, nbsAt, P);
  const dil = new Int32Array(buffer, dilAt, L);
  let t = 0, p = 0;
  for (let l = 0; l < L; l++) {
    const dy = Math.min(dilations[l], H), dx = Math.min(dilations[l], W);
    dil[l] = dilations[l];
    for (let i = -1; i <= 1; i++) {
      for (let j = -1; j <= 1; j++) {
        taps[t++] = (i * dy * Wp + j * dx) * 4;
        if (i !== 0 || j !== 0) nbs[p++] = (i * dy * Wp + j * dx) * 4;
      }
    }
  }
  const weights = new Float32Array(buffer, weightsAt, P * n);
  const masks = new Float32Array(buffer, aAt, K * n);

  const affinity = (image: ImageRGB): boolean => {
    const img = new Float32Array(buffer, imgAt, 3 * Hp * Wp);
    const { data } = image;
    for (let py = 0; py < Hp; py++) {
      const sy = py < padY ? 0 : py >= H + padY ? H - 1 : py - padY;
      for (let px = 0; px < Wp; px++) {
        const sx = px < padX ? 0 : px >= W + padX ? W - 1 : px - padX;
        const s = (sy * W + sx) * 3, o = py * Wp + px;
        img[o] = data[s];
        img[o + Hp * Wp] = data[s + 1];
        img[o + 2 * Hp * Wp] = data[s + 2];
      }
    }
    const exps = new Float64Array(buffer, expsAt, P * W4);
    let nan = 0;
    for (let y = 0; y < H; y++) {
      const c = imgAt + ((y + padY) * Wp + padX) * 4;
      kernels.denominatorRow(c, plane, W, tapsAt, 9 * L, denAt, W4 * 4);
      kernels.logitRow(c, plane, W, nbsAt, P, denAt, logitsAt, W4 * 4, expsAt);
      // The reference's Math.exp, here rather than imported: a call out of WebAssembly per value costs as much again.
      for (let i = 0; i < exps.length; i++) exps[i] = Math.exp(exps[i]);
      nan |= kernels.normalizeRow(expsAt, W4 * 8, W, P, sumsAt, weightsAt + y * W * 4, n * 4);
    }
    return nan === 0;
  };

  const propagate = (iterations: number): Float32Array => {
    let a = aAt, b = bAt;
    const planes = { [aAt]: masks, [bAt]: new Float32Array(buffer, bAt, K * n) };
    // Per plane and row, columns [from, to) hold every non-zero value of `a` (from = W, to = 0: none).
    let from = new Int32Array(K * H), to = new Int32Array(K * H);
    let nextFrom = new Int32Array(K * H), nextTo = new Int32Array(K * H);
    for (let r = 0; r < K * H; r++) {
      const o = r * W;
      let lo = 0;
      while (lo < W && masks[o + lo] === 0) lo++;
      let hi = W;
      while (hi > lo && masks[o + hi - 1] === 0) hi--;
      from[r] = lo;
      to[r] = hi;
    }
    for (let it = 0; it < iterations; it++) {
      const out = planes[b];
      // Row by row, all planes of a row together: its 8L weight rows stay in cache instead of being streamed from
      // memory K times (a step reads only the previous buffer, so the order of rows and planes is free).
      for (let y = 0; y < H; y++) {
        for (let k = 0; k < K; k++) {
          const kh = k * H;
          // The columns whose neighbours can be non-zero: each dilation's three rows, widened by d.
          let wantLo = W, wantHi = 0;
          for (let l = 0; l < L; l++) {
            const d = dilations[l];
            const ym = y - d < 0 ? 0 : y - d;
            const yp = y + d >= H ? H - 1 : y + d;
            for (let i = 0; i < 3; i++) {
              const r = kh + (i === 0 ? ym : i === 1 ? y : yp);
              if (from[r] >= to[r]) continue;
              if (from[r] - d < wantLo) wantLo = from[r] - d;
              if (to[r] + d > wantHi) wantHi = to[r] + d;
            }
          }
          if (wantLo < 0) wantLo = 0;
          if (wantHi > W) wantHi = W;
          if (wantLo >= wantHi) {
            out.fill(0, k * n + y * W, k * n + y * W + W);
            nextFrom[kh + y] = W;
            nextTo[kh + y] = 0;
            continue;
          }
          nextFrom[kh + y] = wantLo;
          nextTo[kh + y] = wantHi;
          kernels.propagateRow(
            a + k * n * 4,
            b + k * n * 4,
            weightsAt,
            n * 4,
            accAt,
            dilAt,
            L,
            H,
            W,
            y,
            wantLo,
            wantHi,
          );
        }
      }
      [a, b] = [b, a];
      [from, nextFrom] = [nextFrom, from];
      [to, nextTo] = [nextTo, to];
    }
    return planes[a];
  };

  return { weights, masks, affinity, propagate };
}
