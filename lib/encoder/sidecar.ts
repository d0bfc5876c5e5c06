/**
 * The JSON sidecar that describes an ONNX encoder (docs/DESIGN.md §5): where the model comes from, how to feed it
 * and how to read its features, plus the clustering settings that suit those features.
 *
 * ```json
 * {
 *   "format": 1,
 *   "id": "isnet",
 *   "name": "ISNet decoder features (stand-in)",
 *   "description": "…",
 *   "licence": "…",
 *   "source": { "kind": "npm", "package": "@imgly/background-removal-data", "version": "1.4.5", "resource": "/models/medium",
 *               "sha256": "e62a61be…" },
 *   "standIn": true,
 *   "standInLabel": "stand-in: salient-object network features, not diffusion features",
 *   "input": { "name": "input", "size": 1024, "layout": "NCHW", "channelOrder": "RGB",
 *              "normalisation": { "scale": 255, "mean": [128, 128, 128], "std": [256, 256, 256] } },
 *   "output": { "name": "input.740", "layout": "NCHW", "channels": 512, "grid": 32 },
 *   "defaults": { "tau": 0.5, "alpha": 10 }
 * }
 * ```
 *
 * A model input value is `(x * scale - mean[c]) / std[c]` for an image value `x` in [0, 1] of channel `c` (in the
 * model's channel order). A `"url"` source (downloaded by the user) or a `"file"` source (made locally, e.g. by an
 * export script) names a `model` file relative to the sidecar, checked against `sha256` when that is given; an
 * `"npm"` source is a model assembled from an npm package's resources and cut at `output.name` (see
 * `isnet_model.ts`), with the built model's SHA-256 pinned in `source.sha256`. Registry sidecars
 * (`models/<id>.json`, see `lib/install/registry.ts`) use a `"hub"` source (files that `deno task models fetch`
 * downloads, each with its SHA-256 pinned where known) or a `"diffusers"` source (an ONNX export that `deno task models prepare`
 * cuts); their installed copy (`<cache>/<id>/encoder.json`) adds `files` with every file's SHA-256 (and
 * `"pinned": false` on files the user registered by hand without a pin). A `diffusion` section describes the VAE →
 * noise → UNet pipeline of a diffusion encoder (hook, scaling factor, timestep, noise seed, schedule, and once
 * prepared the file names and UNet inputs); `input.resizable` with `output.patchSize` makes the input size a
 * loader option.
 *
 * @module
 */

import type { EncoderDefaults } from "../types.ts";
import { type BetaSchedule, SCALED_LINEAR_SCHEDULE } from "./diffusion_noise.ts";

/** A model assembled from an npm package's chunked resources (as in `@imgly/background-removal-data`). */
export interface NpmModelSource {
  /** Discriminant. */
  kind: "npm";
  /** npm package name, e.g. `"@imgly/background-removal-data"`. */
  package: string;
  /** Exact package version, e.g. `"1.4.5"`. */
  version: string;
  /** Key in the package's `dist/resources.json`, e.g. `"/models/medium"`. */
  resource: string;
  /** Where the network itself comes from (credit), if known. */
  homepage?: string;
  /**
   * Pinned SHA-256 (64 lowercase hex digits) of the built model: the resource assembled and cut at `output.name`.
   * The build is deterministic, so a cached model that differs is rebuilt and a fresh build that differs is an
   * error (the package or the pruning changed). Without a pin, a cached model is trusted if it matches its
   * `.sha256` file.
   */
  sha256?: string;
}

/** A model file the user downloads from a URL and places next to the sidecar. */
export interface UrlModelSource {
  /** Discriminant. */
  kind: "url";
  /** Download address of the model file. */
  url: string;
}

/** A model file made locally (e.g. by `models/export_diffusion_encoder.py`, or a test) next to the sidecar. */
export interface FileModelSource {
  /** Discriminant. */
  kind: "file";
  /** How the file is made, if worth saying (a script and its arguments). */
  exportedBy?: string;
}

