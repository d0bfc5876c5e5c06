/**
 * The K-way normalized cut's reference: the product, statistics and row-wise argmax against direct sums; every
 * single-move gain equal to the exact change of the objective; sweeps that never increase it; block graphs
 * recovered from every start; never worse than the recursive cut it starts from.
 */
import assert from "node:assert/strict";
import {
  checkKwayOptions,
  kwayArgmaxReference,
  kwayProductReference,
  kwayStatsReference,
  kwayStepperReference,
  ncutObjective,
  solveKwayNcut,
} from "../../lib/ncut/kway_ncut.ts";
import { kwayNcut, partitionNcut } from "../../lib/stages.ts";
import { buildPartitionTree } from "../../lib/stages.ts";
import { cutTree } from "../../lib/ncut/cut_tree.ts";
import { seededRandom } from "../../lib/random.ts";
import { blockFeatures, randomAffinity, samePartition } from "../_helpers.ts";

function randomLabels(n: number, k: number, seed: number): Int32Array {
  const r = seededRandom(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * k));
}

function kernelInputs(n: number, k: number, seed: number) {
  const w = Float32Array.from(randomAffinity(n, seed));
  const labels = randomLabels(n, k, seed + 1);
  const degrees = kwayProductReference(w, n, new Int32Array(n), 1);
  const diagonal = Float32Array.from({ length: n }, (_, i) => w[i * n + i]);
  const s = kwayProductReference(w, n, labels, k);
  const stats = kwayStatsReference(s, degrees, labels, k);
  return { w, labels, degrees, diagonal, s, stats };
}

Deno.test("kwayProductReference: S = W·Y and the statistics equal direct float64 sums", () => {
  const n = 37, k = 5;
  const { w, labels, degrees, s, stats } = kernelInputs(n, k, 3);
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let j = 0; j < n; j++) d += w[i * n + j];
    assert.ok(Math.abs(degrees[i] - d) < 1e-5 * d);
    for (let c = 0; c < k; c++) {
      let v = 0;
      for (let j = 0; j < n; j++) if (labels[j] === c) v += w[i * n + j];
      assert.ok(Math.abs(s[i * k + c] - v) <= 1e-5 * (v + 1));
    }
  }
  const exact = ncutObjective(w, n, labels, k);
  let fromStats = 0;
  for (let c = 0; c < k; c++) fromStats += 1 - stats[k + c] / stats[c];
  assert.ok(Math.abs(exact - fromStats) < 1e-5);
});

Deno.test("kwayArgmaxReference: each node's gain is the exact decrease of NCut when it alone moves", () => {
  const n = 30, k = 4;
  const { w, labels, degrees, diagonal, s, stats } = kernelInputs(n, k, 11);
  const { best, gain } = kwayArgmaxReference(s, stats, degrees, diagonal, labels, k);
  const before = ncutObjective(w, n, labels, k);
  let moved = 0;
  for (let i = 0; i < n; i++) {
    // Every alternative: none beats the chosen one by more than float32 noise.
    for (let c = 0; c < k; c++) {
      const trial = Int32Array.from(labels);
      trial[i] = c;
      const decrease = before - ncutObjective(w, n, trial, k);
      if (c === best[i]) {
        assert.ok(Math.abs(decrease - gain[i]) < 1e-5, `node ${i}: ${decrease} vs ${gain[i]}`);
      }
      assert.ok(decrease <= gain[i] + 1e-5, `node ${i} → ${c} beats the argmax`);
    }
    if (best[i] !== labels[i]) moved++;
    else assert.equal(gain[i], 0);
  }
  assert.ok(moved > 0, "a random partition has improving moves");
});

Deno.test("kwayArgmaxReference: a node alone in its cluster empties it only for a gain, ties stay", () => {
  // Two nodes joined by 1, no self-loops, each alone: joining gives assoc 2 / vol 2 = 1 over two zeros.
  const w = new Float32Array([0, 1, 1, 0]);
  const labels = new Int32Array([0, 1]);
  const degrees = new Float32Array([1, 1]), diagonal = new Float32Array(2);
  const s = kwayProductReference(w, 2, labels, 2);
  const stats = kwayStatsReference(s, degrees, labels, 2);
  const { best, gain } = kwayArgmaxReference(s, stats, degrees, diagonal, labels, 2);
  assert.deepEqual([...best], [1, 0]);
  assert.deepEqual([...gain], [1, 1]);
});

