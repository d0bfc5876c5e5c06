/**
 * PAMR's kernels on several threads (lib/pamr/pamr_simd.ts with lib/wasm/row_team.ts): weights, propagated values
 * and labels equal the TypeScript reference's bit for bit on problems large enough to be split by rows, whatever
 * the thread count.
 */
import assert from "node:assert/strict";
import { pamrAffinity, propagatePamr, refinePamrSync } from "../../lib/pamr/pamr.ts";
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
