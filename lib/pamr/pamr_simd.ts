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
import { exactExpKernel, EXP_TABLE_BYTES, type ExpKernel } from "../wasm/exact_exp.ts";
import { growTo, PAGE, SHARED_MAX_PAGES, sharedMemory } from "../wasm/shared_memory.ts";
import { idleTimer } from "../wasm/idle_timer.ts";
import { kernelThreads, type RowJob, type RowTeam, type RowWork, startRowTeam } from "../wasm/row_team.ts";
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
    y0: number,
    y1: number,
  ): void;
}

/** Problems above this stay on the TypeScript path (the kernels' shared memory tops out at 2 GiB). */
const MAX_BYTES = SHARED_MAX_PAGES * PAGE;
/**
 * A memory up to this size is kept for the next call, one per process: the CLI refines image after image at one
 * size, and a fresh memory costs its page faults every call (at 512×341 with 64 labels, 114 MB: ~80 ms of a 380
 * ms call). A larger one is dropped as soon as the current task ends.
 */
const KEEP_BYTES = 128 * 2 ** 20;
/** The kept memory (and its helper threads) is dropped this long after the last call, so an idle notebook kernel
 * does not hold it. */
const KEEP_MS = 30_000;
/** Problems with fewer pixels run on the calling thread alone (a helper would cost more than it saves). */
const TEAM_MIN_PIXELS = 2 ** 16;
/** Rows per claim of the row-parallel jobs. */
const CHUNK_ROWS = 8;
/** Row jobs (`row_team.ts`). */
const AFFINITY_ROWS = 1, PROPAGATE_ROWS = 2;

/** The process's kernel memory, its kernels, and its helper threads once a problem was large enough. */
interface Kept {
  memory: WebAssembly.Memory;
  kernels: Kernels;
  team?: { team: RowTeam; slot: number; work: RowWork };
}
let kept: Kept | undefined;
/** Drops the kept memory and ends its helpers once idle. */
const dropTimer = idleTimer(() => dropKernelMemory());

/**
 * Drops the kept kernel memory now and ends its helper threads (tests call it; otherwise a timer does, 30 s after
 * the last call). The next PAMR call starts afresh.
 */
export function dropKernelMemory(): void {
  dropTimer.cancel();
  settleAhead();
  kept?.team?.team.close();
  kept = undefined;
}

/**
 * Threads that ran the last large PAMR problem's kernels, the caller included (1 before any, and after the kept
 * memory was dropped).
 *
 * @returns The team's thread count.
 */
export function pamrThreads(): number {
  return kept?.team?.team.threads ?? 1;
}

/** Instantiates the kernels on a memory. */
function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as Kernels;
}

/** The kept memory grown to at least `bytes` bytes (created on first use). */
function memoryFor(module: WebAssembly.Module, bytes: number): Kept {
  if (!kept) {
    const memory = sharedMemory(bytes);
    kept = { memory, kernels: instantiate(module, memory) };
  } else growTo(kept.memory, bytes);
  dropTimer.restart(bytes > KEEP_BYTES ? 0 : KEEP_MS);
  return kept;
}

/**
 * Threads for a problem of `pixels` pixels on the kept memory, whose layout has scratch for `threads`: its team,
 * started on the first large problem (and again when the thread setting dropped below it).
 */
function teamFor(
  k: Kept,
  pixels: number,
  threads: number,
): { team: RowTeam; slot: number; work: RowWork } | undefined {
  if (pixels < TEAM_MIN_PIXELS || threads < 2) return undefined;
  if (k.team && k.team.team.threads > threads) {
    k.team.team.close();
    k.team = undefined;
  }
  if (!k.team) {
    const team = startRowTeam(new URL("./pamr_worker.ts", import.meta.url), threads - 1);
    k.team = { team, slot: team.attach(k.memory), work: rowWork(k.memory, k.kernels, true) };
  }
  return k.team.team.threads > 1 ? k.team : undefined;
}

/**
 * Starts PAMR's helper threads ahead of the first large problem (a segmenter does this at creation, so that they
 * are up by the time its first image reaches PAMR); idle helpers wait without using a core, and end with the
 * kept memory, 30 s after the last call. Does nothing where the kernels or workers are unavailable or
 * `DIFFCUT_KERNEL_THREADS` is 1.
 */
export function startPamrThreads(): void {
  const module = embeddedModule(WASM_BASE64);
  if (!module) return;
  try {
    const threads = kernelThreads();
    if (threads > 1) teamFor(memoryFor(module, PAGE), TEAM_MIN_PIXELS, threads);
  } catch {
    // a bad thread setting or no memory: the first PAMR call reports or falls back
  }
}

