import assert from "node:assert/strict";
import { float16ToFloat32, float32ToFloat16 } from "../../lib/onnx/float16.ts";

Deno.test("float16ToFloat32 decodes known bit patterns", () => {
  const bits = new Uint16Array([
    0x0000,
    0x8000,
    0x3c00,
    0xc000,
    0x7bff,
    0x0001,
    0x0400,
    0x3555,
    0x7c00,
    0xfc00,
  ]);
  const values = Array.from(float16ToFloat32(bits));
  assert.deepEqual(values.slice(0, 7), [0, -0, 1, -2, 65504, 2 ** -24, 2 ** -14]);
  assert.equal(values[7], 0.333251953125);
  assert.deepEqual(values.slice(8), [Infinity, -Infinity]);
  assert.ok(Object.is(values[1], -0));
  assert.ok(Number.isNaN(float16ToFloat32(new Uint16Array([0x7e00]))[0]));
});

Deno.test("float16 round trip is exact for every non-NaN half and agrees with Float16Array", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const decoded = float16ToFloat32(all);
  const again = float32ToFloat16(decoded);
  const F16 = (globalThis as { Float16Array?: new (b: ArrayBuffer) => ArrayLike<number> }).Float16Array;
  const native = F16 ? new F16(all.buffer) : undefined;
  for (let i = 0; i < 65536; i++) {
    const isNaN = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (isNaN) {
      assert.ok(Number.isNaN(decoded[i]));
      continue;
    }
    assert.equal(again[i], i, `bits ${i.toString(16)}`);
    if (native) assert.ok(Object.is(native[i], decoded[i]), `Float16Array disagrees at ${i.toString(16)}`);
  }
});

Deno.test("float32ToFloat16 rounds to nearest, ties to even, and saturates to Infinity", () => {
  const values = new Float32Array([
    1 + 2 ** -11, // halfway between 1 and the next half: tie to even (1)
    1 + 3 * 2 ** -11, // halfway, odd neighbour below: rounds up
    1 + 2 ** -11 + 2 ** -20, // above halfway: rounds up
    65520, // halfway between 65504 and 65536: overflows to Infinity
    65519,
    2 ** -25, // half the smallest subnormal: ties to 0
    3 * 2 ** -26, // rounds up to the smallest subnormal
    1e-10,
    -1e10,
  ]);
  assert.deepEqual(
    Array.from(float32ToFloat16(values)),
    [0x3c00, 0x3c02, 0x3c01, 0x7c00, 0x7bff, 0x0000, 0x0001, 0x0000, 0xfc00],
  );
  const mathF16round = (Math as { f16round?: (x: number) => number }).f16round;
  if (mathF16round) {
    const decoded = float16ToFloat32(float32ToFloat16(values));
    values.forEach((v, i) => assert.ok(Object.is(decoded[i], Math.fround(mathF16round(v))), `value ${v}`));
  }
});
