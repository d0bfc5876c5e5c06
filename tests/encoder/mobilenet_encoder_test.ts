/**
 * `mobilenet-v2`: the bundled MobileNetV2 run with TensorFlow.js (wasm backend). Shapes for the default and
 * another layer, determinism, features that separate two colour regions, and option/input checks.
 */
import assert from "node:assert/strict";
import { loadEncoder } from "../../lib/encoder/load_encoder.ts";
import {
  createMobileNetEncoder,
  fillZeroPatches,
  MOBILENET_ENCODER_DEFAULTS,
  MOBILENET_LAYERS,
} from "../../lib/encoder/mobilenet_encoder.ts";
import type { ImageRGB } from "../../lib/types.ts";

function pattern(h: number, w: number): ImageRGB {
  const data = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data.set(x < w / 2 ? [0.9, 0.2 + 0.3 * (y / h), 0.1] : [0.1, 0.3, 0.8 * (x / w)], (y * w + x) * 3);
    }
  }
  return { data, height: h, width: w };
}

Deno.test("mobilenet-v2: 32×32×576 from a 512² input, deterministic, finite, not all equal", async () => {
  const encoder = await loadEncoder("mobilenet-v2");
  try {
    assert.equal(encoder.id, "mobilenet-v2");
    assert.deepEqual(encoder.defaults, MOBILENET_ENCODER_DEFAULTS);
    const image = pattern(300, 400); // not square, not 512: stretched like the other encoders
    const a = await encoder.encode(image);
    const b = await encoder.encode(image);
    assert.deepEqual([a.height, a.width, a.channels], [32, 32, 576]);
    assert.equal(a.data.length, 32 * 32 * 576);
    assert.deepEqual(a.data, b.data);
    assert.ok(a.data.every(Number.isFinite));
    // The two halves of the pattern get different features.
    const patch = (y: number, x: number) => a.data.subarray((y * 32 + x) * 576, (y * 32 + x + 1) * 576);
    const cos = (u: Float32Array, v: Float32Array) => {
      let d = 0, nu = 0, nv = 0;
      for (let k = 0; k < u.length; k++) [d, nu, nv] = [d + u[k] * v[k], nu + u[k] * u[k], nv + v[k] * v[k]];
      return d / Math.sqrt(nu * nv);
    };
    assert.ok(cos(patch(16, 4), patch(16, 27)) < cos(patch(16, 4), patch(20, 5)));
  } finally {
    await encoder.dispose();
  }
});

Deno.test("mobilenet-v2: other layers and sizes give their stride's grid", async () => {
  const encoder = await createMobileNetEncoder({ layer: "block_5_add", inputSize: 128 });
  try {
    const map = await encoder.encode(pattern(128, 128));
    const { stride, channels } = MOBILENET_LAYERS.block_5_add;
    assert.deepEqual([map.height, map.width, map.channels], [128 / stride, 128 / stride, channels]);
    assert.equal(encoder.id, "mobilenet-v2:block_5_add@128");
  } finally {
    await encoder.dispose();
  }
});

Deno.test("mobilenet-v2: bad options and bad images are rejected with the value", async () => {
  await assert.rejects(
    () => createMobileNetEncoder({ layer: "dense_3" }),
    /Unknown MobileNetV2 layer 'dense_3'/,
  );
  await assert.rejects(
    () => createMobileNetEncoder({ inputSize: 500 }),
    /Invalid MobileNetV2 input size 500/,
  );
  await assert.rejects(() => createMobileNetEncoder({ backend: "cpu" }), /already active/);
  const encoder = await createMobileNetEncoder({ layer: "block_5_add", inputSize: 64 });
  try {
    await assert.rejects(() => encoder.encode({ height: 2, width: 2, data: new Float32Array(5) }), TypeError);
    await assert.rejects(
      () => encoder.encode({ height: 0, width: 2, data: new Float32Array(0) }),
      RangeError,
    );
  } finally {
    await encoder.dispose();
  }
  await assert.rejects(() => encoder.encode(pattern(8, 8)), /disposed/);
});

Deno.test("fillZeroPatches replaces only all-zero patches", () => {
  const data = new Float32Array([0, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.equal(fillZeroPatches(data, 3), 2);
  assert.deepEqual(Array.from(data), [1e-6, 1e-6, 1e-6, 0, 1, 0, 1e-6, 1e-6, 1e-6].map(Math.fround));
});
