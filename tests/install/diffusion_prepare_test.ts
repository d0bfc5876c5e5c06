import assert from "node:assert/strict";
import { join } from "node:path";
import p from "onnx-proto";
import { createDiffusionEncoder } from "../../lib/encoder/diffusion_encoder.ts";
import { addNoise, noiseCoefficients, seededGaussian } from "../../lib/encoder/diffusion_noise.ts";
import {
  CLIP_BOS,
  CLIP_EOS,
  emptyPromptIds,
  prepareDiffusionEncoder,
} from "../../lib/install/diffusion_prepare.ts";
import { sha256File } from "../../lib/encoder/model_cache.ts";
import { externalLocationsOf } from "../../lib/onnx/onnx_files.ts";
import { createOrtSession } from "../../lib/onnx/ort_session.ts";
import { preprocessImage } from "../../lib/encoder/preprocess.ts";
import { parseSidecar, readSidecar } from "../../lib/encoder/sidecar.ts";
import type { ImageRGB } from "../../lib/types.ts";
import {
  type DiffusionExportOptions,
  SD1_EXPORT,
  SDXL_EXPORT,
  unetWithHookOutput,
  vaeModel,
  writeDiffusionExport,
} from "../../lib/bench/synthetic_diffusion_export.ts";

const { onnx } = p;
const MODELS = new URL("../../models/", import.meta.url);

/** The registry sidecar of `id`, sized for the generated models (16 channels, 128² input). */
// deno-lint-ignore no-explicit-any
async function registryFor(id: string, size = 128): Promise<Record<string, any>> {
  const json = JSON.parse(await Deno.readTextFile(new URL(`${id}.json`, MODELS)));
  json.output.channels = 16;
  json.input.size = size;
  json.output.grid = size / 32;
  return json;
}

function testImage(size: number): ImageRGB {
  const data = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const y = Math.floor(i / size), x = i % size;
    data.set([y / size, x / size, ((x * 7 + y * 3) % 13) / 12], i * 3);
  }
  return { data, height: size, width: size };
}

