/**
 * The host route of one image: the encoder returns features on the host, and each stage runs through the
 * dispatcher (`lib/stages.ts`) on the backend asked for.
 *
 * @module
 */
import { assignAndRefine, assignConcepts, buildPartitionTree, kwayNcut } from "../stages.ts";
import { startPamrAffinity } from "../pamr/pamr.ts";
import type { KwayNcutResult } from "../ncut/kway_ncut.ts";
import { extendRingLabels, interiorFeatures, ringApplies } from "./border_ring.ts";
import { cutForRoute, type RouteInput, type RouteOutput } from "./route.ts";

/**
 * Encodes the image on the host, builds and cuts the tree, and assigns pixels (with PAMR in the same step when
 * `input.fused`).
 *
 * @param input The encoder, image and settings.
 * @returns Labels at the working resolution and per-stage milliseconds.
 * @throws {Error} Whatever the encoder or a stage throws.
 */
export async function runHostRoute(input: RouteInput): Promise<RouteOutput> {
  const t0 = performance.now();
  const features = await input.encoder.encode(input.image);
  const t1 = performance.now();
  // `borderRing`: the tree is built on the interior patches, and the border patches are labelled afterwards.
  const ring = ringApplies(features, input.borderRing ?? 0) ? input.borderRing! : 0;
  const tree = await buildPartitionTree(ring ? interiorFeatures(features, ring) : features, input.tree);
  const t2 = performance.now();
  // After the tree, not before: beside the tree's solver it slowed the solver as much as it saved (measured).
  if (input.refineAhead) startPamrAffinity(input.workImage());
  let cut = cutForRoute(tree, input);
  if (ring) {
    const labels = extendRingLabels(features, cut.labels, ring);
    cut = {
      ...cut,
      labels,
      sizes: cut.sizes.map((_, l) => labels.reduce((n, v) => n + (v === l ? 1 : 0), 0)),
    };
  }
  let kway: KwayNcutResult | undefined;
  if (input.solver === "kway" && cut.segments > 1) {
    // The discrete K-way NCut with K = the cut's segment count, started from the cut (never worse than it).
    kway = await kwayNcut(features, {
      k: cut.segments,
      alpha: input.tree.alpha,
      selfLoops: input.tree.selfLoops,
      init: cut.labels,
      backend: input.tree.backend,
    });
    cut = { ...cut, labels: kway.labels, segments: kway.segments };
  }
  const t3 = performance.now();
  const refined = input.fused && cut.segments > 1;
  const labels = refined
    ? await assignAndRefine(features, cut.labels, input.workImage(), { backend: input.tree.backend })
    : await assignConcepts(features, cut.labels, input.work, { backend: input.tree.backend });
  const t4 = performance.now();
  return {
    features,
    tree,
    cut,
    labels,
    refined,
    ...(kway ? { kway } : {}),
    ms: {
      encode: t1 - t0,
      affinity: tree.timings.affinity,
      tree: tree.timings.tree,
      cut: t3 - t2,
      assign: t4 - t3,
    },
  };
}
