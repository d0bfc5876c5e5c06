/**
 * `deno task models prepare <id> --from DIR`: derives a DiffCut diffusion encoder from a folder in the standard ONNX
 * Stable-Diffusion layout (what `optimum-cli export onnx --task text-to-image` and diffusers' ONNX conversion
 * write):
 *
 * ```
 * DIR/unet/model.onnx (+ its external data: model.onnx_data, weights.pb, ...)
 * DIR/vae_encoder/model.onnx
 * DIR/text_encoder/model.onnx
 * DIR/text_encoder_2/model.onnx   (SDXL-type models: SSD-1B, Segmind-Vega)
 * ```
 *
 * It writes, into the encoder's install folder:
 * - `vae_encoder.onnx`: the VAE encoder cut at `quant_conv` (the posterior's mean and log-variance), then the first
 *   `latentChannels` channels (the **mean**, no sampling) times the scaling factor;
 * - `unet_encoder.onnx` (+ `unet_encoder.onnx_data`): the UNet cut at the output of the hooked `attn1`, found by
 *   its TorchScript node names (`/down_blocks.2/attentions.1/transformer_blocks.3/attn1/…`), checked to be the last
 *   transformer block there and checked by the width of its `to_out.0` weight; every node after it is removed, and
 *   only the kept weights are copied;
 * - `conditioning.bin`: the empty-prompt conditioning, computed once by running the text encoders on the tokenised
 *   empty prompt (SDXL: penultimate hidden states of both encoders concatenated, then the pooled `text_embeds`;
 *   SD1: the last hidden state), raw little-endian float32;
 * - `encoder.json`: the registry sidecar plus the file names, the UNet's input names, the conditioning shapes and
 *   every file's SHA-256. It is written last, so a folder without it is not a prepared encoder.
 *
 * Assumption: node names follow the TorchScript exporter (`torch.onnx.export`, used by Optimum and by diffusers'
 * conversion script): `/<module path with / between modules>/<Op>[_n]`, possibly under an outer prefix. Exports
 * from the dynamo exporter name nodes differently and are refused with a message saying so.
 *
 * @module
 */

import { join, resolve } from "node:path";
import p from "npm:onnx-proto@8.0.1";
import type { onnx as Onnx } from "npm:onnx-proto@8.0.1";
import { writeFileAtomic } from "../io/write_file_atomic.ts";
import { sha256File } from "../encoder/model_cache.ts";
import { findScopeOutput, moduleScope, pruneModel } from "../onnx/onnx_graph.ts";
import { loadExternalData, readOnnxModel, writeOnnxModel } from "../onnx/onnx_files.ts";
import { createOrtSession, type FloatTensor, type OrtRunnerChoice } from "../onnx/ort_session.ts";
import type { DiffusionConfig, EncoderSidecar, InstalledFile, UnetInputs } from "../encoder/sidecar.ts";

const { onnx } = p;

/** CLIP's start-of-text token id (`<|startoftext|>`), the same in every CLIP BPE vocabulary. */
export const CLIP_BOS = 49406;
/** CLIP's end-of-text token id (`<|endoftext|>`). */
export const CLIP_EOS = 49407;
/** CLIP's context length. */
export const CLIP_LENGTH = 77;

/** One text encoder of an export folder and how its output is used. */
export interface TextEncoderSpec {
  /** Folder in the export, e.g. `"text_encoder_2"`. */
  folder: string;
  /**
   * Padding id of its tokenizer: `<|endoftext|>` (49407) for CLIP ViT-L/14's tokenizer (`tokenizer/`), `!` (0)
   * for SDXL's `tokenizer_2` (OpenCLIP ViT-bigG/14).
   */
  pad: number;
  /** Which hidden states condition the UNet: the penultimate layer's (SDXL) or the last (SD1). */
  hidden: "penultimate" | "last";
  /** Whether its pooled, projected output `text_embeds` is the UNet's `text_embeds` (SDXL's second encoder). */
  pooled: boolean;
}

