/**
 * The built-in ISNet encoder, end to end: assembly from the npm package, pruning at `input.740`, the verified
 * cache, and features of real and synthetic images. Slow (two ~7 s encodes on the wasm backend).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import jpeg from "jpeg-js";
import p from "onnx-proto";
import { join } from "node:path";
import { loadIsnetModel, loadNpmModel } from "../../lib/encoder/isnet_model.ts";
import { loadEncoder } from "../../lib/encoder/load_encoder.ts";
import { readVerified, sha256Hex, writeVerified } from "../../lib/encoder/model_cache.ts";
import type { NpmModelSource } from "../../lib/encoder/sidecar.ts";
import type { FeatureMap, ImageRGB } from "../../lib/types.ts";
import { ints, modelBytes, valueInfo } from "../_onnx_models.ts";

const { onnx } = p;
const VOC_IMAGE =
  "/usr/share/doc/labelme-examples/examples/semantic_segmentation/data_dataset_voc/JPEGImages/2011_000003.jpg";

function checkFeatures(map: FeatureMap): { mean: number; variance: number } {
  assert.deepEqual([map.height, map.width, map.channels], [32, 32, 512]);
  assert.equal(map.data.length, 32 * 32 * 512);
  let sum = 0;
  for (const v of map.data) {
    assert.ok(Number.isFinite(v));
    sum += v;
  }
  const mean = sum / map.data.length;
  let variance = 0;
  for (const v of map.data) variance += (v - mean) ** 2;
  return { mean, variance: variance / map.data.length };
}

/** Mean cosine similarity between the patches of two sets (pairs of distinct patches). */
function meanCosine(map: FeatureMap, a: number[], b: number[]): number {
  const c = map.channels;
  const unit = (i: number) => {
    const v = map.data.subarray(i * c, (i + 1) * c);
    const norm = Math.hypot(...v) || 1;
    return Array.from(v, (x) => x / norm);
  };
  const units = new Map([...a, ...b].map((i) => [i, unit(i)]));
  let sum = 0;
  let n = 0;
  for (const i of a) {
    for (const j of b) {
      if (i === j) continue;
      sum += units.get(i)!.reduce((s, x, k) => s + x * units.get(j)![k], 0);
      n++;
    }
  }
  return sum / n;
}

