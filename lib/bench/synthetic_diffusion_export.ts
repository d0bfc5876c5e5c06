/**
 * Tiny generated ONNX Stable-Diffusion export folders, for the diffusion tests and the encoder benchmark
 * (`bench_encoders.ts`); no weights are downloaded.
 *
 * They mimic what the TorchScript exporter writes for diffusers models (Optimum's `optimum-cli export onnx --task
 * text-to-image` and diffusers' old `convert_stable_diffusion_checkpoint_to_onnx.py`): the folder layout, input and
 * output names (`sample`, `timestep`, `encoder_hidden_states`, `text_embeds`, `time_ids`, `input_ids`,
 * `last_hidden_state`, `hidden_states.N`, `text_embeds`, `latent_sample`), node names built from module paths
 * (`/down_blocks.2/attentions.1/transformer_blocks.3/attn1/to_out.0/MatMul`, `/quant_conv/Conv`,
 * `/text_model/encoder/layers.0/...`), the AttnProcessor2_0 `Div` by `rescale_output_factor` after `to_out`, the
 * residual `Add` outside `attn1`, a VAE that samples with `RandomNormalLike`, and weights in external-data files
 * (`model.onnx_data` as Optimum names it, `weights.pb` as the diffusers script does). Widths are small: `channels`
 * stands for 1280, the text widths for 768 and 1280. The UNet downsamples the latent by 4 like SDXL's first two
 * down blocks, so an S² image gives (S/32)² tokens.
 *
 * @module
 */

import { join } from "node:path";
import p from "npm:onnx-proto@8.0.1";
import type { onnx as Onnx } from "npm:onnx-proto@8.0.1";
import { parseSidecar } from "../encoder/sidecar.ts";
import { prepareDiffusionEncoder } from "../install/diffusion_prepare.ts";
import { seededVector } from "../random.ts";

const { onnx } = p;
const FLOAT = 1;
const INT64 = 7;
const INT32 = 6;

/** Options of the generated export. */
export interface DiffusionExportOptions {
  /** `"sdxl"` (two text encoders, text_embeds/time_ids) or `"sd1"`. */
  family: "sdxl" | "sd1";
  /** Transformer blocks per attention module of down_blocks.2. */
  depth: number;
  /** Hooked width (stands for 1280). */
  channels: number;
  /** Text widths (stand for 768 and 1280). */
  textWidths: number[];
  /** External-data file name of the UNet. */
  unetData: string;
  /** Element type of `input_ids` (Optimum: int64; diffusers' script: int32). */
  idsType: "int64" | "int32";
  /** Element type of `timestep`. */
  timestepType: "int64" | "float32";
  /** Seed of the weights. */
  seed: number;
}

/** Builds a graph with torch-style node and value names. */
class Builder {
  nodes: Onnx.INodeProto[] = [];
  inits: Onnx.ITensorProto[] = [];
  private counts = new Map<string, number>();
  private seed: number;
  constructor(seed: number) {
    this.seed = seed;
  }

  /** Adds a node named `${scope}/${op}[_n]`; returns its output value `${name}_output_0`. */
  op(scope: string, opType: string, inputs: string[], attribute: Onnx.IAttributeProto[] = []): string {
    const base = `${scope}/${opType}`;
    const n = this.counts.get(base) ?? 0;
    this.counts.set(base, n + 1);
    const name = n === 0 ? base : `${base}_${n}`;
    const output = `${name}_output_0`;
    this.nodes.push({ name, opType, input: inputs, output: [output], attribute });
    return output;
  }

