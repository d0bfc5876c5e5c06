/**
 * Linear sum assignment (the rectangular assignment problem) that makes exactly the choices of
 * `scipy.optimize.linear_sum_assignment` (scipy 1.17), ties included.
 *
 * The unsupervised segmentation protocol (REFERENCE.md §5.4) matches GT classes to clusters per
 * image with scipy's solver, and the matching of absent classes (all-zero histogram rows) is
 * decided purely by tie-breaking. Any optimal assignment gives the same total, but only scipy's
 * assignment gives the same false positives, so this module reproduces its procedure step by step:
 *
 * 1. a matrix with more rows than columns is transposed, solved, and the result sorted by row;
 * 2. `maximize` negates the costs; NaN and −Infinity (after negation) are rejected; the costs are
 *    used as they are (scipy ≥ 1.9 no longer subtracts the global minimum);
 * 3. rows are inserted one at a time (0, 1, …) by a shortest augmenting path (Crouse 2016), a
 *    Dijkstra-like search over path costs `minVal + c[i,j] − u[i] − v[j]`, evaluated left to right;
 * 4. each search scans the not-yet-reached columns from a list initialised in reverse order
 *    (`nc−1 … 0`); a column becomes the new best when its path cost is strictly lower, or equal and
 *    the column is still unassigned; a reached column is removed by swapping in the last entry;
 * 5. after each search the duals are updated as in Crouse's pseudocode and the path is flipped.
 *
 * Notes
 * -----
 * +Infinity marks a forbidden pair when minimizing (−Infinity when maximizing); the problem is
 * infeasible when no complete assignment avoids them. Only infinite costs make a problem
 * infeasible.
 *
 * Finite costs near ±1.8e308 can make a path cost or a dual overflow to ±Infinity (or NaN) in
 * double precision, after which scipy treats finite pairs as forbidden or compares NaN, and may
 * return a non-optimal assignment. This solver notices the first non-finite value that comes from
 * finite costs and solves the problem again with every cost multiplied by a power of two 2⁻ᵏ
 * small enough that nothing overflows. Multiplying by a power of two is exact (short of subnormal
 * numbers), so the second pass makes the same comparisons, ties included, that the first would
 * have made in a floating-point format with unbounded exponents. When nothing overflows, the
 * result is scipy's.
 *
 * References
 * ----------
 * D. F. Crouse, "On implementing 2D rectangular assignment algorithms", IEEE Transactions on
 * Aerospace and Electronic Systems 52(4), 2016, pp. 1679–1696. doi:10.1109/TAES.2016.140952
 *
 * @module
 */

/** Options of {@linkcode linearSumAssignment}. */
export interface LinearSumAssignmentOptions {
  /**
   * Find the assignment of largest total instead of smallest.
   *
   * @default {false}
   */
  maximize?: boolean;
}

/** An optimal assignment: pairs `(rowIndex[k], colIndex[k])`, sorted by row. */
export interface LinearSumAssignmentResult {
  /** Assigned rows, strictly increasing; length `min(rows, cols)`. */
  rowIndex: Int32Array;
  /** Column assigned to `rowIndex[k]`; all distinct. */
  colIndex: Int32Array;
}

/**
 * Solves the linear sum assignment problem for a dense `rows × cols` cost matrix, returning the
 * same pairs as `scipy.optimize.linear_sum_assignment` (scipy 1.17), ties included.
 *
 * Every row is assigned when `rows ≤ cols`, every column otherwise; the result has
 * `min(rows, cols)` pairs sorted by row index. An empty matrix (0 rows or 0 columns) gives empty
 * arrays.
 *
 * @param cost Row-major costs, `cost[i * cols + j]` for row `i`, column `j`; not modified.
 * @param rows Number of rows (non-negative integer).
 * @param cols Number of columns (non-negative integer).
 * @param options `maximize` (default `false`).
 * @returns The assigned row indices (increasing) and their columns.
 * @throws {TypeError} If `cost` is not a Float64Array of length `rows * cols`.
 * @throws {RangeError} If `rows` or `cols` is not a non-negative integer, if the matrix contains
 *   NaN or −Infinity (+Infinity when maximizing), or if no complete assignment has a finite cost.
 *
 * @example Minimizing and maximizing a 3 × 3 matrix
 * ```ts
 * import { linearSumAssignment } from "./linear_sum_assignment.ts";
 * import assert from "node:assert/strict";
 *
 * const cost = new Float64Array([4, 1, 3, 2, 0, 5, 3, 2, 2]);
 * const min = linearSumAssignment(cost, 3, 3);
 * assert.deepEqual([...min.rowIndex], [0, 1, 2]);
 * assert.deepEqual([...min.colIndex], [1, 0, 2]);
 * const max = linearSumAssignment(cost, 3, 3, { maximize: true });
 * assert.deepEqual([...max.colIndex], [0, 2, 1]);
 * ```
 *
 * @example Ties: an all-zero row takes a free column
 * ```ts
 * import { linearSumAssignment } from "./linear_sum_assignment.ts";
 * import assert from "node:assert/strict";
 *
 * // Row 1 is all zeros. Its search scans columns 2, 1, 0; an equal cost replaces the best so far
 * // only when the column is free, so the last free column scanned, column 0, wins.
 * const { colIndex } = linearSumAssignment(new Float64Array([0, 5, 0, 0, 0, 0]), 2, 3, { maximize: true });
 * assert.deepEqual([...colIndex], [1, 0]);
 * ```
 */
