/**
 * A DiffCut diffusion encoder at run time (REFERENCE.md §1): image → `2x − 1` → VAE posterior mean × scaling
 * factor → `√ᾱ_t·z + √(1 − ᾱ_t)·ε` with fixed seeded noise → UNet cut at the hooked `attn1` (empty-prompt
 * conditioning from the prepared `conditioning.bin`, SDXL `time_ids` `[S, S, 0, 0, S, S]`) → `(S/32)²` tokens of
 * 1280 channels → a feature map.
 *
 * The timestep, the input size S (a multiple of 32) and the noise seed are options, so timestep sweeps (the paper's
 * Fig. 7) need no re-preparation. The noise is drawn once per encoder, so every image of a run gets the same noise,
 * as in the reference; a `noise.bin` saved by `models/export_diffusion_encoder.py` (the reference's own CUDA draw)
 * is used instead when its size matches.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import type { EncoderDefaults, FeatureMap, ImageRGB } from "../types.ts";
import { addNoise, noiseCoefficients, seededGaussian } from "./diffusion_noise.ts";
import { outputToFeatureMap } from "./onnx_encoder.ts";
import type { OnnxEncoder } from "./onnx_encoder.ts";
import { loadExternalData, readOnnxModel } from "../onnx/onnx_files.ts";
import {
  createOrtSession,
  type FloatTensor,
  type OrtRunner,
  type OrtRunnerChoice,
  type OrtSession,
} from "../onnx/ort_session.ts";
import { preprocessImage } from "./preprocess.ts";
import type { EncoderSidecar } from "./sidecar.ts";
import { sha256Hex } from "./model_cache.ts";

/** Options of {@linkcode createDiffusionEncoder}. */
export interface DiffusionEncoderOptions {
  /** ONNX Runtime runner, or `"auto"`. @default {`$DIFFCUT_ORT_RUNNER`, else "auto"} */
  runner?: OrtRunnerChoice;
  /** DDPM timestep. @default {the sidecar's, 50} */
  timestep?: number;
  /** Side of the square input, a multiple of 32. @default {the sidecar's, 1024} */
  inputSize?: number;
  /** Seed of the fixed noise. @default {the sidecar's, 42} */
  noiseSeed?: number;
}

/** A diffusion encoder; `settings` records what it runs with. */
export interface DiffusionEncoder extends OnnxEncoder {
  /** Timestep, input size, noise source and runner. */
  readonly settings: {
    timestep: number;
    inputSize: number;
    noise: string;
    runner: OrtRunner;
  };
}

