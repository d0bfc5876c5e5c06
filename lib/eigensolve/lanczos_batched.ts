/**
 * The TypeScript reference of the batched Lanczos kernel (`shaders/eigensolve/lanczos_batched.wgsl`,
 * `fiedlerBatchedGpu` in `lanczos_gpu.ts`): the Fiedler pair of every node of one tree level from the float64 CPU
 * solver on the node's principal submatrix. Tests compare the GPU path with it.
 *
 * @module
 */
import { fiedlerVector } from "./fiedler.ts";
import { subgraph } from "./subgraph.ts";

/**
 * The TypeScript reference of `fiedlerBatchedGpu` (lanczos_gpu.ts): each node's Fiedler pair from the CPU solver
 * (`fiedlerVector`, float64, sign-normalised) on its principal submatrix.
 *
 * @param w Affinity, n·n row-major.
 * @param n Order.
 * @param nodes Slot lists.
 * @returns Per node: vector (sign-normalised) and λ₂.
 */
export function fiedlerBatchedReference(
  w: Float32Array,
  n: number,
  nodes: ArrayLike<number>[],
): { vector: Float64Array; value: number }[] {
  return nodes.map((l) => {
    const m = l.length;
    const { w: sub, degrees: d } = subgraph(w, n, l);
    const f = fiedlerVector(sub, m, d, { tolerance: 1e-10 });
    return { vector: f.vector, value: f.value };
  });
}
