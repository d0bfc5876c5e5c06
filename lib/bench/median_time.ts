/**
 * The benchmarks' one timer: the median wall time of several runs after a warm-up run.
 *
 * @module
 */

/**
 * Median wall time (ms) of `runs` calls after one warm-up call; also returns the last result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { medianTime } from "./median_time.ts";
 * const { ms, value } = await medianTime(3, () => 41 + 1);
 * assert.equal(value, 42);
 * assert.ok(ms >= 0);
 * ```
 *
 * @param runs Timed calls (at least 1).
 * @param f The work.
 * @returns The median milliseconds and the last call's value.
 */
export async function medianTime<T>(
  runs: number,
  f: () => Promise<T> | T,
): Promise<{ ms: number; value: T }> {
  let value = await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    value = await f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], value };
}
