/**
 * Private test helper: evaluation settings with small, fast defaults.
 *
 * @module
 */
import type { EvalSettings } from "../../lib/eval/methods.ts";

/** Settings for tests: DiffCut only, concept assignment, no PAMR, 1024² encoder input, 128² scoring. */
export function testSettings(over: Partial<EvalSettings> = {}): EvalSettings {
  return {
    methods: ["diffcut"],
    taus: [0.5],
    alpha: 10,
    selfLoops: true,
    minSegmentSize: 1,
    maxSegments: null,
    compat: "default",
    kmeansK: [2],
    seed: 0,
    maskcutK: [2],
    maskcutTau: 0.2,
    autoscAlphas: [1, 5, 10, 15],
    upsample: ["concept"],
    refine: [false],
    encoderSize: 1024,
    scoringSize: 128,
    ...over,
  };
}