/** One file of a model-hub repository. */
export interface HubFile {
  /** Path inside the repository, e.g. `"onnx/model.onnx"`. */
  path: string;
  /** Expected SHA-256 (hex), when pinned. Unpinned files are checked against the hub's own hash if it sends one. */
  sha256?: string;
  /** Expected size in bytes, when known. */
  bytes?: number;
}

/** Files `deno task models fetch` downloads from a model hub into the encoder's install folder. */
export interface HubModelSource {
  /** Discriminant. */
  kind: "hub";
  /** Repository, e.g. `"Xenova/dinov2-large"`. */
  repo: string;
  /** Branch, tag or commit. @default {"main"} */
  revision: string;
  /** The files to download (the first is the model). */
  files: HubFile[];
  /** Model card or project page (credit). */
  homepage?: string;
}

/**
 * A diffusion model whose encoder `deno task models prepare <id> --from DIR` derives from an ONNX Stable-Diffusion
 * export folder (`unet/model.onnx`, `vae_encoder/model.onnx`, `text_encoder/`, `text_encoder_2/`).
 */
export interface DiffusersModelSource {
  /** Discriminant. */
  kind: "diffusers";
  /** The diffusers repository the export is made from, e.g. `"segmind/SSD-1B"`. */
  repo: string;
  /** Model card (credit). */
  homepage?: string;
  /** A command that makes the export folder (DIR stands for the folder). */
  exportCommand: string;
  /** A ready-made export in the same layout that `fetch` can download, if one is known. */
  onnxExport?: { repo: string; revision: string; files: HubFile[] };
}

/** Where an encoder's model comes from. */
export type ModelSource =
  | NpmModelSource
  | UrlModelSource
  | FileModelSource
  | HubModelSource
  | DiffusersModelSource;

/** Names of the cut UNet's inputs, as found in the export. */
export interface UnetInputs {
  /** The noisy latent, `[1, 4, h, w]`. */
  sample: string;
  /** The timestep, `[1]` (float or integer as the export declares). */
  timestep: string;
  /** The prompt embeddings, `[1, 77, d]`. */
  encoderHiddenStates: string;
  /** SDXL: the pooled text embedding, `[1, 1280]`. */
  textEmbeds?: string;
  /** SDXL: `[orig h, orig w, crop top, crop left, target h, target w]`, `[1, 6]`. */
  timeIds?: string;
}

/**
 * A diffusion encoder (REFERENCE.md §1): VAE posterior mean × scaling factor → noise at a timestep → UNet cut at
 * the hooked `attn1`. The registry gives the fixed facts; `prepare` adds the file names and the UNet's inputs.
 */
export interface DiffusionConfig {
  /** `"sdxl"`: two text encoders, pooled embedding and time ids; `"sd1"`: one text encoder. */
  family: "sdxl" | "sd1";
  /** PyTorch module path of the hooked self-attention, e.g. `down_blocks.2.attentions.1.transformer_blocks.3.attn1`. */
  hook: string;
  /** The VAE's `scaling_factor` (0.13025 SDXL, 0.18215 SD1). */
  scalingFactor: number;
  /** Latent channels. @default {4} */
  latentChannels: number;
  /** Default DDPM timestep. @default {50} */
  timestep: number;
  /** Seed of the fixed Gaussian noise. @default {42} */
  noiseSeed: number;
  /** The training β schedule. @default {scaled_linear 0.00085 → 0.012, 1000 steps} */
  schedule: BetaSchedule;
  /** Prepared: the VAE encoder cut to `mean × scalingFactor` (relative to the sidecar). */
  vae?: string;
  /** Prepared: the cut VAE's output name. */
  vaeOutput?: string;
  /** Prepared: the cut UNet's input names. */
  unetInputs?: UnetInputs;
  /** Prepared: empty-prompt conditioning, raw little-endian float32 (see `conditioning` layout in prepare). */
  conditioning?: string;
  /** Prepared: dims of the tensors in `conditioning`, in file order. */
  conditioningShapes?: { encoderHiddenStates: number[]; textEmbeds?: number[] };
  /** Optional: the reference's exact noise draw, raw little-endian float32 `[1, 4, size/8, size/8]`. */
  noise?: string;
}

