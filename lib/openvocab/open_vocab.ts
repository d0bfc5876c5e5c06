/**
 * Open-vocabulary labelling of one image's segments with an installed CLIP model (`models/convnext-clip.json`):
 * the sidecar's encoder part (the dense visual trunk) runs through the usual encoder loader, its `openVocab`
 * section through {@link ClipLabeller}.
 *
 * @module
 */

import { dirname } from "node:path";
import { loadEncoderFromSidecar, type LoadEncoderOptions } from "../encoder/load_encoder.ts";
import { installedSidecarPath, isRegistryId } from "../install/registry.ts";
import type { Encoder, ImageRGB, LabelMap } from "../types.ts";
import { ClipLabeller, type ClipLabelOptions, type LabelledSegment } from "./clip_labeller.ts";
import { parseOpenVocabSection } from "./clip_sidecar.ts";
import { checkClipSize, readClipInput } from "./clip_size.ts";

/** The default CLIP of the registry. */
export const DEFAULT_OPEN_VOCAB_MODEL = "convnext-clip";

/** A loaded CLIP: dense trunk and labeller. */
export interface OpenVocab {
  /** The dense visual trunk, as an encoder. */
  readonly encoder: Encoder;
  /** Visual head, text encoder and tokenizer. */
  readonly labeller: ClipLabeller;
  /** Label each segment of `labels` (any size; usually the image's) in `image` with one of `classNames`. */
  label(
    image: ImageRGB,
    labels: LabelMap,
    classNames: readonly string[],
    options?: ClipLabelOptions,
  ): Promise<LabelledSegment[]>;
  /** Frees the three sessions. */
  dispose(): Promise<void>;
}

/**
 * Load a CLIP for open-vocabulary labels by registry id (installed with `deno task models`) or sidecar path.
 *
 * @param idOrSidecarPath registry id or path of a sidecar with an `openVocab` section
 * @param options encoder options (runner, input size of the trunk: a positive multiple of its stride, cache folder)
 */
export async function loadOpenVocab(
  idOrSidecarPath: string = DEFAULT_OPEN_VOCAB_MODEL,
  options: LoadEncoderOptions = {},
): Promise<OpenVocab> {
  const path = isRegistryId(idOrSidecarPath)
    ? await installedSidecarPath(idOrSidecarPath, options.cacheDir)
    : idOrSidecarPath;
  if (options.inputSize !== undefined) {
    const input = await readClipInput(path);
    checkClipSize(options.inputSize, input.stride, "inputSize", input.id);
  }
  const section = parseOpenVocabSection(JSON.parse(await Deno.readTextFile(path)), path);
  const encoder = await loadEncoderFromSidecar(path, options);
  let labeller: ClipLabeller;
  try {
    labeller = await ClipLabeller.load(dirname(path), section, options.runner);
  } catch (e) {
    await encoder.dispose();
    throw e;
  }
  return {
    encoder,
    labeller,
    async label(image, labels, classNames, labelOptions = {}) {
      return await labeller.label(await encoder.encode(image), labels, classNames, labelOptions);
    },
    async dispose() {
      await Promise.all([encoder.dispose(), labeller.dispose()]);
    },
  };
}