  /** A float weight with seeded values scaled by `scale`. */
  weight(name: string, dims: number[], scale = 0.3): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const values = Float32Array.from(seededVector(count, this.seed++), (v) => v * scale);
    this.inits.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer) });
    return name;
  }

  /** A float weight with given values. */
  floats(name: string, dims: number[], values: number[]): string {
    this.inits.push({
      name,
      dims,
      dataType: FLOAT,
      rawData: new Uint8Array(new Float32Array(values).buffer),
    });
    return name;
  }

  /** An int64 constant. */
  ints(name: string, values: number[]): string {
    const data = new BigInt64Array(values.map(BigInt));
    this.inits.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  linear(scope: string, x: string, inWidth: number, outWidth: number, bias = true): string {
    const w = this.weight(
      `${scope.slice(1).replace(/\//g, ".")}.weight`,
      [inWidth, outWidth],
      1 / Math.sqrt(inWidth),
    );
    const y = this.op(scope, "MatMul", [x, w]);
    if (!bias) return y;
    const b = this.weight(`${scope.slice(1).replace(/\//g, ".")}.bias`, [outWidth], 0.1);
    return this.op(scope, "Add", [y, b]);
  }

  conv(scope: string, x: string, cin: number, cout: number, kernel: number, stride: number): string {
    const key = scope.slice(1).replace(/\//g, ".");
    const w = this.weight(`${key}.weight`, [cout, cin, kernel, kernel], 1 / Math.sqrt(cin * kernel * kernel));
    const b = this.weight(`${key}.bias`, [cout], 0.1);
    const pad = Math.floor((kernel - 1) / 2);
    return this.op(scope, "Conv", [x, w, b], [
      ints("kernel_shape", [kernel, kernel]),
      ints("strides", [stride, stride]),
      ints("pads", [pad, pad, pad, pad]),
    ]);
  }

  layerNorm(scope: string, x: string, width: number): string {
    const key = scope.slice(1).replace(/\//g, ".");
    const s = this.floats(`${key}.weight`, [width], Array.from({ length: width }, (_, i) => 1 + 0.01 * i));
    const b = this.floats(`${key}.bias`, [width], Array.from({ length: width }, (_, i) => 0.02 * i));
    return this.op(scope, "LayerNormalization", [x, s, b], [int("axis", -1), float("epsilon", 1e-5)]);
  }

  /** Scaled dot-product attention of `q` over `kv` (tokens × width), as AttnProcessor2_0 exports it. */
  attention(scope: string, x: string, context: string, width: number, contextWidth: number): string {
    const q = this.linear(`${scope}/to_q`, x, width, width, false);
    const k = this.linear(`${scope}/to_k`, context, contextWidth, width, false);
    const v = this.linear(`${scope}/to_v`, context, contextWidth, width, false);
    const kt = this.op(scope, "Transpose", [k], [ints("perm", [0, 2, 1])]);
    const scores = this.op(scope, "MatMul", [q, kt]);
    const scale = this.floats(`${scope.slice(1)}.scale`, [], [1 / Math.sqrt(width)]);
    const scaled = this.op(scope, "Mul", [scores, scale]);
    const weights = this.op(scope, "Softmax", [scaled], [int("axis", -1)]);
    const mixed = this.op(scope, "MatMul", [weights, v]);
    const out = this.linear(`${scope}/to_out.0`, mixed, width, width);
    const one = this.floats(`${scope.slice(1)}.rescale_output_factor`, [], [1]);
    return this.op(scope, "Div", [out, one]);
  }
}

function ints(name: string, values: number[]): Onnx.IAttributeProto {
  return { name, ints: values, type: onnx.AttributeProto.AttributeType.INTS };
}
function int(name: string, value: number): Onnx.IAttributeProto {
  return { name, i: value, type: onnx.AttributeProto.AttributeType.INT };
}
function float(name: string, value: number): Onnx.IAttributeProto {
  return { name, f: value, type: onnx.AttributeProto.AttributeType.FLOAT };
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function encodeModel(graph: Onnx.IGraphProto): Onnx.ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "pytorch",
    graph: onnx.GraphProto.create({ name: "main_graph", ...graph }),
  });
}

/** Writes a model, moving initializers over 1 KiB into one external-data file (no alignment, in order), as onnx.save does. */
async function writeWithExternalData(path: string, model: Onnx.ModelProto, dataName: string): Promise<void> {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const init of model.graph!.initializer ?? []) {
    const raw = init.rawData!;
    if (raw.length <= 1024) continue;
    chunks.push(raw);
    init.rawData = new Uint8Array();
    init.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    init.externalData = [
      { key: "location", value: dataName },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(raw.length) },
    ];
    offset += raw.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  await Deno.writeFile(join(path, "..", dataName), data);
  await Deno.writeFile(path, onnx.ModelProto.encode(model).finish());
}

/** The module path of the hooked attn1 for a depth. */
export function hookPath(depth: number): string {
  return `down_blocks.2.attentions.1.transformer_blocks.${depth - 1}.attn1`;
}