/** A file of an installed encoder with its hash (written by `fetch` and `prepare`, checked by `verify`). */
export interface InstalledFile {
  /** Path relative to the sidecar. */
  path: string;
  /** SHA-256 (hex). */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
  /**
   * `false` when the registry pins no hash for the file and the user registered it by hand with
   * `deno task models verify <id> --accept-unpinned`; absent otherwise.
   */
  pinned?: false;
}

/** How images are fed to the model. */
export interface SidecarInput {
  /** Name of the image input. */
  name: string;
  /** Side of the square the image is resized (stretched) to. */
  size: number;
  /** Tensor layout of the input: `[1, 3, size, size]` or `[1, size, size, 3]`. */
  layout: "NCHW" | "NHWC";
  /** Order of the colour channels in the input tensor. */
  channelOrder: "RGB" | "BGR";
  /** Input value = `(x * scale - mean[c]) / std[c]`, `x` in [0, 1], `c` in model channel order. */
  normalisation: {
    scale: number;
    mean: readonly [number, number, number];
    std: readonly [number, number, number];
  };
  /**
   * Whether the model takes other square sizes (a ViT that interpolates its position embeddings, a UNet); the
   * size is then a loader option and the grid is `floor(size / output.patchSize)`.
   * @default {false}
   */
  resizable?: boolean;
}

/** Which model output holds the features and how it is laid out. */
export interface SidecarOutput {
  /** Name of the output (or, for `"npm"` sources, of the value the model is cut at). */
  name: string;
  /**
   * `"NCHW"`: `[1, channels, grid, grid]`; `"NHWC"`: `[1, grid, grid, channels]`; `"tokens"`:
   * `[1, prefixTokens + grid * grid, channels]`, row-major patch tokens after `prefixTokens` CLS/register tokens.
   */
  layout: "NCHW" | "NHWC" | "tokens";
  /** Feature channels. */
  channels: number;
  /** Side of the square patch grid. */
  grid: number;
  /** Tokens before the patch tokens (`"tokens"` layout only). @default {0} */
  prefixTokens: number;
  /** Input pixels per grid cell (`grid = floor(input.size / patchSize)`), when known. */
  patchSize?: number;
}

/** A parsed, validated encoder sidecar. */
export interface EncoderSidecar {
  /** Stable identifier recorded in results, e.g. `"isnet"`. */
  id: string;
  /** Human-readable name. */
  name: string;
  /** What the features are. */
  description: string;
  /** Licence of the model weights (and of the package they come in). */
  licence: string;
  /** Where the model comes from. */
  source: ModelSource;
  /** Model file relative to the sidecar (required for `"url"` and `"file"` sources, unused for `"npm"` ones). */
  model?: string;
  /** Expected SHA-256 of the model file (hex), checked when present. */
  sha256?: string;
  /** Whether the features only stand in for the diffusion features DiffCut is about. */
  standIn: boolean;
  /** Label shown wherever results of a stand-in encoder appear (required when `standIn`). */
  standInLabel?: string;
  /** How images are fed to the model. */
  input: SidecarInput;
  /** Where the features come out. */
  output: SidecarOutput;
  /** Recommended clustering settings (`inputSize` is `input.size`). */
  defaults: EncoderDefaults;
  /** Diffusion encoders: the VAE/noise/UNet pipeline. */
  diffusion?: DiffusionConfig;
  /** Installed encoders: every file with its hash. */
  files?: InstalledFile[];
}

type Json = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

class Fields {
  constructor(readonly file: string) {}

  fail(path: string, expected: string, value: unknown, range = false): never {
    const message = value === undefined
      ? `Sidecar '${this.file}' is missing field '${path}'; expected ${expected}`
      : `Sidecar '${this.file}' field '${path}' must be ${expected}, got ${describe(value)}`;
    throw range ? new RangeError(message) : new TypeError(message);
  }

