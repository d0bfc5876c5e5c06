/**
 * One GPUDevice for ONNX Runtime and the project's kernels: sessions of the `"webgpu"` runner run on
 * `getGpu().device`, their outputs stay in ONNX Runtime's GPU buffers, and the layout, affinity and assignment
 * kernels read them in place. Checked against the wasm runner's features and the CPU stages.
 */
import assert from "node:assert/strict";
import p from "onnx-proto";
import { affinityMatrixSync } from "../../lib/affinity/affinity.ts";
import { affinityFromDeviceGpu, prepareDeviceAffinity } from "../../lib/affinity/affinity_gpu.ts";
import { featureRows } from "../../lib/encoder/feature_rows.ts";
import { featureRowsGpu } from "../../lib/encoder/feature_rows_gpu.ts";
import { createOnnxEncoder } from "../../lib/encoder/onnx_encoder.ts";
import { createOrtSession } from "../../lib/onnx/ort_session.ts";
import { parseSidecar } from "../../lib/encoder/sidecar.ts";
import { compactLabels, createSegmenter } from "../../lib/segmenter.ts";
import { assignConcepts } from "../../lib/stages.ts";
import { assignConceptsGpu } from "../../lib/upsample/assign_gpu.ts";
import type { FeatureMap, ImageRGB } from "../../lib/types.ts";
import { assertAllClose, twoHalvesImage } from "../_helpers.ts";
import { gpu, testGpu } from "../_gpu.ts";
import { cellConvModel, FLOAT16, int, modelBytes, valueInfo } from "../_onnx_models.ts";
import { vitModel } from "./_vit_models.ts";

const NORM = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
const WEIGHTS = [[1 / 16, 0, 0], [0, 1 / 16, 0], [0, 0, 1 / 16], [1 / 16, -1 / 16, 0]];
const BIAS = [0.01, 0.02, 0.03, 0.5];

/** The 4×4-cell convolution of `_onnx_models.ts` as an NCHW encoder, optionally cast to float16 at the end. */
function cellEncoderParts(half: boolean) {
  const sidecar = parseSidecar({
    id: half ? "cell-f16" : "cell",
    name: "Cell",
    description: "4x4 cell conv",
    licence: "MIT",
    source: { kind: "file" },
    model: "cell.onnx",
    standIn: false,
    input: { name: "image", size: 16, layout: "NCHW", channelOrder: "RGB", normalisation: NORM },
    output: { name: "features", layout: "NCHW", channels: 4, grid: 4 },
    defaults: { tau: 0.3, alpha: 2 },
  }, "cell.json");
  if (!half) return { sidecar, model: cellConvModel(WEIGHTS, BIAS) };
  // Same graph with a Cast to float16 after the convolution.
  const base = cellConvModel(WEIGHTS, BIAS, "f32");
  const model = modelBytes({
    ...decode(base),
    node: [...decode(base).node!, {
      opType: "Cast",
      input: ["f32"],
      output: ["features"],
      attribute: [int("to", FLOAT16)],
    }],
    output: [valueInfo("features", [1, 4, 4, 4], FLOAT16)],
  });
  return { sidecar, model };
}

function decode(bytes: Uint8Array) {
  const g = p.onnx.ModelProto.decode(bytes).graph!;
  return { node: g.node, initializer: g.initializer, input: g.input, output: g.output };
}

