/**
 * Resizing that reproduces PyTorch on the CPU: bilinear for images (`F.interpolate(mode="bilinear",
 * align_corners=False, antialias=False)`, which `T.Resize(..., BILINEAR, antialias=None)` runs on tensors)
 * and nearest-neighbour for label maps (`NEAREST_EXACT` and legacy `NEAREST`).
 *
 * Notes
 * -----
 * Bilinear, per axis with `in` input and `out` output samples, all in float32:
 * `scale = f32(in / out)`, `src = f32(f32(scale * f32(dst + 0.5)) - 0.5)`, clamped below at 0;
 * `i0 = min(floor(src), in - 1)`, `i1 = min(i0 + 1, in - 1)`, `l1 = src - i0`, `l0 = f32(1 - l1)`.
 * When `in == out` the axis is copied (`i0 = i1 = dst`, `l0 = 1`, `l1 = 0`), as PyTorch does.
 * Each output value is, with every product and sum rounded to float32 and no fused multiply-add,
 * `top = l0w * v00 + l1w * v01`, `bottom = l0w * v10 + l1w * v11` (along the width first), then
 * `out = l0h * top + l1h * bottom`. This is the operation order of PyTorch's generic CPU kernel, which it
 * uses for NCHW float images with more than 128 output rows plus columns when more than one thread runs.
 * PyTorch's single-threaded 3-channel path (and its channels-last kernel) sums
 * `(l0h * l0w) * v00 + ...` instead, and a build that contracts to FMA rounds once less; either can move a
 * value by about one float32 ulp.
 *
 * Nearest, per axis with `scale = f32(in / out)`: legacy `NEAREST` reads
 * `src = min(floor(f32(dst * scale)), in - 1)`; `NEAREST_EXACT` reads
 * `src = min(floor(f32((dst + 0.5) * scale)), in - 1)` with the product taken in float64 (C++ promotes
 * `dst + 0.5` to double) and rounded to float32 by `floorf`.
 *
 * @module
 */
import type { ImageRGB, LabelMap } from "../types.ts";
import { checkImageRGB, checkLabelMap, checkPositiveSize } from "./_check_shapes.ts";

const f32 = Math.fround;

/** Source indices (premultiplied by a stride) and weights for one axis of a bilinear resize. */
interface LinearAxis {
  i0: Int32Array;
  i1: Int32Array;
  l0: Float32Array;
  l1: Float32Array;
}

