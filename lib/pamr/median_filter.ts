/**
 * 3×3 median filter of a label map with scipy's `reflect` borders.
 *
 * DiffCut smooths its PAMR output with `scipy.ndimage.median_filter(labels, 3)` (REFERENCE.md §4.2). On a
 * `(1, H, W)` array that equals a 2-D 3×3 median whose out-of-range taps use scipy's `reflect` mode
 * (`d c b a | a b c d`): the tap one step past an edge is the edge pixel itself.
 *
 * @module
 */

/**
 * Median of every 3×3 window of an int32 label map, with scipy `reflect` borders: a tap at row `−1`
 * reads row `0`, a tap at row `height` reads row `height − 1`, and the same for columns. Matches
 * `scipy.ndimage.median_filter(labels, size=3, mode="reflect")` exactly (medians of integers are exact).
 *
 * The median of the nine values is found by sorting each column triple and taking the median of
 * (largest column minimum, median of the column medians, smallest column maximum), which is exact.
 *
 * @example A single outlier is removed
 * ```ts
 * import assert from "node:assert/strict";
 * import { medianFilter3x3 } from "./median_filter.ts";
 * const out = medianFilter3x3(new Int32Array([1, 1, 1, 1, 7, 1, 1, 1, 1]), 3, 3);
 * assert.deepEqual([...out], [1, 1, 1, 1, 1, 1, 1, 1, 1]);
 * ```
 *
 * @param labels `height × width` labels, row-major.
 * @param height Rows; a positive integer.
 * @param width Columns; a positive integer.
 * @returns A new `height × width` array of medians.
 * @throws {TypeError} If `labels` is not an Int32Array.
 * @throws {RangeError} If `height` or `width` is not a positive integer or `labels.length !== height * width`.
 */
export function medianFilter3x3(labels: Int32Array, height: number, width: number): Int32Array {
  if (!(labels instanceof Int32Array)) {
    const name = labels === null ? "null" : (labels as object)?.constructor?.name ?? typeof labels;
    throw new TypeError(`Labels must be an Int32Array, received ${name}`);
  }
  if (!Number.isInteger(height) || height < 1 || !Number.isInteger(width) || width < 1) {
    throw new RangeError(`Median filter size must be positive integers, received ${height}×${width}`);
  }
  if (labels.length !== height * width) {
    throw new RangeError(
      `Labels must have ${height * width} elements for a ${height}×${width} map, received ${labels.length}`,
    );
  }
  const out = new Int32Array(height * width);
  // Sorted (lo, mid, hi) of the vertical triple of every column of the current row.
  const lo = new Int32Array(width);
  const mid = new Int32Array(width);
  const hi = new Int32Array(width);
  // One function call per row: V8 optimises a function called this often, whereas the loops of a function called
  // once per image run interpreted until on-stack replacement, which kept deoptimising at each row's end.
  for (let y = 0; y < height; y++) {
    const up = (y > 0 ? y - 1 : 0) * width;
    const down = (y < height - 1 ? y + 1 : y) * width;
    sortColumnTriples(labels, up, y * width, down, width, lo, mid, hi);
    medianRow(lo, mid, hi, width, out, y * width);
  }
  return out;
}

/** The sorted (lo, mid, hi) of the vertical triple (rows `up`, `row`, `down`) of every column. */
function sortColumnTriples(
  labels: Int32Array,
  up: number,
  row: number,
  down: number,
  width: number,
  lo: Int32Array,
  mid: Int32Array,
  hi: Int32Array,
): void {
  for (let x = 0; x < width; x++) {
    let a = labels[up + x];
    let b = labels[row + x];
    let c = labels[down + x];
    let t: number;
    if (a > b) (t = a, a = b, b = t);
    if (b > c) (t = b, b = c, c = t);
    if (a > b) (t = a, a = b, b = t);
    lo[x] = a;
    mid[x] = b;
    hi[x] = c;
  }
}

/** One output row: the median of (largest column minimum, median of column medians, smallest column maximum). */
function medianRow(
  lo: Int32Array,
  mid: Int32Array,
  hi: Int32Array,
  width: number,
  out: Int32Array,
  row: number,
): void {
  for (let x = 0; x < width; x++) {
    const l = x > 0 ? x - 1 : 0;
    const r = x < width - 1 ? x + 1 : x;
    const maxLo = Math.max(lo[l], lo[x], lo[r]);
    const medMid = median3(mid[l], mid[x], mid[r]);
    const minHi = Math.min(hi[l], hi[x], hi[r]);
    out[row + x] = median3(maxLo, medMid, minHi);
  }
}

/**
 * Median of three numbers.
 *
 * @param a First value.
 * @param b Second value.
 * @param c Third value.
 * @returns The middle value.
 */
function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}