Deno.test({
  name: "runner webgpu: the session runs on the project's device, whose buffers bind into our kernels",
  ignore: !gpu,
  async fn() {
    const ctx = testGpu();
    const session = await createOrtSession(vitModel(4, 0, 3), { runner: "webgpu" });
    try {
      assert.equal(session.device, ctx.device);
      const x = new Float32Array(3 * 8 * 8).map((_, i) => (i % 7) / 7);
      const out = await session.runOnDevice({ pixel_values: { data: x, dims: [1, 3, 8, 8] } });
      const t = out.last_hidden_state;
      assert.equal(t.device, ctx.device);
      assert.deepEqual([t.type, ...t.dims], ["float32", 1, 4, 3]);
      const wasm = await createOrtSession(vitModel(4, 0, 3), { runner: "wasm" });
      const expected = (await wasm.run({ pixel_values: { data: x, dims: [1, 3, 8, 8] } })).last_hidden_state;
      await wasm.dispose();
      const layout = { layout: "tokens", height: 2, width: 2, channels: 3, prefixTokens: 0 } as const;
      // Bound into the layout kernel inside our own validation scope: a foreign buffer would fail here.
      const rows = await featureRowsGpu(ctx, {
        ...layout,
        buffer: t.buffer,
        device: t.device,
        dtype: t.type,
        what: "Output",
        release: t.dispose,
      });
      t.dispose();
      assertAllClose(rows.rows, featureRows(expected.data, layout).rows, { atol: 1e-6, rtol: 1e-5 });
      // The host path of the same session still works (ORT downloads its output).
      const host = await session.run({ pixel_values: { data: x, dims: [1, 3, 8, 8] } });
      assertAllClose(host.last_hidden_state.data, expected.data, { atol: 1e-6, rtol: 1e-5 });
    } finally {
      await session.dispose();
    }
    const wasm = await createOrtSession(vitModel(4, 0, 3), { runner: "wasm" });
    try {
      assert.equal(wasm.device, undefined);
      await assert.rejects(
        wasm.runOnDevice({ pixel_values: { data: new Float32Array(192), dims: [1, 3, 8, 8] } }),
        /^TypeError: Session of model runs on runner wasm; runOnDevice needs runner "webgpu"$/,
      );
    } finally {
      await wasm.dispose();
    }
  },
});

/** Runs `check` with the same encoder on the wasm and webgpu runners. */
async function withEncoders(
  sidecar: Parameters<typeof createOnnxEncoder>[0],
  model: Uint8Array,
  inputSize: number | undefined,
  check: (
    wasm: Awaited<ReturnType<typeof createOnnxEncoder>>,
    webgpu: Awaited<ReturnType<typeof createOnnxEncoder>>,
  ) => Promise<void>,
): Promise<void> {
  const wasm = await createOnnxEncoder(sidecar, model, { runner: "wasm", inputSize });
  const webgpu = await createOnnxEncoder(sidecar, model, { runner: "webgpu", inputSize });
  try {
    assert.equal(wasm.encodeOnDevice, undefined);
    assert.ok(webgpu.encodeOnDevice);
    await check(wasm, webgpu);
  } finally {
    await wasm.dispose();
    await webgpu.dispose();
  }
}

/** Features read from ONNX Runtime's GPU buffer, the affinity and the assignment computed from it, vs wasm + CPU. */
async function checkDevicePath(
  wasm: Awaited<ReturnType<typeof createOnnxEncoder>>,
  webgpu: Awaited<ReturnType<typeof createOnnxEncoder>>,
  img: ImageRGB,
  tol: { features: number; affinity: number },
  alpha = 3,
): Promise<void> {
  const ctx = testGpu();
  const expected: FeatureMap = await wasm.encode(img);
  const source = await webgpu.encodeOnDevice!(img);
  try {
    assert.equal(source.device, ctx.device);
    const { rows, status } = await featureRowsGpu(ctx, source);
    assert.ok(status.every((s) => s === 0));
    assertAllClose(rows, expected.data, { atol: tol.features, rtol: tol.features, msg: "features" });
    const cpu = affinityMatrixSync(expected, { alpha });
    const g = await affinityFromDeviceGpu(ctx, source, { alpha });
    assertAllClose(g.w, cpu, { atol: tol.affinity, rtol: tol.affinity, msg: "affinity" });
    // Concept assignment straight from the device rows.
    const dev = await prepareDeviceAffinity(ctx, source, { alpha });
    try {
      const n = expected.height * expected.width;
      const grid = Int32Array.from(
        { length: n },
        (_, i) => (i % expected.width < expected.width / 2 ? 3 : 7),
      );
      const size = { height: 4 * expected.height, width: 4 * expected.width };
      const onDevice = await assignConceptsGpu(ctx, dev.rows, grid, size);
      const reference = await assignConcepts(expected, grid, size, { backend: "cpu" });
      let differ = 0;
      for (let i = 0; i < reference.length; i++) if (onDevice[i] !== reference[i]) differ++;
      assert.ok(differ <= reference.length * 1e-3, `${differ} of ${reference.length} pixels differ`);
    } finally {
      dev.destroy();
    }
  } finally {
    source.release();
  }
}

