import assert from "node:assert/strict";
import { cosineGram, minMaxPower } from "../../lib/affinity/affinity.ts";
import { normalizeRows } from "../../lib/features/normalize_rows.ts";
import { affinityMatrix } from "../../lib/stages.ts";
import { assertAllClose, seededVector } from "../_helpers.ts";

Deno.test("cosineGram equals plain dot products at awkward sizes", () => {
  for (const [n, c] of [[1, 1], [2, 3], [3, 5], [4, 4], [5, 7], [9, 2], [13, 17]]) {
    const x = Float32Array.from(seededVector(n * c, n * 31 + c));
    const g = cosineGram(x, n, c);
    const expected = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < c; k++) s += x[i * c + k] * x[j * c + k];
        expected[i * n + j] = s;
      }
    }
    assertAllClose(g, expected, { atol: 1e-6, msg: `n=${n} c=${c}` });
  }
});

Deno.test("affinity: orthogonal pair is the minimum (0), parallel pair 1, anti-parallel rescaled", async () => {
  // Patches: e1, e2, 2·e1, −e1 → cosines: e1·e2 = 0, e1·(−e1) = −1 (global min), diagonal 1 (max).
  const f = { height: 1, width: 4, channels: 2, data: new Float32Array([1, 0, 0, 1, 2, 0, -1, 0]) };
  const w1 = await affinityMatrix(f, { alpha: 1 });
  // (cos − (−1)) / 2
  assertAllClose(w1, [1, 0.5, 1, 0, 0.5, 1, 0.5, 0.5, 1, 0.5, 1, 0, 0, 0.5, 0, 1]);
  const w10 = await affinityMatrix(f, { alpha: 10 });
  assert.equal(w10[1], Math.fround(0.5 ** 10));
  assert.equal(w10[3], 0);
  const noSelf = await affinityMatrix(f, { alpha: 1, selfLoops: false });
  for (let i = 0; i < 4; i++) assert.equal(noSelf[i * 4 + i], 0);
  assert.equal(noSelf[1], 0.5);
});