/**
 * The text encoders of a model family, with the padding ids of their tokenizers. The empty prompt tokenises to
 * `[BOS, EOS]` and is padded to 77 tokens (`padding="max_length"`), so the ids are `[49406, 49407, pad × 75]`.
 *
 * @param family `"sdxl"` or `"sd1"`.
 * @returns The encoders in concatenation order.
 *
 * @example
 * ```ts
 * import { textEncodersOf } from "./diffusion_prepare.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(textEncodersOf("sdxl").map((t) => t.pad), [49407, 0]);
 * ```
 */
export function textEncodersOf(family: DiffusionConfig["family"]): TextEncoderSpec[] {
  return family === "sdxl"
    ? [
      { folder: "text_encoder", pad: CLIP_EOS, hidden: "penultimate", pooled: false },
      { folder: "text_encoder_2", pad: 0, hidden: "penultimate", pooled: true },
    ]
    : [{ folder: "text_encoder", pad: CLIP_EOS, hidden: "last", pooled: false }];
}

/**
 * Token ids of the empty prompt: BOS, EOS, then padding to 77.
 *
 * @param pad The tokenizer's padding id.
 * @returns 77 ids.
 *
 * @example
 * ```ts
 * import { emptyPromptIds } from "./diffusion_prepare.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(emptyPromptIds(0).subarray(0, 4)), [49406, 49407, 0, 0]);
 * ```
 */
export function emptyPromptIds(pad: number): Int32Array {
  const ids = new Int32Array(CLIP_LENGTH).fill(pad);
  ids[0] = CLIP_BOS;
  ids[1] = CLIP_EOS;
  return ids;
}

/**
 * The model files a family's export folder must hold (external data comes on top, as the models name it).
 *
 * @param family `"sdxl"` or `"sd1"`.
 * @returns Paths relative to the export folder.
 *
 * @example
 * ```ts
 * import { exportModelFiles } from "./diffusion_prepare.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(exportModelFiles("sd1"), ["unet/model.onnx", "vae_encoder/model.onnx", "text_encoder/model.onnx"]);
 * ```
 */
export function exportModelFiles(family: DiffusionConfig["family"]): string[] {
  return [
    "unet/model.onnx",
    "vae_encoder/model.onnx",
    ...textEncodersOf(family).map((t) => `${t.folder}/model.onnx`),
  ];
}

/** Options of {@linkcode prepareDiffusionEncoder}. */
export interface PrepareDiffusionOptions {
  /** Runner for the text encoders. @default {`$DIFFCUT_ORT_RUNNER`, else "auto"} */
  runner?: OrtRunnerChoice;
  /** Progress lines. @default {no output} */
  log?: (line: string) => void;
}

/** What {@linkcode prepareDiffusionEncoder} made. */
export interface PreparedDiffusionEncoder {
  /** The install folder's `encoder.json`. */
  sidecarPath: string;
  /** The sidecar written there. */
  sidecar: Record<string, unknown>;
  /** The hooked value in the cut UNet. */
  hookValue: string;
  /** Node counts of the UNet before and after the cut. */
  unetNodes: { before: number; after: number };
  /** The files written, with hashes. */
  files: InstalledFile[];
}

type Graph = Onnx.IGraphProto;

function initializerDims(graph: Graph, name: string): number[] | undefined {
  const init = (graph.initializer ?? []).find((t) => t.name === name);
  return init ? (init.dims ?? []).map(Number) : undefined;
}

function initializerType(graph: Graph, name: string): number | undefined {
  return (graph.initializer ?? []).find((t) => t.name === name)?.dataType ?? undefined;
}

/** Follows Cast/Identity/Transpose back to an initializer (fp16 exports sometimes cast their weights). */
function weightOf(graph: Graph, value: string): string | undefined {
  const producer = new Map<string, Onnx.INodeProto>();
  for (const node of graph.node ?? []) for (const o of node.output ?? []) producer.set(o, node);
  let name = value;
  for (let hops = 0; hops < 4; hops++) {
    if (initializerDims(graph, name)) return name;
    const node = producer.get(name);
    if (!node || !["Cast", "Identity", "Transpose"].includes(node.opType ?? "")) return undefined;
    name = node.input![0];
  }
  return undefined;
}

