import assert from "node:assert/strict";
import { linearSumAssignment } from "../../lib/eval/linear_sum_assignment.ts";

/**
 * Vectors from scipy 1.17.1 (`scipy.optimize.linear_sum_assignment`), written by
 * `python3 tests/fixtures/gen_lsap_vectors.py` (seeded numpy generator, run from the repository
 * root; the script documents the format). Mostly small integer matrices with many ties: values in
 * {0, 1, 2}, histogram-like matrices with all-zero rows and columns, sparse {0, 1}, all-zero
 * matrices, 1×1, 1×n, n×1, 0×n, n×0, random floats, ±Infinity forbidden pairs and NaN/±Infinity
 * invalid entries.
 */
interface ScipyCase {
  id: string;
  rows: number;
  cols: number;
  maximize: boolean;
  /** Row-major; rows separated by ";", entries by ","; "Infinity", "-Infinity", "NaN" spelled out. */
  cost: string;
  row?: number[];
  col?: number[];
  error?: "infeasible" | "invalid";
}

const fixtureUrl = new URL("../fixtures/lsap_scipy_vectors.json", import.meta.url);
const fixture = JSON.parse(Deno.readTextFileSync(fixtureUrl)) as { scipy: string; cases: ScipyCase[] };

function decode(c: ScipyCase): Float64Array {
  if (c.rows === 0 || c.cols === 0) return new Float64Array(0);
  const values = c.cost.split(";").flatMap((row) => row.split(",")).map(Number);
  assert.equal(values.length, c.rows * c.cols, `${c.id}: cost length`);
  return Float64Array.from(values);
}

Deno.test("linearSumAssignment reproduces scipy's rowIndex/colIndex on every fixture case", () => {
  assert.equal(fixture.scipy, "1.17.1");
  assert.ok(fixture.cases.length >= 300, `only ${fixture.cases.length} cases`);
  const failures: string[] = [];
  let errors = 0;
  for (const c of fixture.cases) {
    const cost = decode(c);
    if (c.error !== undefined) {
      errors++;
      const pattern = c.error === "infeasible"
        ? /cost matrix is infeasible/
        : /contains invalid numeric entries/;
      try {
        linearSumAssignment(cost, c.rows, c.cols, { maximize: c.maximize });
        failures.push(`${c.id}: expected ${c.error} error, got a result`);
      } catch (e) {
        if (!(e instanceof RangeError) || !pattern.test(e.message)) {
          failures.push(`${c.id}: expected ${c.error} RangeError, got ${e}`);
        }
      }
      continue;
    }
    const { rowIndex, colIndex } = linearSumAssignment(cost, c.rows, c.cols, { maximize: c.maximize });
    const got = JSON.stringify([[...rowIndex], [...colIndex]]);
    const want = JSON.stringify([c.row, c.col]);
    if (got !== want) failures.push(`${c.id}: got ${got}, scipy ${want}`);
  }
  assert.ok(errors > 0);
  assert.deepEqual(failures, []);
});

Deno.test("linearSumAssignment handles empty and degenerate shapes", () => {
  for (const [r, c] of [[0, 0], [0, 5], [5, 0]]) {
    const res = linearSumAssignment(new Float64Array(0), r, c);
    assert.equal(res.rowIndex.length, 0);
    assert.equal(res.colIndex.length, 0);
  }
  const one = linearSumAssignment(new Float64Array([7]), 1, 1, { maximize: true });
  assert.deepEqual([...one.rowIndex, ...one.colIndex], [0, 0]);
  // 3 x 1: transposed internally, then sorted by row.
  const tall = linearSumAssignment(new Float64Array([3, 1, 2]), 3, 1);
  assert.deepEqual([...tall.rowIndex], [1]);
  assert.deepEqual([...tall.colIndex], [0]);
});

Deno.test("linearSumAssignment sorts transposed results by row", () => {
  // 4 x 2, minimize: rows 3 and 1 are cheapest for columns 0 and 1.
  const cost = new Float64Array([9, 9, 9, 0, 9, 9, 0, 9]);
  const { rowIndex, colIndex } = linearSumAssignment(cost, 4, 2);
  assert.deepEqual([...rowIndex], [1, 3]);
  assert.deepEqual([...colIndex], [1, 0]);
});

