import assert from "node:assert/strict";
import { buildPartitionTree } from "../../lib/stages.ts";
import { cutTree, cutTreeDetailed } from "../../lib/ncut/cut_tree.ts";
import { recursiveNcut } from "../../lib/ncut/recursive_ncut.ts";
import { blockFeatures, samePartition } from "../_helpers.ts";

// Four blocks on an 8×12 grid: left half, top-right, bottom-right, and a 3×3 square inside the left half.
const region = (y: number, x: number) => (x >= 2 && x < 5 && y >= 2 && y < 5) ? 3 : x < 6 ? 0 : y < 4 ? 1 : 2;
const blocks = blockFeatures(8, 12, 64, region, 0.3);

Deno.test("recursive NCut finds the blocks of a block-structured feature map", async () => {
  const labels = await recursiveNcut(blocks, { tau: 0.5, alpha: 10 });
  const truth = Int32Array.from({ length: 96 }, (_, i) => region(Math.floor(i / 12), i % 12));
  assert.ok(samePartition(labels, truth), `labels ${labels}`);
  assert.equal(new Set(labels).size, 4);
});

Deno.test("cuts are nested: a larger τ refines a smaller one", async () => {
  const f = blockFeatures(16, 16, 32, (y, x) => Math.floor(y / 4) * 4 + Math.floor(x / 4), 0.9, 5);
  const tree = await buildPartitionTree(f, { tauMax: 0.95, alpha: 4 });
  const taus = [0.05, 0.2, 0.4, 0.6, 0.8, 0.95];
  const cuts = taus.map((t) => cutTree(tree, t));
  for (let k = 1; k < cuts.length; k++) {
    const coarse = cuts[k - 1], fine = cuts[k];
    const parentOf = new Map<number, number>();
    for (let i = 0; i < fine.length; i++) {
      assert.equal(
        parentOf.get(fine[i]) ?? coarse[i],
        coarse[i],
        `τ=${taus[k]} segment crosses τ=${taus[k - 1]} segments`,
      );
      parentOf.set(fine[i], coarse[i]);
    }
    assert.ok(new Set(fine).size >= new Set(coarse).size);
  }
  assert.ok(new Set(cuts.at(-1)).size > new Set(cuts[0]).size, "τ range should change the segment count");
});

Deno.test("cutTree(buildPartitionTree(f, {tauMax: 0.7}), 0.5) equals recursiveNcut(f, {tau: 0.5})", async () => {
  for (const seed of [1, 2, 3]) {
    const f = blockFeatures(12, 12, 48, (y, x) => (x + y < 10 ? 0 : x < 6 ? 1 : 2), 1.2, seed);
    for (const compat of ["default", "reference"] as const) {
      const tree = await buildPartitionTree(f, { tauMax: 0.7, compat });
      const direct = await recursiveNcut(f, { tau: 0.5, compat });
      assert.deepEqual(cutTree(tree, 0.5), direct);
    }
  }
});

/** The reference's assemble_clusters in float64 (exact for small trees) followed by a sorted relabel. */
function referenceNumbering(bipartitions: Uint8Array[], n: number): Int32Array {
  const mask = new Float64Array(n);
  let m = 1;
  for (const b of bipartitions) {
    for (let i = 0; i < n; i++) mask[i] += m * b[i];
    m = Math.max(...mask) + 1;
  }
  const values = [...new Set(mask)].sort((a, b) => a - b);
  return Int32Array.from(mask, (v) => values.indexOf(v));
}

Deno.test("segment numbering reproduces the reference's assemble_clusters order", async () => {
  const f = blockFeatures(16, 16, 32, (y, x) => Math.floor(y / 4) * 4 + Math.floor(x / 4), 0.9, 5);
  const tree = await buildPartitionTree(f, { tauMax: 0.8, alpha: 4 });
  const counts: number[] = [];
  // Up to ~50 splits the float64 reference values above are exact (they roughly double per split).
  for (const tau of [0.5, 0.6, 0.7]) {
    const cut = cutTreeDetailed(tree, tau);
    // Accumulator in reference order: the "1" side of every accepted split, in pre-order.
    const bips = cut.splits.map((id) => {
      const b = new Uint8Array(256);
      for (const i of tree.nodes[id].one) b[i] = 1;
      return b;
    });
    assert.deepEqual(cut.labels, referenceNumbering(bips, 256));
    counts.push(cut.segments);
  }
  assert.deepEqual(counts, [1, 22, 44]);
});

