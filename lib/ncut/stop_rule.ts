/**
 * Stopping rules of the recursive normalized cut: where to cut a partition tree.
 *
 * - `"tau"` (the paper's rule, REFERENCE.md §2.3): a node is split while its NCut is below τ. One τ suits features
 *   whose NCut scale is the same on every image, as the paper's diffusion features (validated on SSD-1B).
 * - `"relative"`: τ is relative to the image's own NCut scale, the NCut of the root split: a node is split while
 *   its NCut is below `τ · NCut(root)` (τ > 1 always splits the root). With min-max normalised cosines and a fixed
 *   α, the NCut values of one image scale with its feature contrast, so an absolute τ that suits one image keeps
 *   another in one piece; the ratio to the root's NCut carries across images (cross-validated in
 *   docs/calibration.md).
 *
 * - `"min-split"`: the paper's rule with at least one split: a node is split while its NCut is below
 *   `max(τ, NCut(root)⁺)`, so the root is always split unless its NCut is {@linkcode UNIFORM_NCUT} or more (an image
 *   with no structure; a constant one has no split at all and stays one segment).
 *
 * All rules cut the same tree; `"relative"` needs a tree built with a larger `tauMax` ({@linkcode treeTauMax}).
 *
 * @module
 */
import type { PartitionTree } from "./partition_tree.ts";

/** A stopping rule (see the module comment). */
export type StopRule = "tau" | "relative" | "min-split";

/** The stopping rules, in the order they are documented. */
export const STOP_RULES: readonly StopRule[] = Object.freeze(["tau", "relative", "min-split"]);

/** `"min-split"` leaves an image whole when even its best split has an NCut of at least this. */
export const UNIFORM_NCUT = 1;

/** Largest effective τ a relative rule may reach (NCut of a 2-way cut is at most 2). */
export const RELATIVE_TAU_MAX = 2;

/**
 * Checks a stopping rule's name.
 *
 * @param rule Candidate rule.
 * @param name Option name for the message.
 * @throws {RangeError} Unless the rule is one of {@linkcode STOP_RULES}.
 */
export function checkStopRule(rule: unknown, name = "stopRule"): asserts rule is StopRule {
  if (!STOP_RULES.includes(rule as StopRule)) {
    throw new RangeError(
      `Invalid ${name} "${String(rule)}": expected one of ${STOP_RULES.map((r) => `"${r}"`).join(", ")}`,
    );
  }
}

/**
 * The `tauMax` a tree needs so that the rule can cut it anywhere.
 *
 * @param rule Stopping rule.
 * @param tau The rule's τ (absolute for `"tau"`, a ratio for `"relative"`).
 * @returns τ for `"tau"`, {@linkcode RELATIVE_TAU_MAX} for `"relative"`, `max(τ, UNIFORM_NCUT)` for `"min-split"`.
 */
export function treeTauMax(rule: StopRule, tau: number): number {
  return rule === "tau" ? tau : rule === "min-split" ? Math.max(tau, UNIFORM_NCUT) : RELATIVE_TAU_MAX;
}

/**
 * The absolute τ at which the rule cuts this tree.
 *
 * @param tree Tree from `buildPartitionTree` (built with {@linkcode treeTauMax}).
 * @param rule Stopping rule.
 * @param tau The rule's τ.
 * @returns τ for `"tau"`; `τ · NCut(root)` for `"relative"`, within (0, tree.tauMax] (tree.tauMax when the root
 *   cannot be split, which leaves one segment); for `"min-split"`, τ, raised just above the root's NCut when that
 *   is below {@linkcode UNIFORM_NCUT}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { effectiveTau } from "./stop_rule.ts";
 * const tree = { tauMax: 2, nodes: [{ ncut: 0.3 }] } as Parameters<typeof effectiveTau>[0];
 * assert.equal(effectiveTau(tree, "tau", 0.15), 0.15);
 * assert.equal(effectiveTau(tree, "relative", 2), 0.6);
 * assert.ok(effectiveTau(tree, "min-split", 0.15) > 0.3);
 * assert.equal(effectiveTau(tree, "min-split", 0.5), 0.5);
 * ```
 */
export function effectiveTau(
  tree: Pick<PartitionTree, "tauMax" | "nodes">,
  rule: StopRule,
  tau: number,
): number {
  if (rule === "tau") return tau;
  const root = tree.nodes[0]?.ncut ?? Infinity;
  if (rule === "min-split") {
    if (!(root < UNIFORM_NCUT) || root < tau) return Math.min(tau, tree.tauMax);
    return Math.min(tree.tauMax, root + Math.max(1e-9, root * 1e-6));
  }
  if (!Number.isFinite(root)) return tree.tauMax;
  return Math.min(tree.tauMax, Math.max(Number.MIN_VALUE, tau * root));
}
