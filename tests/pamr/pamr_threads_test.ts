/**
 * PAMR's kernels on several threads (lib/pamr/pamr_simd.ts with lib/wasm/row_team.ts): weights, propagated values
 * and labels equal the TypeScript reference's bit for bit on problems large enough to be split by rows, whatever
 * the thread count.
 */
import assert from "node:assert/strict";
import { pamrAffinity, propagatePamr, refinePamrSync, startPamrAffinity } from "../../lib/pamr/pamr.ts";
import { dropKernelMemory, pamrThreads } from "../../lib/pamr/pamr_simd.ts";
import { setKernelThreads } from "../../lib/wasm/row_team.ts";
import { seededRandom } from "../../lib/random.ts";
import type { ImageRGB } from "../../lib/types.ts";

function identical(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: [${i}] is ${a[i]} threaded, ${b[i]} on typescript`);
  }
}

/** Blobs, edges and noise, so that weights range widely and masks have zero runs. */
function image(h: number, w: number, rnd: () => number): ImageRGB {
  const data = new Float32Array(h * w * 3);
  for (let i = 0; i < h * w; i++) {
    const x = i % w, y = Math.floor(i / w);
    const blob = Math.sin(x / 17) * Math.cos(y / 11) > 0.2;
    for (let c = 0; c < 3; c++) data[3 * i + c] = rnd() < 0.2 ? rnd() : (blob ? 0.7 : 0.25) + 0.03 * c;
  }
  return { data, height: h, width: w };
}

async function withThreads(threads: string, body: () => void): Promise<void> {
  setKernelThreads(Number(threads)); // not the environment variable: test files running beside share it
  try {
    body();
    // Helpers start asynchronously: give them time, then run again so that they surely take rows.
    await new Promise((r) => setTimeout(r, 300));
    body();
    assert.equal(pamrThreads(), Number(threads), "the team did not start every helper");
  } finally {
    dropKernelMemory();
    setKernelThreads(undefined);
  }
}

for (const threads of ["2", "3"]) {
  Deno.test(`PAMR on ${threads} threads equals the TypeScript reference bit for bit`, async () => {
    const rnd = seededRandom(0x51ed + Number(threads));
    // Tall, wide and square problems over 65,536 pixels (smaller ones stay on one thread), and dilations from the
    // default to one that clamps at the border.
    const cases: [number, number, number, number[]][] = [[300, 231, 4, [1, 2, 4, 8]], [90, 800, 3, [40, 1]], [
      733,
      95,
      6,
      [2, 3],
    ]];
    const inputs = cases.map(([h, w, K, dilations]) => {
      const img = image(h, w, rnd);
      const labels = Int32Array.from(
        { length: h * w },
        (_, i) => (Math.floor((i % w) / 37) + Math.floor(i / w / 23)) % K,
      );
      const masks = { data: new Float32Array(h * w * K), height: h, width: w, channels: K };
      for (let i = 0; i < h * w; i++) masks.data[i * K + labels[i]] = rnd() < 0.9 ? 1 : rnd();
      return { img, labels, masks, dilations };
    });
    const reference = inputs.map(({ img, labels, masks, dilations }) => ({
      weights: pamrAffinity(img, { dilations }, "typescript"),
      planes: propagatePamr(img, masks, { iterations: 5, dilations }, "typescript").data,
      labels: refinePamrSync(img, labels, { dilations }, "typescript"),
    }));
    await withThreads(threads, () => {
      inputs.forEach(({ img, labels, masks, dilations }, c) => {
        const what = `case ${c} (${img.height}×${img.width})`;
        identical(pamrAffinity(img, { dilations }), reference[c].weights, `${what} weights`);
        identical(
          propagatePamr(img, masks, { iterations: 5, dilations }).data,
          reference[c].planes,
          `${what} planes`,
        );
        identical(refinePamrSync(img, labels, { dilations }), reference[c].labels, `${what} labels`);
      });
    });
  });
}

Deno.test("an affinity started ahead is taken by the next PAMR call on that image, and dropped for any other", async () => {
  const rnd = seededRandom(0xa4ead);
  const h = 300, w = 260, K = 3, dilations = [1, 2, 4, 8, 12, 24];
  const make = () => image(h, w, rnd);
  const labelsOf = (k: number, hh = h, ww = w) =>
    Int32Array.from({ length: hh * ww }, (_, i) => (Math.floor((i % ww) / 41) + Math.floor(i / ww / 29)) % k);
  const a = make(),
    b = make(),
    small = image(280, 250, rnd),
    labels = labelsOf(K),
    smallLabels = labelsOf(2, 280, 250);
  const original = { ...a, data: a.data.slice() };
  const reference = (img: ImageRGB, l: Int32Array) => refinePamrSync(img, l, { dilations }, "typescript");
  const refA = reference(a, labels), refB = reference(b, labels), refSmall = reference(small, smallLabels);
  const weightsA = pamrAffinity(a, { dilations }, "typescript");
  setKernelThreads(2);
  try {
    // Started before the helper is up, then again once it is (it then does the rows while this test sleeps).
    for (const wait of [0, 200]) {
      assert.equal(startPamrAffinity(a, dilations), true);
      await new Promise((r) => setTimeout(r, wait));
      identical(refinePamrSync(a, labels, { dilations }), refA, `taken after ${wait} ms`);
    }
    // Another image of the same size, another size, another K: each cancels it and computes its own.
    assert.equal(startPamrAffinity(a, dilations), true);
    await new Promise((r) => setTimeout(r, 50));
    identical(refinePamrSync(b, labels, { dilations }), refB, "another image of the same size");
    assert.equal(startPamrAffinity(a, dilations), true);
    identical(refinePamrSync(small, smallLabels, { dilations }), refSmall, "another size");
    assert.equal(startPamrAffinity(a, dilations), true);
    identical(pamrAffinity(a, { dilations }), weightsA, "the weights through pamrAffinity");
    // The values are read when it starts: a change after that is not seen (this is how the test knows the
    // started affinity was the one used).
    assert.equal(startPamrAffinity(a, dilations), true);
    a.data.set(b.data); // (b's labels differ from a's: checked above)
    identical(refinePamrSync(a, labels, { dilations }), refA, "the affinity of the values at the start");
    a.data.set(original.data);
    // Nothing is started without helpers, for a small image, or for bad dilations.
    assert.equal(startPamrAffinity(image(100, 100, rnd), dilations), false, "a small image");
    assert.equal(startPamrAffinity(a, [0]), false, "bad dilations");
    setKernelThreads(1);
    assert.equal(startPamrAffinity(a, dilations), false, "one thread");
  } finally {
    dropKernelMemory();
    setKernelThreads(undefined);
  }
});
