/**
 * One entry point for every encoder: built-in ids (`"isnet"`, `"rgb-grid"`) and sidecar files.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Encoder } from "../types.ts";
import { createColorEncoder } from "./color_encoder.ts";
import { ISNET_SIDECAR_URL, loadNpmModel } from "./isnet_model.ts";
import { sha256Hex } from "./model_cache.ts";
import { createMobileNetEncoder } from "./mobilenet_encoder.ts";
import { createOnnxEncoder, resizeSidecar } from "./onnx_encoder.ts";
import { type EncoderSidecar, readSidecar } from "./sidecar.ts";
import { createDiffusionEncoder, type DiffusionEncoderOptions } from "./diffusion_encoder.ts";
import { installedSidecarPath, isRegistryId } from "../install/registry.ts";

/** Ids {@linkcode loadEncoder} knows without a sidecar path. */
export const BUILTIN_ENCODERS: readonly string[] = Object.freeze(["isnet", "mobilenet-v2", "rgb-grid"]);

/**
 * Options of {@linkcode loadEncoder}. `runner` picks ONNX Runtime (wasm, webgpu, node); `inputSize` applies to
 * resizable sidecars; `timestep` and `noiseSeed` to diffusion encoders.
 */
export interface LoadEncoderOptions extends DiffusionEncoderOptions {
  /**
   * Folder for models built from npm packages (ISNet).
   * @default {`$DIFFCUT_CACHE_DIR`, else the platform's user cache folder, e.g. `~/.cache/diffcut`}
   */
  cacheDir?: string;
  /**
   * Rebuild a cached model even if its SHA-256 verifies.
   * @default {false}
   */
  rebuild?: boolean;
}

async function modelFileBytes(sidecar: EncoderSidecar, sidecarPath: string): Promise<Uint8Array> {
  const path = resolve(dirname(sidecarPath), sidecar.model!);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    const expected = sidecar.source.kind === "url"
      ? `the file downloaded from ${sidecar.source.url}`
      : sidecar.source.kind === "file" && sidecar.source.exportedBy
      ? `the file made by ${sidecar.source.exportedBy}`
      : `an ONNX model at that path, relative to the sidecar ${sidecarPath}`;
    throw new Deno.errors.NotFound(
      `Model file '${path}' for encoder '${sidecar.id}' not found; expected ${expected}`,
    );
  }
  if (sidecar.sha256) {
    const actual = sha256Hex(bytes);
    if (actual !== sidecar.sha256) {
      throw new RangeError(
        `Model file '${path}' for encoder '${sidecar.id}' has SHA-256 ${actual}, expected ${sidecar.sha256} (sidecar ${sidecarPath})`,
      );
    }
  }
  return bytes;
}

const OPTION_NAMES: Readonly<Record<string, string>> = Object.freeze({
  runner: "runner",
  timestep: "timestep",
  noiseSeed: "noise seed",
  inputSize: "input size",
});

/** Fails with a one-line RangeError if `options` sets any of `names`, which encoder `id` does not take. */
function refuseOptions(
  id: string,
  options: LoadEncoderOptions,
  names: readonly (keyof LoadEncoderOptions)[],
  reason: string,
): void {
  for (const name of names) {
    const value = options[name];
    if (value === undefined) continue;
    throw new RangeError(
      `Encoder '${id}' takes no ${OPTION_NAMES[name] ?? name} (${reason}), got ${JSON.stringify(value)}`,
    );
  }
}

/**
 * Creates the encoder described by a sidecar file: its model comes from the file the sidecar names (relative to
 * the sidecar, checked against `sha256` when given) or, for an `"npm"` source, is assembled, cut at `output.name`
 * and cached.
 *
 * @param sidecarPath Path of the sidecar JSON file.
 * @param options Runner, input size (resizable sidecars), timestep and noise seed (diffusion sidecars), cache
 * folder and forced rebuild for `"npm"` sources.
 * @returns The encoder; call `dispose()` when done.
 * @throws {Deno.errors.NotFound} If the sidecar or its model file does not exist.
 * @throws {TypeError} If the sidecar is invalid or the model does not match it.
 * @throws {RangeError} If the model file's SHA-256 differs from the sidecar's, or an option does not apply to the
 * encoder (a timestep for a ViT, an input size for a fixed-size model).
 *
 * @example
 * ```ts ignore
 * import { loadEncoderFromSidecar } from "./load_encoder.ts";
 * const encoder = await loadEncoderFromSidecar("models/dinov2.json");
 * ```
 */