/** The image affinity started ahead on the helpers (`startAffinityAhead`), and what it was started for. */
interface Ahead {
  image: ImageRGB;
  data: ImageRGB["data"];
  /** The geometry (`aheadKey`): a workspace with the same one finds the taps and weights at the same places. */
  key: string;
  job: RowJob;
}
let ahead: Ahead | undefined;

function aheadKey(H: number, W: number, dilations: readonly number[], threads: number): string {
  return `${H}x${W}/${threads}/${dilations.join(",")}`;
}

/** Cancels an affinity started ahead and not taken (waits for the rows in progress). */
function settleAhead(): void {
  const a = ahead;
  ahead = undefined;
  a?.job.cancel();
}

/**
 * Starts PAMR's affinity of `image` (the weights `pamrWorkspace(H, W, K, dilations).affinity(image)` computes, for
 * any K) on the helper threads and returns at once, so that it runs on an otherwise idle core while the caller
 * does other work (DiffCut: the cut and the concept assignment, which run on one thread). A later workspace of the
 * same geometry takes the result when its `affinity` gets the same image object (its rows are then finished, or
 * waited for); any other PAMR call cancels it first. The image's values are read now.
 *
 * Does nothing where there are no helpers (`DIFFCUT_KERNEL_THREADS` 1, no workers, a small image), and for a
 * problem too large to keep its memory between calls.
 *
 * @param image The image PAMR will refine with (float32 RGB, as `refinePamr` checks it later).
 * @param dilations Dilations (valid: positive integers).
 * @returns Whether the affinity was started.
 */
export function startAffinityAhead(image: ImageRGB, dilations: readonly number[]): boolean {
  const module = embeddedModule(WASM_BASE64);
  const { height: H, width: W, data } = image;
  if (!module || !(data instanceof Float32Array) || data.length !== H * W * 3) return false;
  let threads: number;
  try {
    threads = kernelThreads();
  } catch {
    return false; // a bad setting is reported where it is read for the real work
  }
  if (threads < 2 || H * W < TEAM_MIN_PIXELS) return false;
  const lay = layoutOf(H, W, 0, dilations, threads);
  if (lay.bytes > KEEP_BYTES) return false; // such a memory is dropped when the current task ends
  settleAhead();
  let k: Kept;
  try {
    k = memoryFor(module, lay.bytes);
  } catch {
    return false;
  }
  const team = teamFor(k, H * W, threads);
  if (!team) return false;
  const buffer = k.memory.buffer;
  writeTaps(buffer, lay, dilations);
  writePaddedImage(buffer, lay, image);
  const sizes = [H, W, 0, threads, lay.L, ...dilations];
  const job = team.team.start(team.slot, team.work, AFFINITY_ROWS, sizes, H, CHUNK_ROWS);
  ahead = { image, data, key: aheadKey(H, W, dilations, threads), job };
  return true;
}

/** Writes the taps of the local statistics (9 per dilation), the 8 neighbours' offsets and the dilations. */
function writeTaps(buffer: ArrayBufferLike, lay: Layout, dilations: readonly number[]): void {
  const { L, P, H, W, Wp } = lay;
  const taps = new Int32Array(buffer, lay.tapsAt, 9 * L);
  const nbs = new Int32Array(buffer, lay.nbsAt, P);
  const dil = new Int32Array(buffer, lay.dilAt, L);
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
}

/** Writes the image as three planes with replicate padding. */
function writePaddedImage(buffer: ArrayBufferLike, lay: Layout, image: ImageRGB): void {
  const { H, W, padY, padX, Wp } = lay;
  const Hp = H + 2 * padY;
  const img = new Float32Array(buffer, lay.imgAt, 3 * Hp * Wp);
  // A call per row: as one loop nest in a function called once per image, V8 deoptimised at every row's end.
  for (let py = 0; py < Hp; py++) {
    const sy = py < padY ? 0 : py >= H + padY ? H - 1 : py - padY;
    padRow(image.data, sy * W * 3, W, padX, Wp, img, py * Wp, Hp * Wp);
  }
}

/** One padded row of the three planes from the interleaved source row at `from`. */
function padRow(
  data: Float32Array,
  from: number,
  W: number,
  padX: number,
  Wp: number,
  img: Float32Array,
  o: number,
  plane: number,
): void {
  for (let px = 0; px < Wp; px++) {
    const sx = px < padX ? 0 : px >= W + padX ? W - 1 : px - padX;
    const s = from + sx * 3;
    img[o + px] = data[s];
    img[o + px + plane] = data[s + 1];
    img[o + px + 2 * plane] = data[s + 2];
  }
}

