/**
 * `deno task segment <image or folder>… [--tau T] [--alpha A] [--no-refine] [--size S] [--encoder ID]
 * [--runner R] [--timestep T] [--input-size N] [--labels LIST | --labels-file F] [--open-vocab ID] [--clip-size N]
 * [--out DIR]`: segments images and writes, per image, an indexed
 * label PNG at the input's size, a colour overlay PNG and a JSON summary. Nothing is written for an image that
 * fails.
 *
 * The runner defaults to `auto` (WebGPU on a hardware adapter, else the native `node` runner when onnxruntime-node
 * is installed, else wasm). The `segment` task grants FFI only for onnxruntime-node's folder
 * (`--allow-ffi=node_modules/.deno/onnxruntime-node@1.30.0`); asked for `--runner node` without that permission,
 * the CLI stops at once with the command line that grants it.
 *
 * @module
 */
import { plural } from "../viz/plural.ts";
import { parseArgs } from "node:util";
import { dirname, resolve } from "node:path";
import { loadImage } from "../image/load_image.ts";
import { encodeLabelPng, encodeRgbPng } from "../image/encode_png.ts";
import { writeFilesAtomic } from "../io/write_file_atomic.ts";
import { checkSegmenterOptions, createSegmenter, type SegmentationResult } from "../segmenter.ts";
import { printable } from "../io/printable.ts";
import { planSegmentation } from "./segment_inputs.ts";
import {
  installedNodeRuntime,
  NODE_FFI_SCOPE,
  type OrtRunner,
  type OrtRunnerChoice,
  resolveRunner,
} from "../onnx/ort_session.ts";
import type { Backend, Encoder, ImageRGB } from "../types.ts";
import type { StopRule } from "../ncut/stop_rule.ts";
import { overlaySegments } from "../viz/overlay.ts";
import { parseClassFile, parseClassList } from "../openvocab/class_list.ts";
import { checkClipSize, readClipInput } from "../openvocab/clip_size.ts";
import { DEFAULT_OPEN_VOCAB_MODEL } from "../openvocab/open_vocab.ts";
import { segmentColor, segmentPalette } from "../viz/palette.ts";
import { appendLegend } from "../viz/legend.ts";

const USAGE = `Usage: deno task segment <image or folder>... [options]

Segments PNG/JPEG images with DiffCut and writes <name>.labels.png (indexed, one value per segment),
<name>.overlay.png and <name>.json into the output folder. Folders are read recursively and their
subfolders mirrored under the output folder; files that are not PNG or JPEG are listed as skipped.

Options:
  --encoder ID     encoder id or sidecar path (default: isnet, the built-in demo encoder); registry ids
                   (ssd-1b, dinov2-large, ...) need: deno task models fetch|prepare ID
  --runner R       ONNX Runtime: auto, wasm, webgpu or node (default: $DIFFCUT_ORT_RUNNER, else auto: webgpu on
                   a hardware GPU, else node if installed (deno task native-runner) and FFI granted, else wasm)
  --timestep T     diffusion timestep, an integer in [0, 999] (default: the encoder's, 50)
  --input-size N   side of the square encoder input (default: the encoder's; resizable encoders only)
  --tau T          NCut stopping threshold (default: the encoder's recommended value)
  --segments K     cut the tree at the τ that gives K segments (or the nearest count); not with --tau
  --stop-rule R    how τ reads: tau (split while NCut < τ), relative (NCut < τ · the root's NCut) or min-split
                   (τ, at least one split unless uniform) (default: the encoder's; ISNet: relative)
  --border-ring N  patch rings along the border kept out of the graph, labelled afterwards (default: the
                   encoder's; ISNet: 2)
  --solver S       recursive (DiffCut's recursive 2-way cuts) or kway (then the discrete K-way NCut improves
                   those K segments; the JSON's "ncut" gives both objectives) (default: recursive)
  --alpha A        affinity exponent (default: the encoder's recommended value)
  --no-refine      skip PAMR refinement
  --size S         long side of the working resolution for assignment and PAMR (default 512)
  --self-loops     keep the affinity diagonal (the reference's graph; default: the encoder's setting)
  --no-self-loops  zero the affinity diagonal
  --min-segment N  smallest segment a split may create, in feature patches (default: the encoder's)
  --max-segments N cap on the number of segments, at most 256 (8-bit label PNG; default: the encoder's,
                   else 256)
  --compat MODE    "default" or "reference" (reproduce the reference's exact-zero node dropping)
  --backend B      where the clustering and refinement run: auto, cpu or webgpu (default: auto, which keeps
                   the CPU path on software rasterisers and falls back to it when no GPU adapter exists)
  --labels LIST    open-vocabulary labels: class names separated by commas ("cat,sofa,floor"); each segment
                   gets one, with its score, in the JSON and in a legend below the overlay (needs a CLIP:
                   deno task models prepare convnext-clip --from DIR)
  --labels-file F  the same from a file: one class per line, synonyms separated by commas ("sofa, couch")
  --open-vocab ID  the CLIP for --labels: registry id or sidecar path (default: convnext-clip)
  --clip-size N    side of the square CLIP input for --labels, a positive multiple of the CLIP's stride (32)
                   (default: the CLIP's, 320; the features are N/32 cells a side)
  --out DIR        output folder (default: out)
  -h, --help       show this help`;