  object(obj: Json, key: string, prefix = ""): Json {
    const value = obj[key];
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.fail(prefix + key, "an object", value);
    }
    return value as Json;
  }

  string(obj: Json, key: string, prefix = "", optional = false): string {
    const value = obj[key];
    if (optional && value === undefined) return undefined as unknown as string;
    if (typeof value !== "string" || value.length === 0) this.fail(prefix + key, "a non-empty string", value);
    return value;
  }

  oneOf<T extends string>(obj: Json, key: string, options: readonly T[], prefix = "", fallback?: T): T {
    const value = obj[key] ?? fallback;
    if (typeof value !== "string" || !options.includes(value as T)) {
      this.fail(prefix + key, `one of ${options.map((o) => JSON.stringify(o)).join(", ")}`, value);
    }
    return value as T;
  }

  number(
    obj: Json,
    key: string,
    prefix = "",
    check?: { min?: number; positive?: boolean; integer?: boolean },
  ) {
    const value = obj[key];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      this.fail(prefix + key, "a finite number", value);
    }
    if (check?.integer && !Number.isInteger(value)) this.fail(prefix + key, "an integer", value, true);
    if (check?.positive && !(value > 0)) this.fail(prefix + key, "positive", value, true);
    if (check?.min !== undefined && value < check.min) {
      this.fail(prefix + key, `at least ${check.min}`, value, true);
    }
    return value;
  }

  boolean(obj: Json, key: string, prefix: string, fallback: boolean): boolean {
    const value = obj[key] ?? fallback;
    if (typeof value !== "boolean") this.fail(prefix + key, "a boolean", value);
    return value;
  }

  sha256(obj: Json, key: string, prefix: string, lowercase = false): string | undefined {
    if (obj[key] === undefined || obj[key] === null) return undefined;
    const value = this.string(obj, key, prefix);
    if (lowercase && !/^[0-9a-f]{64}$/.test(value)) {
      this.fail(prefix + key, "64 lowercase hex digits", value, true);
    }
    if (!/^[0-9a-fA-F]{64}$/.test(value)) this.fail(prefix + key, "64 hex digits", value, true);
    return value.toLowerCase();
  }

  hubFiles(obj: Json, key: string, prefix: string): HubFile[] {
    const value = obj[key];
    if (!Array.isArray(value)) this.fail(prefix + key, "an array of {path, sha256?, bytes?}", value);
    return value.map((entry, i) => {
      const p = `${prefix}${key}[${i}].`;
      if (typeof entry !== "object" || entry === null) this.fail(`${prefix}${key}[${i}]`, "an object", entry);
      const e = entry as Json;
      const path = this.string(e, "path", p);
      if (path.startsWith("/") || path.split("/").includes("..")) {
        this.fail(p + "path", "a relative path inside the repository", path, true);
      }
      const sha256 = this.sha256(e, "sha256", p);
      return {
        path,
        ...(sha256 ? { sha256 } : {}),
        ...(e.bytes !== undefined ? { bytes: this.number(e, "bytes", p, { integer: true, min: 0 }) } : {}),
      };
    });
  }

  triple(obj: Json, key: string, prefix: string, positive: boolean): [number, number, number] {
    const value = obj[key];
    if (
      !Array.isArray(value) || value.length !== 3 || value.some((v) => typeof v !== "number" || !isFinite(v))
    ) {
      this.fail(prefix + key, "an array of 3 finite numbers", value);
    }
    if (positive && value.some((v) => v <= 0)) this.fail(prefix + key, "3 positive numbers", value, true);
    return [value[0], value[1], value[2]];
  }
}

/**
 * Validates a sidecar's parsed JSON.
 *
 * @param json The parsed JSON of the sidecar.
 * @param file Name of the sidecar, used in error messages.
 * @returns The validated sidecar, with defaults filled in (`prefixTokens` 0, `defaults.inputSize` = `input.size`).
 * @throws {TypeError} If a field is missing or has the wrong type; the message names the file and the field.
 * @throws {RangeError} If a field has the right type but an impossible value (e.g. a size of 0).
 *
 * @example A missing field is named
 * ```ts
 * import { parseSidecar } from "./sidecar.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseSidecar({ id: "x" }, "x.json"), /Sidecar 'x.json' is missing field 'name'/);
 * ```
 */