/** Rounds a byte count up to a multiple of 16. */
function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/** Byte addresses of a problem in the kernel memory: a pure function of its sizes, so every thread agrees. */
interface Layout {
  H: number;
  W: number;
  K: number;
  L: number;
  /** Neighbours, 8L. */
  P: number;
  padY: number;
  padX: number;
  Wp: number;
  /** W rounded up to 4. */
  W4: number;
  /** Bytes of one padded image plane. */
  plane: number;
  expTableAt: number;
  imgAt: number;
  tapsAt: number;
  nbsAt: number;
  dilAt: number;
  /** Per-thread scratch: thread t's starts `t · scratchBytes` after these. */
  denAt: number;
  logitsAt: number;
  expsAt: number;
  sumsAt: number;
  accAt: number;
  scratchBytes: number;
  weightsAt: number;
  rangesAt: number;
  aAt: number;
  bAt: number;
  bestAt: number;
  labelsAt: number;
  bytes: number;
}

function layoutOf(H: number, W: number, K: number, dilations: ArrayLike<number>, threads: number): Layout {
  const L = dilations.length;
  const P = 8 * L;
  const n = H * W;
  let dMax = 0;
  for (let l = 0; l < L; l++) dMax = Math.max(dMax, dilations[l]);
  // Replicate padding: a tap d rows away clamps like one min(d, H) rows away, so the padding never exceeds H, W.
  const padY = Math.min(dMax, H), padX = Math.min(dMax, W);
  const Hp = H + 2 * padY, Wp = W + 2 * padX;
  const W4 = Math.ceil(W / 4) * 4;
  const plane = Hp * Wp * 4;
  // The exp kernel's table comes first, at a fixed place, so a kept memory keeps it for the next call. The image
  // is followed by slack for the lanes past a row's end.
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
  const scratchBytes = align(accAt + W * 8) - denAt;
  // Everything up to the weights is independent of K, so the affinity can be computed before the labels are known
  // (`startAffinityAhead`).
  const weightsAt = denAt + threads * scratchBytes;
  const rangesAt = align(weightsAt + P * n * 4);
  const aAt = align(rangesAt + 4 * K * H * 4);
  const bAt = align(aAt + K * n * 4);
  const bestAt = align(bAt + K * n * 4);
  const labelsAt = align(bestAt + n * 4);
  const bytes = labelsAt + n * 4;
  return {
    H,
    W,
    K,
    L,
    P,
    padY,
    padX,
    Wp,
    W4,
    plane,
    expTableAt,
    imgAt,
    tapsAt,
    nbsAt,
    dilAt,
    denAt,
    logitsAt,
    expsAt,
    sumsAt,
    accAt,
    scratchBytes,
    weightsAt,
    rangesAt,
    aAt,
    bAt,
    bestAt,
    labelsAt,
    bytes,
  };
}

/**
 * The row work of PAMR's jobs for a helper thread, on its own kernel instances bound to the shared memory (the
 * caller has written the exp table there). Job arguments: `[H, W, K, threads, L, ...dilations]`, then for a
 * propagation step the addresses `a, b, from, to, nextFrom, nextTo`.
 *
 * @param memory The team's shared memory.
 * @returns The work of one row range.
 */
export function pamrRowWork(memory: WebAssembly.Memory): RowWork {
  return rowWork(memory, instantiate(embeddedModule(WASM_BASE64)!, memory), false);
}

function rowWork(memory: WebAssembly.Memory, k: Kernels, writeTable: boolean): RowWork {
  const exp = exactExpKernel(memory, 0, writeTable);
  return (op, args, y0, y1, thread) => {
    const L = args[4];
    const lay = layoutOf(args[0], args[1], args[2], args.subarray(5, 5 + L), args[3]);
    const s = thread * lay.scratchBytes;
    if (op === AFFINITY_ROWS) return affinityRows(k, exp, memory, lay, s, y0, y1);
    const [a, b, from, to, nextFrom, nextTo] = args.subarray(5 + L, 11 + L);
    k.propagateStep(
      a,
      b,
      lay.weightsAt,
      lay.H * lay.W * 4,
      lay.accAt + s,
      lay.dilAt,
      L,
      lay.H,
      lay.W,
      lay.K,
      from,
      to,
      nextFrom,
      nextTo,
      y0,
      y1,
    );
    return 0;
  };
}

