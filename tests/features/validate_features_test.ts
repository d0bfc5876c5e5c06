/** validateFeatureMap: the first bad patch is named, whether it falls in a block of four rows or in the tail. */
import assert from "node:assert/strict";
import { validateFeatureMap } from "../../lib/features/validate_features.ts";
import { normalizeRows } from "../../lib/features/normalize_rows.ts";

/** A 3×3 map (nine patches: two blocks of four rows and a tail of one) of 5 channels, all finite and non-zero. */
function map(): { data: Float32Array; height: number; width: number; channels: number } {
  return {
    data: Float32Array.from({ length: 45 }, (_, i) => ((i * 7) % 11) - 5 || 0.5),
    height: 3,
    width: 3,
    channels: 5,
  };
}

Deno.test("validateFeatureMap names the first non-finite value or zero patch, in the blocks and in the tail", () => {
  validateFeatureMap(map());
  for (
    const [patch, value, message] of [
      [1, NaN, /patch \(0, 1\) holds NaN; expected finite values/],
      [5, Infinity, /patch \(1, 2\) holds Infinity; expected finite values/],
      [8, -Infinity, /patch \(2, 2\) holds -Infinity; expected finite values/],
    ] as const
  ) {
    const f = map();
    f.data[patch * 5 + 3] = value;
    assert.throws(() => validateFeatureMap(f), message);
  }
  for (const patch of [2, 8]) {
    const f = map();
    f.data.fill(0, patch * 5, patch * 5 + 5);
    f.data[patch * 5 + 4] = -0;
    assert.throws(
      () => validateFeatureMap(f),
      new RegExp(`patch \\(${Math.floor(patch / 3)}, ${patch % 3}\\) is a zero vector`),
    );
  }
  // A zero patch before a non-finite value: reported first, as the patch-by-patch scan meets it first.
  const f = map();
  f.data.fill(0, 0, 5);
  f.data[7] = NaN;
  assert.throws(() => validateFeatureMap(f), /patch \(0, 0\) is a zero vector/);
});

Deno.test("normalizeRows gives unit rows in blocks of four and in the tail, the same as one row at a time", () => {
  const f = map();
  const out = normalizeRows(f);
  for (let i = 0; i < 9; i++) {
    let s = 0;
    for (let k = 0; k < 5; k++) s += f.data[i * 5 + k] ** 2;
    for (let k = 0; k < 5; k++) {
      assert.equal(out[i * 5 + k], Math.fround(f.data[i * 5 + k] * (1 / Math.sqrt(s))));
    }
  }
});