export function parseSidecar(json: unknown, file: string): EncoderSidecar {
  const f: Fields = new Fields(file);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError(`Sidecar '${file}' must hold a JSON object, got ${describe(json)}`);
  }
  const root = json as Json;
  if (root.format !== undefined && root.format !== 1) f.fail("format", "1", root.format, true);
  const id = f.string(root, "id");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) f.fail("id", "letters, digits, '.', '_' or '-'", id, true);
  const name = f.string(root, "name");
  const description = f.string(root, "description");
  const licence = f.string(root, "licence");

  const src = f.object(root, "source");
  const kind = f.oneOf(src, "kind", ["npm", "url", "file", "hub", "diffusers"] as const, "source.");
  let source: ModelSource;
  if (kind === "npm") {
    const pin = f.sha256(src, "sha256", "source.", true);
    source = {
      kind,
      package: f.string(src, "package", "source."),
      version: f.string(src, "version", "source."),
      resource: f.string(src, "resource", "source."),
      ...(src.homepage !== undefined ? { homepage: f.string(src, "homepage", "source.") } : {}),
      ...(pin ? { sha256: pin } : {}),
    };
  } else if (kind === "url") {
    source = { kind, url: f.string(src, "url", "source.") };
  } else if (kind === "hub") {
    const files = f.hubFiles(src, "files", "source.");
    if (files.length === 0) f.fail("source.files", "at least one file", src.files, true);
    source = {
      kind,
      repo: f.string(src, "repo", "source."),
      revision: src.revision === undefined ? "main" : f.string(src, "revision", "source."),
      files,
      ...(src.homepage !== undefined ? { homepage: f.string(src, "homepage", "source.") } : {}),
    };
  } else if (kind === "diffusers") {
    let onnxExport: DiffusersModelSource["onnxExport"];
    if (src.onnxExport !== undefined) {
      const e = f.object(src, "onnxExport", "source.");
      onnxExport = {
        repo: f.string(e, "repo", "source.onnxExport."),
        revision: f.string(e, "revision", "source.onnxExport."),
        files: f.hubFiles(e, "files", "source.onnxExport."),
      };
    }
    source = {
      kind,
      repo: f.string(src, "repo", "source."),
      exportCommand: f.string(src, "exportCommand", "source."),
      ...(src.homepage !== undefined ? { homepage: f.string(src, "homepage", "source.") } : {}),
      ...(onnxExport ? { onnxExport } : {}),
    };
  } else {
    source = {
      kind,
      ...(src.exportedBy !== undefined ? { exportedBy: f.string(src, "exportedBy", "source.") } : {}),
    };
  }

  const model = f.string(root, "model", "", kind === "npm");
  let sha256: string | undefined;
  if (root.sha256 !== undefined) {
    sha256 = f.string(root, "sha256");
    if (!/^[0-9a-fA-F]{64}$/.test(sha256)) f.fail("sha256", "64 hex digits", sha256, true);
    sha256 = sha256.toLowerCase();
  }
  if (typeof root.standIn !== "boolean") f.fail("standIn", "a boolean", root.standIn);
  const standIn = root.standIn;
  const standInLabel = f.string(root, "standInLabel", "", !standIn);

  const inp = f.object(root, "input");
  const norm = f.object(inp, "normalisation", "input.");
  const input: SidecarInput = {
    name: f.string(inp, "name", "input."),
    size: f.number(inp, "size", "input.", { integer: true, positive: true }),
    layout: f.oneOf(inp, "layout", ["NCHW", "NHWC"] as const, "input."),
    channelOrder: f.oneOf(inp, "channelOrder", ["RGB", "BGR"] as const, "input."),
    normalisation: {
      scale: f.number(norm, "scale", "input.normalisation.", { positive: true }),
      mean: f.triple(norm, "mean", "input.normalisation.", false),
      std: f.triple(norm, "std", "input.normalisation.", true),
    },
    resizable: f.boolean(inp, "resizable", "input.", false),
  };

  const out = f.object(root, "output");
  const layout = f.oneOf(out, "layout", ["NCHW", "NHWC", "tokens"] as const, "output.");
  const output: SidecarOutput = {
    name: f.string(out, "name", "output."),
    layout,
    channels: f.number(out, "channels", "output.", { integer: true, positive: true }),
    grid: f.number(out, "grid", "output.", { integer: true, positive: true }),
    prefixTokens: out.prefixTokens === undefined ? 0 : f.number(out, "prefixTokens", "output.", {
      integer: true,
      min: 0,
    }),
  };
  if (out.patchSize !== undefined) {
    output.patchSize = f.number(out, "patchSize", "output.", { integer: true, positive: true });
    if (Math.floor(input.size / output.patchSize) !== output.grid) {
      f.fail(
        "output.grid",
        `floor(input.size / output.patchSize) = ${Math.floor(input.size / output.patchSize)}`,
        output.grid,
        true,
      );
    }
  }
  if (input.resizable && output.patchSize === undefined) {
    f.fail("output.patchSize", "a positive integer when input.resizable is true", out.patchSize);
  }
  if (output.prefixTokens > 0 && layout !== "tokens") {
    f.fail("output.prefixTokens", `0 for layout ${layout}`, output.prefixTokens, true);
  }

  const d = f.object(root, "defaults");
  const defaults: EncoderDefaults = {
    tau: f.number(d, "tau", "defaults.", { min: 0 }),
    alpha: f.number(d, "alpha", "defaults.", { positive: true }),
    inputSize: input.size,
  };
  if (d.selfLoops !== undefined) {
    if (typeof d.selfLoops !== "boolean") f.fail("defaults.selfLoops", "a boolean", d.selfLoops);
    defaults.selfLoops = d.selfLoops;
  }
  if (d.minSegmentSize !== undefined) {
    defaults.minSegmentSize = f.number(d, "minSegmentSize", "defaults.", { integer: true, positive: true });
  }
  if (d.maxSegments !== undefined) {
    defaults.maxSegments = f.number(d, "maxSegments", "defaults.", { integer: true, positive: true });
  }
  if (d.stopRule !== undefined) {
    if (d.stopRule !== "tau" && d.stopRule !== "relative" && d.stopRule !== "min-split") {
      f.fail("defaults.stopRule", '"tau", "relative" or "min-split"', d.stopRule);
    }
    defaults.stopRule = d.stopRule;
  }
  if (d.borderRing !== undefined) {
    defaults.borderRing = f.number(d, "borderRing", "defaults.", { integer: true, min: 0 });
  }

  let diffusion: DiffusionConfig | undefined;
  if (root.diffusion !== undefined) diffusion = parseDiffusion(f, f.object(root, "diffusion"));
  let files: InstalledFile[] | undefined;
  if (root.files !== undefined) {
    if (!Array.isArray(root.files)) f.fail("files", "an array of {path, sha256, bytes}", root.files);
    files = (root.files as unknown[]).map((entry, i) => {
      const prefix = `files[${i}].`;
      if (typeof entry !== "object" || entry === null) f.fail(`files[${i}]`, "an object", entry);
      const e = entry as Json;
      if (e.pinned !== undefined && e.pinned !== false) {
        f.fail(prefix + "pinned", "false or absent", e.pinned);
      }
      return {
        path: f.string(e, "path", prefix),
        sha256: f.sha256(e, "sha256", prefix)!,
        bytes: f.number(e, "bytes", prefix, { integer: true, min: 0 }),
        ...(e.pinned === false ? { pinned: false as const } : {}),
      };
    });
  }

  return {
    id,
    name,
    description,
    licence,
    source,
    ...(model !== undefined ? { model } : {}),
    ...(sha256 !== undefined ? { sha256 } : {}),
    standIn,
    ...(standInLabel !== undefined ? { standInLabel } : {}),
    input,
    output,
    defaults,
    ...(diffusion ? { diffusion } : {}),
    ...(files ? { files } : {}),
  };
}