Deno.test({
  name:
    "encodeOnDevice, NCHW float32: features, affinity and assignment from ORT's GPU buffer equal wasm + CPU",
  ignore: !gpu,
  async fn() {
    const { sidecar, model } = cellEncoderParts(false);
    await withEncoders(
      sidecar,
      model,
      undefined,
      (wasm, webgpu) => checkDevicePath(wasm, webgpu, twoHalvesImage(16), { features: 1e-5, affinity: 1e-4 }),
    );
  },
});

Deno.test({
  name: "encodeOnDevice, tokens with a CLS token dropped, 32×32 grid: features and affinity equal wasm + CPU",
  ignore: !gpu,
  async fn() {
    const json = JSON.parse(
      await Deno.readTextFile(new URL("../../models/dinov2-large.json", import.meta.url)),
    );
    json.output.channels = 24;
    const sidecar = parseSidecar(json, "dinov2-large.json");
    await withEncoders(
      sidecar,
      vitModel(14, 1, 24),
      448,
      (wasm, webgpu) =>
        checkDevicePath(wasm, webgpu, twoHalvesImage(448), { features: 1e-4, affinity: 2e-4 }),
    );
  },
});

Deno.test({
  name: "encodeOnDevice, NCHW float16 output: widened exactly on the device (needs shader-f16)",
  ignore: !gpu,
  async fn() {
    const ctx = testGpu();
    const { sidecar, model } = cellEncoderParts(true);
    const img = twoHalvesImage(16);
    const wasm = await createOnnxEncoder(sidecar, model, { runner: "wasm" });
    let webgpu;
    try {
      webgpu = await createOnnxEncoder(sidecar, model, { runner: "webgpu" });
    } catch (error) {
      await wasm.dispose();
      // Without shader-f16 (Mesa's GL backend) ONNX Runtime may refuse float16 kernels: the session says so.
      if (ctx.device.features.has("shader-f16")) throw error;
      assert.match((error as Error).message, /lacks shader-f16: use runner "wasm" or "node"/);
      return;
    }
    try {
      let source;
      try {
        source = await webgpu.encodeOnDevice!(img);
      } catch (error) {
        // ... or at the first run, when it compiles the Cast kernel.
        if (ctx.device.features.has("shader-f16")) throw error;
        assert.match(
          (error as Error).message,
          /^Cannot run .*lacks shader-f16: use runner "wasm" or "node"$/,
        );
        return;
      }
      try {
        assert.equal(source.dtype, "float16");
        const { rows } = await featureRowsGpu(ctx, source);
        // Both runners round the same float32 convolution to float16: equal up to one float16 ulp.
        assertAllClose(rows, (await wasm.encode(img)).data, { atol: 1e-4, rtol: 1e-3 });
      } finally {
        source.release();
      }
    } finally {
      await wasm.dispose();
      await webgpu.dispose();
    }
  },
});