Deno.test("linearSumAssignment does not modify its input", () => {
  const cost = new Float64Array([1, 2, 3, 4, 5, 6]);
  const copy = cost.slice();
  linearSumAssignment(cost, 3, 2, { maximize: true });
  assert.deepEqual(cost, copy);
});

Deno.test("linearSumAssignment rejects bad inputs with one-line errors", () => {
  const oneLine = (e: unknown) => e instanceof Error && !e.message.includes("\n");
  assert.throws(
    () => linearSumAssignment(new Float64Array(5), 2, 3),
    (e) => e instanceof TypeError && oneLine(e),
  );
  assert.throws(() => linearSumAssignment(new Float64Array(0), -1, 0), RangeError);
  assert.throws(() => linearSumAssignment(new Float64Array(0), 0, -2), RangeError);
  assert.throws(() => linearSumAssignment(new Float64Array(2), 1.5, 2), RangeError);
  assert.throws(
    () => linearSumAssignment([1, 2] as unknown as Float64Array, 1, 2),
    (e) => e instanceof TypeError && /Float64Array/.test(e.message),
  );
  assert.throws(
    () => linearSumAssignment(new Float64Array([1, NaN, 2, 3]), 2, 2),
    (e) =>
      e instanceof RangeError && /invalid numeric entries/.test(e.message) &&
      /cost\[1\] is NaN/.test(e.message),
  );
  assert.throws(
    () => linearSumAssignment(new Float64Array([1, -Infinity]), 1, 2),
    (e) => e instanceof RangeError && /invalid numeric entries/.test(e.message),
  );
  assert.throws(
    () => linearSumAssignment(new Float64Array([1, Infinity]), 1, 2, { maximize: true }),
    (e) => e instanceof RangeError && /invalid numeric entries/.test(e.message),
  );
  // Index reported in the caller's layout even when the solver transposes.
  assert.throws(
    () => linearSumAssignment(new Float64Array([0, 1, 2, 3, NaN, 5]), 3, 2),
    (e) => e instanceof RangeError && /cost\[4\] is NaN/.test(e.message),
  );
  assert.throws(
    () => linearSumAssignment(new Float64Array([Infinity, Infinity, 1, 1]), 2, 2),
    (e) => e instanceof RangeError && /cost matrix is infeasible/.test(e.message) && oneLine(e),
  );
  assert.throws(
    () => linearSumAssignment(new Float64Array([-Infinity]), 1, 1, { maximize: true }),
    (e) => e instanceof RangeError && /cost matrix is infeasible/.test(e.message),
  );
});

// ---------------------------------------------------------------------------------------------
// Brute force: the total equals the optimum over all injective assignments.

/** Deterministic xorshift32 generator so failures reproduce. */
function makeRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Optimum over all injective maps of the smaller side into the larger one. */
function bruteForceOptimum(cost: Float64Array, rows: number, cols: number, maximize: boolean): number {
  const small = Math.min(rows, cols);
  const large = Math.max(rows, cols);
  const at = (s: number, l: number) => rows <= cols ? cost[s * cols + l] : cost[l * cols + s];
  const used = new Uint8Array(large);
  let best = maximize ? -Infinity : Infinity;
  const visit = (s: number, total: number) => {
    if (s === small) {
      if (maximize ? total > best : total < best) best = total;
      return;
    }
    for (let l = 0; l < large; l++) {
      if (used[l]) continue;
      used[l] = 1;
      visit(s + 1, total + at(s, l));
      used[l] = 0;
    }
  };
  visit(0, 0);
  return best;
}

