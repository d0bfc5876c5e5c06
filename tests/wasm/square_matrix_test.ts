import assert from "node:assert/strict";
import { matrixMemory, releaseMatrix, squareMatrix } from "../../lib/wasm/square_matrix.ts";

Deno.test("squareMatrix reuses a released memory that fits, zero-filled unless asked not to", () => {
  const big = squareMatrix(40);
  big.fill(7);
  releaseMatrix(big);
  const again = squareMatrix(30);
  assert.equal(again.buffer, big.buffer, "the released memory is reused");
  assert.equal(again.length, 900);
  assert.ok(again.every((v) => v === 0));
  assert.ok(matrixMemory(again, 30), "recognised with its new order");
  assert.equal(matrixMemory(again, 40), undefined);
  again.fill(3);
  releaseMatrix(again);
  const dirty = squareMatrix(20, false);
  assert.equal(dirty.buffer, big.buffer);
  assert.equal(dirty[0], 3, "zeroed = false keeps the old values (for callers that overwrite all)");
  // Nothing released now: a fresh memory.
  assert.notEqual(squareMatrix(20).buffer, big.buffer);
});

Deno.test("releaseMatrix keeps the larger memory and ignores arrays it did not make", () => {
  // Memories come in 64 KiB pages: order 8 takes one, order 200 three (160 KB + two vectors), order 180 three.
  const small = squareMatrix(8), large = squareMatrix(200);
  releaseMatrix(large);
  releaseMatrix(small);
  releaseMatrix(new Float32Array(4));
  assert.equal(squareMatrix(180).buffer, large.buffer);
  releaseMatrix(small);
  assert.notEqual(squareMatrix(180).buffer, small.buffer, "too small to reuse");
});