function linearAxis(inSize: number, outSize: number, stride: number): LinearAxis {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize);
  const l1 = new Float32Array(outSize);
  if (inSize === outSize) {
    for (let d = 0; d < outSize; d++) {
      i0[d] = i1[d] = d * stride;
      l0[d] = 1;
    }
    return { i0, i1, l0, l1 };
  }
  const scale = f32(inSize / outSize);
  for (let d = 0; d < outSize; d++) {
    let src = f32(f32(scale * f32(d + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const lo = Math.min(Math.floor(src), inSize - 1);
    const lambda = Math.min(Math.max(f32(src - lo), 0), 1);
    i0[d] = lo * stride;
    i1[d] = (lo < inSize - 1 ? lo + 1 : lo) * stride;
    l1[d] = lambda;
    l0[d] = f32(1 - lambda);
  }
  return { i0, i1, l0, l1 };
}

/** Interpolates the input row starting at `rowStart` along the width into `dst` (`outWidth * channels` values). */
function resampleRow(
  src: Float32Array,
  rowStart: number,
  axis: LinearAxis,
  channels: number,
  dst: Float32Array,
): void {
  const { i0, i1, l0, l1 } = axis;
  const n = i0.length;
  if (channels === 3) {
    for (let x = 0, o = 0; x < n; x++, o += 3) {
      const a = rowStart + i0[x];
      const b = rowStart + i1[x];
      const w0 = l0[x];
      const w1 = l1[x];
      dst[o] = f32(src[a] * w0) + f32(src[b] * w1);
      dst[o + 1] = f32(src[a + 1] * w0) + f32(src[b + 1] * w1);
      dst[o + 2] = f32(src[a + 2] * w0) + f32(src[b + 2] * w1);
    }
    return;
  }
  for (let x = 0, o = 0; x < n; x++) {
    const a = rowStart + i0[x];
    const b = rowStart + i1[x];
    const w0 = l0[x];
    const w1 = l1[x];
    for (let c = 0; c < channels; c++, o++) dst[o] = f32(src[a + c] * w0) + f32(src[b + c] * w1);
  }
}

/**
 * Resizes HWC float data bilinearly, reproducing PyTorch's CPU
 * `F.interpolate(x, size=(outHeight, outWidth), mode="bilinear", align_corners=False, antialias=False)`
 * in float32 arithmetic (see the module notes for the exact operation order). Downscaling does not
 * antialias: each output reads at most 2x2 input pixels.
 *
 * @example Upsample a 1x2 ramp to 1x4
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeBilinear } from "./resize.ts";
 *
 * // Width: scale 0.5, sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to the last pixel).
 * const out = resizeBilinear(new Float32Array([0, 1]), 1, 2, 1, 1, 4);
 * assert.deepEqual(Array.from(out), [0, 0.25, 0.75, 1]);
 * ```
 *
 * @param data `height * width * channels` values, row-major, channels last.
 * @param height Input height.
 * @param width Input width.
 * @param channels Values per pixel (any positive count).
 * @param outHeight Output height.
 * @param outWidth Output width.
 * @returns `outHeight * outWidth * channels` values, row-major, channels last.
 * @throws {RangeError} If a size or the channel count is not a positive integer.
 * @throws {TypeError} If `data` is not a Float32Array of `height * width * channels` values.
 */
export function resizeBilinear(
  data: Float32Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  checkPositiveSize(height, "height");
  checkPositiveSize(width, "width");
  checkPositiveSize(channels, "channels");
  checkPositiveSize(outHeight, "outHeight");
  checkPositiveSize(outWidth, "outWidth");
  if (!(data instanceof Float32Array)) throw new TypeError("Invalid data: expected a Float32Array");
  const expected = height * width * channels;
  if (data.length !== expected) {
    const shape = `${height}x${width}x${channels}`;
    throw new TypeError(`Invalid data: has ${data.length} values, expected ${shape} = ${expected}`);
  }
  const rowLength = outWidth * channels;
  const out = new Float32Array(outHeight * rowLength);
  eachResizedRow(
    data,
    height,
    width,
    channels,
    outHeight,
    outWidth,
    (oy, row) => out.set(row, oy * rowLength),
  );
  return out;
}

/**
 * The rows of {@linkcode resizeBilinear}'s output, one at a time, with the same values bit for bit: for callers
 * that transform each row (an encoder's input tensor) without holding the whole resized image.
 *
 * @param data `height * width * channels` values, row-major, channels last (validated by the caller).
 * @param height Input height.
 * @param width Input width.
 * @param channels Values per pixel.
 * @param outHeight Output height.
 * @param outWidth Output width.
 * @param emit Receives each output row `oy` (`outWidth * channels` values; the array is reused for the next row).
 */
export function eachResizedRow(
  data: Float32Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
  emit: (oy: number, row: Float32Array) => void,
): void {
  const rowLength = outWidth * channels;
  const out = new Float32Array(rowLength);
  const across = linearAxis(width, outWidth, channels);
  const down = linearAxis(height, outHeight, 1);
  const inRow = width * channels;
  // Rows already interpolated along the width; consecutive output rows often reuse them.
  let rowA = new Float32Array(rowLength);
  let rowB = new Float32Array(rowLength);
  let yA = -1;
  let yB = -1;
  for (let oy = 0; oy < outHeight; oy++) {
    const y0 = down.i0[oy];
    const y1 = down.i1[oy];
    if (yA !== y0) {
      if (yB === y0) {
        [rowA, rowB, yA, yB] = [rowB, rowA, yB, yA];
      } else {
        resampleRow(data, y0 * inRow, across, channels, rowA);
        yA = y0;
      }
    }
    if (yB !== y1) {
      if (y1 === yA) {
        rowB.set(rowA);
      } else {
        resampleRow(data, y1 * inRow, across, channels, rowB);
      }
      yB = y1;
    }
    blendRows(rowA, down.l0[oy], rowB, down.l1[oy], out);
    emit(oy, out);
  }
}

/** `out[k] = f32(a[k]·w0) + f32(b[k]·w1)`: the vertical step of one output row (a function of its own, which V8
 * optimises after a few hundred calls; as an inner loop of the function above it deoptimised at every row's end). */
function blendRows(a: Float32Array, w0: number, b: Float32Array, w1: number, out: Float32Array): void {
  for (let k = 0; k < out.length; k++) out[k] = f32(a[k] * w0) + f32(b[k] * w1);
}

/**
 * Resizes an RGB image bilinearly with {@linkcode resizeBilinear} (PyTorch `F.interpolate` bilinear,
 * `align_corners=False`, no antialiasing).
 *
 * @example Shrink 4x4 to 2x2
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeImage } from "./resize.ts";
 *
 * const image = { data: new Float32Array(4 * 4 * 3).fill(0.5), height: 4, width: 4 };
 * const small = resizeImage(image, 2, 2);
 * assert.deepEqual([small.height, small.width, small.data[0]], [2, 2, 0.5]);
 * ```
 *
 * @param image The image to resize.
 * @param outHeight Output height.
 * @param outWidth Output width.
 * @returns A new image of `outHeight x outWidth`.
 * @throws {RangeError} If a size is not a positive integer.
 * @throws {TypeError} If `image.data` is not a Float32Array of `height * width * 3` values.
 */
export function resizeImage(image: ImageRGB, outHeight: number, outWidth: number): ImageRGB {
  checkImageRGB(image);
  return {
    data: resizeBilinear(image.data, image.height, image.width, 3, outHeight, outWidth),
    height: outHeight,
    width: outWidth,
  };
}

/** Source index of every output index along one axis, for a nearest-neighbour mode. */
function nearestAxis(inSize: number, outSize: number, exact: boolean): Int32Array {
  const scale = f32(inSize / outSize);
  const src = new Int32Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const at = exact ? f32((d + 0.5) * scale) : f32(d * scale);
    src[d] = Math.min(Math.floor(at), inSize - 1);
  }
  return src;
}

function gatherLabels(labels: LabelMap, outHeight: number, outWidth: number, exact: boolean): LabelMap {
  checkLabelMap(labels);
  checkPositiveSize(outHeight, "outHeight");
  checkPositiveSize(outWidth, "outWidth");
  const rows = nearestAxis(labels.height, outHeight, exact);
  const cols = nearestAxis(labels.width, outWidth, exact);
  const src = labels.data;
  const out = new Int32Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) gatherLabelRow(src, rows[y] * labels.width, cols, out, y * outWidth);
  return { data: out, height: outHeight, width: outWidth };
}