Deno.test("solveKwayNcut: the objective never increases, and it stops where no single move helps", async () => {
  const n = 60, k = 4;
  const w = Float32Array.from(randomAffinity(n, 5));
  const init = randomLabels(n, k, 6);
  const result = await solveKwayNcut(kwayStepperReference(w, n, k), w, n, init, k);
  for (let t = 1; t < result.history.length; t++) assert.ok(result.history[t] < result.history[t - 1]);
  assert.ok(result.objective < result.initialObjective);
  assert.ok(result.converged);
  assert.ok(Math.abs(result.objective - ncutObjective(w, n, result.labels, k)) < 1e-9);
  assert.ok(Math.abs(result.history.at(-1)! - result.objective) < 1e-4);
  // At convergence no single move lowers the exact objective by more than float32 noise.
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const trial = Int32Array.from(result.labels);
      trial[i] = c;
      assert.ok(ncutObjective(w, n, trial, k) > result.objective - 1e-5);
    }
  }
});

Deno.test("solveKwayNcut: inertia stops moves worth less than γ; maxIterations 0 returns the start", async () => {
  const n = 40, k = 3;
  const w = Float32Array.from(randomAffinity(n, 8));
  const init = randomLabels(n, k, 9);
  const still = await solveKwayNcut(kwayStepperReference(w, n, k), w, n, init, k, { maxIterations: 0 });
  assert.ok(samePartition(still.labels, init));
  assert.equal(still.iterations, 0);
  const frozen = await solveKwayNcut(kwayStepperReference(w, n, k), w, n, init, k, { inertia: 10 });
  assert.equal(frozen.moves, 0);
  assert.ok(frozen.converged);
  await assert.rejects(
    solveKwayNcut(kwayStepperReference(w, n, k), w, n, new Int32Array(n).fill(3), k),
    /Invalid initial label 3: expected 0..2/,
  );
});

const blocks = blockFeatures(8, 8, 6, (y, x) => (y < 4 ? 0 : 1) + (x < 4 ? 0 : 2), 0.3, 3);
const truth = Int32Array.from({ length: 64 }, (_, i) => (i >> 3 < 4 ? 0 : 1) + (i % 8 < 4 ? 0 : 2));

for (const init of ["recursive", "kmeans", "seeded"] as const) {
  Deno.test(`kwayNcut: four noisy blocks are found from the ${init} start`, async () => {
    const result = await kwayNcut(blocks, { k: 4, alpha: 5, init, backend: "cpu" });
    assert.equal(result.segments, 4);
    assert.ok(samePartition(result.labels, truth), `${init}: ${result.labels}`);
    assert.ok(result.objective <= result.initialObjective);
    assert.ok(Math.abs(result.objective - await partitionNcut(blocks, result.labels, { alpha: 5 })) < 1e-9);
  });
}

Deno.test("kwayNcut: a start with a quarter of the nodes misplaced returns to the four blocks", async () => {
  const start = Int32Array.from(truth);
  const r = seededRandom(4);
  for (let t = 0; t < 16; t++) start[Math.floor(r() * 64)] = Math.floor(r() * 4);
  const result = await kwayNcut(blocks, { k: 4, alpha: 5, init: start, backend: "cpu" });
  assert.ok(result.iterations > 0 && result.objective < result.initialObjective);
  assert.ok(samePartition(result.labels, truth), `${result.labels}`);
});

Deno.test("kwayNcut from the recursive cut's partition is never worse than it", async () => {
  for (let seed = 1; seed <= 4; seed++) {
    const features = blockFeatures(10, 10, 8, (y, x) => Math.floor(y / 4) + 3 * Math.floor(x / 5), 1.2, seed);
    const tree = await buildPartitionTree(features, { alpha: 5, tauMax: 0.5, backend: "cpu" });
    const recursive = cutTree(tree, 0.5);
    const k = new Set(recursive).size;
    const result = await kwayNcut(features, { k, alpha: 5, init: recursive, backend: "cpu" });
    const start = await partitionNcut(features, recursive, { alpha: 5 });
    assert.ok(Math.abs(result.initialObjective - start) < 1e-9);
    assert.ok(result.objective <= start, `seed ${seed}: ${result.objective} > ${start}`);
    assert.ok(result.segments <= k);
  }
});

Deno.test("kwayNcut: options are checked with the value received", async () => {
  const features = blockFeatures(2, 2, 3, (y) => y);
  await assert.rejects(kwayNcut(features, { k: 0 }), /Invalid k 0: expected an integer >= 1/);
  await assert.rejects(kwayNcut(features, { k: 2, alpha: 0.5 }), /Invalid alpha 0.5/);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(kwayNcut(features, { k: 2, init: "spectral" as any }), /Invalid init "spectral"/);
  await assert.rejects(
    kwayNcut(features, { k: 1, init: new Int32Array([0, 1, 2, 3]) }),
    /Invalid init: 4 segments, more than k = 1/,
  );
  assert.equal(checkKwayOptions({ k: 9 }, 4).k, 4);
});
