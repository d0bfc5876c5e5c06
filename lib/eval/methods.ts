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
 * - `kway`: the discrete K-way NCut (`kwayNcut`) on DiffCut's affinity: per τ of the sweep, K = the recursive cut's
 *   segment count at τ and the cut as the start (`τ=…`, never worse on the NCut objective); per K of `--k`, a
 *   fixed K started from the recursive cut capped at K (`K=…`). Each variant's `info` holds both objectives.
 *
 * @module
 */
import { checkAlpha } from "../affinity/affinity.ts";
import { checkTau } from "../ncut/partition_tree.ts";
import { buildPartitionTree, kwayNcut } from "../stages.ts";
import { cutTreeDetailed } from "../ncut/cut_tree.ts";
import type { FeatureMap } from "../types.ts";
import { autoscLabels } from "./autosc.ts";
import { kmeansLabels } from "./kmeans.ts";
import { maskcutMasks, masksToLabels } from "./maskcut.ts";

/** Method names accepted by `--method`. */
export const METHOD_NAMES = ["diffcut", "kmeans", "kmeans-gt", "autosc", "maskcut", "kway"] as const;
/** One of {@linkcode METHOD_NAMES}. */
export type MethodName = typeof METHOD_NAMES[number];
/** Upsampling modes accepted by `--upsample`. */
export const UPSAMPLE_MODES = ["concept", "nearest"] as const;
/** One of {@linkcode UPSAMPLE_MODES}. */
export type UpsampleMode = typeof UPSAMPLE_MODES[number];

/**
 * How predictions are scored: `hungarian`, the paper's unsupervised protocol (segments matched to classes per
 * image), or `open-vocab`, its Table 4 protocol (each segment named by a CLIP among the dataset's class names, the
 * class map compared with the ground truth as it is).
 */
export const SCORING_PROTOCOLS = ["hungarian", "open-vocab"] as const;
/** One of {@linkcode SCORING_PROTOCOLS}. */
export type ScoringProtocol = typeof SCORING_PROTOCOLS[number];

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
  /** Scoring protocol; absent means `hungarian` (so runs recorded before it existed keep their settings). */
  protocol?: ScoringProtocol;
  /** `open-vocab`: side of the CLIP trunk's input (a multiple of its stride, checked against the CLIP). */
  clipSize?: number;
}

/** How a setting is named in messages (`--tau` for the CLI); the field name when absent. */
export type EvalSettingNames = Partial<Record<keyof EvalSettings, string>>;

/** The `deno task eval` option of each setting, for messages that name what the user typed. */
export const EVAL_OPTION_NAMES: Readonly<EvalSettingNames> = Object.freeze({
  methods: "--method",
  taus: "--tau",
  alpha: "--alpha",
  compat: "--compat",
  kmeansK: "--k",
  seed: "--seed",
  maskcutK: "--maskcut-k",
  maskcutTau: "--maskcut-tau",
  upsample: "--upsample",
  clipSize: "--clip-size",
});

const isPositiveInteger = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;

/** Checks one value; throws a RangeError message tail "expected …" via `fail`. */
type Rule = (value: unknown, fail: (expected: string) => never) => void;

/** Calls a shared check (`checkAlpha`, `checkTau`) and keeps its "expected …" part. */
function shared(check: (v: number) => void): Rule {
  return (value, fail) => {
    try {
      check(value as number);
    } catch (e) {
      const m = /: (expected .*)$/.exec((e as Error).message);
      fail(m ? m[1] : (e as Error).message);
    }
  };
}

function scalar(rule: Rule): { list: false; rule: Rule } {
  return { list: false, rule };
}

function list(rule: Rule): { list: true; rule: Rule } {
  return { list: true, rule };
}

/**
 * The constraints of every setting, in one table: `list` settings must be non-empty arrays of distinct values
 * that each pass `rule`. α and τ use the checks of the affinity and of the partition tree.
 */