/** Builds the UNet; returns the model and the hooked value's name. */
export function unetModel(o: DiffusionExportOptions): { model: Onnx.ModelProto; hookValue: string } {
  const b = new Builder(o.seed);
  const c = o.channels;
  const context = o.textWidths.reduce((a, v) => a + v, 0);
  // Time embedding (+ SDXL's added conditioning).
  const t = b.op("", "Cast", ["timestep"], [int("to", FLOAT)]);
  const t2 = b.op("/time_proj", "Unsqueeze", [t, b.ints("axes_t", [1])]);
  const freqs = b.weight("time_proj.freqs", [1, c], 0.02);
  const angles = b.op("/time_proj", "MatMul", [t2, freqs]);
  const sin = b.op("/time_proj", "Sin", [angles]);
  let temb = b.linear("/time_embedding/linear_1", sin, c, c);
  if (o.family === "sdxl") {
    const ids = b.linear(
      "/add_embedding/linear_ids",
      b.op("/add_time_proj", "Mul", ["time_ids", b.floats("time_scale", [], [1 / 1024])]),
      6,
      c,
    );
    const text = b.linear("/add_embedding/linear_1", "text_embeds", o.textWidths[o.textWidths.length - 1], c);
    temb = b.op("", "Add", [temb, b.op("/add_embedding", "Add", [ids, text])]);
  }
  const temb4 = b.op("", "Unsqueeze", [temb, b.ints("axes_hw", [2, 3])]);
  // Down blocks 0 and 1: conv + time embedding, then stride-2 downsamplers.
  let h = b.conv("/conv_in", "sample", 4, c, 3, 1);
  for (const block of [0, 1]) {
    const r = b.conv(`/down_blocks.${block}/resnets.0/conv1`, h, c, c, 3, 1);
    h = b.op(`/down_blocks.${block}/resnets.0`, "Add", [
      h,
      b.op(`/down_blocks.${block}/resnets.0`, "Tanh", [
        b.op(`/down_blocks.${block}/resnets.0`, "Add", [r, temb4]),
      ]),
    ]);
    h = b.conv(`/down_blocks.${block}/downsamplers.0/conv`, h, c, c, 3, 2);
  }
  // down_blocks.2: two attention modules of `depth` transformer blocks each.
  let hookValue = "";
  for (const attention of [0, 1]) {
    const scope = `/down_blocks.2/attentions.${attention}`;
    const shape = b.op(scope, "Shape", [h]);
    const flat = b.op(scope, "Reshape", [h, b.ints(`${scope}.flat`, [1, c, -1])]);
    let x = b.op(scope, "Transpose", [flat], [ints("perm", [0, 2, 1])]);
    x = b.linear(`${scope}/proj_in`, x, c, c);
    for (let block = 0; block < o.depth; block++) {
      const bs = `${scope}/transformer_blocks.${block}`;
      const n1 = b.layerNorm(`${bs}/norm1`, x, c);
      const a1 = b.attention(`${bs}/attn1`, n1, n1, c, c);
      if (attention === 1 && block === o.depth - 1) hookValue = a1;
      x = b.op(bs, "Add", [a1, x]);
      const n2 = b.layerNorm(`${bs}/norm2`, x, c);
      x = b.op(bs, "Add", [b.attention(`${bs}/attn2`, n2, "encoder_hidden_states", c, context), x]);
      const n3 = b.layerNorm(`${bs}/norm3`, x, c);
      const ff = b.linear(
        `${bs}/ff/net.2`,
        b.op(`${bs}/ff/net.0`, "Tanh", [b.linear(`${bs}/ff/net.0/proj`, n3, c, 2 * c)]),
        2 * c,
        c,
      );
      x = b.op(bs, "Add", [ff, x]);
    }
    x = b.linear(`${scope}/proj_out`, x, c, c);
    const back = b.op(scope, "Reshape", [b.op(scope, "Transpose", [x], [ints("perm", [0, 2, 1])]), shape]);
    h = b.op(scope, "Add", [back, h]);
  }
  if (o.family === "sd1") {
    h = b.conv("/down_blocks.2/downsamplers.0/conv", h, c, c, 3, 2);
    h = b.conv("/down_blocks.3/resnets.0/conv1", h, c, c, 3, 1);
    h = b.op("/up_blocks.0/upsamplers.0", "Resize", [h, "", b.floats("up_scales0", [4], [1, 1, 2, 2])], [{
      name: "mode",
      s: new TextEncoder().encode("nearest"),
      type: onnx.AttributeProto.AttributeType.STRING,
    }]);
  }
  h = b.conv("/mid_block/resnets.0/conv1", h, c, c, 3, 1);
  const up = b.op("/up_blocks.1/upsamplers.0", "Resize", [h, "", b.floats("up_scales", [4], [1, 1, 4, 4])], [{
    name: "mode",
    s: new TextEncoder().encode("nearest"),
    type: onnx.AttributeProto.AttributeType.STRING,
  }]);
  const out = b.conv("/conv_out", up, c, 4, 3, 1);
  b.nodes.push({ name: "/Identity", opType: "Identity", input: [out], output: ["out_sample"] });
  const inputs = [
    valueInfo("sample", FLOAT, ["batch", 4, "height", "width"]),
    valueInfo("timestep", o.timestepType === "int64" ? INT64 : FLOAT, [1]),
    valueInfo("encoder_hidden_states", FLOAT, ["batch", 77, context]),
    ...(o.family === "sdxl"
      ? [
        valueInfo("text_embeds", FLOAT, ["batch", o.textWidths[1]]),
        valueInfo("time_ids", FLOAT, ["batch", 6]),
      ]
      : []),
  ];
  const model = encodeModel({
    node: b.nodes,
    initializer: b.inits,
    input: inputs,
    output: [valueInfo("out_sample", FLOAT, ["batch", 4, "height", "width"])],
  });
  return { model, hookValue };
}

