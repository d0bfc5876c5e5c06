/**
 * Device loss on the segmenter's end-to-end device path (ONNX Runtime's `"webgpu"` runner on the shared device,
 * `backend: "webgpu"`): the image completes on the host encoder and the CPU path with one notice, later images
 * too, and later GPU work gets a fresh device. Errors that are not a loss still propagate.
 *
 * The tests run in order and share the process-wide notice (printed once per process), so the NaN test comes
 * first and checks that no notice was printed, and the first loss test checks that exactly one was.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createOnnxEncoder } from "../../lib/encoder/onnx_encoder.ts";
import { parseSidecar } from "../../lib/encoder/sidecar.ts";
import { getGpu, GpuDeviceLostError } from "../../lib/gpu/device.ts";
import { refinePamrGpu } from "../../lib/pamr/pamr_gpu.ts";
import { compactLabels, createSegmenter, type SegmentationResult } from "../../lib/segmenter.ts";
import type { Encoder, ImageRGB } from "../../lib/types.ts";
import { twoHalvesImage } from "../_helpers.ts";
import { gpu } from "../_gpu.ts";
import { vitModel } from "./_vit_models.ts";

/** A ViT-like sidecar (12 channels, CLS token, 16×16 grid at 224) whose τ splits {@linkcode image}. */
function sidecarJson(): Record<string, unknown> {
  const json = JSON.parse(Deno.readTextFileSync(new URL("../../models/dinov2-large.json", import.meta.url)));
  json.id = "vit-loss";
  json.source = { kind: "file" };
  json.model = "vit.onnx";
  json.output.channels = 12;
  json.defaults = { tau: 0.4, alpha: 3 };
  return json;
}
const MODEL = vitModel(14, 1, 12);

/** ONNX Runtime on a dead device could hang instead of failing: every step gets a deadline. */
async function deadline<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms (hung?)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `body` with console.warn captured; returns the notice lines printed meanwhile. */
async function notices(body: () => Promise<void>): Promise<string[]> {
  const warn = console.warn;
  const lines: string[] = [];
  console.warn = (...a: unknown[]) => lines.push(a.map(String).join(" "));
  try {
    await body();
  } finally {
    console.warn = warn;
  }
  return lines.filter((l) => l.includes("WebGPU unavailable"));
}

/** Whether the process-wide notice was printed (by an earlier test: they run in order, or alone with --filter). */
let noticePrinted = false;

/** The first loss in the process prints the notice, once; later ones print nothing. */
function assertNoticeOnce(printed: string[]): void {
  assert.equal(printed.length, noticePrinted ? 0 : 1, `notices: ${printed}`);
  if (printed.length === 1) {
    assert.match(
      printed[0],
      /^DiffCut: WebGPU unavailable, encoder and later stages run on the CPU path \(.*lost.*\)$/,
    );
  }
  noticePrinted = true;
}

function assertSameGrid(actual: SegmentationResult, expected: SegmentationResult, what: string): void {
  assert.deepEqual(
    compactLabels(actual.gridLabels).compact,
    compactLabels(expected.gridLabels).compact,
    what,
  );
  assert.equal(actual.segments, expected.segments, what);
  assert.deepEqual(Array.from(actual.labels), Array.from(expected.labels), what);
}

/** The wasm runner + CPU path's results for the images. */
async function reference(images: ImageRGB[]): Promise<SegmentationResult[]> {
  const sidecar = parseSidecar(sidecarJson(), "vit-loss.json");
  const seg = await createSegmenter({
    encoder: await createOnnxEncoder(sidecar, MODEL, { runner: "wasm", inputSize: 224 }),
    backend: "cpu",
    refine: false,
  });
  try {
    const out = [];
    for (const img of images) out.push(await seg.segment(img));
    assert.ok(out[0].segments >= 2, `expected a split, got ${out[0].segments} segment(s)`);
    return out;
  } finally {
    await seg.dispose();
  }
}

/** A fresh device works: a GPU kernel runs on it. */
async function assertFreshDevice(dead: GPUDevice): Promise<void> {
  const ctx = await getGpu();
  assert.notEqual(ctx.device, dead, "getGpu() still returns the destroyed device");
  assert.equal(ctx.lost, false);
  const img = { data: new Float32Array(4 * 4 * 3).map((_, i) => (i % 5) / 5), height: 4, width: 4 };
  const labels = await deadline(refinePamrGpu(ctx, img, new Int32Array(16).map((_, i) => i % 2)), "PAMR");
  assert.equal(labels.length, 16);
}

Deno.test({
  name: "device path: NaN features are not a device loss; the error propagates and no fallback starts",
  ignore: !gpu,
  async fn() {
    const sidecar = parseSidecar(sidecarJson(), "vit-loss.json");
    const encoder = await createOnnxEncoder(sidecar, MODEL, { runner: "webgpu", inputSize: 224 });
    const seg = await createSegmenter({ encoder, backend: "webgpu", refine: false });
    try {
      const bad = twoHalvesImage(224);
      bad.data[0] = NaN;
      const printed = await notices(async () => {
        await assert.rejects(
          deadline(seg.segment(bad), "segment"),
          /^RangeError: Model output 'last_hidden_state' of encoder 'vit-loss' has a NaN or infinite value at patch \(0, 0\)/,
        );
        assert.equal((await deadline(seg.segment(twoHalvesImage(224)), "segment")).featuresOnDevice, true);
      });
      assert.deepEqual(printed, []);
    } finally {
      await seg.dispose();
    }
  },
});

