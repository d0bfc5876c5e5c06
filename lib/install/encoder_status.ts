/**
 * Which registry encoders are installed, and what to run for the others: the question a notebook asks before an
 * analysis that needs a particular kind of encoder (the timestep sweep needs a diffusion encoder), answered from
 * the registry sidecars and the install folders alone, without loading any model.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  installDirOf,
  INSTALLED_SIDECAR,
  installInstructions,
  listRegistry,
  REGISTRY_URL,
} from "./registry.ts";

/** One registry encoder and whether it can be loaded now. */
export interface EncoderStatus {
  /** Registry id (what `loadEncoder` takes). */
  id: string;
  /** Human-readable name from the sidecar. */
  name: string;
  /** Whether it is a diffusion encoder (it takes a noise timestep). */
  diffusion: boolean;
  /** Whether `loadEncoder(id)` finds it: built from npm on first use, or its install folder has `encoder.json`. */
  installed: boolean;
  /** What to run to install it, in one line (empty when installed). */
  instructions: string;
}

/** Options of {@linkcode encoderStatus}. */
export interface EncoderStatusOptions {
  /**
   * Where encoders are installed.
   * @default {`$DIFFCUT_CACHE_DIR`, else the user cache folder, e.g. `~/.cache/diffcut`}
   */
  cacheDir?: string;
  /** Only diffusion encoders. @default {false} */
  diffusionOnly?: boolean;
  /** The registry folder. @default {the repository's `models/`} */
  registryDir?: string;
}

/**
 * The registry's encoders, sorted by id, each with whether it is installed and, if not, how to install it.
 *
 * @param options Install folder, registry folder, diffusion-only filter.
 * @returns One entry per registry encoder.
 * @throws {TypeError} If a registry sidecar is invalid.
 *
 * @example
 * ```ts
 * import { encoderStatus } from "./encoder_status.ts";
 * import assert from "node:assert/strict";
 * const cacheDir = await Deno.makeTempDir();
 * const [sd14] = (await encoderStatus({ cacheDir, diffusionOnly: true })).filter((e) => e.id === "sd1.4");
 * assert.equal(sd14.installed, false);
 * assert.match(sd14.instructions, /deno task models fetch sd1\.4/);
 * await Deno.remove(cacheDir, { recursive: true });
 * ```
 */
export async function encoderStatus(options: EncoderStatusOptions = {}): Promise<EncoderStatus[]> {
  const registryDir = options.registryDir ?? fileURLToPath(REGISTRY_URL);
  const out: EncoderStatus[] = [];
  for (const entry of await listRegistry(registryDir)) {
    const diffusion = entry.sidecar.diffusion !== undefined;
    if (options.diffusionOnly && !diffusion) continue;
    const installDir = installDirOf(entry.id, options.cacheDir);
    const installed = entry.sidecar.source.kind === "npm" || existsSync(join(installDir, INSTALLED_SIDECAR));
    out.push({
      id: entry.id,
      name: entry.sidecar.name ?? entry.id,
      diffusion,
      installed,
      instructions: installed ? "" : installInstructions(entry, installDir),
    });
  }
  return out;
}
