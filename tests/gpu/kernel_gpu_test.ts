import assert from "node:assert/strict";
import { dispatch, getKernel, kernelLayout } from "../../lib/gpu/kernel.ts";
import { batchBindGroupLayout, batchPipeline } from "../../lib/eigensolve/lanczos_gpu.ts";
import { gpu, testGpu } from "../_gpu.ts";

Deno.test({
  name: "getKernel: one cache keyed by file, entry and overrides; layouts shared by equal bindings",
  ignore: !gpu,
  async fn() {
    const { device } = testGpu();
    const spec = { stage: "pamr", kernel: "median3x3", overrides: { WORKGROUP_SIZE: 64 } };
    const a = await getKernel(device, spec);
    assert.equal(await getKernel(device, { ...spec, overrides: { WORKGROUP_SIZE: 64 } }), a);
    const b = await getKernel(device, { ...spec, overrides: { WORKGROUP_SIZE: 32 } });
    assert.notEqual(b.pipeline, a.pipeline);
    assert.equal(b.layout, a.layout);
    assert.equal(a.layoutKey, "0:r,1:rw,2:u");
    assert.equal(a.label, "pamr.median3x3");
    // Another file with the same bindings (argmax: masks, labels, params) shares the layout object.
    assert.equal(kernelLayout(device, "pamr", "pamr_argmax"), a.layout);
    // The tree's kernels all bind the one layout of the workspace.
    const split = await getKernel(device, {
      stage: "ncut",
      kernel: "split_search",
      entry: "choose",
      overrides: { WORKGROUP_SIZE: 64, THRESHOLDS: 4 },
    });
    assert.equal(split.layout, batchBindGroupLayout(device));
    assert.equal(split.label, "ncut.split_search.choose");
    assert.equal(
      await batchPipeline(device, "ncut", "split_search", "choose", { THRESHOLDS: 4, WORKGROUP_SIZE: 64 }),
      split.pipeline,
    );
    await assert.rejects(
      batchPipeline(device, "pamr", "median3x3", "median3x3", {}),
      /Tree kernel pamr\.median3x3 must declare the bindings of eigensolve\/lanczos_batched\.wgsl .*received 0:r,1:rw,2:u/,
    );
  },
});

Deno.test({
  name: "dispatch names the bindings left without a buffer",
  ignore: !gpu,
  async fn() {
    const { device } = testGpu();
    const kernel = await getKernel(device, {
      stage: "pamr",
      kernel: "median3x3",
      overrides: { WORKGROUP_SIZE: 64 },
    });
    const buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    try {
      assert.throws(
        () => dispatch(device, pass, kernel, [buffer, undefined], [1]),
        /pamr\.median3x3 needs 3 buffers \(labels_in, labels_out, params\), received 1; missing labels_out, params/,
      );
    } finally {
      pass.end();
      encoder.finish();
      buffer.destroy();
    }
  },
});
