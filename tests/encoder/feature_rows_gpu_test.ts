import assert from "node:assert/strict";
import {
  checkFeatureRowStatus,
  featureRows,
  type FeatureRowsLayout,
  featureRowsStrides,
  halfToFloatBits,
  ROW_ZERO,
} from "../../lib/encoder/feature_rows.ts";
import { featureRowsGpu } from "../../lib/encoder/feature_rows_gpu.ts";
import { float16ToFloat32, float32ToFloat16 } from "../../lib/onnx/float16.ts";
import { uploadBuffer } from "../../lib/gpu/buffers.ts";
import type { GpuContext } from "../../lib/gpu/device.ts";
import type { DeviceFeatures } from "../../lib/types.ts";
import { seededVector } from "../_helpers.ts";
import { gpu, testGpu } from "../_gpu.ts";

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** A source tensor of the layout's size with seeded values, as float32 or float16 bits. */
function sourceFor(layout: FeatureRowsLayout, half: boolean, seed: number): Float32Array | Uint16Array {
  const values = Float32Array.from(seededVector(featureRowsStrides(layout).elements, seed));
  return half ? float32ToFloat16(values) : values;
}

/** Uploads a source as a DeviceFeatures (a stand-in for ONNX Runtime's output buffer). */
function upload(
  ctx: GpuContext,
  source: Float32Array | Uint16Array,
  layout: FeatureRowsLayout,
): DeviceFeatures {
  const words = source instanceof Uint16Array
    ? new Uint32Array(source.length % 2 ? Uint16Array.from([...source, 0]).buffer : source.slice().buffer)
    : source;
  const buffer = uploadBuffer(ctx, "test.feature_rows.source", words);
  return {
    ...layout,
    buffer,
    device: ctx.device,
    dtype: source instanceof Uint16Array ? "float16" : "float32",
    what: "Test output",
    release: () => buffer.destroy(),
  };
}

Deno.test("featureRows: NCHW is transposed, tokens drop their prefix, NHWC is copied", () => {
  // NCHW [1, 2, 1, 3]: channel 0 = [1, 2, 3], channel 1 = [4, 5, 6].
  const nchw = featureRows(new Float32Array([1, 2, 3, 4, 5, 6]), {
    layout: "NCHW",
    height: 1,
    width: 3,
    channels: 2,
    prefixTokens: 0,
  });
  assert.deepEqual(Array.from(nchw.rows), [1, 4, 2, 5, 3, 6]);
  const tokens = featureRows(new Float32Array([9, 9, 1, 2, 3, 4]), {
    layout: "tokens",
    height: 1,
    width: 2,
    channels: 2,
    prefixTokens: 1,
  });
  assert.deepEqual(Array.from(tokens.rows), [1, 2, 3, 4]);
  const nhwc = featureRows(new Float32Array([1, 2, 3, 4]), {
    layout: "NHWC",
    height: 2,
    width: 1,
    channels: 2,
    prefixTokens: 0,
  });
  assert.deepEqual(Array.from(nhwc.rows), [1, 2, 3, 4]);
  assert.throws(
    () =>
      featureRows(new Float32Array(3), { layout: "NHWC", height: 2, width: 1, channels: 2, prefixTokens: 0 }),
    /^RangeError: Encoder output holds 3 values, expected at least 4 for layout NHWC$/,
  );
});

Deno.test("featureRows: status flags zero patches and the first NaN/±Inf channel", () => {
  const layout = { layout: "NHWC", height: 1, width: 4, channels: 3, prefixTokens: 0 } as const;
  const { status } = featureRows(
    new Float32Array([0, -0, 0, 1, 0, 0, 0, Infinity, NaN, 0, 0, 1e-45]),
    layout,
  );
  assert.deepEqual(Array.from(status), [ROW_ZERO, 0, 2 + 1, 0]);
  assert.throws(
    () => checkFeatureRowStatus(status, 4, "Model output 'y' of encoder 't'"),
    /^RangeError: Model output 'y' of encoder 't' has a NaN or infinite value at patch \(0, 2\), channel 1; expected finite features$/,
  );
  assert.throws(
    () => checkFeatureRowStatus(Uint32Array.from([0, 0, 0, ROW_ZERO, 0]), 2, "Output"),
    /^TypeError: Invalid features: patch \(1, 1\) is a zero vector; expected non-zero features$/,
  );
  checkFeatureRowStatus(new Uint32Array(3), 3, "Output");
});

