/**
 * Counts in words for figure titles, captions and console lines: "1 segment", "2 segments", never "1 segments".
 *
 * @module
 */

/**
 * `count` followed by `noun`, in the plural unless `count` is exactly 1.
 *
 * @param count The number (printed as given).
 * @param noun The singular noun.
 * @param pluralNoun The plural, when it is not `noun + "s"`. @default {`${noun}s`}
 * @returns The phrase.
 *
 * @example
 * ```ts
 * import { plural } from "./plural.ts";
 * import assert from "node:assert/strict";
 * assert.equal(plural(1, "segment"), "1 segment");
 * assert.equal(plural(0, "segment"), "0 segments");
 * assert.equal(plural(3, "patch", "patches"), "3 patches");
 * ```
 */
export function plural(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}
