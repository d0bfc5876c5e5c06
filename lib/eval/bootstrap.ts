/**
 * The project's one image bootstrap: percentile intervals from resampling **images** with replacement. Images are
 * the independent units of every figure here (patches or pixels of one image are not), so the ROC AUCs and the
 * τ/α sensitivity curves both draw their 95% intervals through {@linkcode bootstrapImages}, seeded with
 * {@linkcode seededRandom} so that a figure's intervals are the same on every run.
 *
 * @module
 */
import { seededRandom } from "../random.ts";

/** Options of {@linkcode bootstrapImages} and {@linkcode bootstrapMean}. */
export interface BootstrapOptions {
  /** Bootstrap replicates. @default {1000} */
  replicates?: number;
  /** Seed of the resampling (`seededRandom`); the same seed draws the same resamples. @default {1} */
  seed?: number;
  /** Lower and upper quantiles of the interval. @default {[0.025, 0.975]} */
  quantiles?: [number, number];
}

/** A percentile bootstrap interval. */
export interface BootstrapInterval {
  /** Lower end (NaN when no replicate produced a value). */
  lo: number;
  /** Upper end (NaN when no replicate produced a value). */
  hi: number;
  /** Replicates that produced a finite value. */
  replicates: number;
  /** Replicates skipped: the statistic threw a `RangeError` (e.g. a resample with one class) or was not finite. */
  skipped: number;
}

/**
 * Percentile bootstrap over images: each replicate `b` draws `n` image indices with replacement (`n` calls of the
 * seeded generator, `⌊u·n⌋`) and evaluates `statistic(draw, b)`; the interval's ends are the sorted values at
 * positions `round(q·(m − 1))` for the two quantiles `q`, `m` the number of finite values.
 *
 * @param n Number of images.
 * @param statistic Value of one resample, given the drawn image indices and the replicate number.
 * @param options Replicates, seed, quantiles.
 * @returns The interval and how many replicates it rests on.
 * @throws {RangeError} When `n` or `replicates` is not a positive integer, or a quantile is outside [0, 1].
 *
 * @example The statistic sees `n` indices per replicate
 * ```ts
 * import { bootstrapImages } from "./bootstrap.ts";
 * import assert from "node:assert/strict";
 * const ci = bootstrapImages(3, (draw) => draw.length, { replicates: 10 });
 * assert.deepEqual(ci, { lo: 3, hi: 3, replicates: 10, skipped: 0 });
 * ```
 */
export function bootstrapImages(
  n: number,
  statistic: (draw: Int32Array, replicate: number) => number,
  options: BootstrapOptions = {},
): BootstrapInterval {
  const replicates = options.replicates ?? 1000;
  const [qLo, qHi] = options.quantiles ?? [0.025, 0.975];
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Invalid image count ${n}: expected an integer ≥ 1`);
  }
  if (!Number.isInteger(replicates) || replicates < 1) {
    throw new RangeError(`Invalid replicates ${replicates}: expected an integer ≥ 1`);
  }
  if (!(qLo >= 0 && qLo <= qHi && qHi <= 1)) {
    throw new RangeError(`Invalid quantiles [${qLo}, ${qHi}]: expected 0 ≤ lo ≤ hi ≤ 1`);
  }
  const rand = seededRandom(options.seed ?? 1);
  const values: number[] = [];
  let skipped = 0;
  const draw = new Int32Array(n);
  for (let b = 0; b < replicates; b++) {
    for (let i = 0; i < n; i++) draw[i] = Math.floor(rand() * n);
    let v: number;
    try {
      v = statistic(draw, b);
    } catch (error) {
      // A resample can be degenerate (one class only); it is counted, not fatal.
      if (!(error instanceof RangeError)) throw error;
      v = NaN;
    }
    if (Number.isFinite(v)) values.push(v);
    else skipped++;
  }
  values.sort((a, b) => a - b);
  const at = (q: number) => values.length ? values[Math.round(q * (values.length - 1))] : NaN;
  return { lo: at(qLo), hi: at(qHi), replicates: values.length, skipped };
}

/**
 * Percentile bootstrap interval of the mean of per-image values (e.g. one τ/α setting's per-image mIoU). Calls with
 * the same seed and image count draw the same resamples, so every point of a curve shares them.
 *
 * @param perImage One value per image.
 * @param options Replicates, seed, quantiles.
 * @returns The interval of the mean.
 * @throws {RangeError} When `perImage` is empty (see {@linkcode bootstrapImages}).
 *
 * @example Two images scoring 0 and 1: resampled means are 0, ½ or 1
 * ```ts
 * import { bootstrapMean } from "./bootstrap.ts";
 * import assert from "node:assert/strict";
 * const ci = bootstrapMean([0, 1]);
 * assert.equal(ci.lo, 0);
 * assert.equal(ci.hi, 1);
 * ```
 */
export function bootstrapMean(
  perImage: ArrayLike<number>,
  options: BootstrapOptions = {},
): BootstrapInterval {
  return bootstrapImages(perImage.length, (draw) => {
    let s = 0;
    for (const i of draw) s += perImage[i];
    return s / draw.length;
  }, options);
}