function parseDiffusion(f: Fields, d: Json): DiffusionConfig {
  const p = "diffusion.";
  const family = f.oneOf(d, "family", ["sdxl", "sd1"] as const, p);
  const hook = f.string(d, "hook", p);
  if (!/^[A-Za-z_][\w]*(\.[\w]+)*$/.test(hook)) f.fail(p + "hook", "a dotted module path", hook, true);
  let schedule: BetaSchedule = { ...SCALED_LINEAR_SCHEDULE };
  if (d.schedule !== undefined) {
    const s = f.object(d, "schedule", p);
    schedule = {
      kind: f.oneOf(s, "kind", ["scaled_linear"] as const, p + "schedule."),
      betaStart: f.number(s, "betaStart", p + "schedule.", { positive: true }),
      betaEnd: f.number(s, "betaEnd", p + "schedule.", { positive: true }),
      steps: f.number(s, "steps", p + "schedule.", { integer: true, min: 2 }),
    };
  }
  const timestep = d.timestep === undefined ? 50 : f.number(d, "timestep", p, { integer: true, min: 0 });
  if (timestep >= schedule.steps) f.fail(p + "timestep", `below ${schedule.steps}`, timestep, true);
  const config: DiffusionConfig = {
    family,
    hook,
    scalingFactor: f.number(d, "scalingFactor", p, { positive: true }),
    latentChannels: d.latentChannels === undefined
      ? 4
      : f.number(d, "latentChannels", p, { integer: true, positive: true }),
    timestep,
    noiseSeed: d.noiseSeed === undefined ? 42 : f.number(d, "noiseSeed", p, { integer: true, min: 0 }),
    schedule,
  };
  for (const key of ["vae", "vaeOutput", "conditioning", "noise"] as const) {
    if (d[key] !== undefined) config[key] = f.string(d, key, p);
  }
  if (d.conditioningShapes !== undefined) {
    const c = f.object(d, "conditioningShapes", p);
    const dims = (key: string) => {
      const v = c[key];
      if (!Array.isArray(v) || v.length === 0 || v.some((x) => !Number.isInteger(x) || x < 1)) {
        f.fail(`${p}conditioningShapes.${key}`, "an array of positive integers", v);
      }
      return v as number[];
    };
    config.conditioningShapes = {
      encoderHiddenStates: dims("encoderHiddenStates"),
      ...(c.textEmbeds !== undefined ? { textEmbeds: dims("textEmbeds") } : {}),
    };
  }
  if (d.unetInputs !== undefined) {
    const u = f.object(d, "unetInputs", p);
    const q = p + "unetInputs.";
    config.unetInputs = {
      sample: f.string(u, "sample", q),
      timestep: f.string(u, "timestep", q),
      encoderHiddenStates: f.string(u, "encoderHiddenStates", q),
      ...(u.textEmbeds !== undefined ? { textEmbeds: f.string(u, "textEmbeds", q) } : {}),
      ...(u.timeIds !== undefined ? { timeIds: f.string(u, "timeIds", q) } : {}),
    };
  }
  return config;
}

/**
 * Reads and validates a sidecar file.
 *
 * @param path Path of the sidecar JSON file.
 * @returns The validated sidecar.
 * @throws {Deno.errors.NotFound} If the file does not exist.
 * @throws {SyntaxError} If the file is not valid JSON.
 * @throws {TypeError} If a field is missing or has the wrong type (see {@linkcode parseSidecar}).
 * @throws {RangeError} If a field has an impossible value.
 *
 * @example Read the built-in ISNet sidecar
 * ```ts
 * import { readSidecar } from "./sidecar.ts";
 * import assert from "node:assert/strict";
 * const sidecar = await readSidecar(new URL("../../models/isnet.json", import.meta.url).pathname);
 * assert.equal(sidecar.output.name, "input.740");
 * ```
 */
export async function readSidecar(path: string): Promise<EncoderSidecar> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Sidecar '${path}' not found; expected an encoder sidecar JSON file`);
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Sidecar '${path}' is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseSidecar(json, path);
}
