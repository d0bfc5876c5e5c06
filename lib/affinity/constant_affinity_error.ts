/**
 * The typed error for features that are all identical, so that callers who turn it into "one segment" test its
 * class, never its message.
 *
 * @module
 */

/**
 * Thrown when every patch feature is the same: the cosine affinity is constant, min-max normalisation is
 * undefined and there is nothing to cut. A `RangeError`, so callers that treat all bad inputs alike still can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConstantAffinityError } from "./constant_affinity_error.ts";
 * const e = new ConstantAffinityError();
 * assert.ok(e instanceof RangeError);
 * assert.match(e.message, /^Features are all identical/);
 * ```
 */
export class ConstantAffinityError extends RangeError {
  /**
   * Creates the error.
   *
   * @param message The one-line explanation.
   * @param options The cause, if any.
   */
  constructor(
    message = "Features are all identical: the affinity is constant and there is nothing to cut",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ConstantAffinityError";
  }
}