Deno.test("linearSumAssignment total equals the brute-force optimum on tie-heavy matrices", () => {
  const random = makeRandom(12345);
  for (let trial = 0; trial < 600; trial++) {
    const rows = 1 + Math.floor(random() * 6);
    const cols = 1 + Math.floor(random() * 6);
    const levels = trial % 3 === 0 ? 2 : trial % 3 === 1 ? 3 : 7;
    const cost = new Float64Array(rows * cols);
    for (let k = 0; k < cost.length; k++) cost[k] = Math.floor(random() * levels);
    if (trial % 5 === 0) cost.fill(0, 0, cols); // an all-zero row
    const maximize = trial % 2 === 0;
    const { rowIndex, colIndex } = linearSumAssignment(cost, rows, cols, { maximize });
    const size = Math.min(rows, cols);
    assert.equal(rowIndex.length, size);
    assert.equal(new Set(colIndex).size, size, "columns distinct");
    for (let k = 1; k < size; k++) assert.ok(rowIndex[k] > rowIndex[k - 1], "rows increasing");
    let total = 0;
    for (let k = 0; k < size; k++) total += cost[rowIndex[k] * cols + colIndex[k]];
    assert.equal(total, bruteForceOptimum(cost, rows, cols, maximize), `trial ${trial} ${rows}x${cols}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Finite costs near ±1.8e308: path costs and duals may overflow in double precision; only
// infinite costs may make a problem infeasible.

function solve(m: number[][], maximize = false): number[][] {
  const r = linearSumAssignment(Float64Array.from(m.flat()), m.length, m[0].length, { maximize });
  return [[...r.rowIndex], [...r.colIndex]];
}

Deno.test("linearSumAssignment solves ±1e308 costs (the optimum, not 'infeasible')", () => {
  // Minimizing picks the two −1e308 entries; maximizing the two 1e308 entries. Each has one
  // optimal assignment, so the expected answers follow from the costs alone.
  assert.deepEqual(solve([[1e308, -1e308], [-1e308, 1e308]]), [[0, 1], [1, 0]]);
  assert.deepEqual(solve([[1e308, -1e308], [-1e308, 1e308]], true), [[0, 1], [0, 1]]);
  assert.deepEqual(solve([[1e308, 1e308], [-1e308, 1e308]]), [[0, 1], [1, 0]]);
  assert.deepEqual(solve([[1e308, 1e308], [1e308, -1e308]]), [[0, 1], [0, 1]]);
  // Mixed with ordinary values: −1e308 at (2, 2) and the off-diagonal −1.7e308 pair beat all else.
  const mixed = [[1.7e308, -1.7e308, 1], [-1.7e308, 1.7e308, 2], [3, 1, -1e308]];
  assert.deepEqual(solve(mixed), [[0, 1, 2], [1, 0, 2]]);
  // Maximizing: the diagonal, 1.7e308 + 1.7e308 − 1e308, beats every other assignment (≈ 1.7e308).
  assert.deepEqual(solve(mixed, true), [[0, 1, 2], [0, 1, 2]]);
  // Both assignments total 0 exactly. Row 1's search reaches column 0 (held by row 0) first, then
  // column 1 at the same path cost: the tie goes to the diagonal, as in scipy. The dual update of
  // this step is 1e308 − (−1e308), which overflows double precision.
  assert.deepEqual(solve([[-1e308, 1e308], [-1e308, 1e308]]), [[0, 1], [0, 1]]);
  // The only assignment avoiding +Infinity is the anti-diagonal, however large its finite costs.
  assert.deepEqual(solve([[-1.79e308, -1e308], [1.79e308, Infinity]]), [[0, 1], [1, 0]]);
  assert.deepEqual(solve([[-1.79e308, 1.79e308], [-Infinity, 1.79e308]], true), [[0, 1], [0, 1]]);
  // Only infinite costs make a problem infeasible: column 0 is forbidden to every row.
  assert.throws(
    () => solve([[Infinity, 1e308], [Infinity, -1.79e308]]),
    (e) => e instanceof RangeError && /cost matrix is infeasible/.test(e.message),
  );
});

Deno.test("linearSumAssignment gives scipy's fixture answers for the fixture costs scaled towards 1.8e308", () => {
  // Multiplying by a power of two is exact, so the solver must make the same choices (ties
  // included) on the scaled matrix as on the original: every fixture case, scaled until its
  // largest finite |cost| lies in [2^1023, 2^1024), keeps scipy's answer or error.
  const failures: string[] = [];
  let scaledCases = 0;
  for (const c of fixture.cases) {
    const cost = decode(c);
    let largest = 0;
    for (const x of cost) if (Number.isFinite(x)) largest = Math.max(largest, Math.abs(x));
    if (largest === 0) continue;
    const shift = 1023 - Math.floor(Math.log2(largest));
    // Two steps, since 2^shift alone overflows when the largest cost is below 1.
    const scale = (x: number, e: number) => x * 2 ** Math.min(e, 1000) * 2 ** Math.max(e - 1000, 0);
    const scaled = cost.map((x) => scale(x, shift));
    for (let k = 0; k < cost.length; k++) {
      if (Number.isFinite(cost[k]) && scale(scaled[k], -shift) !== cost[k]) {
        throw new Error(`${c.id}: scaling by 2^${shift} is not exact`);
      }
    }
    scaledCases++;
    let got: string;
    try {
      const r = linearSumAssignment(scaled, c.rows, c.cols, { maximize: c.maximize });
      got = JSON.stringify([[...r.rowIndex], [...r.colIndex]]);
    } catch (e) {
      got = /cost matrix is infeasible/.test((e as Error).message)
        ? "infeasible"
        : /contains invalid numeric entries/.test((e as Error).message)
        ? "invalid"
        : String(e);
    }
    const want = c.error ?? JSON.stringify([c.row, c.col]);
    if (got !== want) failures.push(`${c.id} × 2^${shift}: got ${got}, scipy (unscaled) ${want}`);
  }
  assert.ok(scaledCases >= 250, `only ${scaledCases} cases scaled`);
  assert.deepEqual(failures, []);
});

/** The exact value of a finite double as an integer multiple of 2^-1074. */
function exactUnits(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const mantissa = bits & ((1n << 52n) - 1n);
  const units = exponent === 0 ? mantissa : (mantissa | (1n << 52n)) << BigInt(exponent - 1);
  return bits >> 63n ? -units : units;
}

Deno.test("linearSumAssignment is optimal on random costs up to ±1.79e308 (exact totals)", () => {
  const random = makeRandom(2024);
  const levels = [1.79e308, -1.79e308, 1.7e308, -1.7e308, 1e308, -1e308, 5e307, -5e307, 0, 1, -1, 2];
  for (let trial = 0; trial < 400; trial++) {
    const rows = 1 + Math.floor(random() * 5);
    const cols = 1 + Math.floor(random() * 5);
    const cost = new Float64Array(rows * cols);
    for (let k = 0; k < cost.length; k++) {
      cost[k] = trial % 2 ? levels[Math.floor(random() * levels.length)] : (2 * random() - 1) * 1.79e308;
    }
    const maximize = trial % 3 === 0;
    const { rowIndex, colIndex } = linearSumAssignment(cost, rows, cols, { maximize });
    const size = Math.min(rows, cols);
    assert.equal(new Set(colIndex).size, size, "columns distinct");
    // Exact totals: the solver's total and the brute-force optimum over all assignments.
    let total = 0n;
    for (let k = 0; k < size; k++) total += exactUnits(cost[rowIndex[k] * cols + colIndex[k]]);
    const small = Math.min(rows, cols), large = Math.max(rows, cols);
    const at = (s: number, l: number) => rows <= cols ? cost[s * cols + l] : cost[l * cols + s];
    const used = new Uint8Array(large);
    let best: bigint | null = null;
    const visit = (s: number, sum: bigint) => {
      if (s === small) {
        if (best === null || (maximize ? sum > best : sum < best)) best = sum;
        return;
      }
      for (let l = 0; l < large; l++) {
        if (used[l]) continue;
        used[l] = 1;
        visit(s + 1, sum + exactUnits(at(s, l)));
        used[l] = 0;
      }
    };
    visit(0, 0n);
    // Double-precision path costs round; allow 1e-9 of the largest cost (about 2e299).
    let largest = 0;
    for (const x of cost) largest = Math.max(largest, Math.abs(x));
    const gap = total - best!;
    const tolerance = exactUnits(largest) / 1_000_000_000n;
    assert.ok(
      (gap < 0n ? -gap : gap) <= tolerance,
      `trial ${trial} ${rows}x${cols} maximize=${maximize}: total differs from the optimum`,
    );
  }
});
