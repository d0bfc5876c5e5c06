/**
 * `deno task bench-segment [PHOTO...]`: the default `segment` command, exactly as `deno task segment` runs it (its
 * command line is read from deno.json, no flags added), against ONNX Runtime's own Python binding on the same
 * model file, in the same run. Prints a Markdown table per photo (encoder and whole per-image time, from the
 * JSON that `segment` writes) and the medians' ratios to Python's `session.run` with its default threads.
 *
 * Python is timed before and after the segment run and the faster of the two medians is the baseline (this VM's
 * timings drift by ±15 %; the faster one is the harder baseline). Without `python3` + `onnxruntime`, the table
 * has no ratios and says why. Photos default to the bundled docs/examples.
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadIsnetModel } from "../encoder/isnet_model.ts";
import { pythonOrtTimes } from "./python_ort.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface PhotoTimes {
  photo: string;
  size: string;
  runner: string;
  segments: number;
  encode: number;
  total: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `deno task segment`'s command on the photos into a temporary folder; returns each photo's JSON times. */
async function runSegment(photos: string[]): Promise<PhotoTimes[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  const [deno, ...args] = (config.tasks.segment.command as string).split(" ");
  if (deno !== "deno") throw new Error(`deno.json's segment task does not start with deno: ${deno}`);
  const out = await Deno.makeTempDir({ prefix: "diffcut-bench-segment-" });
  try {
    const child = await new Deno.Command(Deno.execPath(), {
      args: [...args, ...photos, "--out", out],
      cwd: ROOT,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!child.success) throw new Error(`deno task segment exited with ${child.code}`);
    return await Promise.all(photos.map(async (photo) => {
      const json = JSON.parse(
        await Deno.readTextFile(join(out, basename(photo, extname(photo)) + ".json")),
      );
      return {
        photo: basename(photo),
        size: `${json.width}×${json.height}`,
        runner: json.threads ? `${json.runner}, ${json.threads} threads` : json.runner,
        segments: json.segments.length,
        encode: json.timingsMs.encode,
        total: json.timingsMs.total,
      };
    }));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

if (import.meta.main) {
  const photos = Deno.args.length > 0
    ? Deno.args
    : ["chelsea.png", "coffee.png"].map((f) => join(ROOT, "docs/examples", f));
  const runs = Number(Deno.env.get("BENCH_RUNS") ?? 5);
  const { model } = await loadIsnetModel();
  const before = await pythonOrtTimes(model.path, runs);
  const rows = await runSegment(photos);
  const after = await pythonOrtTimes(model.path, runs);
  console.log(
    `\n### Default segment (deno task segment, no flags) vs Python onnxruntime on ${basename(model.path)}\n`,
  );
  console.log(
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} logical cores; Python: ${
      "skipped" in before ? before.skipped : `onnxruntime ${before.version}, median of ${runs} runs`
    }\n`,
  );
  console.log("| photo | size | runner | segments | encoder ms | whole image ms | after the encoder ms |");
  console.log("| --- | --- | --- | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(
      `| ${r.photo} | ${r.size} | ${r.runner} | ${r.segments} | ${r.encode.toFixed(0)} | ${
        r.total.toFixed(0)
      } | ${(r.total - r.encode).toFixed(0)} |`,
    );
  }
  const enc = median(rows.map((r) => r.encode)), total = median(rows.map((r) => r.total));
  console.log(`| **median** | | | | ${enc.toFixed(0)} | ${total.toFixed(0)} | |`);
  if (!("skipped" in before) && !("skipped" in after)) {
    const base = Math.min(before.defaultThreads, after.defaultThreads);
    console.log(
      `\nPython onnxruntime session.run, default threads: ${before.defaultThreads.toFixed(0)} ms before, ${
        after.defaultThreads.toFixed(0)
      } ms after (one thread: ${before.oneThread.toFixed(0)}, ${after.oneThread.toFixed(0)}); baseline ${
        base.toFixed(0)
      } ms`,
    );
    console.log(`encoder median / baseline: ${(enc / base).toFixed(2)}× (target ≤ 1.3×)`);
    console.log(`whole per-image median / baseline: ${(total / base).toFixed(2)}× (target ≤ 1.5×)`);
  }
}