async function withExport(
  options: DiffusionExportOptions,
  fn: (from: string, to: string, hookValue: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const { hookValue } = await writeDiffusionExport(join(dir, "export"), options);
    await fn(join(dir, "export"), join(dir, "install"), hookValue);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("emptyPromptIds: BOS, EOS, then the tokenizer's padding id to 77", () => {
  assert.equal(CLIP_BOS, 49406);
  assert.equal(CLIP_EOS, 49407);
  const clipL = emptyPromptIds(49407);
  assert.equal(clipL.length, 77);
  assert.deepEqual(Array.from(clipL.subarray(0, 3)), [49406, 49407, 49407]);
  assert.ok(clipL.subarray(2).every((v) => v === 49407));
  const bigG = emptyPromptIds(0);
  assert.deepEqual(Array.from(bigG.subarray(0, 3)), [49406, 49407, 0]);
  assert.ok(bigG.subarray(2).every((v) => v === 0));
});

for (const [id, options] of [["ssd-1b", SDXL_EXPORT], ["sd1.4", SD1_EXPORT]] as const) {
  Deno.test(`prepare ${id}: cut UNet equals the full graph's hooked tensor; VAE mean; conditioning; encode`, async () => {
    await withExport(options, async (from, to, hookValue) => {
      const json = await registryFor(id);
      const registry = parseSidecar(json, `${id}.json`);
      const lines: string[] = [];
      const prepared = await prepareDiffusionEncoder(registry, json, from, to, { log: (l) => lines.push(l) });
      assert.equal(prepared.hookValue, hookValue);
      assert.ok(lines.some((l) => l.includes(registry.diffusion!.hook)));
      assert.ok(prepared.unetNodes.after < prepared.unetNodes.before);

      // Files, hashes and the sidecar written last.
      const sidecar = await readSidecar(prepared.sidecarPath);
      const names = prepared.files.map((f) => f.path).sort();
      assert.deepEqual(names, [
        "conditioning.bin",
        "unet_encoder.onnx",
        "unet_encoder.onnx_data",
        "vae_encoder.onnx",
      ]);
      for (const file of sidecar.files!) {
        assert.equal((await sha256File(join(to, file.path))).sha256, file.sha256);
      }
      assert.equal(sidecar.output.name, hookValue);
      assert.deepEqual(
        [...Deno.readDirSync(to)].map((e) => e.name).sort(),
        [...names, "encoder.json"].sort(),
      );

      // The cut UNet: nothing after the hook, weights in its own external data file.
      const cutBytes = await Deno.readFile(join(to, "unet_encoder.onnx"));
      assert.deepEqual(externalLocationsOf(cutBytes), ["unet_encoder.onnx_data"]);
      const cutGraph = onnx.ModelProto.decode(cutBytes).graph as InstanceType<typeof onnx.GraphProto>;
      const nodeNames = cutGraph.node.map((n) => n.name!);
      const blockScope = "/" + registry.diffusion!.hook.split(".attn1")[0].replace(/\.(?=[a-z_])/g, "/");
      assert.ok(nodeNames.some((n) => n.startsWith(`${blockScope}/attn1/to_out.0/`)));
      for (const name of nodeNames) {
        assert.ok(!/attn2|norm2|\/ff\//.test(name) || !name.startsWith(blockScope), name);
        assert.ok(!/up_blocks|mid_block|conv_out|down_blocks\.3/.test(name), name);
        assert.notEqual(name, `${blockScope}/Add`, "the residual add after attn1 is cut");
      }
      assert.deepEqual(cutGraph.output.map((o) => o.name), [hookValue]);
      const fullSize = (await Deno.stat(join(from, "unet", options.unetData))).size;
      assert.ok(
        (await Deno.stat(join(to, "unet_encoder.onnx_data"))).size < fullSize,
        "only kept weights are copied",
      );

      // Run the cut UNet and the full UNet (with the hook exposed) on the same inputs: identical.
      const lat = 128 / 8;
      const sample = seededGaussian(4 * lat * lat, 3);
      const context = options.textWidths.reduce((a, b) => a + b, 0);
      const feeds: Record<string, { data: Float32Array; dims: number[] }> = {
        sample: { data: sample, dims: [1, 4, lat, lat] },
        timestep: { data: new Float32Array([50]), dims: [1] },
        encoder_hidden_states: { data: seededGaussian(77 * context, 4), dims: [1, 77, context] },
      };
      if (options.family === "sdxl") {
        feeds.text_embeds = {
          data: seededGaussian(options.textWidths[1], 5),
          dims: [1, options.textWidths[1]],
        };
        feeds.time_ids = { data: new Float32Array([128, 128, 0, 0, 128, 128]), dims: [1, 6] };
      }
      const full = await createOrtSession(unetWithHookOutput(options).bytes, { label: "full UNet" });
      const cutData = await Deno.readFile(join(to, "unet_encoder.onnx_data"));
      const cut = await createOrtSession(cutBytes, {
        label: "cut UNet",
        externalData: [{ path: "unet_encoder.onnx_data", data: cutData }],
      });
      try {
        const expected = (await full.run(feeds, [hookValue]))[hookValue];
        const actual = (await cut.run(feeds))[hookValue];
        assert.deepEqual(actual.dims, [1, 16, 16]);
        assert.deepEqual(actual.dims, expected.dims);
        assert.deepEqual(actual.data, expected.data);
      } finally {
        await full.dispose();
        await cut.dispose();
      }

      // The cut VAE gives the posterior mean (first 4 of the 8 quant_conv channels) × the scaling factor.
      const vaeFull = vaeModel(options);
      vaeFull.graph!.output!.push({ name: "/Split_output_0" });
      const fullVae = await createOrtSession(onnx.ModelProto.encode(vaeFull).finish());
      const cutVae = await createOrtSession(await Deno.readFile(join(to, "vae_encoder.onnx")));
      try {
        const pixels = preprocessImage(testImage(128), sidecar.input);
        const mean = (await fullVae.run({ sample: pixels }, ["/Split_output_0"]))["/Split_output_0"];
        const latent = (await cutVae.run({ sample: pixels }))[sidecar.diffusion!.vaeOutput!];
        assert.deepEqual(latent.dims, [1, 4, lat, lat]);
        const factor = Math.fround(registry.diffusion!.scalingFactor);
        for (let i = 0; i < latent.data.length; i++) {
          assert.equal(latent.data[i], Math.fround(mean.data[i] * factor));
        }
        assert.ok(!cutVae.outputNames.includes("latent_sample"));
      } finally {
        await fullVae.dispose();
        await cutVae.dispose();
      }

      // Conditioning: the text encoders' outputs on [BOS, EOS, pad…].
      const d = sidecar.diffusion!;
      const cond = new Float32Array((await Deno.readFile(join(to, "conditioning.bin"))).buffer);
      if (options.family === "sdxl") {
        assert.deepEqual(d.conditioningShapes, { encoderHiddenStates: [1, 77, 20], textEmbeds: [1, 12] });
        assert.equal(cond.length, 77 * 20 + 12);
        const te2 = await createOrtSession(await Deno.readFile(join(from, "text_encoder_2", "model.onnx")), {
          externalData: [{
            path: "model.onnx_data",
            data: await Deno.readFile(join(from, "text_encoder_2", "model.onnx_data")),
          }],
        });
        const te1 = await createOrtSession(await Deno.readFile(join(from, "text_encoder", "model.onnx")));
        try {
          const o1 = await te1.run({ input_ids: { data: emptyPromptIds(49407), dims: [1, 77] } }, [
            "hidden_states.2",
          ]);
          const o2 = await te2.run({ input_ids: { data: emptyPromptIds(0), dims: [1, 77] } }, [
            "hidden_states.2",
            "text_embeds",
          ]);
          for (let t = 0; t < 77; t++) {
            assert.deepEqual(
              cond.subarray(t * 20, t * 20 + 8),
              o1["hidden_states.2"].data.subarray(t * 8, t * 8 + 8),
            );
            assert.deepEqual(
              cond.subarray(t * 20 + 8, t * 20 + 20),
              o2["hidden_states.2"].data.subarray(t * 12, t * 12 + 12),
            );
          }
          assert.deepEqual(cond.subarray(77 * 20), o2.text_embeds.data);
          // Padding matters: with CLIP-L's pad id the second encoder gives other values.
          const wrong = await te2.run({ input_ids: { data: emptyPromptIds(49407), dims: [1, 77] } }, [
            "hidden_states.2",
          ]);
          assert.notDeepEqual(
            wrong["hidden_states.2"].data.subarray(2 * 12, 3 * 12),
            cond.subarray(2 * 20 + 8, 2 * 20 + 20),
          );
        } finally {
          await te1.dispose();
          await te2.dispose();
        }
        assert.deepEqual(d.unetInputs, {
          sample: "sample",
          timestep: "timestep",
          encoderHiddenStates: "encoder_hidden_states",
          textEmbeds: "text_embeds",
          timeIds: "time_ids",
        });
      } else {
        assert.deepEqual(d.conditioningShapes, { encoderHiddenStates: [1, 77, 8] });
        const te1 = await createOrtSession(await Deno.readFile(join(from, "text_encoder", "model.onnx")));
        try {
          const o1 = await te1.run({ input_ids: { data: emptyPromptIds(49407), dims: [1, 77] } }, [
            "last_hidden_state",
          ]);
          assert.deepEqual(cond, o1.last_hidden_state.data);
        } finally {
          await te1.dispose();
        }
      }

      // The encoder: VAE mean -> add_noise at t -> cut UNet, equal to doing it by hand.
      for (const timestep of [50, 400]) {
        const encoder = await createDiffusionEncoder(sidecar, prepared.sidecarPath, { timestep });
        const bare = await createOrtSession(cutBytes, {
          externalData: [{ path: "unet_encoder.onnx_data", data: cutData }],
        });
        const vae = await createOrtSession(await Deno.readFile(join(to, "vae_encoder.onnx")));
        try {
          assert.equal(encoder.id, id);
          assert.deepEqual(encoder.settings, {
            timestep,
            inputSize: 128,
            noise: "seeded Gaussian (seed 42)",
            runner: "wasm",
          });
          const image = testImage(200);
          const map = await encoder.encode(image);
          assert.deepEqual([map.height, map.width, map.channels], [4, 4, 16]);
          const latent = (await vae.run({ sample: preprocessImage(image, sidecar.input) }))[d.vaeOutput!];
          const noisy = addNoise(
            latent.data,
            seededGaussian(latent.data.length, 42),
            noiseCoefficients(timestep),
          );
          const byHand: Record<string, { data: Float32Array; dims: number[] }> = {
            sample: { data: noisy, dims: [1, 4, lat, lat] },
            timestep: { data: new Float32Array([timestep]), dims: [1] },
            encoder_hidden_states: { data: cond.subarray(0, 77 * context), dims: [1, 77, context] },
          };
          if (options.family === "sdxl") {
            byHand.text_embeds = { data: cond.subarray(77 * context), dims: [1, 12] };
            byHand.time_ids = { data: new Float32Array([128, 128, 0, 0, 128, 128]), dims: [1, 6] };
          }
          const tokens = (await bare.run(byHand))[hookValue];
          assert.deepEqual(map.data, tokens.data);
          // The same noise for every image of the run: encoding twice gives the same features.
          assert.deepEqual((await encoder.encode(image)).data, map.data);
        } finally {
          await encoder.dispose();
          await bare.dispose();
          await vae.dispose();
        }
      }
    });
  });
}

Deno.test("prepare: the hooked layer is checked by shape and by being the last block", async () => {
  await withExport(SDXL_EXPORT, async (from, to) => {
    const wide = await registryFor("ssd-1b");
    wide.output.channels = 1280;
    await assert.rejects(
      prepareDiffusionEncoder(parseSidecar(wide, "ssd-1b.json"), wide, from, to),
      /unet\/model.onnx's down_blocks.2.attentions.1.transformer_blocks.3.attn1 is 16 channels wide; expected 1280 \(encoder 'ssd-1b'\)/,
    );
    // Vega's hook (block 1) is not the last block of this 4-block export.
    const vega = await registryFor("ssd-vega");
    await assert.rejects(
      prepareDiffusionEncoder(parseSidecar(vega, "ssd-vega.json"), vega, from, to),
      /has transformer blocks 0..3; expected the hooked block 1 to be the last \(is the export folder really segmind\/Segmind-Vega\?\)/,
    );
    // Nothing was left behind by the failed attempts.
    const left = await Array.fromAsync(Deno.readDir(to)).catch(() => []);
    assert.deepEqual(left.filter((e) => !e.name.startsWith(".")), []);
    assert.deepEqual(left, []);
  });
});

Deno.test("prepare: missing files are listed with the command that makes them", async () => {
  await withExport(SDXL_EXPORT, async (from, to) => {
    const json = await registryFor("ssd-1b");
    const registry = parseSidecar(json, "ssd-1b.json");
    await Deno.remove(join(from, "text_encoder_2"), { recursive: true });
    await Deno.remove(join(from, "vae_encoder", "model.onnx"));
    await assert.rejects(prepareDiffusionEncoder(registry, json, from, to), (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(
        error.message,
        /lacks vae_encoder\/model.onnx, text_encoder_2\/model.onnx; expected the ONNX Stable-Diffusion layout \(made by: optimum-cli export onnx --model segmind\/SSD-1B --task text-to-image /,
      );
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  });
  await withExport(SDXL_EXPORT, async (from, to) => {
    const json = await registryFor("ssd-1b");
    await Deno.remove(join(from, "unet", "model.onnx_data"));
    await assert.rejects(
      prepareDiffusionEncoder(parseSidecar(json, "ssd-1b.json"), json, from, to),
      /External data of '.*unet\/model.onnx' not found: '.*unet\/model.onnx_data'; expected beside the model/,
    );
  });
  await withExport(SD1_EXPORT, async (from, to) => {
    const json = await registryFor("sd1.4");
    const data = join(from, "unet", "weights.pb");
    await Deno.truncate(data, 1000);
    await assert.rejects(
      prepareDiffusionEncoder(parseSidecar(json, "sd1.4.json"), json, from, to),
      /External data '.*weights.pb' of '.*model.onnx' has 1000 bytes, expected at least \d+ \(tensor '.*'\); the file is truncated/,
    );
  });
});