/** `out[o + x] = src[start + cols[x]]` for every column: a function per row, which V8 optimises after a few hundred
 * calls (inside the function above, called once per image, the row loop ran interpreted until on-stack replacement
 * and deoptimised at every row's end). */
function gatherLabelRow(src: Int32Array, start: number, cols: Int32Array, out: Int32Array, o: number): void {
  for (let x = 0; x < cols.length; x++) out[o + x] = src[start + cols[x]];
}

/**
 * Resizes a label map with PyTorch's `NEAREST_EXACT` rule: output `d` reads input
 * `min(floor((d + 0.5) * in / out), in - 1)` (scale in float32), like Pillow and `scipy.ndimage.zoom`.
 * The reference evaluation uses it to bring cropped ground truth to 1024x1024.
 *
 * @example 1024 to 128 reads the centre of every 8-pixel cell
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeLabelsNearestExact } from "./resize.ts";
 *
 * const labels = { data: new Int32Array([0, 1, 2, 3]), height: 1, width: 4 };
 * assert.deepEqual(Array.from(resizeLabelsNearestExact(labels, 1, 2).data), [1, 3]);
 * ```
 *
 * @param labels The label map to resize.
 * @param outHeight Output height.
 * @param outWidth Output width.
 * @returns A new label map of `outHeight x outWidth`.
 * @throws {RangeError} If a size is not a positive integer.
 * @throws {TypeError} If `labels.data` is not an Int32Array of `height * width` values.
 */
export function resizeLabelsNearestExact(labels: LabelMap, outHeight: number, outWidth: number): LabelMap {
  return gatherLabels(labels, outHeight, outWidth, true);
}

/**
 * Resizes a label map with PyTorch's legacy `nearest` rule: output `d` reads input
 * `min(floor(d * in / out), in - 1)` (product in float32). The reference evaluation uses it for the
 * 1024 to 128 ground truth, so `GT128[i, j] = GT1024[8i, 8j]`.
 *
 * @example Legacy nearest takes the first pixel of every cell
 * ```ts
 * import assert from "node:assert/strict";
 * import { resizeLabelsNearest } from "./resize.ts";
 *
 * const labels = { data: new Int32Array([0, 1, 2, 3]), height: 1, width: 4 };
 * assert.deepEqual(Array.from(resizeLabelsNearest(labels, 1, 2).data), [0, 2]);
 * ```
 *
 * @param labels The label map to resize.
 * @param outHeight Output height.
 * @param outWidth Output width.
 * @returns A new label map of `outHeight x outWidth`.
 * @throws {RangeError} If a size is not a positive integer.
 * @throws {TypeError} If `labels.data` is not an Int32Array of `height * width` values.
 */
export function resizeLabelsNearest(labels: LabelMap, outHeight: number, outWidth: number): LabelMap {
  return gatherLabels(labels, outHeight, outWidth, false);
}
