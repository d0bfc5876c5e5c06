/**
 * DiffCut's recursive normalized cut in one call (REFERENCE.md §2).
 *
 * @module
 */
import type { FeatureMap } from "../types.ts";
import { cutTree } from "./cut_tree.ts";
import { checkTau, type PartitionTreeOptions } from "./partition_tree.ts";
import { buildPartitionTree } from "../stages.ts";

/** Options of {@linkcode recursiveNcut}: those of the tree, with τ instead of tauMax. */
export interface RecursiveNcutOptions extends Omit<PartitionTreeOptions, "tauMax"> {
  /** A split is accepted when its NCut is below τ. @default 0.5 */
  tau?: number;
}

/**
 * Segments a feature map by recursive 2-way normalized cut, stopping where the cut cost reaches τ.
 *
 * @param features Feature map `[h, w, c]`.
 * @param options See {@linkcode RecursiveNcutOptions}.
 * @returns Grid labels `0..K−1`, numbered like the reference.
 * @throws {RangeError} On τ ≤ 0, α < 1 or a map with one patch.
 * @throws {TypeError} On a malformed feature map.
 *
 * @example
 * ```ts
 * import { recursiveNcut } from "./recursive_ncut.ts";
 * const data = new Float32Array([1, 0, 1, 0.05, 0, 1, 0.05, 1]);
 * const labels = await recursiveNcut({ height: 2, width: 2, channels: 2, data }, { tau: 0.5 });
 * if (labels[0] !== labels[1] || labels[1] === labels[2]) throw new Error("expected two segments");
 * ```
 */
export async function recursiveNcut(
  features: FeatureMap,
  options: RecursiveNcutOptions = {},
): Promise<Int32Array> {
  const tau = options.tau ?? 0.5;
  checkTau(tau);
  const tree = await buildPartitionTree(features, { ...options, tauMax: tau });
  return cutTree(tree, tau);
}