function fail(what: string, expected: string): never {
  throw new RangeError(`${what}; expected ${expected}`);
}

/** Cuts the VAE encoder at quant_conv and appends `Slice(mean) * scalingFactor`. */
function cutVae(model: Onnx.ModelProto, diffusion: DiffusionConfig, label: string): string {
  const graph = model.graph!;
  const moments = findScopeOutput(graph, "quant_conv", label);
  const conv = (graph.node ?? []).find((n) => n.output?.includes(moments.value))!;
  const weight = conv.input?.[1] ? weightOf(graph, conv.input[1]) : undefined;
  const dims = weight ? initializerDims(graph, weight) : undefined;
  const moments2 = 2 * diffusion.latentChannels;
  if (dims && dims[0] !== moments2) {
    fail(
      `${label}'s quant_conv has ${dims[0]} output channels`,
      `${moments2} (mean and log-variance of ${diffusion.latentChannels} latent channels)`,
    );
  }
  pruneModel(model, [moments.value]);
  const half = weight !== undefined && initializerType(graph, weight) === onnx.TensorProto.DataType.FLOAT16;
  const i64 = (name: string, v: number) => ({
    name,
    dims: [1],
    dataType: onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(new BigInt64Array([BigInt(v)]).buffer),
  });
  graph.initializer!.push(
    i64("diffcut_mean_start", 0),
    i64("diffcut_mean_end", diffusion.latentChannels),
    i64("diffcut_mean_axis", 1),
    {
      name: "diffcut_scaling_factor",
      dims: [],
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(new Float32Array([diffusion.scalingFactor]).buffer),
    },
  );
  let source = moments.value;
  if (half) {
    graph.node!.push({
      name: "/diffcut/Cast",
      opType: "Cast",
      input: [source],
      output: ["diffcut_moments_f32"],
      attribute: [{ name: "to", i: 1, type: onnx.AttributeProto.AttributeType.INT }],
    });
    source = "diffcut_moments_f32";
  }
  graph.node!.push(
    {
      name: "/diffcut/mean/Slice",
      opType: "Slice",
      input: [source, "diffcut_mean_start", "diffcut_mean_end", "diffcut_mean_axis"],
      output: ["latent_mean"],
    },
    {
      name: "/diffcut/scale/Mul",
      opType: "Mul",
      input: ["latent_mean", "diffcut_scaling_factor"],
      output: ["latent"],
    },
  );
  graph.output = [{ name: "latent", type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }];
  return "latent";
}