Deno.test({
  name:
    "device destroyed between images (encoder by path): the image completes on wasm + CPU with one notice, later ones too",
  ignore: !gpu,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "diffcut-loss-" });
    const [a0, a1] = await reference([twoHalvesImage(224), twoHalvesImage(224, 40)]);
    let seg;
    try {
      const sidecarPath = join(dir, "vit-loss.json");
      await Deno.writeTextFile(sidecarPath, JSON.stringify(sidecarJson()));
      await Deno.writeFile(join(dir, "vit.onnx"), MODEL);
      seg = await createSegmenter({
        encoder: sidecarPath,
        encoderOptions: { runner: "webgpu", inputSize: 224 },
        backend: "webgpu",
        refine: false,
      });
      assert.equal(seg.encoder.device, (await getGpu()).device);
      const s = seg;
      const printed = await notices(async () => {
        const before = await deadline(s.segment(twoHalvesImage(224)), "segment on the device");
        assert.equal(before.featuresOnDevice, true);
        assertSameGrid(before, a0, "before the loss");
        const dead = (await getGpu()).device;
        dead.destroy();
        await dead.lost;
        const b0 = await deadline(s.segment(twoHalvesImage(224)), "segment after the loss");
        assert.equal(b0.featuresOnDevice, false);
        assert.equal(b0.settings.backend, "cpu");
        assert.match(b0.notes[0], /WebGPU device was lost/);
        assertSameGrid(b0, a0, "after the loss");
        const b1 = await deadline(s.segment(twoHalvesImage(224, 40)), "next image");
        assert.equal(b1.featuresOnDevice, false);
        assertSameGrid(b1, a1, "next image");
        await assertFreshDevice(dead);
      });
      if (!noticePrinted) {
        assert.equal(printed.length, 1, `notices: ${printed}`);
        assert.match(
          printed[0],
          /^DiffCut: WebGPU unavailable, encoder and later stages run on the CPU path \(GPU device of encoder 'vit-loss' was lost\)$/,
        );
      }
      assertNoticeOnce(printed);
    } finally {
      if (seg) await deadline(seg.dispose(), "dispose");
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "device lost under an Encoder object without fallbackEncoder: GpuDeviceLostError naming the option",
  ignore: !gpu,
  async fn() {
    const sidecar = parseSidecar(sidecarJson(), "vit-loss.json");
    const ctx = await getGpu();
    const encoder = await createOnnxEncoder(sidecar, MODEL, { runner: "webgpu", inputSize: 224 });
    const seg = await createSegmenter({ encoder, backend: "webgpu", refine: false });
    try {
      ctx.device.destroy();
      await ctx.device.lost; // known lost: the segmenter does not call into ONNX Runtime (see the next test)
      await assert.rejects(
        deadline(seg.segment(twoHalvesImage(224)), "segment"),
        (e: Error) =>
          e instanceof GpuDeviceLostError &&
          /ran on it; pass fallbackEncoder to createSegmenter to complete on the CPU path$/.test(e.message),
      );
      await assertFreshDevice(ctx.device);
    } finally {
      await deadline(seg.dispose(), "dispose");
    }
  },
});

Deno.test({
  name:
    "device destroyed during segment (ONNX Runtime or our kernels fail on it): completes with fallbackEncoder",
  ignore: !gpu,
  async fn() {
    const sidecar = parseSidecar(sidecarJson(), "vit-loss.json");
    const [a0] = await reference([twoHalvesImage(224)]);
    // Where the loss strikes: after ONNX Runtime returned (our layout/affinity kernels meet the dead device), or
    // before it runs, with device.lost not resolved yet, so that ONNX Runtime itself fails on the dead device
    // ("Buffer with '' label is invalid"; it did not hang here). That one goes last: once onnxruntime-web 1.30.0
    // has failed on a dead device, it cannot create another "webgpu" session in the process (creation fails with
    // "Unknown provider name 'WebGPU'", then "another WebGPU EP inference session is being created"), while our
    // kernels run on the fresh device and the wasm runner works.
    for (const when of ["after ORT", "before ORT"] as const) {
      const ctx = await getGpu();
      assert.equal(ctx.lost, false);
      const onDevice = await createOnnxEncoder(sidecar, MODEL, { runner: "webgpu", inputSize: 224 });
      const host = await createOnnxEncoder(sidecar, MODEL, { runner: "wasm", inputSize: 224 });
      const encoder: Encoder = when === "after ORT"
        ? {
          ...onDevice,
          async encodeOnDevice(img) {
            const source = await onDevice.encodeOnDevice!(img);
            ctx.device.destroy();
            return source;
          },
        }
        : onDevice;
      let loads = 0;
      const seg = await createSegmenter({
        encoder,
        backend: "webgpu",
        refine: false,
        fallbackEncoder: () => (loads++, Promise.resolve(host)),
      });
      try {
        const printed = await notices(async () => {
          const pending = seg.segment(twoHalvesImage(224));
          if (when === "before ORT") ctx.device.destroy();
          const b = await deadline(pending, `segment (${when})`);
          assert.equal(b.featuresOnDevice, false, when);
          assertSameGrid(b, a0, when);
          assertSameGrid(await deadline(seg.segment(twoHalvesImage(224)), "next image"), a0, when);
          assert.equal(loads, 1, "the fallback encoder is loaded once");
          await assertFreshDevice(ctx.device);
        });
        assertNoticeOnce(printed);
      } finally {
        await deadline(seg.dispose(), "dispose");
      }
      assert.equal(
        (await host.encode(twoHalvesImage(224)).catch((e) => e)).message,
        "Session of encoder 'vit-loss' was disposed; create a new one to run it",
      );
    }
  },
});
