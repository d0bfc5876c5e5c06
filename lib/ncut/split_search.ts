/**
 * The TypeScript reference of the batched split search (`shaders/ncut/split_search.wgsl`, `splitSearchGpu` in
 * `split_gpu.ts`): per node, the sign rule and the float64 threshold search of `split.ts` on the node's principal
 * submatrix. Tests compare the GPU path with it.
 *
 * @module
 */
import { fixSign } from "../eigensolve/fiedler.ts";
import { subgraph } from "../eigensolve/subgraph.ts";
import { bestThresholdSplit } from "./split.ts";

/**
 * The TypeScript reference of `splitSearchGpu` (split_gpu.ts): per node, the sign rule (`fixSign`) and
 * `bestThresholdSplit` (float64) on the node's principal submatrix.
 *
 * @param w Affinity, n·n row-major.
 * @param n Order.
 * @param nodes Slot lists.
 * @param ys One vector per node.
 * @param options Threshold count (default 100) and smallest side (default 1).
 * @returns Per node: chosen index, NCut, NCut per threshold, "1" side (global indices, ascending).
 */
export function splitSearchReference(
  w: Float32Array,
  n: number,
  nodes: ArrayLike<number>[],
  ys: ArrayLike<number>[],
  options: { thresholds?: number; minSide?: number } = {},
): { index: number; ncut: number; values: Float64Array; one: Int32Array }[] {
  return nodes.map((l, k) => {
    const m = l.length;
    const { w: sub, degrees: d } = subgraph(w, n, l);
    const y = fixSign(Float64Array.from(ys[k]));
    const s = bestThresholdSplit(sub, m, d, y, options.thresholds ?? 100, options.minSide ?? 1);
    const one = Int32Array.from({ length: m }, (_, i) => l[i]).filter((_, i) => s.inOne[i] === 1);
    return { index: s.index, ncut: s.ncut, values: s.values, one };
  });
}
