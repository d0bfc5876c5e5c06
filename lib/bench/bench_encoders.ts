/**
 * `deno task bench-encoders`: per-image encoder time of each ONNX Runtime runner (wasm, webgpu, node), printed as
 * a Markdown table.
 *
 * Two encoders: ISNet (the built-in stand-in, fp16 weights, 1024² input) and the largest generated test model, the
 * SDXL-layout diffusion export of `synthetic_diffusion_export.ts` put through `prepare` (VAE mean, noise at
 * t = 50, UNet cut at the hooked `attn1`), at its test size 128² and at the real input size 1024². Each cell is
 * the median of `BENCH_RUNS` (default 3) `encode` calls after one warm-up call; the warm-up call (which pays for
 * WebGPU shader compilation) and session creation are reported apart. A runner that cannot start here (no WebGPU adapter, no `--allow-ffi`) gets one line saying why.
 *
 * Environment: `BENCH_RUNS`, `BENCH_RUNNERS` (comma-separated, default `wasm,webgpu,node`), `BENCH_ENCODERS`
 * (comma-separated subset of `isnet,sdxl-test`). WebGPU's backend comes from `DENO_WEBGPU_BACKEND` (`gl` for
 * llvmpipe over GL, `vulkan` for lavapipe or a real GPU).
 *
 * @module
 */
import { loadEncoder } from "../encoder/load_encoder.ts";
import { ORT_RUNNERS, type OrtRunner } from "../onnx/ort_session.ts";
import { loadImage } from "../image/load_image.ts";
import type { Encoder, ImageRGB } from "../types.ts";
import { prepareTestDiffusionEncoder } from "./synthetic_diffusion_export.ts";

const PHOTO = new URL("../../docs/examples/chelsea.png", import.meta.url);

/** One row of the table. */
interface Row {
  encoder: string;
  input: string;
  runner: OrtRunner;
  loadMs?: number;
  firstMs?: number;
  encodeMs?: number;
  note?: string;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** Median of the values. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Load once, warm up once, then the median of `runs` encodes. */
async function timeEncoder(
  load: () => Promise<Encoder>,
  image: ImageRGB,
  runs: number,
): Promise<{ loadMs: number; firstMs: number; encodeMs: number }> {
  const t0 = performance.now();
  const encoder = await load();
  const loadMs = performance.now() - t0;
  try {
    const t1 = performance.now();
    await encoder.encode(image);
    const firstMs = performance.now() - t1;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await encoder.encode(image);
      times.push(performance.now() - t);
    }
    return { loadMs, firstMs, encodeMs: median(times) };
  } finally {
    await encoder.dispose();
  }
}

function cell(ms: number | undefined): string {
  if (ms === undefined) return "—";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
}

/**
 * Runs the benchmark and returns the Markdown table.
 *
 * @param options Runs per cell, runners and encoders to include.
 * @returns The table, one row per encoder, input size and runner.
 */
export async function benchEncoders(
  options: { runs?: number; runners?: readonly OrtRunner[]; encoders?: readonly string[] } = {},
): Promise<string> {
  const runs = options.runs ?? 3;
  const runners = options.runners ?? ORT_RUNNERS;
  const encoders = options.encoders ?? ["isnet", "sdxl-test"];
  const photo = await loadImage(PHOTO.pathname);
  const rows: Row[] = [];
  const dir = await Deno.makeTempDir({ prefix: "diffcut-bench-encoders-" });
  try {
    const cases: { encoder: string; input: string; load: (runner: OrtRunner) => Promise<Encoder> }[] = [];
    if (encoders.includes("isnet")) {
      cases.push({
        encoder: "isnet (fp16, 44M params)",
        input: "1024²",
        load: (runner) => loadEncoder("isnet", { runner }),
      });
    }
    if (encoders.includes("sdxl-test")) {
      const sidecar = await prepareTestDiffusionEncoder(dir);
      for (const size of [128, 1024]) {
        cases.push({
          encoder: "generated SDXL-layout diffusion encoder",
          input: `${size}²`,
          load: (runner) => loadEncoder(sidecar, { runner, inputSize: size }),
        });
      }
    }
    for (const c of cases) {
      for (const runner of runners) {
        const row: Row = { encoder: c.encoder, input: c.input, runner };
        try {
          Object.assign(row, await timeEncoder(() => c.load(runner), photo, runs));
        } catch (error) {
          const message = (error as Error).message.split("\n")[0];
          // Keep ONNX Runtime's own reason, not its source location.
          row.note = (/ERROR_MESSAGE: (?:\S+:\d+ \S+ )?(.*)$/.exec(message)?.[1] ?? message).slice(0, 240);
        }
        console.error(
          `${c.encoder} ${c.input} ${runner}: ${
            row.note ?? `${cell(row.encodeMs)} (first ${cell(row.firstMs)}, load ${cell(row.loadMs)})`
          }`,
        );
        rows.push(row);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const lines = [
    "| encoder | input | runner | encode (median) | first encode | session load |",
    "| --- | --- | --- | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.encoder} | ${r.input} | ${r.runner} | ${r.note ? `failed: ${r.note}` : cell(r.encodeMs)} | ${
        cell(r.firstMs)
      } | ${cell(r.loadMs)} |`
    ),
  ];
  return lines.join("\n");
}

if (import.meta.main) {
  const runs = Number(env("BENCH_RUNS") ?? 3);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`error: BENCH_RUNS must be a positive integer, got ${env("BENCH_RUNS")}`);
    Deno.exit(2);
  }
  const runners = (env("BENCH_RUNNERS")?.split(",") ?? [...ORT_RUNNERS]) as OrtRunner[];
  const bad = runners.filter((r) => !(ORT_RUNNERS as readonly string[]).includes(r));
  if (bad.length) {
    console.error(`error: BENCH_RUNNERS has ${bad.join(", ")}; expected some of ${ORT_RUNNERS.join(", ")}`);
    Deno.exit(2);
  }
  const encoders = env("BENCH_ENCODERS")?.split(",");
  const backend = env("DENO_WEBGPU_BACKEND") ?? "default";
  console.log(
    `Encoder time per image, median of ${runs} runs after a warm-up (photo: docs/examples/chelsea.png; ` +
      `${navigator.hardwareConcurrency} CPU threads; DENO_WEBGPU_BACKEND=${backend}):\n`,
  );
  console.log(await benchEncoders({ runs, runners, encoders }));
}