/** The VAE encoder: stride-8 conv to 8 moments, quant_conv, chunk, and a sampled latent (as the old exporter did). */
export function vaeModel(o: DiffusionExportOptions): Onnx.ModelProto {
  const b = new Builder(o.seed + 1000);
  const h = b.op("/encoder/conv_act", "Tanh", [b.conv("/encoder/conv_in", "sample", 3, 8, 8, 8)]);
  // Real 8x8 kernels with stride 8 and pad 3 would shift the grid; use no padding for the stem.
  (b.nodes[b.nodes.length - 2].attribute as Onnx.IAttributeProto[])[2] = ints("pads", [0, 0, 0, 0]);
  const moments = b.conv("/quant_conv", h, 8, 8, 1, 1);
  const split = {
    name: "/Split",
    opType: "Split",
    input: [moments, b.ints("split", [4, 4])],
    output: ["/Split_output_0", "/Split_output_1"],
    attribute: [int("axis", 1)],
  };
  b.nodes.push(split);
  const logvar = b.op("", "Clip", ["/Split_output_1", b.floats("min", [], [-30]), b.floats("max", [], [20])]);
  const std = b.op("", "Exp", [b.op("", "Mul", [logvar, b.floats("half", [], [0.5])])]);
  const eps = b.op("", "RandomNormalLike", ["/Split_output_0"], [float("scale", 1), float("mean", 0)]);
  const sampled = b.op("", "Add", ["/Split_output_0", b.op("", "Mul", [std, eps])]);
  b.nodes.push({ name: "/Identity", opType: "Identity", input: [sampled], output: ["latent_sample"] });
  return encodeModel({
    node: b.nodes,
    initializer: b.inits,
    input: [valueInfo("sample", FLOAT, ["batch", 3, "height", "width"])],
    output: [valueInfo("latent_sample", FLOAT, ["batch", 4, "height_latent", "width_latent"])],
  });
}

/** A CLIP-like text encoder: token embedding (vocabulary 49408), 3 layers, final norm; hidden states as outputs. */
export function textEncoderModel(
  o: DiffusionExportOptions,
  width: number,
  withProjection: boolean,
  hiddenStates: boolean,
  seed: number,
): Onnx.ModelProto {
  const b = new Builder(seed);
  const table = b.weight("text_model.embeddings.token_embedding.weight", [49408, width], 1);
  const ids = o.idsType === "int32" ? b.op("", "Cast", ["input_ids"], [int("to", INT64)]) : "input_ids";
  let x = b.op("/text_model/embeddings/token_embedding", "Gather", [table, ids], [int("axis", 0)]);
  const pos = b.weight("text_model.embeddings.position_embedding.weight", [1, 77, width], 0.1);
  x = b.op("/text_model/embeddings", "Add", [x, pos]);
  const states = [x];
  for (let layer = 0; layer < 3; layer++) {
    const s = `/text_model/encoder/layers.${layer}`;
    const y = b.linear(`${s}/mlp/fc1`, b.layerNorm(`${s}/layer_norm1`, x, width), width, width);
    x = b.op(s, "Add", [x, b.op(s, "Tanh", [y])]);
    states.push(x);
  }
  const last = b.layerNorm("/text_model/final_layer_norm", x, width);
  b.nodes.push({ name: "/Identity", opType: "Identity", input: [last], output: ["last_hidden_state"] });
  const outputs = [valueInfo("last_hidden_state", FLOAT, ["batch", 77, width])];
  // Pooled output: the EOS token's state (argmax of the ids, as CLIP does).
  const idsFloat = b.op("/text_model", "Cast", [ids], [int("to", FLOAT)]);
  const eos = b.op("/text_model", "ArgMax", [idsFloat], [int("axis", -1), int("keepdims", 0)]);
  const pooled = b.op("/text_model", "Gather", [
    b.op("/text_model", "Squeeze", [last, b.ints("axis0", [0])]),
    eos,
  ], [int("axis", 0)]);
  if (withProjection) {
    const projected = b.linear("/text_projection", pooled, width, width, false);
    b.nodes.push({ name: "/Identity_1", opType: "Identity", input: [projected], output: ["text_embeds"] });
    outputs.unshift(valueInfo("text_embeds", FLOAT, ["batch", width]));
  } else {
    b.nodes.push({ name: "/Identity_1", opType: "Identity", input: [pooled], output: ["pooler_output"] });
    outputs.push(valueInfo("pooler_output", FLOAT, ["batch", width]));
  }
  if (hiddenStates) {
    states.forEach((state, i) => {
      b.nodes.push({
        name: `/Identity_h${i}`,
        opType: "Identity",
        input: [state],
        output: [`hidden_states.${i}`],
      });
      outputs.push(valueInfo(`hidden_states.${i}`, FLOAT, ["batch", 77, width]));
    });
  }
  return encodeModel({
    node: b.nodes,
    initializer: b.inits,
    input: [valueInfo("input_ids", o.idsType === "int64" ? INT64 : INT32, ["batch", 77])],
    output: outputs,
  });
}

