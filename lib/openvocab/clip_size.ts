/**
 * The CLIP trunk's input side (`--clip-size`): the ConvNeXt trunk is convolutional, so any side works as long as it
 * is a whole number of its stride (32 for `convnext_large_d_320`); the feature grid is then `side / stride` cells
 * a side. The stride and the default side come from the sidecar (`output.patchSize`, `input.size`), read without
 * loading a model so that a bad size fails before anything heavy starts.
 *
 * @module
 */
import { readSidecar } from "../encoder/sidecar.ts";
import { installedSidecarPath, isRegistryId } from "../install/registry.ts";

/** What a CLIP sidecar says about its input. */
export interface ClipInputFacts {
  /** The sidecar's path. */
  path: string;
  /** The model's id. */
  id: string;
  /** Input pixels per feature cell. */
  stride: number;
  /** The sidecar's input side. */
  size: number;
}

/**
 * Checks a CLIP input side: a positive multiple of the trunk's stride.
 *
 * @param size The side asked for.
 * @param stride The trunk's stride.
 * @param name How to name the setting in the message (`--clip-size` for the CLI).
 * @param model The CLIP's id, named in the message.
 * @throws {RangeError} Naming the setting, the value and what was expected.
 */
export function checkClipSize(size: number, stride: number, name: string, model: string): void {
  if (!Number.isInteger(size) || size < stride || size % stride !== 0) {
    throw new RangeError(
      `Invalid ${name} ${size}: expected a positive multiple of ${stride} (the stride of CLIP '${model}')`,
    );
  }
}

/**
 * Reads the input facts of a CLIP by registry id (installed) or sidecar path.
 *
 * @throws {Error} When the id is not installed (the message says how to install it) or the sidecar is invalid.
 * @throws {TypeError} When the sidecar gives no stride (`output.patchSize`).
 */
export async function readClipInput(idOrSidecarPath: string, cacheDir?: string): Promise<ClipInputFacts> {
  const path = isRegistryId(idOrSidecarPath)
    ? await installedSidecarPath(idOrSidecarPath, cacheDir)
    : idOrSidecarPath;
  const sidecar = await readSidecar(path);
  const stride = sidecar.output.patchSize;
  if (stride === undefined) {
    throw new TypeError(
      `Sidecar '${path}': output.patchSize must give the CLIP trunk's stride, got undefined`,
    );
  }
  return { path, id: sidecar.id, stride, size: sidecar.input.size };
}
