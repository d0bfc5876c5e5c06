import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { loadEncoder } from "../../lib/encoder/load_encoder.ts";
import { cellConvModel } from "../_onnx_models.ts";

const MODEL = cellConvModel([[1 / 16, 0, 0], [0, 0, 1 / 16]], [0, 1]);

function sidecarJson(extra: Record<string, unknown>): string {
  return JSON.stringify({
    id: "tiny",
    name: "Tiny",
    description: "test",
    licence: "MIT",
    source: { kind: "file" },
    model: "weights/tiny.onnx",
    standIn: false,
    input: {
      name: "image",
      size: 16,
      layout: "NCHW",
      channelOrder: "RGB",
      normalisation: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
    },
    output: { name: "features", layout: "NCHW", channels: 2, grid: 4 },
    defaults: { tau: 0.4, alpha: 3 },
    ...extra,
  });
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "weights"));
    await Deno.writeFile(join(dir, "weights", "tiny.onnx"), MODEL);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadEncoder: a sidecar path loads the model named in it, relative to the sidecar", async () => {
  await withDir(async (dir) => {
    const sha256 = createHash("sha256").update(MODEL).digest("hex");
    await Deno.writeTextFile(join(dir, "tiny.json"), sidecarJson({ sha256 }));
    const encoder = await loadEncoder(join(dir, "tiny.json"));
    try {
      assert.equal(encoder.id, "tiny");
      assert.deepEqual(encoder.defaults, { tau: 0.4, alpha: 3, inputSize: 16 });
      const data = new Float32Array(16 * 16 * 3);
      for (let i = 0; i < 256; i++) data.set([0.25, 0, 0.5], i * 3);
      const map = await encoder.encode({ data, height: 16, width: 16 });
      assert.deepEqual([map.height, map.width, map.channels], [4, 4, 2]);
      for (let p = 0; p < 16; p++) {
        assert.deepEqual(Array.from(map.data.subarray(p * 2, p * 2 + 2)), [0.25, 1.5]);
      }
    } finally {
      await encoder.dispose();
    }
  });
});

Deno.test("loadEncoder: a missing model file names the file, the encoder and what was expected", async () => {
  await withDir(async (dir) => {
    const url = "https://example.org/tiny.onnx";
    await Deno.writeTextFile(
      join(dir, "dl.json"),
      sidecarJson({ model: "missing.onnx", source: { kind: "url", url } }),
    );
    await assert.rejects(loadEncoder(join(dir, "dl.json")), (error: Error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.equal(
        error.message,
        `Model file '${
          join(dir, "missing.onnx")
        }' for encoder 'tiny' not found; expected the file downloaded from ${url}`,
      );
      return true;
    });
    await Deno.writeTextFile(
      join(dir, "exp.json"),
      sidecarJson({
        model: "ssd1b.onnx",
        source: { kind: "file", exportedBy: "models/export_diffusion_encoder.py" },
      }),
    );
    await assert.rejects(
      loadEncoder(join(dir, "exp.json")),
      /Model file '.*ssd1b\.onnx' for encoder 'tiny' not found; expected the file made by models\/export_diffusion_encoder\.py$/,
    );
  });
});

Deno.test("loadEncoder: a model whose SHA-256 differs from the sidecar's is rejected", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "tiny.json"), sidecarJson({ sha256: "0".repeat(64) }));
    await assert.rejects(
      loadEncoder(join(dir, "tiny.json")),
      /^RangeError: Model file '.*tiny\.onnx' for encoder 'tiny' has SHA-256 [0-9a-f]{64}, expected 0{64}/,
    );
  });
});

Deno.test("loadEncoder: built-in ids, unknown ids and npm sources that do not match the installed package", async () => {
  const rgb = await loadEncoder("rgb-grid");
  assert.equal(rgb.id, "rgb-grid");
  await assert.rejects(
    loadEncoder("dinov3"),
    /^RangeError: Encoder 'dinov3' is neither a built-in id nor a sidecar file; expected "isnet", (".*", )?"rgb-grid", a registry id \(models\/\*\.json\) or the path of an encoder sidecar JSON file$/,
  );
  await withDir(async (dir) => {
    const npm = (pkg: string, version: string) => ({
      model: undefined,
      source: { kind: "npm", package: pkg, version, resource: "/models/medium" },
    });
    await Deno.writeTextFile(
      join(dir, "v.json"),
      sidecarJson(npm("@imgly/background-removal-data", "9.9.9")),
    );
    await assert.rejects(
      loadEncoder(join(dir, "v.json"), { cacheDir: dir }),
      /^RangeError: npm package '@imgly\/background-removal-data' is version 1\.4\.5, expected 9\.9\.9 as the sidecar says$/,
    );
    await Deno.writeTextFile(join(dir, "p.json"), sidecarJson(npm("not-a-dependency-xyz", "1.0.0")));
    await assert.rejects(
      loadEncoder(join(dir, "p.json"), { cacheDir: dir }),
      /npm package 'not-a-dependency-xyz' (cannot be resolved|is not installed)/,
    );
    const wrongKey = {
      model: undefined,
      source: {
        kind: "npm",
        package: "@imgly/background-removal-data",
        version: "1.4.5",
        resource: "/models/huge",
      },
    };
    await Deno.writeTextFile(join(dir, "k.json"), sidecarJson(wrongKey));
    await assert.rejects(
      loadEncoder(join(dir, "k.json"), { cacheDir: dir }),
      /^RangeError: Resource '\/models\/huge' of @imgly\/background-removal-data@1\.4\.5 does not exist; expected one of \/models\/small, \/models\/medium$/,
    );
  });
});

Deno.test("loadNpmModel: an unwritable cache folder costs a warning, not the model", async () => {
  const { loadNpmModel } = await import("../../lib/encoder/isnet_model.ts");
  const dir = await Deno.makeTempDir();
  const blocker = join(dir, "file-not-folder");
  await Deno.writeTextFile(blocker, "x");
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  try {
    const source = {
      kind: "npm",
      package: "@imgly/background-removal-data",
      version: "1.4.5",
      resource: "/models/small",
    } as const;
    // The small (uint8) model keeps this quick; it is cut at its final mask output.
    const model = await loadNpmModel(source, "output", {
      cacheDir: join(blocker, "models"),
      cacheName: "small",
    });
    assert.equal(model.fromCache, false);
    assert.ok(model.bytes.length > 1e6);
    assert.equal(model.sha256, createHash("sha256").update(model.bytes).digest("hex"));
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /^Cannot cache the model at .*small-[0-9a-f]{16}\.onnx \(.*\); built in memory, it will be rebuilt on next load \(set DIFFCUT_CACHE_DIR or the cacheDir option to a writable folder\)$/,
    );
    // A second load rebuilds in memory again, without repeating the warning.
    const again = await loadNpmModel(source, "output", {
      cacheDir: join(blocker, "models"),
      cacheName: "small",
    });
    assert.equal(again.sha256, model.sha256);
    assert.equal(warnings.length, 1);
  } finally {
    console.warn = warn;
    await Deno.remove(dir, { recursive: true });
  }
});