export async function loadEncoderFromSidecar(
  sidecarPath: string,
  options: LoadEncoderOptions = {},
): Promise<Encoder> {
  const sidecar = await readSidecar(sidecarPath);
  if (sidecar.diffusion) return await createDiffusionEncoder(sidecar, sidecarPath, options);
  refuseOptions(sidecar.id, options, ["timestep", "noiseSeed"], "it is not a diffusion encoder");
  if (options.inputSize !== undefined) resizeSidecar(sidecar, options.inputSize); // fail before loading the model
  const bytes = sidecar.source.kind === "npm"
    ? (await loadNpmModel(sidecar.source, sidecar.output.name, { ...options, cacheName: sidecar.id })).bytes
    : await modelFileBytes(sidecar, sidecarPath);
  return await createOnnxEncoder(sidecar, bytes, { runner: options.runner, inputSize: options.inputSize });
}

/**
 * Loads an encoder by built-in id or sidecar path.
 *
 * - `"isnet"` (the default): ISNet decoder features `input.740` (512 channels on a 32×32 grid), a stand-in for
 *   diffusion features built offline from `@imgly/background-removal-data` (see `models/isnet.json`). The first
 *   call assembles and caches the model (about a second); encoding takes several seconds per image on the wasm
 *   backend.
 * - `"mobilenet-v2"`: ImageNet-initialised MobileNetV2 (bundled in the npm package `nsfwjs`), layer
 *   `block_13_expand_relu` at a 512² input (576 channels on a 32×32 grid), run with TensorFlow.js' wasm backend
 *   ({@linkcode createMobileNetEncoder}); about 0.3 s per image.
 * - `"rgb-grid"`: mean RGB of each cell of a 32×32 grid ({@linkcode createColorEncoder}), no model.
 * - a path to a sidecar JSON file: see {@linkcode loadEncoderFromSidecar}.
 *
 * @param idOrSidecarPath A built-in id or a sidecar path.
 * @param options Runner, input size, timestep, noise seed (each refused by encoders it does not apply to), cache
 * folder and forced rebuild.
 * @returns The encoder; call `dispose()` when done.
 * @throws {RangeError} If the argument is neither a built-in id, a registry id nor an existing file, or an option
 * does not apply to the encoder (e.g. a timestep for `"isnet"`).
 * @throws {Deno.errors.NotFound} If a registry encoder is not installed (the message says what to fetch or prepare).
 * @throws {Deno.errors.NotFound} If a sidecar's model file does not exist.
 * @throws {TypeError} If a sidecar is invalid or its model does not match it.
 *
 * @example The colour baseline
 * ```ts
 * import { loadEncoder } from "./load_encoder.ts";
 * import assert from "node:assert/strict";
 * const encoder = await loadEncoder("rgb-grid");
 * assert.equal(encoder.id, "rgb-grid");
 * await encoder.dispose();
 * ```
 */
export async function loadEncoder(
  idOrSidecarPath: string | undefined = "isnet",
  options: LoadEncoderOptions = {},
): Promise<Encoder> {
  switch (idOrSidecarPath) {
    case "isnet":
      return await loadEncoderFromSidecar(fileURLToPath(ISNET_SIDECAR_URL), options);
    case "mobilenet-v2":
      refuseOptions("mobilenet-v2", options, ["runner", "timestep", "noiseSeed"], "it runs on TensorFlow.js");
      return await createMobileNetEncoder({ inputSize: options.inputSize });
    case "rgb-grid":
      refuseOptions("rgb-grid", options, ["runner", "timestep", "noiseSeed", "inputSize"], "it has no model");
      return createColorEncoder();
  }
  if (isRegistryId(idOrSidecarPath)) {
    return await loadEncoderFromSidecar(
      await installedSidecarPath(idOrSidecarPath, options.cacheDir),
      options,
    );
  }
  if (!existsSync(idOrSidecarPath)) {
    throw new RangeError(
      `Encoder '${idOrSidecarPath}' is neither a built-in id nor a sidecar file; expected ${
        BUILTIN_ENCODERS.map((id) => `"${id}"`).join(", ")
      }, a registry id (models/*.json) or the path of an encoder sidecar JSON file`,
    );
  }
  return await loadEncoderFromSidecar(idOrSidecarPath, options);
}