async function openSession(
  path: string,
  label: string,
  runner: OrtRunnerChoice | undefined,
  sha256?: string,
): Promise<OrtSession> {
  const file = await readOnnxModel(path);
  const bytes = await Deno.readFile(path);
  if (sha256) {
    const actual = sha256Hex(bytes);
    if (actual !== sha256) {
      throw new RangeError(
        `Model file '${path}' has SHA-256 ${actual}, expected ${sha256}; prepare it again`,
      );
    }
  }
  const externalData = await loadExternalData(path, file.externalLocations);
  return await createOrtSession(bytes, { label, runner, externalData, modelPath: path });
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Creates a diffusion encoder from a prepared sidecar (`encoder.json` written by `prepare` or by
 * `models/export_diffusion_encoder.py`).
 *
 * @param sidecar The validated sidecar; its `diffusion` section must name the prepared files.
 * @param sidecarPath Where the sidecar is (file names are relative to it).
 * @param options Runner, timestep, input size, noise seed.
 * @returns The encoder; call `dispose()` when done.
 * @throws {TypeError} If the sidecar is not a prepared diffusion sidecar, or the models' inputs differ from it.
 * @throws {RangeError} If the timestep or input size is out of range, or a file's size or hash is wrong.
 * @throws {Deno.errors.NotFound} If a prepared file is missing.
 *
 * @example
 * ```ts ignore
 * // See tests/install/diffusion_prepare_test.ts (generated SDXL- and SD1-layout models).
 * import { createDiffusionEncoder } from "./diffusion_encoder.ts";
 * ```
 */
export async function createDiffusionEncoder(
  sidecar: EncoderSidecar,
  sidecarPath: string,
  options: DiffusionEncoderOptions = {},
): Promise<DiffusionEncoder> {
  const d = sidecar.diffusion;
  if (
    !d || !d.vae || !d.vaeOutput || !d.unetInputs || !d.conditioning || !d.conditioningShapes ||
    !sidecar.model
  ) {
    throw new TypeError(
      `Sidecar '${sidecarPath}' is not a prepared diffusion encoder; expected diffusion.vae, vaeOutput, unetInputs, conditioning and conditioningShapes (run: deno task models prepare ${sidecar.id} --from DIR)`,
    );
  }
  const size = options.inputSize ?? sidecar.input.size;
  if (!Number.isInteger(size) || size < 32 || size % 32 !== 0) {
    throw new RangeError(
      `Input size of encoder '${sidecar.id}' must be a positive multiple of 32, got ${size}`,
    );
  }
  const timestep = options.timestep ?? d.timestep;
  const coefficients = noiseCoefficients(timestep, d.schedule); // checks the range
  const seed = options.noiseSeed ?? d.noiseSeed;
  const folder = dirname(sidecarPath);
  const latentSide = size / 8;
  const latentCount = d.latentChannels * latentSide * latentSide;

  const shapes = d.conditioningShapes;
  const conditioningPath = resolve(folder, d.conditioning);
  let raw: Uint8Array;
  try {
    raw = await Deno.readFile(conditioningPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Conditioning '${conditioningPath}' of encoder '${sidecar.id}' not found; expected the file written by prepare`,
      );
    }
    throw error;
  }
  const hiddenCount = product(shapes.encoderHiddenStates);
  const pooledCount = shapes.textEmbeds ? product(shapes.textEmbeds) : 0;
  if (raw.length !== 4 * (hiddenCount + pooledCount)) {
    throw new RangeError(
      `Conditioning '${conditioningPath}' has ${raw.length} bytes, expected ${
        4 * (hiddenCount + pooledCount)
      } (float32 of [${shapes.encoderHiddenStates}]${
        shapes.textEmbeds ? ` and [${shapes.textEmbeds}]` : ""
      })`,
    );
  }
  const values = new Float32Array(raw.slice().buffer);
  const hidden: FloatTensor = { data: values.subarray(0, hiddenCount), dims: shapes.encoderHiddenStates };
  const pooled: FloatTensor | undefined = shapes.textEmbeds
    ? { data: values.subarray(hiddenCount), dims: shapes.textEmbeds }
    : undefined;

  let noise: Float32Array | undefined;
  let noiseSource = `seeded Gaussian (seed ${seed})`;
  if (d.noise && options.noiseSeed === undefined) {
    const path = resolve(folder, d.noise);
    const bytes = await Deno.readFile(path).catch(() => undefined);
    if (bytes && bytes.length === 4 * latentCount) {
      noise = new Float32Array(bytes.slice().buffer);
      noiseSource = `file ${d.noise}`;
    }
  }
  noise ??= seededGaussian(latentCount, seed);

  const fileHash = (name: string) => sidecar.files?.find((f) => f.path === name)?.sha256;
  const vae = await openSession(
    resolve(folder, d.vae),
    `VAE encoder of '${sidecar.id}'`,
    options.runner,
    fileHash(d.vae),
  );
  let unet: OrtSession;
  try {
    unet = await openSession(
      resolve(folder, sidecar.model),
      `UNet encoder of '${sidecar.id}'`,
      options.runner,
      sidecar.sha256,
    );
  } catch (error) {
    await vae.dispose();
    throw error;
  }
  const inputs = d.unetInputs;
  const expected = [
    inputs.sample,
    inputs.timestep,
    inputs.encoderHiddenStates,
    inputs.textEmbeds,
    inputs.timeIds,
  ]
    .filter((n): n is string => n !== undefined);
  const problems = [
    ...expected.filter((n) => !unet.inputNames.includes(n)).map((n) => `no input '${n}'`),
    ...unet.inputNames.filter((n) => !expected.includes(n)).map((n) => `an unexpected input '${n}'`),
    ...(unet.outputNames.includes(sidecar.output.name) ? [] : [`no output '${sidecar.output.name}'`]),
    ...(vae.outputNames.includes(d.vaeOutput) ? [] : [`a VAE without output '${d.vaeOutput}'`]),
    ...(vae.inputNames.includes(sidecar.input.name) ? [] : [`a VAE without input '${sidecar.input.name}'`]),
  ];
  if (problems.length > 0) {
    await vae.dispose();
    await unet.dispose();
    throw new TypeError(`Models of encoder '${sidecar.id}' have ${problems.join(", ")}; prepare it again`);
  }

  const grid = size / 32;
  const output = { ...sidecar.output, grid, layout: "tokens" as const, prefixTokens: 0 };
  const input = { ...sidecar.input, size };
  const defaults: EncoderDefaults = Object.freeze({ ...sidecar.defaults, inputSize: size });
  const runner = unet.runner;
  return {
    id: sidecar.id,
    defaults,
    sidecar,
    runner,
    get threads() {
      return unet.threads; // the UNet is the session that matters
    },
    settings: Object.freeze({ timestep, inputSize: size, noise: noiseSource, runner }),
    async encode(image: ImageRGB): Promise<FeatureMap> {
      const pixels = preprocessImage(image, input);
      const latent = (await vae.run({ [input.name]: pixels }, [d.vaeOutput!]))[d.vaeOutput!];
      const want = [1, d.latentChannels, latentSide, latentSide];
      if (latent.dims.length !== 4 || latent.dims.some((v, i) => v !== want[i])) {
        throw new TypeError(
          `VAE output '${d.vaeOutput}' of encoder '${sidecar.id}' has shape [${latent.dims}], expected [${want}]`,
        );
      }
      const noisy = addNoise(latent.data, noise!, coefficients);
      const feeds: Record<string, FloatTensor> = {
        [inputs.sample]: { data: noisy, dims: want },
        [inputs.timestep]: { data: new Float32Array([timestep]), dims: [1] },
        [inputs.encoderHiddenStates]: hidden,
      };
      if (inputs.textEmbeds) feeds[inputs.textEmbeds] = pooled!;
      if (inputs.timeIds) {
        feeds[inputs.timeIds] = { data: new Float32Array([size, size, 0, 0, size, size]), dims: [1, 6] };
      }
      const result = await unet.run(feeds, [sidecar.output.name]);
      return outputToFeatureMap(result[sidecar.output.name], { id: sidecar.id, output });
    },
    async dispose() {
      await vae.dispose();
      await unet.dispose();
    },
  };
}
