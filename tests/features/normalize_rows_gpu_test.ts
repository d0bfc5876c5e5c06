/**
 * Parity of the WebGPU row normalisation (`shaders/features/normalize_rows.wgsl`) with the one CPU
 * `normalizeRows` that the affinity and the concept assignment share: rows around the workgroup size (64), channel
 * counts around the vec4 padding, zero rows, and a realistic 32×32×512 map.
 */
import assert from "node:assert/strict";
import { normalizeRows } from "../../lib/features/normalize_rows.ts";
import { createNormalizeRowsKernel, paddedChannels } from "../../lib/features/normalize_rows_gpu.ts";
import { destroyAll, storageBuffer, submitAndRead, uploadBuffer } from "../../lib/gpu/buffers.ts";
import type { FeatureMap } from "../../lib/types.ts";
import { assertAllClose, seededVector } from "../_helpers.ts";
import { gpu, testGpu } from "../_gpu.ts";

async function normalizeRowsOnGpu(features: FeatureMap): Promise<Float32Array> {
  const ctx = testGpu();
  const n = features.height * features.width, c = features.channels, c4 = paddedChannels(c);
  const kernel = await createNormalizeRowsKernel(ctx);
  const input = uploadBuffer(ctx, "test.features", features.data);
  const unit = storageBuffer(ctx, "test.unit", n * c4 * 4);
  try {
    const encoder = ctx.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    kernel.encode(pass, { features: input, unit }, { n, c });
    pass.end();
    const [bytes] = await submitAndRead(ctx, encoder, [{ buffer: unit, bytes: n * c4 * 4 }], "test");
    return new Float32Array(bytes);
  } finally {
    destroyAll(input, unit);
  }
}

// [rows, channels]: 1 row, WG − 1, WG, WG + 1 rows; channels below, at and above a multiple of 4.
const SIZES: [number, number][] = [[1, 1], [63, 3], [64, 4], [65, 5], [1024, 512]];

for (const [n, c] of SIZES) {
  Deno.test({
    name: `normalizeRows on WebGPU equals the CPU reference: ${n} rows × ${c} channels`,
    ignore: !gpu,
    async fn() {
      const data = Float32Array.from(seededVector(n * c, n + c), (v) => 4 * v);
      if (n > 2) data.fill(0, c, 2 * c); // a zero row stays zero (max(‖f‖, 1e-12) in both)
      const features = { height: 1, width: n, channels: c, data };
      const cpu = normalizeRows(features);
      const padded = await normalizeRowsOnGpu(features);
      const c4 = paddedChannels(c);
      const gpuRows = new Float32Array(n * c);
      for (let i = 0; i < n; i++) {
        gpuRows.set(padded.subarray(i * c4, i * c4 + c), i * c);
        for (let k = c; k < c4; k++) assert.equal(padded[i * c4 + k], 0, `padding of row ${i}`);
      }
      assertAllClose(gpuRows, cpu, { atol: 1e-6, rtol: 1e-5 });
      if (n > 2) assert.ok(gpuRows.subarray(c, 2 * c).every((v) => v === 0), "zero row");
    },
  });
}