/** Options for an SSD-1B-like export (depth 4, hook block 3). */
export const SDXL_EXPORT: DiffusionExportOptions = Object.freeze({
  family: "sdxl",
  depth: 4,
  channels: 16,
  textWidths: [8, 12],
  unetData: "model.onnx_data",
  idsType: "int64",
  timestepType: "int64",
  seed: 7,
});

/** Options for an SD1.4-like export (depth 1, diffusers-script names: weights.pb, int32 ids, float timestep). */
export const SD1_EXPORT: DiffusionExportOptions = Object.freeze({
  family: "sd1",
  depth: 1,
  channels: 16,
  textWidths: [8],
  unetData: "weights.pb",
  idsType: "int32",
  timestepType: "float32",
  seed: 11,
});

/**
 * Writes an export folder: `unet/model.onnx` + external data, `vae_encoder/model.onnx`, `text_encoder/model.onnx`
 * and, for SDXL, `text_encoder_2/model.onnx` + `model.onnx_data`.
 *
 * @returns The hooked value's name in the full UNet.
 */
export async function writeDiffusionExport(
  dir: string,
  o: DiffusionExportOptions,
): Promise<{ hookValue: string }> {
  for (const sub of ["unet", "vae_encoder", "text_encoder", "text_encoder_2", "tokenizer"]) {
    if (sub === "text_encoder_2" && o.family !== "sdxl") continue;
    await Deno.mkdir(join(dir, sub), { recursive: true });
  }
  const { model, hookValue } = unetModel(o);
  await writeWithExternalData(join(dir, "unet", "model.onnx"), model, o.unetData);
  await Deno.writeFile(join(dir, "vae_encoder", "model.onnx"), onnx.ModelProto.encode(vaeModel(o)).finish());
  const sdxl = o.family === "sdxl";
  const te1 = textEncoderModel(o, o.textWidths[0], false, sdxl, o.seed + 2000);
  await Deno.writeFile(join(dir, "text_encoder", "model.onnx"), onnx.ModelProto.encode(te1).finish());
  if (sdxl) {
    const te2 = textEncoderModel(o, o.textWidths[1], true, true, o.seed + 3000);
    await writeWithExternalData(join(dir, "text_encoder_2", "model.onnx"), te2, "model.onnx_data");
  }
  await Deno.writeTextFile(join(dir, "tokenizer", "vocab.json"), "{}\n"); // present in real exports; unused
  return { hookValue };
}

/** The full UNet with the hooked value added as a second graph output (serialised, weights inline). */
export function unetWithHookOutput(o: DiffusionExportOptions): { bytes: Uint8Array; hookValue: string } {
  const { model, hookValue } = unetModel(o);
  model.graph!.output!.push({ name: hookValue, type: { tensorType: { elemType: FLOAT } } });
  return { bytes: onnx.ModelProto.encode(model).finish(), hookValue };
}

/** Prepares the generated SDXL-layout export (the tests' largest model) in `dir`; returns its sidecar path. */
export async function prepareTestDiffusionEncoder(dir: string): Promise<string> {
  await writeDiffusionExport(join(dir, "export"), SDXL_EXPORT);
  const json = JSON.parse(await Deno.readTextFile(new URL("../../models/ssd-1b.json", import.meta.url)));
  json.output.channels = SDXL_EXPORT.channels;
  json.input.size = 128;
  json.output.grid = 4;
  const prepared = await prepareDiffusionEncoder(
    parseSidecar(json, "ssd-1b.json"),
    json,
    join(dir, "export"),
    join(dir, "install"),
  );
  return prepared.sidecarPath;
}
