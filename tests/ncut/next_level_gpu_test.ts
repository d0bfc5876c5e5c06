import assert from "node:assert/strict";
import {
  createBatchWorkspace,
  createLanczosBatchedKernel,
  levelTables,
  splitBindGroup,
} from "../../lib/eigensolve/lanczos_gpu.ts";
import { destroyAll, submitAndRead, uploadBuffer } from "../../lib/gpu/buffers.ts";
import { createNextLevelBuilder, float32AtOrAbove } from "../../lib/ncut/next_level_gpu.ts";
import { createSplitSearchKernel, decodeSplits, SPLIT_HEAD } from "../../lib/ncut/split_gpu.ts";
import { carve, N, W } from "../_carved_nodes.ts";
import { gpu, testGpu } from "../_gpu.ts";

Deno.test("float32AtOrAbove is the smallest float32 not below its argument", () => {
  for (const t of [0.1, 0.5, 1 / 3, -0.1, -1 / 3, 1e-50, -1e-50, 0, 2 ** 30 + 1, Infinity]) {
    const f = float32AtOrAbove(t);
    assert.equal(Math.fround(f), f, `${t}`);
    assert.ok(f >= t, `${t}: ${f}`);
    // The float32 just below f is below t.
    const below = new Float32Array([f]);
    const bits = new Int32Array(below.buffer);
    if (f > 0) bits[0]--;
    else if (f < 0) bits[0]++;
    else bits[0] = 0x80000001; // the largest negative subnormal
    if (Number.isFinite(f)) assert.ok(below[0] < t, `${t}: ${below[0]} is not below`);
  }
  // The property the tree needs: x < t (float64) ⟺ x < f for float32 x.
  const t = 0.1, f = float32AtOrAbove(t);
  for (const x of [Math.fround(0.1), Math.fround(0.0999999), f, Math.fround(f * (1 + 2 ** -22))]) {
    assert.equal(x < t, x < f, `${x}`);
  }
});

/**
 * Runs one level (Lanczos + split search) of hand-made nodes, then the device builder; returns the device's
 * tables and node-of-patch section with the host's (levelTables over the children the host makes).
 */
async function buildOnce(level: number[][], tauMax: number, minSide: number, excluded?: Uint32Array) {
  const ctx = testGpu();
  const thresholds = 100, maxSteps = 64;
  const w = uploadBuffer(ctx, "test.w", W);
  const ws = createBatchWorkspace(ctx, w, N, { maxSteps, thresholds });
  const [lanczos, split] = await Promise.all([
    createLanczosBatchedKernel(ctx, maxSteps),
    createSplitSearchKernel(ctx, thresholds),
  ]);
  const builder = await createNextLevelBuilder(ctx, ws, { maxSteps, thresholds, tauMax, n: N });
  const flags = excluded ? uploadBuffer(ctx, "test.excluded", excluded) : undefined;
  try {
    const sizes = ws.upload(level, { tol: 1e-9, checkEvery: 4, minSide });
    const encoder = ctx.device.createCommandEncoder();
    if (flags) builder.exclude(encoder, flags);
    const pass = encoder.beginComputePass();
    lanczos.encode(pass, ws.group, sizes, Math.min(maxSteps, Math.max(...level.map((l) => l.length - 1))));
    split.encode(pass, splitBindGroup(ctx, w, ws), sizes);
    builder.encode(pass);
    pass.end();
    const nodeWords = 4 * (ws.nodeCapacity + 1);
    const [out, lists, tables, vecs] = await submitAndRead(ctx, encoder, [
      { buffer: ws.out, bytes: sizes.nodes * (SPLIT_HEAD + 2 * thresholds) * 4 },
      { buffer: ws.lists, bytes: sizes.slots * 4 },
      { buffer: builder.tables, bytes: (8 + nodeWords + 4 * ws.slotCapacity) * 4 },
      { buffer: ws.vecs, bytes: (ws.nodeOfOffset + N) * 4 },
    ], "test.next_level");
    // The host's rule: a node with a threshold and NCut below τ splits; children of ≥ 2 slots are solved.
    const splits = decodeSplits(new Float32Array(out), new Uint32Array(lists), level, thresholds);
    const children: number[][] = [];
    for (const s of splits) {
      if (!(s.index >= 0 && s.ncut < tauMax)) continue;
      for (const side of [s.one, s.rest]) {
        const kept = Array.from(side).filter((g) => !excluded?.[g]);
        if (kept.length >= 2) children.push(kept);
      }
    }
    const nodeOf = new Float32Array(N);
    const host = levelTables(children, maxSteps, nodeOf);
    const t = new Uint32Array(tables);
    const total = children.reduce((sum, l) => sum + l.length, 0);
    return {
      splits,
      children,
      device: {
        params: t.slice(0, 8),
        nodes: t.slice(8, 8 + 4 * (children.length + 1)),
        slots: t.slice(8 + nodeWords, 8 + nodeWords + 2 * (total + host.chunks)),
        nodeOf: new Float32Array(vecs, ws.nodeOfOffset * 4, N),
      },
      host: { ...host, total, nodeOf },
    };
  } finally {
    builder.destroy();
    ws.destroy();
    destroyAll(w, flags);
  }
}

Deno.test({
  name: "next_level builds the host's tables from a level's split results (levelTables is its reference)",
  ignore: !gpu,
  async fn() {
    // Nodes of 120, 2, 3 and 90 slots: the 2-slot node splits into two 1-slot leaves (not solved), the 3-slot one
    // into a leaf and a 2-slot node.
    const level = carve(4, 120, 1).map((l, k) => k === 1 ? l.slice(0, 2) : k === 2 ? l.slice(0, 3) : l);
    level[3] = level[3].slice(0, 90);
    for (const [tauMax, minSide] of [[1e9, 1], [0.5, 1], [1e9, 30], [0, 1]]) {
      const r = await buildOnce(level, tauMax, minSide);
      const msg = `τ ${tauMax}, min side ${minSide}`;
      if (tauMax === 1e9 && minSide === 1) {
        assert.ok(r.children.length >= 4, `${msg}: ${r.children.length} children`);
        assert.ok(r.children.some((l) => l.length === 2), `${msg}: no 2-slot child`);
      }
      if (tauMax === 0) assert.equal(r.children.length, 0, msg);
      assert.equal(r.device.params[1], r.host.total, `${msg}: slots`);
      assert.equal(r.device.params[2], r.children.length, `${msg}: nodes`);
      assert.deepEqual(r.device.nodes, r.host.nodes, `${msg}: node table`);
      const hostSlots = r.host.slots.slice(0, 2 * (r.host.total + r.host.chunks));
      assert.deepEqual(r.device.slots, hostSlots, `${msg}: slots and chunks`);
      assert.deepEqual(r.device.nodeOf, r.host.nodeOf, `${msg}: node of every patch`);
    }
    // Compat "reference": excluded patches leave the children, which then need 2 slots left.
    const excluded = new Uint32Array(N).map((_, g) => g % 7 === 3 || (g >= 120 && g < 240) ? 1 : 0);
    const r = await buildOnce(level, 1e9, 1, excluded);
    assert.ok(r.children.length >= 2);
    assert.ok(r.children.flat().every((g) => !excluded[g]));
    assert.deepEqual(r.device.nodes, r.host.nodes, "excluded: node table");
    assert.deepEqual(
      r.device.slots,
      r.host.slots.slice(0, 2 * (r.host.total + r.host.chunks)),
      "excluded: slots",
    );
    assert.deepEqual(r.device.nodeOf, r.host.nodeOf, "excluded: node of every patch");
  },
});
