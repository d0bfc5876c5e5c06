/**
 * The SIMD exp returns Math.exp's bits: on random inputs over the whole range, on the softmax's range, near the
 * reduction's break points and rounding boundaries, and on the special values; its table is 2^(j/1024).
 */
import assert from "node:assert/strict";
import { exactExpKernel, EXP_TABLE_BYTES, writeExpTable } from "../../lib/wasm/exact_exp.ts";
import { sharedMemory } from "../../lib/wasm/shared_memory.ts";
import { embeddedModule } from "../../lib/wasm/embedded_module.ts";
import { WASM_BASE64 } from "../../lib/wasm/exp_wasm.ts";
import { seededRandom } from "../../lib/random.ts";

Deno.test("the SIMD exp gives Math.exp's bits on a million inputs and the special values", () => {
  const n = 1_000_001; // odd: the last value takes the scalar tail
  const memory = sharedMemory(EXP_TABLE_BYTES + 8 * n);
  const exp = exactExpKernel(memory, 0);
  if (!exp) {
    assert.equal(embeddedModule(WASM_BASE64), null, "the kernel is refused although SIMD runs here");
    console.log("skipped: no WebAssembly SIMD in this runtime");
    return;
  }
  const values = new Float64Array(memory.buffer, EXP_TABLE_BYTES, n);
  const r = seededRandom(7);
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    values[i] = kind === 0
      ? -760 + 1480 * r()
      : kind === 1
      ? -40 * r()
      : kind === 2
      ? ((Math.floor(r() * 2e6) - 1e6 + 0.5) * Math.LN2) / 1024
      : kind === 3
      ? (r() - 0.5) * 2 ** -20
      : -708.5 + r(); // the edge of the kernel's range
  }
  const specials = [
    0,
    -0,
    1,
    -1,
    Infinity,
    -Infinity,
    NaN,
    -708.3,
    709,
    709.5,
    -745.2,
    -745.1,
    -745.13321910194,
    5e-324,
    -5e-324,
    2 ** -30,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Math.LN2,
    -Math.LN2 / 2048,
  ];
  values.set(specials);
  const inputs = values.slice();
  exp(EXP_TABLE_BYTES, n);
  let differ = 0, first = "";
  for (let i = 0; i < n; i++) {
    if (!Object.is(values[i], Math.exp(inputs[i]))) {
      if (differ++ === 0) first = `exp(${inputs[i]}) = ${values[i]}, Math.exp gives ${Math.exp(inputs[i])}`;
    }
  }
  assert.equal(differ, 0, first);
  assert.ok(Object.is(values[1], 1) && Object.is(values[5], 0) && Number.isNaN(values[6]));
});

Deno.test("the exp table holds 2^(j/1024) as double-doubles, and few softmax values need Math.exp", () => {
  const memory = sharedMemory(10 * 65536);
  const view = new DataView(memory.buffer);
  writeExpTable(view, 0);
  const entry = (j: number) => [view.getFloat64(32 + 16 * j, true), view.getFloat64(40 + 16 * j, true)];
  assert.deepEqual(entry(0), [1, 0]);
  assert.equal(entry(512)[0], Math.SQRT2);
  assert.equal(view.getFloat64(0, true), 1024 / Math.LN2);
  assert.equal(view.getFloat64(8, true) + view.getFloat64(16, true), Math.LN2 / 1024);
  for (const j of [1, 100, 333, 1023]) {
    // 2^(j/1024) · 2^((1024−j)/1024) = 2: the products of the double-doubles' leading parts, corrected by the
    // cross terms, land within 2^-100 of 2.
    const [ah, al] = entry(j), [bh, bl] = entry(1024 - j);
    const exact = (x: number) => {
      // x·2^150 as an exact integer
      const buf = new DataView(new ArrayBuffer(8));
      buf.setFloat64(0, x);
      const bits = buf.getBigUint64(0),
        e = Number((bits >> 52n) & 0x7ffn),
        m = (bits & ((1n << 52n) - 1n)) | 1n << 52n;
      const sign = x < 0 ? -1n : 1n;
      return e === 0
        ? 0n
        : sign * (e - 1075 + 150 >= 0 ? m << BigInt(e - 1075 + 150) : m >> BigInt(1075 - e - 150));
    };
    const prod = (exact(ah) + exact(al)) * (exact(bh) + exact(bl)); // scaled by 2^300
    const two = 2n << 300n;
    const diff = prod > two ? prod - two : two - prod;
    assert.ok(diff < (1n << 200n), `2^(${j}/1024) · 2^(${1024 - j}/1024) misses 2 by ${diff} / 2^300`);
  }
  const n = 100_000;
  const data = sharedMemory(EXP_TABLE_BYTES + 8 * n);
  writeExpTable(new DataView(data.buffer), 0);
  let calls = 0;
  const instance = new WebAssembly.Instance(embeddedModule(WASM_BASE64)!, {
    env: { memory: data, exp: (x: number) => (calls++, Math.exp(x)) },
  });
  const values = new Float64Array(data.buffer, EXP_TABLE_BYTES, n);
  const r = seededRandom(11);
  for (let i = 0; i < n; i++) values[i] = -30 * r();
  (instance.exports.expInPlace as (p: number, n: number, t: number) => void)(EXP_TABLE_BYTES, n, 0);
  assert.ok(calls > 0 && calls < n / 200, `${calls} of ${n} values went to Math.exp`);
});