export function linearSumAssignment(
  cost: Float64Array,
  rows: number,
  cols: number,
  options: LinearSumAssignmentOptions = {},
): LinearSumAssignmentResult {
  if (!Number.isInteger(rows) || rows < 0) {
    throw new RangeError(`Cannot solve assignment: rows must be a non-negative integer, received ${rows}`);
  }
  if (!Number.isInteger(cols) || cols < 0) {
    throw new RangeError(`Cannot solve assignment: cols must be a non-negative integer, received ${cols}`);
  }
  if (!(cost instanceof Float64Array)) {
    throw new TypeError(
      `Cannot solve assignment: cost must be a Float64Array, received ${describeValue(cost)}`,
    );
  }
  if (cost.length !== rows * cols) {
    throw new TypeError(
      `Cannot solve assignment: cost has length ${cost.length}, expected rows * cols = ${rows} * ${cols} = ${
        rows * cols
      }`,
    );
  }
  const maximize = options.maximize ?? false;
  if (typeof maximize !== "boolean") {
    throw new TypeError(
      `Cannot solve assignment: options.maximize must be a boolean, received ${describeValue(maximize)}`,
    );
  }
  if (rows === 0 || cols === 0) {
    return { rowIndex: new Int32Array(0), colIndex: new Int32Array(0) };
  }

  // Work on a copy with at least as many columns as rows.
  const transpose = rows > cols;
  const nr = transpose ? cols : rows;
  const nc = transpose ? rows : cols;
  const c = new Float64Array(nr * nc);
  if (transpose) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) c[j * rows + i] = cost[i * cols + j];
    }
  } else {
    c.set(cost);
  }
  if (maximize) {
    for (let k = 0; k < c.length; k++) c[k] = -c[k];
  }
  for (let k = 0; k < c.length; k++) {
    const x = c[k];
    if (Number.isNaN(x) || x === -Infinity) {
      const original = transpose ? (k % rows) * cols + Math.floor(k / rows) : k;
      throw new RangeError(
        `Cannot solve assignment: matrix contains invalid numeric entries (cost[${original}] is ${
          cost[original]
        }, expected a number or ${maximize ? "-Infinity when maximizing" : "+Infinity when minimizing"})`,
      );
    }
  }
  let col4row = solveShortestAugmentingPath(c, nr, nc);
  if (col4row === OVERFLOW) col4row = solveScaled(c, nr, nc);
  if (col4row === null) {
    throw new RangeError(
      `Cannot solve assignment: cost matrix is infeasible (every complete assignment of the ${rows} x ${cols} matrix uses an infinite cost)`,
    );
  }

  const rowIndex = new Int32Array(nr);
  const colIndex = new Int32Array(nr);
  if (transpose) {
    // col4row maps original columns to distinct original rows; sort the pairs by row.
    const order = Array.from({ length: nr }, (_, k) => k);
    order.sort((a, b) => col4row[a] - col4row[b]);
    for (let k = 0; k < nr; k++) {
      rowIndex[k] = col4row[order[k]];
      colIndex[k] = order[k];
    }
  } else {
    for (let i = 0; i < nr; i++) {
      rowIndex[i] = i;
      colIndex[i] = col4row[i];
    }
  }
  return { rowIndex, colIndex };
}

/** Marks a solve in which a path cost or a dual computed from finite costs was not finite. */
const OVERFLOW = "overflow";

/**
 * Solves again with the costs scaled by powers of two until no value overflows.
 *
 * The path costs and duals of the shortest augmenting path stay within a few times `nr + nc`
 * times the largest finite |cost| (each is a signed sum of costs along alternating paths), so the
 * first scale `2⁻ᵏ` brings the largest cost below `2¹⁰²³ / (8·(nr + nc))`; further attempts
 * divide by another 2¹⁶ in case that bound was not enough.
 */
