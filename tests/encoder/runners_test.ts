import assert from "node:assert/strict";
import { createDiffusionEncoder } from "../../lib/encoder/diffusion_encoder.ts";
import { createOnnxEncoder } from "../../lib/encoder/onnx_encoder.ts";
import {
  createOrtSession,
  installedNodeRuntime,
  NODE_FFI_SCOPE,
  type OrtRunner,
  resolveRunner,
} from "../../lib/onnx/ort_session.ts";
import { parseSidecar, readSidecar } from "../../lib/encoder/sidecar.ts";
import type { FeatureMap, ImageRGB } from "../../lib/types.ts";
import { gpu } from "../_gpu.ts";
import { prepareTestDiffusionEncoder } from "../../lib/bench/synthetic_diffusion_export.ts";
import { vitModel } from "./_vit_models.ts";

/** Whether onnxruntime-node loads here (it is fetched from npm on first use and needs --allow-ffi). */
const nodeRunner = await createOrtSession(vitModel(16, 0, 3), { runner: "node" }).then(
  async (session) => {
    await session.dispose();
    return true;
  },
  (error) => {
    console.warn(`onnxruntime-node tests skipped: ${(error as Error).message}`);
    return false;
  },
);

function image(size: number): ImageRGB {
  const data = new Float32Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 37) % 101) / 100;
  return { data, height: size, width: size };
}

function assertNear(actual: FeatureMap, expected: FeatureMap, tolerance: number): void {
  assert.deepEqual([actual.height, actual.width, actual.channels], [
    expected.height,
    expected.width,
    expected.channels,
  ]);
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    worst = Math.max(worst, Math.abs(actual.data[i] - expected.data[i]) / (1 + Math.abs(expected.data[i])));
  }
  assert.ok(worst < tolerance, `largest relative difference ${worst}`);
}

Deno.test("resolveRunner: option, then DIFFCUT_ORT_RUNNER, then auto; unknown names refused", () => {
  const previous = Deno.env.get("DIFFCUT_ORT_RUNNER");
  try {
    Deno.env.delete("DIFFCUT_ORT_RUNNER");
    assert.equal(resolveRunner(), "auto");
    Deno.env.set("DIFFCUT_ORT_RUNNER", "node");
    assert.equal(resolveRunner(), "node");
    assert.equal(resolveRunner("webgpu"), "webgpu");
    assert.throws(
      () => resolveRunner("cuda", "--runner"),
      /^RangeError: --runner "cuda" is not supported; expected one of "auto", "wasm", "webgpu", "node"$/,
    );
  } finally {
    if (previous === undefined) Deno.env.delete("DIFFCUT_ORT_RUNNER");
    else Deno.env.set("DIFFCUT_ORT_RUNNER", previous);
  }
});

/** What `chooseRunner("auto")` picks in a fresh process with the given permission flags. */
async function autoIn(flags: string[]): Promise<{ runner: string; note?: string }> {
  const module = new URL("../../lib/onnx/ort_session.ts", import.meta.url).href;
  const code = `const { chooseRunner } = await import(${JSON.stringify(module)});
console.log(JSON.stringify(await chooseRunner("auto")));`;
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, code);
    // `deno eval` would grant every permission; `deno run` grants only the flags.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", ...flags, script],
      env: { DENO_WEBGPU_BACKEND: "none-such" }, // no adapter: the CPU runners decide
      stdout: "piped",
      stderr: "null",
    }).output();
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  } finally {
    await Deno.remove(script);
  }
}

Deno.test({
  name: "runner auto: node with FFI for onnxruntime-node's folder alone, else wasm with a one-line note",
  ignore: !nodeRunner || installedNodeRuntime() === undefined,
  fn: async () => {
    const root = new URL("../../", import.meta.url).pathname;
    const scoped = `--allow-ffi=${root}${NODE_FFI_SCOPE}`;
    assert.deepEqual(await autoIn(["--allow-read", "--allow-env", scoped]), { runner: "node" });
    const without = await autoIn(["--allow-read", "--allow-env"]);
    assert.equal(without.runner, "wasm");
    assert.match(
      without.note!,
      /^ONNX Runtime runs on wasm: onnxruntime-node is installed but FFI is not granted/,
    );
    assert.ok(!without.note!.includes("\n"));
    // The session reports the runner that ran.
    const session = await createOrtSession(vitModel(16, 0, 3), { runner: "auto" });
    try {
      assert.ok(["node", "webgpu"].includes(session.runner), session.runner);
    } finally {
      await session.dispose();
    }
  },
});

for (const runner of ["webgpu", "node"] as OrtRunner[]) {
  Deno.test({
    name: `runner ${runner}: same features as wasm on the generated diffusion and ViT encoders`,
    ignore: runner === "webgpu" ? !gpu : !nodeRunner,
    fn: async () => {
      const dir = await Deno.makeTempDir();
      try {
        const sidecarPath = await prepareTestDiffusionEncoder(dir);
        const sidecar = await readSidecar(sidecarPath);
        const reference = await createDiffusionEncoder(sidecar, sidecarPath, { runner: "wasm" });
        const other = await createDiffusionEncoder(sidecar, sidecarPath, { runner });
        try {
          assert.equal(other.settings.runner, runner);
          const img = image(128);
          assertNear(await other.encode(img), await reference.encode(img), 1e-3);
        } finally {
          await reference.dispose();
          await other.dispose();
        }
        const vitJson = JSON.parse(
          await Deno.readTextFile(new URL("../../models/dinov2-large.json", import.meta.url)),
        );
        vitJson.output.channels = 6;
        const vit = parseSidecar(vitJson, "dinov2-large.json");
        const model = vitModel(14, 1, 6);
        const a = await createOnnxEncoder(vit, model, { runner: "wasm", inputSize: 70 });
        const b = await createOnnxEncoder(vit, model, { runner, inputSize: 70 });
        try {
          assertNear(await b.encode(image(90)), await a.encode(image(90)), 1e-4);
        } finally {
          await a.dispose();
          await b.dispose();
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
