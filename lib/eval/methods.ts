/**
 * The segmentation methods compared by `deno task eval`, all on the same features: each turns a feature map into
 * one or more grid label maps ("variants"), which then share upsampling, background merge, PAMR and matching.
 *
 * - `diffcut`: one partition tree per image, cut at every τ of the sweep (one variant per τ).
 * - `kmeans`: k-means++ on unit features with fixed K (one variant per K).
 * - `kmeans-gt`: K = the number of GT classes present in the image at the scoring size (background counted as
 *   a class where it is one), the K* of the paper's Table 9.
 * - `autosc`: eigengap over α ∈ {1, 5, 10, 15}, cluster_qr (see `autosc.ts`).
 * - `maskcut`: k rounds of binary-graph NCut; background + k masks (one variant per k, from one run).
 *
 * @module
 */
import { checkAlpha } from "../affinity/affinity.ts";
import { checkTau } from "../ncut/partition_tree.ts";
import { buildPartitionTree } from "../stages.ts";
import { cutTreeDetailed } from "../ncut/cut_tree.ts";
import type { FeatureMap } from "../types.ts";
import { autoscLabels } from "./autosc.ts";
import { kmeansLabels } from "./kmeans.ts";
import { maskcutMasks, masksToLabels } from "./maskcut.ts";

/** Method names accepted by `--method`. */
export const METHOD_NAMES = ["diffcut", "kmeans", "kmeans-gt", "autosc", "maskcut"] as const;
/** One of {@linkcode METHOD_NAMES}. */
export type MethodName = typeof METHOD_NAMES[number];
/** Upsampling modes accepted by `--upsample`. */
export const UPSAMPLE_MODES = ["concept", "nearest"] as const;
/** One of {@linkcode UPSAMPLE_MODES}. */
export type UpsampleMode = typeof UPSAMPLE_MODES[number];

/** Everything that decides an evaluation's numbers (recorded with every run). */
export interface EvalSettings {
  /** Methods to run. */
  methods: MethodName[];
  /** DiffCut τ sweep. */
  taus: number[];
  /** DiffCut affinity exponent. */
  alpha: number;
  /** Keep the affinity diagonal (DiffCut and AutoSC). */
  selfLoops: boolean;
  /** DiffCut smallest segment (patches). */
  minSegmentSize: number;
  /** DiffCut segment cap (null: none). */
  maxSegments: number | null;
  /** DiffCut compatibility mode. */
  compat: "default" | "reference";
  /** k-means K values. */
  kmeansK: number[];
  /** RNG seed of k-means. */
  seed: number;
  /** MaskCut k values (objects). */
  maskcutK: number[];
  /** MaskCut cosine threshold. */
  maskcutTau: number;
  /** AutoSC exponents. */
  autoscAlphas: number[];
  /** Upsampling modes. */
  upsample: UpsampleMode[];
  /** PAMR off/on rows. */
  refine: boolean[];
  /** Encoder input side. */
  encoderSize: number;
  /** Scoring side. */
  scoringSize: number;
}

/** One grid labelling of an image by one method and parameter. */
export interface GridVariant {
  /** Method. */
  method: MethodName;
  /** Parameter as shown in tables, e.g. `τ=0.3`, `K=6`, `K=K*`, `k=5`, `auto`. */
  param: string;
  /** Labels on the feature grid. */
  grid: Int32Array;
  /** Method-specific facts (chosen α and K of AutoSC, K* …). */
  info?: Record<string, number>;
}

/** The parameter labels a method produces, in order (the rows it contributes). */
export function methodParams(method: MethodName, s: EvalSettings): string[] {
  switch (method) {
    case "diffcut":
      return s.taus.map((t) => `τ=${t}`);
    case "kmeans":
      return s.kmeansK.map((k) => `K=${k}`);
    case "kmeans-gt":
      return ["K=K*"];
    case "autosc":
      return ["auto"];
    case "maskcut":
      return s.maskcutK.map((k) => `k=${k}`);
  }
}

/**
 * Grid labellings of one image by every selected method.
 *
 * @param features The image's features.
 * @param settings Evaluation settings.
 * @param kStar Number of GT classes present (for `kmeans-gt`).
 * @returns Variants in the order of `settings.methods`, then parameters; and milliseconds per method.
 */
export async function gridVariants(
  features: FeatureMap,
  settings: EvalSettings,
  kStar: number,
): Promise<{ variants: GridVariant[]; ms: Record<string, number> }> {
  const variants: GridVariant[] = [];
  const ms: Record<string, number> = {};
  const n = features.height * features.width;
  for (const method of settings.methods) {
    const t0 = performance.now();
    switch (method) {
      case "diffcut": {
        const tree = await buildPartitionTree(features, {
          alpha: settings.alpha,
          tauMax: Math.max(...settings.taus),
          selfLoops: settings.selfLoops,
          minSegmentSize: settings.minSegmentSize,
          maxSegments: settings.maxSegments ?? undefined,
          compat: settings.compat,
        });
        for (const tau of settings.taus) {
          const cut = cutTreeDetailed(tree, tau);
          variants.push({
            method,
            param: `τ=${tau}`,
            grid: cut.labels,
            info: { gridSegments: cut.segments },
          });
        }
        break;
      }
      case "kmeans":
        for (const k of settings.kmeansK) {
          variants.push({
            method,
            param: `K=${k}`,
            grid: kmeansLabels(features, k, { seed: settings.seed }).labels,
          });
        }
        break;
      case "kmeans-gt": {
        const k = Math.max(1, Math.min(kStar, n));
        variants.push({
          method,
          param: "K=K*",
          grid: kmeansLabels(features, k, { seed: settings.seed }).labels,
          info: { kStar: k },
        });
        break;
      }
      case "autosc": {
        const r = autoscLabels(features, { alphas: settings.autoscAlphas, selfLoops: settings.selfLoops });
        variants.push({ method, param: "auto", grid: r.labels, info: { alpha: r.alpha, k: r.k } });
        break;
      }
      case "maskcut": {
        const masks = maskcutMasks(features, Math.max(...settings.maskcutK), { tau: settings.maskcutTau });
        for (const k of settings.maskcutK) {
          variants.push({ method, param: `k=${k}`, grid: masksToLabels(masks, k) });
        }
        break;
      }
    }
    ms[method] = performance.now() - t0;
  }
  return { variants, ms };
}