/** Cuts the UNet at the hooked attn1 output; returns the value, node counts and the cut model's input names. */
function cutUnet(
  model: Onnx.ModelProto,
  sidecar: EncoderSidecar,
  label: string,
): { value: string; nodes: { before: number; after: number }; inputs: UnetInputs } {
  const graph = model.graph!;
  const diffusion = sidecar.diffusion!;
  const hook = diffusion.hook;
  const match = /^(.*)\.transformer_blocks\.(\d+)\.attn1$/.exec(hook);
  if (!match) {
    fail(`Hook '${hook}' of encoder '${sidecar.id}'`, "a path ending in transformer_blocks.<n>.attn1");
  }
  const [, attention, block] = match;
  const names = (graph.node ?? []).map((n) => n.name ?? "");
  if (!names.some((n) => /(^|\/)down_blocks\.\d+\//.test(n))) {
    fail(
      `${label} has no node named like '/down_blocks.<i>/…'`,
      "a UNet exported by torch.onnx.export (TorchScript naming, as Optimum and diffusers' conversion write); the dynamo exporter's names are not supported",
    );
  }
  const blockPattern = new RegExp(
    `(^|/)${moduleScope(attention).replace(/\./g, "\\.")}/transformer_blocks\\.(\\d+)/`,
  );
  let last = -1;
  for (const name of names) {
    const m = blockPattern.exec(name);
    if (m) last = Math.max(last, Number(m[2]));
  }
  if (last !== Number(block)) {
    fail(
      `${label}'s ${attention} has transformer blocks 0..${last}`,
      `the hooked block ${block} to be the last (is the export folder really ${
        sidecar.source.kind === "diffusers" ? sidecar.source.repo : sidecar.id
      }?)`,
    );
  }
  const found = findScopeOutput(graph, hook, label);
  // Width check: the to_out.0 projection's weight is [channels_in, channels_out] (MatMul) or [out, in] (Gemm).
  const toOut = new RegExp(`(^|/)${moduleScope(hook).replace(/\./g, "\\.")}/to_out\\.0/(MatMul|Gemm)`);
  const projection = (graph.node ?? []).find((n) => toOut.test(n.name ?? ""));
  const weight = projection?.input?.[1] ? weightOf(graph, projection.input[1]) : undefined;
  const dims = weight ? initializerDims(graph, weight) : undefined;
  if (!dims) {
    fail(
      `${label}'s ${hook}/to_out.0 has no weight initializer to check the width by`,
      "a MatMul or Gemm with a weight",
    );
  }
  const width = projection!.opType === "Gemm" ? dims[0] : dims[dims.length - 1];
  if (width !== sidecar.output.channels) {
    fail(
      `${label}'s ${hook} is ${width} channels wide`,
      `${sidecar.output.channels} (encoder '${sidecar.id}')`,
    );
  }
  const nodes = pruneModel(model, [found.value]).nodes;
  const inputs = (graph.input ?? []).map((i) => i.name ?? "");
  const pick = (name: string, required: boolean): string | undefined => {
    if (inputs.includes(name)) return name;
    if (required) {
      fail(`${label} cut at ${hook} has inputs [${inputs.join(", ")}]`, `an input named '${name}'`);
    }
    return undefined;
  };
  const sdxl = diffusion.family === "sdxl";
  return {
    value: found.value,
    nodes,
    inputs: {
      sample: pick("sample", true)!,
      timestep: pick("timestep", true)!,
      encoderHiddenStates: pick("encoder_hidden_states", true)!,
      ...(sdxl ? { textEmbeds: pick("text_embeds", true)!, timeIds: pick("time_ids", true)! } : {}),
    },
  };
}

async function runTextEncoder(
  dir: string,
  spec: TextEncoderSpec,
  runner: OrtRunnerChoice | undefined,
): Promise<{ hidden: FloatTensor; pooled?: FloatTensor }> {
  const path = join(dir, spec.folder, "model.onnx");
  const file = await readOnnxModel(path);
  const externalData = await loadExternalData(path, file.externalLocations);
  const session = await createOrtSession(await Deno.readFile(path), {
    label: `${spec.folder}/model.onnx`,
    runner,
    externalData,
    modelPath: path,
  });
  try {
    let hiddenName = "last_hidden_state";
    if (spec.hidden === "penultimate") {
      const layers = session.outputNames
        .map((n) => /^hidden_states\.(\d+)$/.exec(n))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]));
      if (layers.length === 0) {
        fail(
          `${path} has outputs [${session.outputNames.join(", ")}]`,
          "hidden_states.0 … hidden_states.N (an SDXL export with hidden states, as optimum-cli writes)",
        );
      }
      hiddenName = `hidden_states.${Math.max(...layers) - 1}`;
    }
    const wanted = [hiddenName, ...(spec.pooled ? ["text_embeds"] : [])];
    for (const name of wanted) {
      if (!session.outputNames.includes(name)) {
        fail(`${path} has outputs [${session.outputNames.join(", ")}]`, `an output '${name}'`);
      }
    }
    const inputName = session.inputNames.includes("input_ids") ? "input_ids" : session.inputNames[0];
    const ids = emptyPromptIds(spec.pad);
    const out = await session.run({ [inputName]: { data: ids, dims: [1, CLIP_LENGTH] } }, wanted);
    const hidden = out[hiddenName];
    if (hidden.dims.length !== 3 || hidden.dims[0] !== 1 || hidden.dims[1] !== CLIP_LENGTH) {
      fail(`${path} output '${hiddenName}' has shape [${hidden.dims}]`, `[1, ${CLIP_LENGTH}, d]`);
    }
    return { hidden, ...(spec.pooled ? { pooled: out.text_embeds } : {}) };
  } finally {
    await session.dispose();
  }
}