Deno.test("compat 'reference' drops exact-zero rows below the top level; default does not", async () => {
  // Patch 0 is anti-parallel to patch 5, so their affinity is exactly 0 after min-max normalisation.
  const f = blockFeatures(4, 6, 16, (_y, x) => (x < 3 ? 0 : 1), 0.2, 4);
  f.data.set(f.data.subarray(5 * 16, 6 * 16).map((v) => -v), 0);
  const ref = await buildPartitionTree(f, { tauMax: 0.9, compat: "reference" });
  const def = await buildPartitionTree(f, { tauMax: 0.9 });
  assert.equal(ref.nodes[0].active.length, 24); // the top level keeps everyone
  for (const node of ref.nodes.slice(1)) {
    assert.ok(
      !node.active.includes(0) && !node.active.includes(5),
      "dropped nodes must not enter the eigenproblem",
    );
    for (const id of node.children ?? []) {
      if (node.region.includes(0) && ref.nodes[id].region.includes(0)) {
        assert.equal(id, node.children![1], "a dropped node follows the '0' side");
      }
    }
  }
  assert.ok(def.nodes.slice(1).some((nd) => nd.active.includes(0) || nd.active.includes(5)));
});

Deno.test("maxSegments caps the segment count, minSegmentSize the segment size", async () => {
  const f = blockFeatures(16, 16, 32, (y, x) => Math.floor(y / 4) * 4 + Math.floor(x / 4), 0.9, 5);
  const capped = await buildPartitionTree(f, { tauMax: 0.9, alpha: 4, maxSegments: 5 });
  assert.equal(new Set(cutTree(capped, 0.9)).size, 5);
  const sized = await buildPartitionTree(f, { tauMax: 0.9, alpha: 4, minSegmentSize: 12 });
  const cut = cutTreeDetailed(sized, 0.9);
  assert.ok(Math.min(...cut.sizes) >= 12, `sizes ${cut.sizes}`);
});

Deno.test("a cut that runs down to tiny segments carries a note", async () => {
  const f = blockFeatures(8, 8, 16, () => 0, 1, 11); // pure noise: nothing to find
  const tree = await buildPartitionTree(f, { tauMax: 0.99, alpha: 10 });
  const cut = cutTreeDetailed(tree, 0.99);
  assert.ok(cut.segments >= 8);
  assert.match(cut.notes.join(" "), /tiny segments/);
});

Deno.test("bad options and degenerate inputs give one-line errors or one segment", async () => {
  await assert.rejects(
    () => recursiveNcut(blocks, { tau: 0 }),
    /Invalid tau 0: expected a finite number > 0/,
  );
  await assert.rejects(() => recursiveNcut(blocks, { tau: -1 }), /Invalid tau -1/);
  await assert.rejects(() => recursiveNcut(blocks, { alpha: 0.5 }), /Invalid alpha 0.5/);
  await assert.rejects(
    () => recursiveNcut({ height: 1, width: 1, channels: 3, data: new Float32Array(3).fill(1) }),
    /1 patch/,
  );
  const tree = await buildPartitionTree(blocks, { tauMax: 0.4 });
  assert.throws(() => cutTree(tree, 0.5), /built up to tauMax 0.4/);
  const flat = { height: 2, width: 2, channels: 2, data: new Float32Array(8).fill(1) };
  const flatTree = await buildPartitionTree(flat);
  assert.deepEqual(cutTree(flatTree, 0.5), new Int32Array(4));
  assert.match(flatTree.notes[0], /identical/);
});

Deno.test("rootRatio: the relative rule's cut from a tree built only below ratio · NCut(root), on fewer nodes", async () => {
  const { syntheticFeatureMap } = await import("../../lib/bench/synthetic_features.ts");
  const { effectiveTau } = await import("../../lib/ncut/stop_rule.ts");
  const f = syntheticFeatureMap(20, 24, 48);
  for (const [ratio, maxSegments] of [[1.05, 64], [1.6, 64], [3, undefined], [0.9, 64]] as const) {
    const base = { alpha: 10, tauMax: 2, selfLoops: false, maxSegments, backend: "cpu" as const };
    const whole = await buildPartitionTree(f, base);
    const part = await buildPartitionTree(f, { ...base, rootRatio: ratio });
    const tau = effectiveTau(whole, "relative", ratio);
    assert.equal(part.tauMax, Math.min(2, ratio * whole.nodes[0].ncut), `ratio ${ratio}`);
    assert.equal(effectiveTau(part, "relative", ratio), tau);
    const a = cutTreeDetailed(whole, tau), b = cutTreeDetailed(part, tau);
    assert.deepEqual([...b.labels], [...a.labels], `ratio ${ratio}: same labels, same numbering`);
    assert.ok(part.nodes.length <= whole.nodes.length);
    if (ratio === 1.05) assert.ok(part.nodes.length < whole.nodes.length / 4, `${part.nodes.length} nodes`);
    if (ratio === 0.9) assert.equal(b.segments, 1, "a ratio below 1 never splits the root");
    if (part.tauMax < 2) assert.throws(() => cutTree(part, 2), /rebuild it with a larger tauMax/);
  }
  await assert.rejects(() => buildPartitionTree(f, { rootRatio: 0 }), /Invalid rootRatio 0/);
  await assert.rejects(() => buildPartitionTree(f, { rootRatio: Infinity }), /Invalid rootRatio/);
});
