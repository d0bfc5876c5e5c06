import assert from "node:assert/strict";
import { createOnnxEncoder, resizeSidecar } from "../../lib/encoder/onnx_encoder.ts";
import { preprocessImage } from "../../lib/encoder/preprocess.ts";
import { type EncoderSidecar, parseSidecar } from "../../lib/encoder/sidecar.ts";
import type { ImageRGB } from "../../lib/types.ts";
import { vitModel } from "./_vit_models.ts";

const MODELS = new URL("../../models/", import.meta.url);

/** A registry ViT sidecar with the tiny model's width and a small input. */
async function sidecarFor(id: string, size: number, channels = 6): Promise<EncoderSidecar> {
  const json = JSON.parse(await Deno.readTextFile(new URL(`${id}.json`, MODELS)));
  json.output.channels = channels;
  json.input.size = size;
  json.output.grid = Math.floor(size / json.output.patchSize);
  return parseSidecar(json, `${id}.json`);
}

function image(size: number): ImageRGB {
  const data = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) data.set([(i % 7) / 6, (i % 11) / 10, (i % 5) / 4], i * 3);
  return { data, height: size, width: size };
}

/** Expected tokens: channel c of patch (gy, gx) = (c + 1) · mean of normalised channel c % 3 over the patch. */
function expected(pixels: Float32Array, size: number, patch: number, channels: number): number[] {
  const grid = Math.floor(size / patch);
  const out: number[] = [];
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let y = gy * patch; y < (gy + 1) * patch; y++) {
          for (let x = gx * patch; x < (gx + 1) * patch; x++) {
            sum += pixels[(c % 3) * size * size + y * size + x];
          }
        }
        out.push(((c + 1) * sum) / (patch * patch));
      }
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, wanted: ArrayLike<number>, atol = 1e-4): void {
  assert.equal(actual.length, wanted.length);
  for (let i = 0; i < wanted.length; i++) {
    assert.ok(Math.abs(actual[i] - wanted[i]) <= atol, `index ${i}: ${actual[i]} vs ${wanted[i]}`);
  }
}

for (
  const [id, patch, prefix] of [["dinov2-large", 14, 1], ["dino-vitb16", 16, 1], [
    "siglip-large-patch16-256",
    16,
    0,
  ]] as const
) {
  Deno.test(`ViT ${id}: ${prefix} prefix token(s) dropped, patch tokens reshaped row-major to the grid`, async () => {
    const size = 3 * patch;
    const sidecar = await sidecarFor(id, size);
    assert.equal(sidecar.output.prefixTokens, prefix);
    const encoder = await createOnnxEncoder(sidecar, vitModel(patch, prefix, 6));
    try {
      const img = image(size);
      const map = await encoder.encode(img);
      assert.deepEqual([map.height, map.width, map.channels], [3, 3, 6]);
      assert.ok(map.data.every((v) => v < 1000), "no CLS/register token values");
      assertClose(map.data, expected(preprocessImage(img, sidecar.input).data, size, patch, 6));
    } finally {
      await encoder.dispose();
    }
  });
}

Deno.test("ViT: input size is a parameter for resizable exports (grid = floor(size / patch)), refused otherwise", async () => {
  const sidecar = await sidecarFor("dinov2-large", 28);
  const model = vitModel(14, 1, 6);
  for (const [size, grid] of [[42, 3], [45, 3], [70, 5]]) {
    const encoder = await createOnnxEncoder(sidecar, model, { inputSize: size });
    try {
      assert.equal(encoder.defaults.inputSize, size);
      const map = await encoder.encode(image(60));
      assert.deepEqual([map.height, map.width], [grid, grid]);
      const resized = resizeSidecar(sidecar, size);
      const pixels = preprocessImage(image(60), resized.input).data;
      assertClose(map.data, expected(pixels, size, 14, 6));
    } finally {
      await encoder.dispose();
    }
  }
  // The paper's 1024² on DINOv2-L/14: a 73×73 grid (PyTorch's strided patch conv floors).
  assert.equal(resizeSidecar(sidecar, 1024).output.grid, 73);
  const clip = await sidecarFor("clip-vit-large-patch14", 224);
  assert.throws(
    () => resizeSidecar(clip, 1024),
    /^RangeError: Encoder 'clip-vit-large-patch14' takes only 224² inputs \(its sidecar is not resizable\), got 1024$/,
  );
  assert.throws(() => resizeSidecar(sidecar, 10), /must be an integer of at least 14, got 10/);
});

Deno.test("ViT registry sidecars: per-model normalisation, prefix tokens and grids", async () => {
  const dinov2 = await sidecarFor("dinov2-large", 1024, 1024);
  assert.deepEqual(dinov2.input.normalisation, {
    scale: 1,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  });
  const clip = await sidecarFor("clip-vit-large-patch14", 224, 1024);
  assert.deepEqual(clip.input.normalisation.mean, [0.48145466, 0.4578275, 0.40821073]);
  assert.equal(clip.output.grid, 16);
  const siglip = await sidecarFor("siglip-large-patch16-256", 256, 1024);
  assert.deepEqual([siglip.output.prefixTokens, siglip.output.grid], [0, 16]);
  assert.deepEqual(siglip.input.normalisation.std, [0.5, 0.5, 0.5]);
});
