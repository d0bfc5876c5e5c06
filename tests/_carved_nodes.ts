/**
 * Node slot lists for the batched GPU tree kernels' parity tests (Lanczos, split search): a 24×24 synthetic
 * grid affinity and disjoint nodes carved from it.
 */
import assert from "node:assert/strict";
import { affinityMatrixSync } from "../lib/affinity/affinity.ts";
import { syntheticFeatureMap } from "../lib/bench/synthetic_features.ts";

/** Grid side. */
export const SIDE = 24;
/** Patches. */
export const N = SIDE * SIDE;
/** The grid's affinity (α 10). */
export const W: Float32Array = affinityMatrixSync(syntheticFeatureMap(SIDE, SIDE, 64, 6, 2), { alpha: 10 });

/** `count` disjoint nodes of `size` slots (ascending global indices), taken with a stride through the grid. */
export function carve(count: number, size: number, stride = 1): number[][] {
  const nodes: number[][] = [];
  let next = 0;
  for (let k = 0; k < count; k++) {
    const l: number[] = [];
    for (let i = 0; i < size; i++) l.push((next + i * stride) % N);
    next += size * stride;
    nodes.push(l.sort((a, b) => a - b));
  }
  const seen = new Set(nodes.flat());
  assert.equal(seen.size, count * size, "carved nodes overlap");
  return nodes;
}