Deno.test("ISNet: builds, caches with a verified sha256, rebuilds a corrupt cache and encodes images", async (t) => {
  const cacheDir = await Deno.makeTempDir({ prefix: "diffcut-isnet-" });
  try {
    let path = "";
    let sha = "";
    await t.step("assembles and prunes the package model at input.740", async () => {
      const { model, sidecar } = await loadIsnetModel({ cacheDir });
      assert.equal(sidecar.id, "isnet");
      assert.equal(model.fromCache, false);
      assert.ok(model.path.startsWith(cacheDir) && model.path.endsWith(".onnx"), model.path);
      assert.ok(model.pruned!.nodes.after < model.pruned!.nodes.before, JSON.stringify(model.pruned));
      assert.ok(model.pruned!.initializers.after < model.pruned!.initializers.before);
      for (const key of ["assembleMs", "pruneMs", "writeMs"] as const) {
        assert.ok(model.timings[key]! >= 0, key);
      }
      const graph = onnx.ModelProto.decode(model.bytes).graph!;
      assert.deepEqual(graph.input!.map((i) => i.name), ["input"]);
      assert.deepEqual(graph.output!.map((o) => o.name), ["input.740"]);
      assert.ok(!graph.node!.some((n) => n.input!.includes("input.740")), "nothing runs after input.740");
      path = model.path;
      sha = model.sha256;
      const onDisk = await Deno.readFile(path);
      assert.equal(createHash("sha256").update(onDisk).digest("hex"), sha);
      assert.equal(await Deno.readTextFile(`${path}.sha256`), `${sha}  ${path.split("/").at(-1)}\n`);
    });

    await t.step("a second load comes from the cache after verifying the sha256", async () => {
      const { model } = await loadIsnetModel({ cacheDir });
      assert.equal(model.fromCache, true);
      assert.equal(model.path, path);
      assert.equal(model.sha256, sha);
      assert.ok(model.timings.readMs! >= 0);
    });

    await t.step("a corrupted cache file is rebuilt, identically", async () => {
      const file = await Deno.open(path, { write: true });
      await file.seek(1000, Deno.SeekMode.Start);
      await file.write(new Uint8Array([0xde, 0xad]));
      file.close();
      const { model } = await loadIsnetModel({ cacheDir });
      assert.equal(model.fromCache, false);
      assert.equal(model.sha256, sha, "the build is deterministic");
      assert.equal((await loadIsnetModel({ cacheDir })).model.fromCache, true);
    });

    const encoder = await loadEncoder("isnet", { cacheDir });
    try {
      assert.equal(encoder.id, "isnet");
      assert.equal(encoder.defaults.inputSize, 1024);

      await t.step(
        "a synthetic disc: patches inside agree more with each other than with the background",
        async () => {
          const size = 1024;
          const data = new Float32Array(size * size * 3);
          for (let y = 0; y < size; y++) {
            for (let x = 0; x < size; x++) {
              const inside = (y - 512) ** 2 + (x - 512) ** 2 < 300 ** 2;
              data.set(
                inside ? [0.9, 0.2, 0.1] : [0.2 + (0.3 * y) / size, 0.5, 0.4 + (0.3 * x) / size],
                (y * size + x) * 3,
              );
            }
          }
          const map = await encoder.encode({ data, height: size, width: size });
          const { variance } = checkFeatures(map);
          assert.ok(variance > 1e-3, `variance ${variance}`);
          const inside: number[] = [];
          const outside: number[] = [];
          for (let gy = 0; gy < 32; gy++) {
            for (let gx = 0; gx < 32; gx++) {
              const d = Math.hypot(gy * 32 + 16 - 512, gx * 32 + 16 - 512);
              if (d < 250) inside.push(gy * 32 + gx);
              else if (d > 350) outside.push(gy * 32 + gx);
            }
          }
          const within = meanCosine(map, inside, inside);
          const across = meanCosine(map, inside, outside);
          assert.ok(within > across + 0.2, `inside ${within}, inside-outside ${across}`);
        },
      );

      await t.step({
        name: "a VOC photo (labelme-examples) gives finite features with non-trivial variance",
        ignore: !existsSync(VOC_IMAGE),
        fn: async () => {
          const decoded = jpeg.decode(await Deno.readFile(VOC_IMAGE), { useTArray: true });
          const image: ImageRGB = {
            data: new Float32Array(decoded.width * decoded.height * 3),
            height: decoded.height,
            width: decoded.width,
          };
          for (let i = 0; i < decoded.width * decoded.height; i++) {
            for (let c = 0; c < 3; c++) image.data[i * 3 + c] = decoded.data[i * 4 + c] / 255;
          }
          const map = await encoder.encode(image);
          const { mean, variance } = checkFeatures(map);
          assert.ok(variance > 1e-3 && variance > 0.1 * mean * mean, `mean ${mean}, variance ${variance}`);
          // Patches differ: at least a tenth of the channels vary across the grid.
          let varying = 0;
          for (let ch = 0; ch < 512; ch++) {
            let lo = Infinity;
            let hi = -Infinity;
            for (let i = 0; i < 1024; i++) {
              lo = Math.min(lo, map.data[i * 512 + ch]);
              hi = Math.max(hi, map.data[i * 512 + ch]);
            }
            if (hi - lo > 0.1) varying++;
          }
          assert.ok(varying > 51, `${varying} varying channels`);
        },
      });
    } finally {
      await encoder.dispose();
    }
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

/**
 * A valid stand-in for the pruned ISNet model (same input and output names and shapes): a 1×1 convolution of
 * stride 32, `[1,3,1024,1024] -> [1,512,32,32]`, every output channel the sum of the three input channels.
 */
function impostorModel(): Uint8Array {
  return modelBytes({
    node: [{
      opType: "Conv",
      input: ["input", "w"],
      output: ["input.740"],
      attribute: [ints("kernel_shape", [1, 1]), ints("strides", [32, 32])],
    }],
    initializer: [{ name: "w", dims: [512, 3, 1, 1], dataType: 1, floatData: new Array(512 * 3).fill(1) }],
    input: [valueInfo("input", [1, 3, 1024, 1024])],
    output: [valueInfo("input.740", [1, 512, 32, 32])],
  });
}

/** Runs `fn` with console.warn captured; returns the warnings. */
async function capturingWarnings(fn: () => Promise<unknown>): Promise<string[]> {
  const warnings: string[] = [];
  const { warn } = console;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    await fn();
  } finally {
    console.warn = warn;
  }
  return warnings;
}

Deno.test("ISNet pin: models/isnet.json pins the built model; a rewritten cache is rebuilt, a differing build fails", async (t) => {
  const cacheDir = await Deno.makeTempDir({ prefix: "diffcut-isnet-pin-" });
  try {
    // The pin as written in models/isnet.json (read raw, so that each step below checks one thing).
    const pin: string =
      JSON.parse(await Deno.readTextFile(new URL("../../models/isnet.json", import.meta.url)))
        .source.sha256;
    const { model: first, sidecar } = await loadIsnetModel({ cacheDir, rebuild: true });
    const source = sidecar.source as NpmModelSource;
    const path = first.path;

    await t.step(
      "the pin is the SHA-256 of the model built now (without a pin to check against)",
      async () => {
        assert.match(pin ?? "", /^[0-9a-f]{64}$/);
        assert.equal(source.sha256, pin, "the sidecar parser keeps the pin");
        const unpinned: NpmModelSource = { ...source, sha256: undefined };
        const built = await loadNpmModel(unpinned, sidecar.output.name, {
          cacheDir: join(cacheDir, "unpinned"),
          cacheName: sidecar.id,
        });
        assert.equal(built.fromCache, false);
        assert.equal(createHash("sha256").update(built.bytes).digest("hex"), pin);
        const { model } = await loadIsnetModel({ cacheDir });
        assert.equal(model.fromCache, true);
        assert.equal(model.sha256, pin);
      },
    );

    await t.step(
      "a cache file rewritten together with its .sha256 is not used: rebuilt, with a warning",
      async () => {
        const impostor = impostorModel();
        const impostorSha = sha256Hex(impostor);
        assert.notEqual(impostorSha, pin);
        await writeVerified(path, impostor);
        assert.equal((await readVerified(path))?.sha256, impostorSha, "the cache check alone accepts it");
        let model: Awaited<ReturnType<typeof loadIsnetModel>>["model"] | undefined;
        const warnings = await capturingWarnings(
          async () => (model = (await loadIsnetModel({ cacheDir })).model),
        );
        assert.equal(model!.fromCache, false);
        assert.equal(model!.sha256, pin);
        assert.equal(sha256Hex(model!.bytes), pin);
        assert.deepEqual(warnings, [
          `Cached model ${path} has SHA-256 ${impostorSha}, expected the pinned ${pin}; rebuilding it`,
        ]);
        assert.equal((await readVerified(path))?.sha256, pin, "the cache holds the pinned model again");
        // Nothing was written beside the cache file and its hash.
        const names = [...Deno.readDirSync(cacheDir)].filter((e) => e.isFile).map((e) => e.name).sort();
        assert.deepEqual(names, [path.split("/").at(-1)!, `${path.split("/").at(-1)!}.sha256`]);
      },
    );

    await t.step("loadEncoder('isnet') checks the pin too", async () => {
      const impostor = impostorModel();
      await writeVerified(path, impostor);
      const warnings = await capturingWarnings(async () => {
        const encoder = await loadEncoder("isnet", { cacheDir });
        await encoder.dispose();
      });
      assert.deepEqual(warnings, [
        `Cached model ${path} has SHA-256 ${sha256Hex(impostor)}, expected the pinned ${pin}; rebuilding it`,
      ]);
      assert.equal((await readVerified(path))?.sha256, pin);
    });

    await t.step(
      "a fresh build that differs from the pin is an error naming both hashes; nothing is cached",
      async () => {
        const wrong = sha256Hex(impostorModel());
        const elsewhere = join(cacheDir, "wrong-pin");
        await assert.rejects(
          loadNpmModel({ ...source, sha256: wrong }, sidecar.output.name, {
            cacheDir: elsewhere,
            cacheName: "isnet",
          }),
          (error: Error) => {
            assert.ok(error instanceof RangeError, String(error));
            assert.equal(
              error.message,
              `Model built from resource '/models/medium' of @imgly/background-removal-data@1.4.5 cut at 'input.740' has SHA-256 ${pin}, expected the pinned ${wrong} (the package or the pruning changed)`,
            );
            return true;
          },
        );
        assert.equal(
          await Deno.stat(elsewhere).then(() => true, () => false),
          false,
          "no cache folder was made",
        );
      },
    );
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