/** Labels are written as an 8-bit PNG: one value per segment. */
const MAX_PNG_SEGMENTS = 256;

/** Parses a numeric option, failing with a message that names it. */
function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (value.trim() === "" || !Number.isFinite(v)) {
    throw new RangeError(`Invalid --${name} "${value}": expected a number`);
  }
  return v;
}

/** Parses an integer option, failing with a message that names it. */
function integerOption(name: string, value: string | undefined): number | undefined {
  const v = numberOption(name, value);
  if (v !== undefined && !Number.isInteger(v)) {
    throw new RangeError(`Invalid --${name} "${value}": expected an integer`);
  }
  return v;
}

/** The command line that runs this CLI with `--allow-ffi` added to the `segment` task's permissions. */
export const FFI_COMMAND =
  `deno run --allow-read --allow-write --allow-env --allow-ffi=${NODE_FFI_SCOPE} lib/cli/segment.ts`;

/**
 * Checks that the `node` runner can load (it needs `--allow-ffi`) before any model is read.
 *
 * @param runner The resolved runner.
 * @throws {Error} If the runner is `node` and FFI is not granted; the message gives the command that grants it.
 */
function checkRunnerPermissions(runner: OrtRunnerChoice): void {
  if (runner !== "node") return;
  const path = installedNodeRuntime();
  if (Deno.permissions.querySync(path ? { name: "ffi", path } : { name: "ffi" }).state === "granted") return;
  throw new Error(
    `Runner "node" (onnxruntime-node) needs --allow-ffi, which deno task segment grants; run: ${FFI_COMMAND} <args>, or use --runner wasm`,
  );
}

/** Settings of an ONNX encoder worth recording: runner (and its threads on wasm), diffusion timestep, input size
 * ({} for others). */
function encoderSettings(encoder: Encoder): Record<string, unknown> {
  const e = encoder as Encoder & { runner?: OrtRunner; threads?: number; settings?: { timestep?: number } };
  if (!e.runner) return {};
  return {
    ...(e.runner ? { runner: e.runner } : {}),
    ...(e.threads !== undefined ? { threads: e.threads } : {}),
    ...(e.settings?.timestep !== undefined ? { timestep: e.settings.timestep } : {}),
    ...(encoder.defaults.inputSize !== undefined ? { inputSize: encoder.defaults.inputSize } : {}),
  };
}

/** The JSON summary written next to the label map (`encoder` adds the runner, timestep and input size). */
export function summarize(file: string, r: SegmentationResult, encoder?: Encoder) {
  return {
    input: file,
    width: r.width,
    height: r.height,
    encoder: r.encoderId,
    ...(encoder ? encoderSettings(encoder) : {}),
    tau: r.tau,
    segmentsRequested: r.settings.segments ?? null,
    stopRule: r.settings.stopRule,
    borderRing: r.settings.borderRing,
    solver: r.settings.solver,
    ...(r.ncut ? { ncut: r.ncut } : {}),
    alpha: r.alpha,
    refine: r.refine,
    selfLoops: r.settings.selfLoops,
    minSegmentSize: r.settings.minSegmentSize,
    maxSegments: r.settings.maxSegments ?? null,
    compat: r.settings.compat,
    backendRequested: r.settings.backend,
    backend: backendsUsed(r),
    stageBackends: Object.fromEntries(r.stageRuns.map((run) => [run.stage, run.backend])),
    grid: { height: r.tree.height, width: r.tree.width },
    workSize: r.workSize,
    segments: r.segmentSizes.map((pixels, label) => ({
      label,
      pixels,
      fraction: +(pixels / r.labels.length).toFixed(6),
      ...(r.segmentLabels
        ? { class: r.segmentLabels[label].name, score: +r.segmentLabels[label].score.toFixed(6) }
        : {}),
    })),
    timingsMs: Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, +v.toFixed(1)])),
    notes: r.notes,
  };
}