/** Concatenates `[1, 77, d_i]` tensors along the last axis. */
function concatLastAxis(parts: FloatTensor[]): FloatTensor {
  const widths = parts.map((t) => t.dims[2]);
  const total = widths.reduce((a, b) => a + b, 0);
  const data = new Float32Array(CLIP_LENGTH * total);
  for (let row = 0; row < CLIP_LENGTH; row++) {
    let at = row * total;
    parts.forEach((t, i) => {
      data.set(t.data.subarray(row * widths[i], (row + 1) * widths[i]), at);
      at += widths[i];
    });
  }
  return { data, dims: [1, CLIP_LENGTH, total] };
}

/**
 * Lists what an export folder lacks, for the error message.
 *
 * @param fromDir The export folder.
 * @param family The model family.
 * @returns The missing model files (relative paths); empty if all are there.
 *
 * @example
 * ```ts
 * import { missingExportFiles } from "./diffusion_prepare.ts";
 * import assert from "node:assert/strict";
 * assert.equal((await missingExportFiles("/nonexistent", "sd1")).length, 3);
 * ```
 */
export async function missingExportFiles(
  fromDir: string,
  family: DiffusionConfig["family"],
): Promise<string[]> {
  const missing: string[] = [];
  for (const file of exportModelFiles(family)) {
    try {
      await Deno.stat(join(fromDir, file));
    } catch {
      missing.push(file);
    }
  }
  return missing;
}

/**
 * Prepares a diffusion encoder from an ONNX Stable-Diffusion export folder (see the module notes).
 *
 * @param registrySidecar The encoder's registry sidecar (it must have a `diffusion` section).
 * @param registryJson The same sidecar as parsed JSON (kept as is in `encoder.json`, plus the prepared fields).
 * @param fromDir The export folder.
 * @param toDir The install folder (created if needed).
 * @param options Runner for the text encoders, progress lines.
 * @returns What was written.
 * @throws {Deno.errors.NotFound} If model files or their external data are missing (all of them are named).
 * @throws {RangeError} If the hooked layer, `quant_conv` or the text encoders' outputs are not what the encoder
 * needs.
 *
 * @example
 * ```ts ignore
 * // See tests/install/diffusion_prepare_test.ts, which prepares generated SDXL- and SD1-layout exports.
 * ```
 */