/** Softmax weights of rows [y0, y1) with the scratch at offset `s`; returns 1 when a weight is NaN. */
function affinityRows(
  k: Kernels,
  exp: ExpKernel | null,
  memory: WebAssembly.Memory,
  lay: Layout,
  s: number,
  y0: number,
  y1: number,
): number {
  const { W, W4, P, plane, Wp, padX, padY, imgAt } = lay;
  const n = lay.H * W;
  const expsAt = lay.expsAt + s;
  const exps = exp ? undefined : new Float64Array(memory.buffer, expsAt, P * W4);
  let nan = 0;
  for (let y = y0; y < y1; y++) {
    const c = imgAt + ((y + padY) * Wp + padX) * 4;
    k.denominatorRow(c, plane, W, lay.tapsAt, 9 * lay.L, lay.denAt + s, W4 * 4);
    k.logitRow(c, plane, W, lay.nbsAt, P, lay.denAt + s, lay.logitsAt + s, W4 * 4, expsAt);
    // The reference's Math.exp: the SIMD kernel returns its very bits (lib/wasm/exact_exp.ts); where that cannot
    // be promised, Math.exp itself in a JavaScript loop (a call out of WebAssembly per value costs as much again).
    if (exp) exp(expsAt, P * W4);
    else for (let i = 0; i < exps!.length; i++) exps![i] = Math.exp(exps![i]);
    nan |= k.normalizeRow(expsAt, W4 * 8, W, P, lay.sumsAt + s, lay.weightsAt + y * W * 4, n * 4);
  }
  return nan;
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
  const n = H * W;
  // The layout leaves scratch for every thread a team may have, so a team started later finds room.
  const threads = kernelThreads();
  const key = aheadKey(H, W, dilations, threads);
  const lay = layoutOf(H, W, K, dilations, threads);
  if (lay.bytes > MAX_BYTES) return null;
  let k: Kept;
  try {
    k = memoryFor(module, lay.bytes);
  } catch {
    return null; // no memory this large here: the reference runs instead
  }
  const { memory, kernels } = k;
  const { L, P } = lay;
  const buffer = memory.buffer;
  // An affinity started ahead for this geometry has written the taps and may still be reading them.
  const pending = ahead?.key === key ? ahead : undefined;
  if (!pending) {
    settleAhead();
    writeTaps(buffer, lay, dilations);
  }
  const exp = exactExpKernel(memory, lay.expTableAt);
  const weights = new Float32Array(buffer, lay.weightsAt, P * n);
  const masks = new Float32Array(buffer, lay.aAt, K * n);
  const sizes = [H, W, K, threads, L, ...dilations];
  const team = teamFor(k, n, threads);

  const affinity = (image: ImageRGB): boolean => {
    if (pending && ahead === pending) {
      ahead = undefined;
      if (image === pending.image && image.data === pending.data) return pending.job.finish() === 0;
      pending.job.cancel();
    }
    writePaddedImage(buffer, lay, image);
    const nan = team
      ? team.team.run(team.slot, team.work, AFFINITY_ROWS, sizes, H, CHUNK_ROWS)
      : affinityRows(kernels, exp, memory, lay, 0, 0, H);
    return nan === 0;
  };

  const propagate = (iterations: number): Float32Array => {
    settleAhead(); // nothing may write the weights under it
    if (iterations === 0) return masks;
    // Per plane and row, columns [from, to) hold every non-zero value of `a` (from = W, to = 0: none).
    let a = lay.aAt,
      b = lay.bAt,
      from = lay.rangesAt,
      to = from + K * H * 4,
      nextFrom = to + K * H * 4,
      nextTo = nextFrom + K * H * 4;
    kernels.planeRanges(a, K, H, W, from, to);
    for (let it = 0; it < iterations; it++) {
      if (team) {
        team.team.run(
          team.slot,
          team.work,
          PROPAGATE_ROWS,
          [...sizes, a, b, from, to, nextFrom, nextTo],
          H,
          CHUNK_ROWS,
        );
      } else {
        kernels.propagateStep(
          a,
          b,
          lay.weightsAt,
          n * 4,
          lay.accAt,
          lay.dilAt,
          L,
          H,
          W,
          K,
          from,
          to,
          nextFrom,
          nextTo,
          0,
          H,
        );
      }
      [a, b] = [b, a];
      [from, nextFrom] = [nextFrom, from];
      [to, nextTo] = [nextTo, to];
    }
    return a === lay.aAt ? masks : new Float32Array(buffer, lay.bAt, K * n);
  };

  const argmax = (planes: Float32Array): Int32Array => {
    if (planes.buffer !== buffer || planes.length !== K * n) {
      throw new RangeError("Planes are not this workspace's");
    }
    kernels.argmaxPlanes(planes.byteOffset, K, n, lay.bestAt, lay.labelsAt);
    return new Int32Array(buffer, lay.labelsAt, n).slice();
  };

  return { weights, masks, affinity, propagate, argmax };
}