/** With open-vocabulary labels, the overlay gets a legend below it: each segment's colour, class and score. */
function withLegend(overlay: ImageRGB, r: SegmentationResult): ImageRGB {
  if (!r.segmentLabels) return overlay;
  return appendLegend(
    overlay,
    r.segmentLabels.map((l) => ({
      color: segmentColor(l.segment),
      label: l.name,
      value: l.score.toFixed(2),
    })),
  );
}

/** The backends that produced the result: `"cpu"`, `"webgpu"` or `"cpu+webgpu"` when the stages differ. */
function backendsUsed(r: SegmentationResult): string {
  const used = [...new Set(r.stageRuns.map((run) => run.backend))].sort();
  return used.length ? used.join("+") : r.settings.backend;
}

/** Entry point; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        encoder: { type: "string" },
        runner: { type: "string" },
        timestep: { type: "string" },
        "input-size": { type: "string" },
        tau: { type: "string" },
        segments: { type: "string" },
        "stop-rule": { type: "string" },
        "border-ring": { type: "string" },
        solver: { type: "string" },
        alpha: { type: "string" },
        "no-refine": { type: "boolean" },
        size: { type: "string" },
        compat: { type: "string" },
        backend: { type: "string" },
        "self-loops": { type: "boolean" },
        "no-self-loops": { type: "boolean" },
        "min-segment": { type: "string" },
        "max-segments": { type: "string" },
        labels: { type: "string" },
        "labels-file": { type: "string" },
        "open-vocab": { type: "string" },
        "clip-size": { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    console.error(`error: no input given\n\n${USAGE}`);
    return 2;
  }
  const outDir = values.out ?? "out";
  let plan;
  let segmenter;
  try {
    // Every option is checked before any input is read or the encoder loads.
    const compat = values.compat;
    if (compat !== undefined && compat !== "default" && compat !== "reference") {
      throw new RangeError(`Invalid --compat "${compat}": expected "default" or "reference"`);
    }
    if (values["self-loops"] && values["no-self-loops"]) {
      throw new RangeError("Options --self-loops and --no-self-loops contradict each other");
    }
    const runner = values.runner === undefined ? undefined : resolveRunner(values.runner, "--runner");
    // The runner from $DIFFCUT_ORT_RUNNER matters only to encoders that run on ONNX Runtime.
    const usesOrt = !["rgb-grid", "mobilenet-v2"].includes(values.encoder ?? "isnet") ||
      values.labels !== undefined || values["labels-file"] !== undefined; // the CLIP of --labels runs on it too
    if (runner || usesOrt) checkRunnerPermissions(runner ?? resolveRunner(undefined, "$DIFFCUT_ORT_RUNNER"));
    const encoderOptions = {
      runner,
      timestep: integerOption("timestep", values.timestep),
      inputSize: integerOption("input-size", values["input-size"]),
    };
    const options = {
      tau: numberOption("tau", values.tau),
      segments: integerOption("segments", values.segments),
      stopRule: values["stop-rule"] as StopRule | undefined,
      borderRing: integerOption("border-ring", values["border-ring"]),
      solver: values.solver as "recursive" | "kway" | undefined,
      alpha: numberOption("alpha", values.alpha),
      outputSize: integerOption("size", values.size),
      compat: compat as "default" | "reference" | undefined,
      backend: values.backend as Backend | undefined,
      selfLoops: values["no-self-loops"] ? false : values["self-loops"] ? true : undefined,
      minSegmentSize: integerOption("min-segment", values["min-segment"]),
      maxSegments: integerOption("max-segments", values["max-segments"]),
    };
    try {
      checkSegmenterOptions(options);
    } catch (e) {
      // The library names options in camelCase; say the flag the user typed.
      const flags: Record<string, string> = {
        minSegmentSize: "--min-segment",
        maxSegments: "--max-segments",
        outputSize: "--size",
        tau: "--tau",
        segments: "--segments",
        stopRule: "--stop-rule",
        borderRing: "--border-ring",
        solver: "--solver",
        alpha: "--alpha",
        backend: "--backend",
      };
      throw new RangeError(
        (e as Error).message.replace(
          /^Invalid (\w+)/,
          (m, name) => flags[name] ? `Invalid ${flags[name]}` : m,
        ).replace(/^Options tau (.*) and segments /, "Options --tau $1 and --segments "),
      );
    }
    if (options.segments !== undefined && options.segments > MAX_PNG_SEGMENTS) {
      throw new RangeError(
        `Invalid --segments ${options.segments}: expected at most ${MAX_PNG_SEGMENTS} (labels are written as an 8-bit PNG)`,
      );
    }
    if (options.maxSegments !== undefined && options.maxSegments > MAX_PNG_SEGMENTS) {
      throw new RangeError(
        `Invalid --max-segments ${options.maxSegments}: expected at most ${MAX_PNG_SEGMENTS} (labels are written as an 8-bit PNG)`,
      );
    }
    if (values.labels !== undefined && values["labels-file"] !== undefined) {
      throw new RangeError("Options --labels and --labels-file contradict each other");
    }
    const classNames = values.labels !== undefined
      ? parseClassList(values.labels)
      : values["labels-file"] !== undefined
      ? parseClassFile(await Deno.readTextFile(values["labels-file"]))
      : undefined;
    if (values["open-vocab"] !== undefined && !classNames) {
      throw new RangeError("Option --open-vocab needs --labels or --labels-file");
    }
    const clipSize = integerOption("clip-size", values["clip-size"]);
    if (clipSize !== undefined) {
      if (!classNames) throw new RangeError("Option --clip-size needs --labels or --labels-file");
      // The stride is the CLIP's: read its sidecar (no model yet) so that a bad size fails at once.
      const clip = await readClipInput(values["open-vocab"] ?? DEFAULT_OPEN_VOCAB_MODEL);
      checkClipSize(clipSize, clip.stride, "--clip-size", clip.id);
    }
    plan = await planSegmentation(positionals, outDir);
    for (const line of plan.skipped) console.error(`skipped: ${printable(line)}`);
    segmenter = await createSegmenter({
      ...options,
      encoder: values.encoder,
      encoderOptions: Object.fromEntries(Object.entries(encoderOptions).filter(([, v]) => v !== undefined)),
      refine: !values["no-refine"],
      ...(classNames
        ? {
          labels: classNames,
          openVocab: values["open-vocab"],
          openVocabOptions: { ...(runner ? { runner } : {}), ...(clipSize ? { inputSize: clipSize } : {}) },
        }
        : {}),
    });
  } catch (e) {
    console.error(`error: ${printable((e as Error).message.split("\n")[0])}`);
    return 1;
  }
  const o = segmenter.options;
  // An encoder without a cap (or with one above 256) is capped so that every result fits the label PNG.
  const cap = o.maxSegments === undefined || o.maxSegments > MAX_PNG_SEGMENTS ? MAX_PNG_SEGMENTS : undefined;
  const extra = Object.entries(encoderSettings(segmenter.encoder))
    .map(([k, v]) => `, ${k === "inputSize" ? "input size" : k} ${v}`).join("");
  console.log(
    `DiffCut with encoder '${segmenter.encoder.id}' (tau ${o.tau}, alpha ${o.alpha}, refine ${o.refine}${extra})`,
  );
  let failed = 0;
  const palette = segmentPalette(256);
  const images = plan.images;
  for (const [i, { path: file, outputs }] of images.entries()) {
    const prefix = images.length > 1 ? `[${i + 1}/${images.length}] ` : "";
    const name = printable(file);
    try {
      const image = await loadImage(file);
      const r = await segmenter.segment(image, cap ? { maxSegments: cap } : {});
      // Encode everything first, then write all three together: a failure leaves none of them.
      const labelPng = encodeLabelPng({ data: r.labels, height: r.height, width: r.width }, palette);
      const overlayPng = encodeRgbPng(withLegend(overlaySegments(image, r.labels), r));
      const json = JSON.stringify(summarize(resolve(file), r, segmenter.encoder), null, 2) + "\n";
      await Deno.mkdir(dirname(outputs.json), { recursive: true });
      await writeFilesAtomic([
        { path: outputs.labels, bytes: labelPng },
        { path: outputs.overlay, bytes: overlayPng },
        { path: outputs.json, bytes: json },
      ]);
      const stem = outputs.json.slice(0, -".json".length);
      console.log(
        `${prefix}${name}: ${plural(r.segments, "segment")} in ${(r.timings.total / 1000).toFixed(2)} s -> ${
          printable(stem)
        }.{labels.png,overlay.png,json}`,
      );
      if (r.segmentLabels) {
        const named = r.segmentLabels.map((l) => `${l.segment} ${l.name} (${l.score.toFixed(2)})`).join(", ");
        console.log(`  labels: ${printable(named)}`);
      }
      for (const note of r.notes) console.log(`  note: ${printable(note)}`);
    } catch (e) {
      failed++;
      console.error(`${prefix}${name}: error: ${printable((e as Error).message.split("\n")[0])}`);
    }
  }
  await segmenter.dispose();
  if (failed) console.error(`${failed} of ${images.length} images failed`);
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