export async function prepareDiffusionEncoder(
  registrySidecar: EncoderSidecar,
  registryJson: Record<string, unknown>,
  fromDir: string,
  toDir: string,
  options: PrepareDiffusionOptions = {},
): Promise<PreparedDiffusionEncoder> {
  const diffusion = registrySidecar.diffusion;
  if (!diffusion) {
    throw new TypeError(
      `Encoder '${registrySidecar.id}' has no diffusion section; expected a diffusion encoder`,
    );
  }
  const log = options.log ?? (() => {});
  const from = resolve(fromDir);
  const missing = await missingExportFiles(from, diffusion.family);
  if (missing.length > 0) {
    const how = registrySidecar.source.kind === "diffusers"
      ? ` (made by: ${registrySidecar.source.exportCommand.replace(/DIR/g, from)})`
      : "";
    throw new Deno.errors.NotFound(
      `Export folder '${from}' lacks ${missing.join(", ")}; expected the ONNX Stable-Diffusion layout${how}`,
    );
  }
  // Check every model and its external data up front, so nothing is half-done when a file is missing.
  const unetPath = join(from, "unet", "model.onnx");
  const vaePath = join(from, "vae_encoder", "model.onnx");
  const unet = await readOnnxModel(unetPath);
  const vae = await readOnnxModel(vaePath);
  for (const spec of textEncodersOf(diffusion.family)) {
    await readOnnxModel(join(from, spec.folder, "model.onnx"));
  }

  await Deno.mkdir(toDir, { recursive: true });
  const stage = await Deno.makeTempDir({ dir: toDir, prefix: ".prepare-" });
  try {
    log(`cutting the VAE encoder at quant_conv (mean × ${diffusion.scalingFactor})`);
    const vaeOutput = cutVae(vae.model, diffusion, "vae_encoder/model.onnx");
    const vaeInput = vae.model.graph!.input?.[0]?.name ?? "sample";
    // The VAE encoder (34M parameters, 136 MB in fp32) stays in one file.
    await writeOnnxModel(join(stage, "vae_encoder.onnx"), vae.model, {
      sourceDir: join(from, "vae_encoder"),
      externalThreshold: Number.POSITIVE_INFINITY,
    });

    log(`cutting the UNet at ${diffusion.hook}`);
    const cut = cutUnet(unet.model, registrySidecar, "unet/model.onnx");
    log(`  kept ${cut.nodes.after} of ${cut.nodes.before} nodes; output '${cut.value}'`);
    await writeOnnxModel(join(stage, "unet_encoder.onnx"), unet.model, { sourceDir: join(from, "unet") });

    log("computing the empty-prompt conditioning");
    const results = [];
    for (const spec of textEncodersOf(diffusion.family)) {
      log(`  ${spec.folder} (pad id ${spec.pad})`);
      results.push(await runTextEncoder(from, spec, options.runner));
    }
    const hidden = concatLastAxis(results.map((r) => r.hidden));
    const pooled = results.find((r) => r.pooled)?.pooled;
    const conditioning = new Float32Array(hidden.data.length + (pooled?.data.length ?? 0));
    conditioning.set(hidden.data);
    if (pooled) conditioning.set(pooled.data, hidden.data.length);
    await Deno.writeFile(join(stage, "conditioning.bin"), new Uint8Array(conditioning.buffer));

    const names = ["vae_encoder.onnx", "unet_encoder.onnx", "unet_encoder.onnx_data", "conditioning.bin"];
    const files: InstalledFile[] = [];
    for (const name of names) {
      try {
        files.push({ path: name, ...(await sha256File(join(stage, name))) });
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound) || name.endsWith("_data") === false) throw error;
      }
    }
    const prepared: DiffusionConfig = {
      ...(registryJson.diffusion as DiffusionConfig),
      vae: "vae_encoder.onnx",
      vaeOutput,
      unetInputs: cut.inputs,
      conditioning: "conditioning.bin",
      conditioningShapes: {
        encoderHiddenStates: [...hidden.dims],
        ...(pooled ? { textEmbeds: [...pooled.dims] } : {}),
      },
    };
    const sidecar: Record<string, unknown> = {
      ...registryJson,
      model: "unet_encoder.onnx",
      sha256: files.find((f) => f.path === "unet_encoder.onnx")!.sha256,
      input: { ...(registryJson.input as object), name: vaeInput },
      output: { ...(registryJson.output as object), name: cut.value },
      diffusion: prepared,
      files,
      preparedFrom: from,
    };
    for (const file of files) await Deno.rename(join(stage, file.path), join(toDir, file.path));
    const sidecarPath = join(toDir, "encoder.json");
    await writeFileAtomic(sidecarPath, new TextEncoder().encode(JSON.stringify(sidecar, null, 2) + "\n"));
    log(`wrote ${sidecarPath}`);
    return { sidecarPath, sidecar, hookValue: cut.value, unetNodes: cut.nodes, files };
  } finally {
    await Deno.remove(stage, { recursive: true }).catch(() => undefined);
  }
}