Deno.test({
  name: "device affinity flags NaN and zero patches of an encoder output like the host path",
  ignore: !gpu,
  async fn() {
    const ctx = testGpu();
    const session = await createOrtSession(vitModel(4, 0, 3), { runner: "webgpu" });
    try {
      const x = new Float32Array(3 * 8 * 8).fill(0.5);
      x[0] = NaN; // patch (0, 0), channel 0
      x.fill(0, 3 * 8 * 8 - 8 * 8); // channel 2 zero (channel c reads input channel c % 3)
      const out =
        (await session.runOnDevice({ pixel_values: { data: x, dims: [1, 3, 8, 8] } })).last_hidden_state;
      const source = {
        layout: "tokens",
        height: 2,
        width: 2,
        channels: 3,
        prefixTokens: 0,
        buffer: out.buffer,
        device: out.device,
        dtype: out.type,
        what: "Model output 'y' of encoder 't'",
        release: out.dispose,
      } as const;
      try {
        await assert.rejects(
          prepareDeviceAffinity(ctx, source),
          /^RangeError: Model output 'y' of encoder 't' has a NaN or infinite value at patch \(0, 0\), channel 0; expected finite features$/,
        );
      } finally {
        out.dispose();
      }
    } finally {
      await session.dispose();
    }
  },
});

Deno.test({
  name:
    "createSegmenter, webgpu runner + backend webgpu: features stay on the device, labels equal the CPU path's",
  ignore: !gpu,
  async fn() {
    const json = JSON.parse(
      await Deno.readTextFile(new URL("../../models/dinov2-large.json", import.meta.url)),
    );
    json.output.channels = 12;
    json.defaults = { tau: 0.4, alpha: 3 };
    const sidecar = parseSidecar(json, "dinov2-large.json");
    const model = vitModel(14, 1, 12);
    const img = twoHalvesImage(224);
    const cpuEncoder = await createOnnxEncoder(sidecar, model, { runner: "wasm", inputSize: 224 });
    const gpuEncoder = await createOnnxEncoder(sidecar, model, { runner: "webgpu", inputSize: 224 });
    const cpu = await createSegmenter({ encoder: cpuEncoder, backend: "cpu", refine: false });
    const onDevice = await createSegmenter({ encoder: gpuEncoder, backend: "webgpu", refine: false });
    const lean = await createSegmenter({
      encoder: gpuEncoder,
      backend: "webgpu",
      refine: false,
      hostFeatures: false,
    });
    try {
      const a = await cpu.segment(img);
      const b = await onDevice.segment(img);
      const c = await lean.segment(img);
      assert.equal(a.featuresOnDevice, false);
      assert.equal(b.featuresOnDevice, true);
      assert.ok(a.segments >= 2, `expected a split, got ${a.segments} segment(s)`);
      for (const r of [b, c]) {
        assert.deepEqual(compactLabels(r.gridLabels).compact, compactLabels(a.gridLabels).compact);
        assert.equal(r.segments, a.segments);
      }
      assertAllClose(b.features.data, a.features.data, { atol: 1e-4, rtol: 1e-4 });
      assert.throws(() => c.features, /Features stayed on the GPU \(hostFeatures: false\)/);
      // With PAMR, assignment and refinement share one submission on the device: same labels as the CPU path.
      const cpuRefined = await createSegmenter({ encoder: cpuEncoder, backend: "cpu" });
      const gpuRefined = await createSegmenter({ encoder: gpuEncoder, backend: "webgpu" });
      const ctx = testGpu();
      const w0 = ctx.hostWaits;
      const r = await gpuRefined.segment(img);
      const levels = 1 + Math.max(...r.tree.nodes.map((x) => x.depth));
      // The feature check rides with the tree's first submission (four levels each), then one wait for
      // assignment + PAMR.
      assert.equal(ctx.hostWaits - w0, Math.ceil(levels / 4) + 1, `host waits for ${levels} levels`);
      assert.deepEqual(r.labels, (await cpuRefined.segment(img)).labels);
    } finally {
      await cpu.dispose();
      await onDevice.dispose();
    }
  },
});