function solveScaled(c: Float64Array, nr: number, nc: number): Int32Array | null {
  let largest = 0;
  for (let k = 0; k < c.length; k++) {
    const a = Math.abs(c[k]);
    if (a !== Infinity && a > largest) largest = a;
  }
  const headroom = Math.ceil(Math.log2(8 * (nr + nc)));
  let shift = Math.max(1, Math.ceil(Math.log2(largest)) + headroom - 1022);
  const scaled = new Float64Array(c.length);
  for (let attempt = 0; attempt < 8; attempt++, shift += 16) {
    const factor = 2 ** -shift;
    for (let k = 0; k < c.length; k++) scaled[k] = c[k] * factor;
    const col4row = solveShortestAugmentingPath(scaled, nr, nc);
    if (col4row !== OVERFLOW) return col4row;
  }
  throw new RangeError(
    `Cannot solve assignment: path costs overflow even with the costs scaled by 2^-${shift} (largest |cost| ${largest})`,
  );
}

/**
 * Shortest-augmenting-path solver on a prepared `nr × nc` matrix (`nr ≤ nc`, no NaN, no −Infinity).
 * Returns the column of every row, `null` when some row cannot be assigned at finite cost, or
 * {@linkcode OVERFLOW} as soon as a path cost or dual that should be finite is not.
 */
function solveShortestAugmentingPath(
  c: Float64Array,
  nr: number,
  nc: number,
): Int32Array | null | typeof OVERFLOW {
  const u = new Float64Array(nr); // row duals
  const v = new Float64Array(nc); // column duals
  const spc = new Float64Array(nc); // shortest path cost to each column in the current search
  const path = new Int32Array(nc).fill(-1); // row preceding each column on its shortest path
  const col4row = new Int32Array(nr).fill(-1);
  const row4col = new Int32Array(nc).fill(-1);
  const rowReached = new Uint8Array(nr); // SR in Crouse's notation
  const colReached = new Uint8Array(nc); // SC
  const remaining = new Int32Array(nc); // columns not yet reached, order matters for ties

  for (let curRow = 0; curRow < nr; curRow++) {
    // --- Dijkstra-like search from curRow to the nearest free column.
    let minVal = 0;
    let numRemaining = nc;
    for (let k = 0; k < nc; k++) remaining[k] = nc - 1 - k;
    rowReached.fill(0);
    colReached.fill(0);
    spc.fill(Infinity);
    let sink = -1;
    let i = curRow;
    while (sink === -1) {
      rowReached[i] = 1;
      let index = -1;
      let lowest = Infinity;
      const base = i * nc;
      for (let k = 0; k < numRemaining; k++) {
        const j = remaining[k];
        const cij = c[base + j];
        const r = minVal + cij - u[i] - v[j];
        // With finite duals, only a forbidden pair (+Infinity) may give a non-finite path cost.
        if (r - r !== 0 && cij !== Infinity) return OVERFLOW;
        if (r < spc[j]) {
          path[j] = i;
          spc[j] = r;
        }
        if (spc[j] < lowest || (spc[j] === lowest && row4col[j] === -1)) {
          lowest = spc[j];
          index = k;
        }
      }
      minVal = lowest;
      if (minVal === Infinity) return null;
      const j = remaining[index];
      if (row4col[j] === -1) sink = j;
      else i = row4col[j];
      colReached[j] = 1;
      numRemaining--;
      remaining[index] = remaining[numRemaining];
    }

    // --- Dual update (Crouse 2016, p. 1686).
    u[curRow] += minVal;
    if (u[curRow] - u[curRow] !== 0) return OVERFLOW;
    for (let r = 0; r < nr; r++) {
      if (rowReached[r] && r !== curRow) {
        u[r] += minVal - spc[col4row[r]];
        if (u[r] - u[r] !== 0) return OVERFLOW;
      }
    }
    for (let j = 0; j < nc; j++) {
      if (colReached[j]) {
        v[j] -= minVal - spc[j];
        if (v[j] - v[j] !== 0) return OVERFLOW;
      }
    }

    // --- Flip the alternating path ending at sink.
    let j = sink;
    for (;;) {
      const r = path[j];
      row4col[j] = r;
      const previous = col4row[r];
      col4row[r] = j;
      j = previous;
      if (r === curRow) break;
    }
  }
  return col4row;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return `${typeof value} ${String(value)}`;
}