Deno.test("halfToFloatBits is exact on all 65536 float16 patterns", () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const ref = float16ToFloat32(all);
  for (let h = 0; h < 65536; h++) {
    const b = halfToFloatBits(h);
    const v = new Float32Array(new Uint32Array([b]).buffer)[0];
    if (Number.isNaN(ref[h])) assert.ok(Number.isNaN(v), `0x${h.toString(16)}`);
    else assert.ok(Object.is(v, ref[h]), `0x${h.toString(16)}: ${v} vs ${ref[h]}`);
  }
});

// Sizes around the 64-wide workgroup, and a realistic grid.
const SIZES: [number, number, number][] = [[1, 1, 3], [7, 9, 5], [8, 8, 4], [5, 13, 2], [32, 32, 512]];
for (const [h, w, c] of SIZES) {
  Deno.test({
    name: `feature_rows GPU matches the reference bit for bit at ${h}×${w}×${c} (all layouts, f32 and f16)`,
    ignore: !gpu,
    async fn() {
      const ctx = testGpu();
      for (const layout of ["NCHW", "NHWC", "tokens"] as const) {
        for (const half of [false, true]) {
          const shape = {
            layout,
            height: h,
            width: w,
            channels: c,
            prefixTokens: layout === "tokens" ? 5 : 0,
          };
          const source = sourceFor(shape, half, h * 31 + c);
          const expected = featureRows(source, shape);
          const dev = upload(ctx, source, shape);
          try {
            const got = await featureRowsGpu(ctx, dev);
            const msg = `${layout} ${half ? "f16" : "f32"}`;
            assert.deepEqual(bits(got.rows), bits(expected.rows), msg);
            assert.deepEqual(got.status, expected.status, msg);
          } finally {
            dev.release();
          }
        }
      }
    },
  });
}

Deno.test({
  name: "feature_rows GPU: every float16 pattern (subnormals, ±Inf, NaN payloads) and every status code",
  ignore: !gpu,
  async fn() {
    const ctx = testGpu();
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const shape = { layout: "NHWC", height: 256, width: 256, channels: 1, prefixTokens: 0 } as const;
    const dev = upload(ctx, all, shape);
    try {
      const got = await featureRowsGpu(ctx, dev);
      const expected = featureRows(all, shape);
      assert.deepEqual(bits(got.rows), bits(expected.rows));
      assert.deepEqual(got.status, expected.status);
    } finally {
      dev.release();
    }
    const flagged = new Float32Array([0, 0, 1, NaN, 2, 3, 0, -Infinity, 0, 0, 0, 0]);
    const nhwc = { layout: "NHWC", height: 2, width: 2, channels: 3, prefixTokens: 0 } as const;
    const f = upload(ctx, flagged, nhwc);
    try {
      // Patch 1 has NaN at channel 0, patch 2 -Inf at channel 1, patch 3 only zeros.
      assert.deepEqual(Array.from((await featureRowsGpu(ctx, f)).status), [0, 2 + 0, 2 + 1, ROW_ZERO]);
    } finally {
      f.release();
    }
  },
});

Deno.test({
  name: "feature_rows GPU refuses a buffer too small for its layout, or from another device",
  ignore: !gpu,
  async fn() {
    const ctx = testGpu();
    const shape = { layout: "NCHW", height: 4, width: 4, channels: 8, prefixTokens: 0 } as const;
    const dev = upload(ctx, new Float32Array(100), shape);
    try {
      await assert.rejects(
        featureRowsGpu(ctx, dev),
        /^RangeError: Test output has a 400-byte buffer, expected at least 512 for its layout$/,
      );
      const other = await ctx.adapter.requestDevice();
      try {
        await assert.rejects(
          featureRowsGpu(ctx, { ...dev, device: other }),
          /^TypeError: Test output lives on another GPUDevice than the one given; expected the shared device$/,
        );
      } finally {
        other.destroy();
      }
    } finally {
      dev.release();
    }
  },
});
