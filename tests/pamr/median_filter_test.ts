import assert from "node:assert/strict";
import { medianFilter3x3 } from "../../lib/pamr/median_filter.ts";

/** Independent reference: gather the 9 taps with scipy's `reflect` rule, sort, take the 5th. */
function naiveMedian(labels: Int32Array, h: number, w: number): Int32Array {
  // reflect (d c b a | a b c d): index -1 -> 0, index n -> n - 1 (only one step out is ever needed).
  const r = (i: number, n: number) => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
  const out = new Int32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const taps: number[] = [];
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) taps.push(labels[r(y + dy, h) * w + r(x + dx, w)]);
      }
      taps.sort((a, b) => a - b);
      out[y * w + x] = taps[4];
    }
  }
  return out;
}

/** Deterministic pseudo-random integers in [0, n). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

Deno.test("medianFilter3x3 matches the hand-computed reflect result on 1..9", () => {
  // Padded with reflect (edge repeated):
  //   1 1 2 3 3
  //   1 1 2 3 3
  //   4 4 5 6 6
  //   7 7 8 9 9
  //   7 7 8 9 9
  // (0,0): {1,1,2,1,1,2,4,4,5} -> sorted 1,1,1,1,2,2,4,4,5 -> 2
  // (0,1): {1,2,3,1,2,3,4,5,6} -> 3;  (0,2): {2,3,3,2,3,3,5,6,6} -> 3
  // (1,0): {1,1,2,4,4,5,7,7,8} -> 4;  (1,1): 1..9 -> 5;  (1,2): {2,3,3,5,6,6,8,9,9} -> 6
  // (2,0): {4,4,5,7,7,8,7,7,8} -> 7;  (2,1): {4,5,6,7,8,9,7,8,9} -> 7;  (2,2): {5,6,6,8,9,9,8,9,9} -> 8
  // scipy.ndimage.median_filter(a[None], 3)[0] (scipy 1.17.1) gives the same.
  const out = medianFilter3x3(new Int32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), 3, 3);
  assert.deepEqual([...out], [2, 3, 3, 4, 5, 6, 7, 7, 8]);
});

Deno.test("medianFilter3x3 matches scipy on a 6x7 random fixture", () => {
  // Produced by: rng = np.random.default_rng(42); b = rng.integers(0, 10, size=(6, 7));
  // scipy.ndimage.median_filter(b[None], 3)[0] with scipy 1.17.1.
  const input = new Int32Array([
    0,
    7,
    6,
    4,
    4,
    8,
    0,
    6,
    2,
    0,
    5,
    9,
    7,
    7,
    7,
    7,
    5,
    1,
    8,
    4,
    5,
    3,
    1,
    9,
    7,
    6,
    4,
    8,
    5,
    4,
    4,
    2,
    0,
    5,
    8,
    0,
    8,
    8,
    2,
    6,
    1,
    7,
  ]);
  const expected = [
    2,
    6,
    5,
    4,
    5,
    7,
    7,
    6,
    6,
    5,
    5,
    5,
    7,
    5,
    6,
    5,
    5,
    6,
    6,
    7,
    7,
    5,
    5,
    4,
    5,
    4,
    5,
    5,
    3,
    4,
    4,
    6,
    4,
    6,
    7,
    4,
    5,
    4,
    4,
    2,
    6,
    7,
  ];
  assert.deepEqual([...medianFilter3x3(input, 6, 7)], expected);
});

Deno.test("medianFilter3x3 handles thin and tiny maps like scipy", () => {
  // scipy.ndimage.median_filter(np.array([[3,1,2,5]]), 3) -> [[3,2,2,5]]; the column version likewise.
  assert.deepEqual([...medianFilter3x3(new Int32Array([3, 1, 2, 5]), 1, 4)], [3, 2, 2, 5]);
  assert.deepEqual([...medianFilter3x3(new Int32Array([3, 1, 2, 5]), 4, 1)], [3, 2, 2, 5]);
  // [[7]] -> [[7]]; [[3,1],[2,5]] -> [[3,2],[2,3]]; negative values [[-3,10,2],[7,-1,0]] -> [[-1,2,2],[7,0,0]].
  assert.deepEqual([...medianFilter3x3(new Int32Array([7]), 1, 1)], [7]);
  assert.deepEqual([...medianFilter3x3(new Int32Array([3, 1, 2, 5]), 2, 2)], [3, 2, 2, 3]);
  assert.deepEqual([...medianFilter3x3(new Int32Array([-3, 10, 2, 7, -1, 0]), 2, 3)], [-1, 2, 2, 7, 0, 0]);
});

Deno.test("medianFilter3x3 equals a sort-based median on random maps", () => {
  const rand = lcg(7);
  for (const [h, w] of [[1, 1], [1, 9], [9, 1], [2, 3], [7, 5], [16, 13]]) {
    for (const levels of [2, 5, 1000]) {
      const labels = new Int32Array(h * w).map(() => rand(levels) - (levels >> 1));
      assert.deepEqual(
        medianFilter3x3(labels, h, w),
        naiveMedian(labels, h, w),
        `${h}x${w}, ${levels} levels`,
      );
    }
  }
});

Deno.test("medianFilter3x3 does not modify its input", () => {
  const labels = new Int32Array([1, 9, 1, 9]);
  medianFilter3x3(labels, 2, 2);
  assert.deepEqual([...labels], [1, 9, 1, 9]);
});

Deno.test("medianFilter3x3 rejects bad inputs", () => {
  assert.throws(() => medianFilter3x3(new Int32Array(5), 2, 3), RangeError);
  assert.throws(() => medianFilter3x3(new Int32Array(0), 0, 0), RangeError);
  assert.throws(() => medianFilter3x3(new Int32Array(6), 2.5, 3), RangeError);
  assert.throws(() => medianFilter3x3(new Int32Array(6), 2, -3), RangeError);
  assert.throws(() => medianFilter3x3(new Float32Array(6) as unknown as Int32Array, 2, 3), TypeError);
  assert.throws(
    () => medianFilter3x3(new Int32Array(5), 2, 3),
    (e: Error) => e instanceof RangeError && e.message.includes("2×3") && e.message.includes("5"),
  );
});
