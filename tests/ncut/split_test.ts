import assert from "node:assert/strict";
import { bestThresholdSplit, candidateThresholds, ncutPerThreshold } from "../../lib/ncut/split.ts";
import { fiedlerVector } from "../../lib/eigensolve/fiedler.ts";
import { degrees, randomAffinity } from "../_helpers.ts";

/** NCut of S = {y > t} straight from the definition: cut/vol(S) + cut/vol(S̄). */
function bruteNcut(a: Float64Array, m: number, y: Float64Array, t: number): number {
  let cut = 0, volS = 0, volT = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const w = a[i * m + j];
      if (y[i] > t) volS += w;
      else volT += w;
      if (y[i] > t && !(y[j] > t)) cut += w;
    }
  }
  return volS === 0 || volT === 0 ? NaN : cut / volS + cut / volT;
}

/** The reference's indicator form: E = zᵀ(D−A)z / zᵀDz with z = (1+x) − b(1−x). */
function shiMalikNcut(a: Float64Array, m: number, y: Float64Array, t: number): number {
  const d = degrees(a, m);
  const x = Array.from(y, (v) => (v > t ? 1 : -1));
  let sumPos = 0, sumAll = 0;
  for (let i = 0; i < m; i++) {
    sumAll += d[i];
    if (x[i] > 0) sumPos += d[i];
  }
  const k = sumPos / sumAll, b = k / (1 - k);
  const z = x.map((v) => (1 + v) - b * (1 - v));
  let num = 0, den = 0;
  for (let i = 0; i < m; i++) {
    den += z[i] * d[i] * z[i];
    num += z[i] * d[i] * z[i];
    for (let j = 0; j < m; j++) num -= z[i] * a[i * m + j] * z[j];
  }
  return num / den;
}

Deno.test("NCut of every candidate threshold equals brute-force cut/vol and the Shi–Malik indicator form", () => {
  for (const [m, seed] of [[3, 1], [10, 2], [57, 3]]) {
    const a = randomAffinity(m, seed);
    const d = degrees(a, m);
    const y = fiedlerVector(a, m, d).vector;
    const thresholds = candidateThresholds(y, 100);
    const { values, sizes } = ncutPerThreshold(a, m, d, y, thresholds);
    for (let k = 0; k < 100; k++) {
      const brute = bruteNcut(a, m, y, thresholds[k]);
      assert.ok(Math.abs(values[k] - brute) < 1e-12, `m=${m} k=${k}: ${values[k]} vs ${brute}`);
      assert.ok(Math.abs(values[k] - shiMalikNcut(a, m, y, thresholds[k])) < 1e-9);
      assert.equal(sizes[k], Array.from(y).filter((v) => v > thresholds[k]).length);
    }
  }
});

Deno.test("thresholds follow linspace(0.99·min, 0.99·max, k) and the first minimum wins", () => {
  const t = candidateThresholds([-2, 0, 1], 5);
  // Expected values printed by numpy: np.linspace(0.99 * -2, 0.99 * 1, 5).
  assert.deepEqual([...t], [-1.98, -1.2375, -0.4950000000000001, 0.24750000000000005, 0.99]);
  // A 4-node path graph where y separates {0,1} from {2,3}; several thresholds give the same partition.
  const a = Float64Array.from([1, 1, 0.01, 0, 1, 1, 0.01, 0, 0.01, 0.01, 1, 1, 0, 0, 1, 1].map(Number));
  a[2 * 4 + 1] = a[1 * 4 + 2] = 0.01;
  const d = degrees(a, 4);
  const y = Float64Array.from([-1, -0.9, 0.9, 1]);
  const split = bestThresholdSplit(a, 4, d, y, 100);
  const min = Math.min(...Array.from(split.values).filter((v) => !Number.isNaN(v)));
  assert.equal(split.ncut, min);
  assert.equal(split.index, Array.from(split.values).indexOf(min)); // first index of the minimum
  assert.deepEqual([...split.inOne], [0, 0, 1, 1]);
});

Deno.test("minSide skips thresholds that leave too small a side", () => {
  const m = 12;
  const a = randomAffinity(m, 9);
  const d = degrees(a, m);
  const y = fiedlerVector(a, m, d).vector;
  const free = bestThresholdSplit(a, m, d, y, 100, 1);
  const constrained = bestThresholdSplit(a, m, d, y, 100, 5);
  const ones = constrained.inOne.reduce((s, v) => s + v, 0);
  assert.ok(ones >= 5 && m - ones >= 5);
  assert.ok(constrained.ncut >= free.ncut);
  const impossible = bestThresholdSplit(a, m, d, y, 100, 7);
  assert.equal(impossible.ncut, Infinity);
  assert.equal(impossible.index, -1);
});
