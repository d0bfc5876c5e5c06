/**
 * PAMR's CPU kernels in WebAssembly SIMD (`lib/wasm/pamr.wat`): the affinity (local standard deviation, logits,
 * softmax) and the propagation steps, on one WebAssembly memory that holds the padded image, the weight planes
 * and the two ping-pong mask buffers, so nothing is copied between steps.
 *
 * The results equal the TypeScript reference's (`lib/pamr/pamr.ts`: `affinityUnchecked`, `propagate`) bit for
 * bit: the kernels perform the same float32 and float64 operations in the same order, several pixels per
 * 128-bit operation (each lane an independent IEEE operation), and the softmax's exp returns the bits of
 * JavaScript's own `Math.exp` (`lib/wasm/exact_exp.ts`). The propagation's zero-skipping (which columns of a row
 * can be non-zero) is the reference's, in the kernel (driving it from here cost 60 ms of 230 at 512×341 with 64
 * labels).
 *
 * @module
 */
import { embeddedModule } from "../wasm/embedded_module.ts";
import { WASM_BASE64 } from "../wasm/pamr_wasm.ts";
import { exactExpKernel, EXP_TABLE_BYTES } from "../wasm/exact_exp.ts";
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
  planeRanges(a: number, k: number, h: number, w: number, from: number, to: number): void;
  argmaxPlanes(planes: number, k: number, n: number, best: number, out: number): void;
  propagateStep(
    a: number,
    b: number,
    wts: number,
    plane: number,
    acc: number,
    dil: number,
    nl: number,
    h: number,
    w: number,
    k: number,
    from: number,
    to: number,
    nextFrom: number,
    nextTo: number,
  ): void;
}

const PAGE = 65536;
/** Problems above this stay on the TypeScript path (a 32-bit memory tops out at 4 GiB; allocations this large
 * are better not attempted at all). */
const MAX_BYTES = 2 ** 31;
/**
 * A memory up to this size is kept for the next call, in one per process: the CLI refines image after image at
 * one size, and a fresh memory costs its page faults every call (at 512×341 with 64 labels, 114 MB: ~80 ms of a
 * 380 ms call). Larger problems get a memory of their own, released with the call.
 */
const KEEP_BYTES = 128 * 2 ** 20;
/** The kept memory is dropped this long after the last call, so an idle notebook kernel does not hold it. */
const KEEP_MS = 30_000;

let kept: { memory: WebAssembly.Memory; kernels: Kernels } | undefined;
let dropTimer: ReturnType<typeof setTimeout> | undefined;

/** (Re)starts the timer that drops the kept memory; it never keeps the process alive. */
function scheduleDrop(): void {
  if (dropTimer !== undefined) clearTimeout(dropTimer);
  dropTimer = setTimeout(() => {
    kept = undefined;
    dropTimer = undefined;
  }, KEEP_MS);
  (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(
    dropTimer as unknown as number,
  );
}

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
  scheduleDrop();
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
   * The index of the largest plane at every pixel (the first of equal values), as the reference's argmax loop.
   *
   * @param planes `K × H × W` planes returned by `propagate`.
   * @returns A new `H × W` array of plane indices.
   */
  argmax(planes: Float32Array): Int32Array;
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
  // Byte layout; the image is followed by slack for the lanes past a row's end. The exp kernel's table comes
  // first, at a fixed place, so a kept memory keeps it for the next call.
  const expTableAt = 0;
  const imgAt = align(EXP_TABLE_BYTES);
  const tapsAt = align(imgAt + 3 * plane + 64);
  const nbsAt = align(tapsAt + 9 * L * 4);
  const dilAt = align(nbsAt + P * 4);
  const denAt = align(dilAt + L * 4);
  const logitsAt = align(denAt + 3 * W4 * 4);
  const expsAt = align(logitsAt + P * W4 * 4);
  const sumsAt = align(expsAt + P * W4 * 8);
  const accAt = align(sumsAt + W4 * 8);
  const rangesAt = align(accAt + W * 8);
  const weightsAt = align(rangesAt + 4 * K * H * 4);
  const aAt = align(weightsAt + P * n * 4);
  const bAt = align(aAt + K * n * 4);
  const bestAt = align(bAt + K * n * 4);
  const labelsAt = align(bestAt + n * 4);
  const bytes = labelsAt + n * 4;
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
  const exp = exactExpKernel(memory, expTableAt);
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
      // The reference's Math.exp: the SIMD kernel returns its very bits (lib/wasm/exact_exp.ts); where that cannot
      // be promised, Math.exp itself in a JavaScript loop (a call out of WebAssembly per value costs as much again).
      if (exp) exp(expsAt, exps.length);
      else for (let i = 0; i < exps.length; i++) exps[i] = Math.exp(exps[i]);
      nan |= kernels.normalizeRow(expsAt, W4 * 8, W, P, sumsAt, weightsAt + y * W * 4, n * 4);
    }
    return nan === 0;
  };

  const propagate = (iterations: number): Float32Array => {
    if (iterations === 0) return masks;
    // Per plane and row, columns [from, to) hold every non-zero value of `a` (from = W, to = 0: none).
    let a = aAt,
      b = bAt,
      from = rangesAt,
      to = from + K * H * 4,
      nextFrom = to + K * H * 4,
      nextTo = nextFrom + K * H * 4;
    kernels.planeRanges(a, K, H, W, from, to);
    for (let it = 0; it < iterations; it++) {
      kernels.propagateStep(a, b, weightsAt, n * 4, accAt, dilAt, L, H, W, K, from, to, nextFrom, nextTo);
      [a, b] = [b, a];
      [from, nextFrom] = [nextFrom, from];
      [to, nextTo] = [nextTo, to];
    }
    return a === aAt ? masks : new Float32Array(buffer, bAt, K * n);
  };

  const argmax = (planes: Float32Array): Int32Array => {
    if (planes.buffer !== buffer || planes.length !== K * n) {
      throw new RangeError("Planes are not this workspace's");
    }
    kernels.argmaxPlanes(planes.byteOffset, K, n, bestAt, labelsAt);
    return new Int32Array(buffer, labelsAt, n).slice();
  };

  return { weights, masks, affinity, propagate, argmax };
}
