/**
 * The encoder identity recorded with evaluation results: id, SHA-256 of the model file where there is one, and
 * whether its features only stand in for diffusion features.
 *
 * @module
 */
import { loadNpmModel } from "../encoder/isnet_model.ts";
import type { OnnxEncoder } from "../encoder/onnx_encoder.ts";
import type { Encoder } from "../types.ts";
import type { RunConfig } from "./report.ts";

/**
 * Identifies an encoder. For a model assembled from an npm package (ISNet) the SHA-256 is the cached model's
 * (read from the verified cache, not rebuilt); for a sidecar with a `sha256`, that value.
 *
 * @param encoder An encoder from `loadEncoder`.
 * @returns Id, SHA-256 (null without a model file) and the stand-in flag.
 */
export async function encoderIdentity(encoder: Encoder): Promise<RunConfig["encoder"]> {
  const sidecar = (encoder as Partial<OnnxEncoder>).sidecar;
  if (!sidecar) {
    return {
      id: encoder.id,
      sha256: null,
      standIn: true,
      note: encoder.id === "rgb-grid" ? "no model: mean colour of each grid cell" : "no model file",
    };
  }
  let sha256 = sidecar.sha256 ?? null;
  if (!sha256 && sidecar.source.kind === "npm") {
    sha256 = (await loadNpmModel(sidecar.source, sidecar.output.name, { cacheName: sidecar.id })).sha256;
  }
  return { id: sidecar.id, sha256, standIn: sidecar.standIn };
}