const EVAL_SETTING_RULES: { readonly [K in keyof EvalSettings]-?: { list: boolean; rule: Rule } } = {
  methods: list((v, fail) => {
    if (!METHOD_NAMES.includes(v as MethodName)) fail(`expected one of ${METHOD_NAMES.join(", ")}`);
  }),
  taus: list(shared((t) => checkTau(t))),
  alpha: scalar(shared(checkAlpha)),
  selfLoops: scalar((v, fail) => {
    if (typeof v !== "boolean") fail("expected true or false");
  }),
  minSegmentSize: scalar((v, fail) => {
    if (!isPositiveInteger(v)) fail("expected an integer >= 1");
  }),
  maxSegments: scalar((v, fail) => {
    if (v !== null && !isPositiveInteger(v)) fail("expected null or an integer >= 1");
  }),
  compat: scalar((v, fail) => {
    if (v !== "default" && v !== "reference") fail("expected default or reference");
  }),
  kmeansK: list((v, fail) => {
    if (!isPositiveInteger(v)) fail("expected an integer >= 1");
  }),
  seed: scalar((v, fail) => {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) {
      fail("expected an integer from 0 to 4294967295");
    }
  }),
  maskcutK: list((v, fail) => {
    if (!isPositiveInteger(v)) fail("expected an integer >= 1");
  }),
  maskcutTau: scalar((v, fail) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < -1 || v >= 1) {
      fail("expected a finite cosine threshold in [-1, 1)");
    }
  }),
  autoscAlphas: list(shared(checkAlpha)),
  upsample: list((v, fail) => {
    if (!UPSAMPLE_MODES.includes(v as UpsampleMode)) fail(`expected one of ${UPSAMPLE_MODES.join(", ")}`);
  }),
  refine: list((v, fail) => {
    if (typeof v !== "boolean") fail("expected true or false");
  }),
  encoderSize: scalar((v, fail) => {
    if (!isPositiveInteger(v)) fail("expected an integer >= 1");
  }),
  scoringSize: scalar((v, fail) => {
    if (!isPositiveInteger(v)) fail("expected an integer >= 1");
  }),
  protocol: scalar((v, fail) => {
    if (!SCORING_PROTOCOLS.includes(v as ScoringProtocol)) {
      fail(`expected one of ${SCORING_PROTOCOLS.join(", ")}`);
    }
  }),
  clipSize: scalar((v, fail) => {
    if (!isPositiveInteger(v)) fail("expected an integer >= 1");
  }),
};

/**
 * Checks evaluation settings against one table of constraints, before anything is read or written: α ≥ 1
 * and every τ > 0 (finite, as the affinity and the partition tree require), positive integer K and MaskCut k,
 * a 32-bit seed, a cosine MaskCut threshold, known methods and upsampling modes; list settings are non-empty
 * and without repeats (a repeat would give two table rows with one key). Only the fields present are checked,
 * so a caller can check what a user typed before the encoder supplies the defaults.
 *
 * @param settings Settings, complete or partial.
 * @param names How to name each setting in messages (e.g. {@linkcode EVAL_OPTION_NAMES}).
 * @throws {RangeError} Naming the first bad setting, the value received and what was expected.
 *
 * @example
 * ```ts
 * import { checkEvalSettings, EVAL_OPTION_NAMES } from "./methods.ts";
 * import assert from "node:assert/strict";
 * checkEvalSettings({ taus: [0.2, 0.3], alpha: 5 });
 * assert.throws(
 *   () => checkEvalSettings({ alpha: 0 }, EVAL_OPTION_NAMES),
 *   { name: "RangeError", message: "Invalid --alpha 0: expected a finite number >= 1" },
 * );
 * ```
 */
export function checkEvalSettings(settings: Partial<EvalSettings>, names: EvalSettingNames = {}): void {
  for (const key of Object.keys(EVAL_SETTING_RULES) as (keyof EvalSettings)[]) {
    if (!(key in settings)) continue;
    const value: unknown = settings[key];
    const { list, rule } = EVAL_SETTING_RULES[key];
    const name = names[key] ?? key;
    const shown = (v: unknown) => (typeof v === "string" ? `"${v}"` : String(v));
    if (!list) {
      rule(value, (expected) => {
        throw new RangeError(`Invalid ${name} ${shown(value)}: ${expected}`);
      });
      continue;
    }
    if (!Array.isArray(value) || value.length === 0) {
      throw new RangeError(`Invalid ${name} ${JSON.stringify(value)}: expected a non-empty list`);
    }
    const all = value.map(shown).join(",");
    const seen = new Set<unknown>();
    for (const v of value) {
      rule(v, (expected) => {
        throw new RangeError(`Invalid ${name} value ${shown(v)} in ${all}: ${expected}`);
      });
      if (seen.has(v)) {
        throw new RangeError(`Invalid ${name} ${all}: ${shown(v)} is repeated; expected distinct values`);
      }
      seen.add(v);
    }
  }
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
    case "kway":
      return [...s.taus.map((t) => `τ=${t}`), ...s.kmeansK.map((k) => `K=${k}`)];
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
      case "kway": {
        const affinity = { alpha: settings.alpha, selfLoops: settings.selfLoops };
        const tree = await buildPartitionTree(features, {
          ...affinity,
          tauMax: Math.max(...settings.taus),
          minSegmentSize: settings.minSegmentSize,
          maxSegments: settings.maxSegments ?? undefined,
          compat: settings.compat,
        });
        const starts: [string, number, Int32Array | "recursive"][] = [
          ...settings.taus.map((tau): [string, number, Int32Array] => {
            const cut = cutTreeDetailed(tree, tau);
            return [`τ=${tau}`, cut.segments, cut.labels];
          }),
          ...settings.kmeansK.map((k): [string, number, "recursive"] => [`K=${k}`, k, "recursive"]),
        ];
        for (const [param, k, init] of starts) {
          const r = await kwayNcut(features, { ...affinity, k, init, seed: settings.seed });
          variants.push({
            method,
            param,
            grid: r.labels,
            info: {
              gridSegments: r.segments,
              ncutStart: r.initialObjective,
              ncut: r.objective,
              sweeps: r.iterations,
            },
          });
        }
        break;
      }
    }
    ms[method] = performance.now() - t0;
  }
  return { variants, ms };
}