Deno.test("normalizeRows gives unit vectors and minMaxPower maps to [0,1]", () => {
  const x = Float32Array.from(seededVector(6 * 5, 3));
  const u = normalizeRows({ height: 2, width: 3, channels: 5, data: x });
  for (let i = 0; i < 6; i++) {
    let s = 0;
    for (let k = 0; k < 5; k++) s += u[i * 5 + k] ** 2;
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
  const w = minMaxPower(new Float32Array([-0.5, 0, 0.5, 1.5]), 2)!;
  assertAllClose(w, [0, 0.0625, 0.25, 1]);
  assert.equal(minMaxPower(new Float32Array([2, 2, 2]), 10), null);
});

Deno.test("affinity rejects bad input with one-line messages", async () => {
  const good = { height: 1, width: 2, channels: 2, data: new Float32Array([1, 0, 0, 1]) };
  const cases: [unknown, RegExp][] = [
    [{ ...good, data: new Float32Array([1, NaN, 0, 1]) }, /patch \(0, 0\) holds NaN/],
    [{ ...good, data: new Float32Array([0, 0, 0, 1]) }, /zero vector/],
    [{ ...good, data: new Float32Array([1, 0, 0]) }, /data has 3 values, expected 1×2×2 = 4/],
    [{ height: 1, width: 1, channels: 2, data: new Float32Array([1, 0]) }, /1 patch; expected at least 2/],
    [{ ...good, data: new Float32Array([1, 1, 1, 1]) }, /all identical/],
  ];
  for (const [f, re] of cases) {
    await assert.rejects(
      () => affinityMatrix(f as typeof good),
      (e: Error) => re.test(e.message) && !e.message.includes("\n"),
    );
  }
  await assert.rejects(
    () => affinityMatrix(good, { alpha: 0.5 }),
    /Invalid alpha 0.5: expected a finite number >= 1/,
  );
});

Deno.test("ONNX Runtime Gram matches the TypeScript Gram; both affinity paths give the same tree cut", async () => {
  const { cosineGramOnnx } = await import("../../lib/affinity/gram_onnx.ts");
  for (const [n, c] of [[1, 3], [3, 5], [37, 1280]]) {
    const x = Float32Array.from(seededVector(n * c, n + c));
    assertAllClose(await cosineGramOnnx(x, n, c), cosineGram(x, n, c), {
      atol: 2e-5,
      rtol: 1e-5,
      msg: `n=${n} c=${c}`,
    });
  }
  const { affinityMatrixSync } = await import("../../lib/affinity/affinity.ts");
  const { ONNX_GRAM_MIN_WORK } = await import("../../lib/stages.ts");
  const { syntheticFeatureMap } = await import("../../lib/bench/synthetic_features.ts");
  const f = syntheticFeatureMap(32, 32, 64, 6, 3);
  assert.ok(32 ** 4 * 64 >= ONNX_GRAM_MIN_WORK, "this map must take the ONNX path");
  const fast = await affinityMatrix(f, { alpha: 10 });
  const ref = affinityMatrixSync(f, { alpha: 10 });
  assertAllClose(fast, ref, { atol: 1e-5, rtol: 1e-4 });
});

Deno.test("ONNX affinity: the SIMD min-max, power and mirror give the TypeScript reference's bits", async () => {
  const { affinityFromGramOnnx, affinityFromUpperGram, cosineGramOnnx } = await import(
    "../../lib/affinity/gram_onnx.ts"
  );
  const { squareMatrix } = await import("../../lib/wasm/square_matrix.ts");
  // Orders that leave a head and a tail in the 4-wide rows and edges in the mirror's 4×4 blocks and 32-wide
  // tiles; integer α (the kernels) and real α (the TypeScript loop); with and without the diagonal.
  for (
    const [n, c, alpha, selfLoops] of [
      [2, 3, 10, true],
      [37, 64, 5, false],
      [70, 16, 1, true],
      [203, 96, 2.5, true],
      [130, 40, 13, false],
    ] as const
  ) {
    const x = Float32Array.from(seededVector(n * c, 7 * n + c));
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += x[i * c + k] ** 2;
      for (let k = 0; k < c; k++) x[i * c + k] /= Math.sqrt(s);
    }
    const gram = await cosineGramOnnx(x, n, c, false);
    const upper = () => {
      const copy = squareMatrix(n); // a kernel memory, so the "wasm" engine runs
      for (let i = 0; i < n; i++) copy.set(gram.subarray(i * n + i, (i + 1) * n), i * n + i);
      return copy;
    };
    const want = affinityFromUpperGram(upper(), n, alpha, selfLoops, "typescript");
    const simd = affinityFromUpperGram(upper(), n, alpha, selfLoops);
    const got = await affinityFromGramOnnx(x, n, c, alpha, selfLoops);
    for (const [name, a] of [["affinityFromUpperGram", simd], ["affinityFromGramOnnx", got]] as const) {
      assert.deepEqual(
        new Uint32Array(a.buffer, 0, n * n),
        new Uint32Array(want.buffer, 0, n * n),
        `${name} n=${n} c=${c} α=${alpha}`,
      );
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(got[i * n + j], got[j * n + i]);
  }
  // Zeros of both signs tied for the minimum: the scan's first one decides the sign of every (v − lo).
  const n = 9, g = squareMatrix(n), ref = squareMatrix(n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) g[i * n + j] = ((i * 7 + j * 3) % 5) / 4;
  g[0 * n + 5] = -0, g[1 * n + 1] = 0, g[2 * n + 8] = -0;
  ref.set(g);
  affinityFromUpperGram(g, n, 3, true);
  affinityFromUpperGram(ref, n, 3, true, "typescript");
  assert.deepEqual(new Uint32Array(g.buffer, 0, n * n), new Uint32Array(ref.buffer, 0, n * n));
});

Deno.test("ONNX affinity on several threads: the element-wise pass split by rows gives the reference's bits", async () => {
  const { affinityFromUpperGram } = await import("../../lib/affinity/gram_onnx.ts");
  const { squareMatrix } = await import("../../lib/wasm/square_matrix.ts");
  const { setKernelThreads } = await import("../../lib/wasm/row_team.ts");
  const { matrixThreads, stopMatrixThreads } = await import("../../lib/wasm/matrix_team.ts");
  for (const threads of [2, 3]) {
    setKernelThreads(threads); // not the environment variable: test files running beside share it
    try {
      for (let pass = 0; pass < 2; pass++) {
        for (const [n, alpha, selfLoops] of [[1024, 10, true], [1027, 5, false], [1091, 1, true]] as const) {
          const values = seededVector(n * n, n + threads);
          for (const zeros of [false, true]) {
            const upper = () => {
              const g = squareMatrix(n);
              for (let i = 0; i < n; i++) {
                for (let j = i; j < n; j++) {
                  g[i * n + j] = zeros ? Math.abs(values[i * n + j]) : values[i * n + j];
                }
              }
              // The minimum twice, rows far apart (so different threads find it): −2, or −0 and +0, whose
              // tie the scan's order decides (the threaded fold then rescans, as the single-threaded path).
              g[3 * n + 900] = zeros ? -0 : -2;
              g[(n - 2) * n + n - 1] = zeros ? 0 : -2;
              return g;
            };
            const want = affinityFromUpperGram(upper(), n, alpha, selfLoops, "typescript");
            const got = affinityFromUpperGram(upper(), n, alpha, selfLoops);
            // Entry by entry (a deepEqual diff of a million entries would exhaust the memory).
            for (let k = 0; k < n * n; k++) {
              if (!Object.is(got[k], want[k])) {
                assert.fail(
                  `${threads} threads, n=${n}, α=${alpha}, ${zeros ? "±0" : "−2"} tie: [${k}] ${got[k]} != ${
                    want[k]
                  }`,
                );
              }
            }
          }
        }
        await new Promise((r) => setTimeout(r, 300)); // helpers start asynchronously: the second pass has them
      }
      assert.equal(matrixThreads(), threads, "the helpers did not start");
    } finally {
      stopMatrixThreads();
      setKernelThreads(undefined);
    }
  }
});
