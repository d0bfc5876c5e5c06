/**
 * The built-in ISNet encoder model, assembled offline from the npm package `@imgly/background-removal-data`.
 *
 * The package ships each model as chunk files under `dist/`, listed in order (SHA-256 hash + byte offsets) in
 * `dist/resources.json`. {@linkcode assembleNpmModel} checks every chunk's size and hash and concatenates them;
 * {@linkcode loadNpmModel} then cuts the network at the sidecar's output with `pruneToOutputs` (so nothing after the
 * features runs) and caches the result with its SHA-256 (see `model_cache.ts`); later loads verify the hash and
 * rebuild on a mismatch. The build is deterministic, so the sidecar pins the built model's SHA-256
 * (`source.sha256`): a cached file that matches its own `.sha256` file but not the pin is rebuilt, and a fresh build
 * that differs from the pin is an error. The package is AGPL-3.0 (the ISNet weights are MIT upstream): the project
 * depends on it and never copies its files.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pruneToOutputs } from "../onnx/onnx_graph.ts";
import { CACHE_DIR_ENV, readVerified, resolveCacheDir, sha256Hex, writeVerified } from "./model_cache.ts";
import { type EncoderSidecar, type NpmModelSource, readSidecar } from "./sidecar.ts";

/** Location of the built-in ISNet sidecar, `models/isnet.json`. */
export const ISNET_SIDECAR_URL: URL = new URL("../../models/isnet.json", import.meta.url);

/** Bumped when the way cached models are built changes, so that old cache files are not reused. */
const BUILD_VERSION = 1;

/** Cache problems already reported in this process, so that repeated loads warn once. */
const warned = new Set<string>();

function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  console.warn(message);
}

interface Chunk {
  hash: string;
  offsets: [number, number];
}

/** Options of {@linkcode loadNpmModel} and {@linkcode loadIsnetModel}. */
export interface LoadNpmModelOptions {
  /**
   * Cache folder. @default {`$DIFFCUT_CACHE_DIR`, else the platform's user cache folder, e.g. `~/.cache/diffcut`}
   */
  cacheDir?: string;
  /**
   * Rebuild even if a verified cached model exists.
   * @default {false}
   */
  rebuild?: boolean;
  /**
   * First part of the cache file name.
   * @default {"model"}
   */
  cacheName?: string;
}

/** A model ready for a session, with where it came from and what it cost. */
export interface LoadedModel {
  /** The serialised (pruned) ONNX model. */
  bytes: Uint8Array;
  /**
   * The cache file (absent on disk if writing it failed: a warning says so; only the file name when no cache
   * folder could be found).
   */
  path: string;
  /** SHA-256 (hex) of `bytes`, as recorded in `<path>.sha256`. */
  sha256: string;
  /** Whether the model came from the cache (`false`: it was assembled and pruned now). */
  fromCache: boolean;
  /** Milliseconds spent: reading a cached file, or assembling chunks, pruning and writing. */
  timings: { readMs?: number; assembleMs?: number; pruneMs?: number; writeMs?: number };
  /** Node and initializer counts before and after pruning (only when built now). */
  pruned?: { nodes: { before: number; after: number }; initializers: { before: number; after: number } };
}

/**
 * The npm packages of model data this module depends on, with their versions. They are imported with versioned
 * `npm:` specifiers, so no import map is needed, and through a non-literal `import()`, so that they are downloaded
 * only when a model is built from them (the ISNet package is AGPL-3.0 and 212 MB; an `rgb-grid` user never gets it).
 */
const NPM_MODEL_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  "@imgly/background-removal-data": "1.4.5",
});

async function packageDir(source: NpmModelSource): Promise<string> {
  const pinned = NPM_MODEL_PACKAGES[source.package];
  // A package of our own is named with its version; any other must come from the caller's import map.
  const base = pinned ? `npm:${source.package}@${pinned}` : source.package;
  let url: URL;
  try {
    if (pinned) {
      // Importing a file of the package is what makes Deno install it (import.meta.resolve alone does not).
      const resources = `${base}/dist/resources.json`;
      await import(resources, { with: { type: "json" } });
    }
    url = new URL(import.meta.resolve(`${base}/package.json`));
  } catch (error) {
    throw new Error(
      `npm package '${source.package}' cannot be resolved; expected one of ${
        Object.keys(NPM_MODEL_PACKAGES).join(", ")
      } or a package in your deno.json's imports (npm:${source.package}@${source.version}): ${
        (error as Error).message.split("\n")[0]
      }`,
      { cause: error },
    );
  }
  if (url.protocol !== "file:") {
    throw new Error(
      `npm package '${source.package}' resolved to ${url.href}; expected a file in node_modules or Deno's npm cache`,
    );
  }
  let version: unknown;
  try {
    version = JSON.parse(await Deno.readTextFile(url)).version;
  } catch (error) {
    throw new Error(
      `npm package '${source.package}' is not installed at ${
        fileURLToPath(url)
      }; expected it after 'deno install'`,
      { cause: error },
    );
  }
  if (version !== source.version) {
    throw new RangeError(
      `npm package '${source.package}' is version ${version}, expected ${source.version} as the sidecar says`,
    );
  }
  return dirname(fileURLToPath(url));
}

function parseChunks(entry: unknown, where: string): { chunks: Chunk[]; size: number } {
  const e = entry as { chunks?: unknown; size?: unknown } | undefined;
  if (!e || !Array.isArray(e.chunks) || typeof e.size !== "number") {
    throw new TypeError(`Resource ${where} must have 'chunks' (an array) and 'size' (a number)`);
  }
  let end = 0;
  for (const [i, c] of (e.chunks as Chunk[]).entries()) {
    const ok = typeof c?.hash === "string" && /^[0-9a-f]{64}$/.test(c.hash) && Array.isArray(c.offsets) &&
      c.offsets.length === 2 && c.offsets[0] === end && Number.isInteger(c.offsets[1]) && c.offsets[1] > end;
    if (!ok) {
      throw new TypeError(
        `Chunk ${i} of resource ${where} must be { hash: 64 hex digits, offsets: [${end}, end > ${end}] }, got ${
          JSON.stringify(c)
        }`,
      );
    }
    end = c.offsets[1];
  }
  if (end !== e.size) {
    throw new RangeError(`Chunks of resource ${where} cover ${end} bytes, expected size ${e.size}`);
  }
  return { chunks: e.chunks as Chunk[], size: e.size };
}

/**
 * Assembles a model from an npm package's chunked resources: reads `dist/resources.json`, checks each chunk file's
 * size and SHA-256 against its entry and concatenates the chunks in order.
 *
 * @param source The package, its exact version and the resource key (e.g. `"/models/medium"`).
 * @returns The model file's bytes.
 * @throws {Error} If the package cannot be resolved or is not installed.
 * @throws {RangeError} If the installed version differs from `source.version`, the resource key is unknown, or a
 * chunk has the wrong size or hash.
 * @throws {TypeError} If `resources.json` does not have the expected structure.
 *
 * @example Assemble ISNet's fp16 weights (88 MB; takes about a second)
 * ```ts ignore
 * import { assembleNpmModel } from "./isnet_model.ts";
 * const bytes = await assembleNpmModel({
 *   kind: "npm", package: "@imgly/background-removal-data", version: "1.4.5", resource: "/models/medium",
 * });
 * console.log(bytes.length); // 88188479
 * ```
 */
export async function assembleNpmModel(source: NpmModelSource): Promise<Uint8Array> {
  const dist = join(await packageDir(source), "dist");
  const where = `'${source.resource}' of ${source.package}@${source.version}`;
  const resources = JSON.parse(await Deno.readTextFile(join(dist, "resources.json"))) as Record<
    string,
    unknown
  >;
  if (!(source.resource in resources)) {
    const keys = Object.keys(resources).filter((k) => k.startsWith("/models/")).join(", ");
    throw new RangeError(`Resource ${where} does not exist; expected one of ${keys}`);
  }
  const { chunks, size } = parseChunks(resources[source.resource], where);
  const out = new Uint8Array(size);
  for (const [i, chunk] of chunks.entries()) {
    const [start, end] = chunk.offsets;
    const data = await Deno.readFile(join(dist, chunk.hash));
    if (data.length !== end - start) {
      throw new RangeError(
        `Chunk ${i} (${chunk.hash}) of resource ${where} has ${data.length} bytes, expected ${end - start}`,
      );
    }
    const hash = createHash("sha256").update(data).digest("hex");
    if (hash !== chunk.hash) {
      throw new RangeError(`Chunk ${i} of resource ${where} has SHA-256 ${hash}, expected ${chunk.hash}`);
    }
    out.set(data, start);
  }
  return out;
}

/**
 * Loads a model assembled from an npm package and cut at `outputName`: from the cache when a file there matches its
 * recorded SHA-256 and the pin `source.sha256` (if given), otherwise built (assembled, pruned) and written to the
 * cache atomically. A cached file that matches its `.sha256` file but not the pin was rewritten, so it is rebuilt
 * with a one-line warning naming the file and both hashes. If the cache cannot be written (read-only folder, no
 * write permission) the model is still returned, with a one-line warning. Only `<cache>/<name>-<key>.onnx` and its
 * `.sha256` file are written.
 *
 * @param source The package resource the model comes from, with the built model's pinned SHA-256 if known.
 * @param outputName The value that becomes the model's only output; everything not needed for it is removed.
 * @param options Cache folder, forced rebuild, cache file name.
 * @returns The model bytes, the cache path, the SHA-256 and timings.
 * @throws {RangeError} If `outputName` is not a value of the model, or the model built now differs from the pin
 * `source.sha256` (the message names both hashes; nothing is cached), and see {@linkcode assembleNpmModel}.
 *
 * @example
 * ```ts ignore
 * import { loadNpmModel } from "./isnet_model.ts";
 * const source = { kind: "npm", package: "@imgly/background-removal-data", version: "1.4.5", resource: "/models/medium" } as const;
 * const model = await loadNpmModel(source, "input.740", { cacheName: "isnet" });
 * console.log(model.path, model.fromCache, model.timings);
 * ```
 */
export async function loadNpmModel(
  source: NpmModelSource,
  outputName: string,
  options: LoadNpmModelOptions = {},
): Promise<LoadedModel> {
  const key = sha256Hex(new TextEncoder().encode(JSON.stringify({
    build: BUILD_VERSION,
    package: source.package,
    version: source.version,
    resource: source.resource,
    outputs: [outputName],
  }))).slice(0, 16);
  const fileName = `${options.cacheName ?? "model"}-${key}.onnx`;
  let cacheDir: string | undefined;
  try {
    cacheDir = resolveCacheDir(options.cacheDir);
  } catch (error) {
    warnOnce(`no-cache-dir`, `${(error as Error).message}; building the model in memory, uncached`);
  }
  const path = cacheDir === undefined ? fileName : join(cacheDir, fileName);
  if (!options.rebuild && cacheDir !== undefined) {
    const t0 = performance.now();
    const cached = await readVerified(path);
    if (cached && source.sha256 && cached.sha256 !== source.sha256) {
      // The file and its .sha256 agree but not with the pin: rewritten together, so neither can be trusted.
      console.warn(
        `Cached model ${path} has SHA-256 ${cached.sha256}, expected the pinned ${source.sha256}; rebuilding it`,
      );
    } else if (cached) {
      return { ...cached, path, fromCache: true, timings: { readMs: performance.now() - t0 } };
    }
  }
  const t0 = performance.now();
  const full = await assembleNpmModel(source);
  const t1 = performance.now();
  const pruned = pruneToOutputs(full, [outputName]);
  const t2 = performance.now();
  const sha256 = sha256Hex(pruned.bytes);
  if (source.sha256 && sha256 !== source.sha256) {
    // Checked before anything is written: a model that differs from the pin never reaches the cache.
    throw new RangeError(
      `Model built from resource '${source.resource}' of ${source.package}@${source.version} cut at '${outputName}' has SHA-256 ${sha256}, expected the pinned ${source.sha256} (the package or the pruning changed)`,
    );
  }
  if (cacheDir !== undefined) {
    try {
      await writeVerified(path, pruned.bytes);
    } catch (error) {
      // A read-only or forbidden cache folder costs a rebuild next time, not the encoder (one warning per file).
      warnOnce(
        path,
        `Cannot cache the model at ${path} (${
          (error as Error).message
        }); built in memory, it will be rebuilt on next load (set ${CACHE_DIR_ENV} or the cacheDir option to a writable folder)`,
      );
    }
  }
  const t3 = performance.now();
  return {
    bytes: pruned.bytes,
    path,
    sha256,
    fromCache: false,
    timings: { assembleMs: t1 - t0, pruneMs: t2 - t1, writeMs: t3 - t2 },
    pruned: { nodes: pruned.nodes, initializers: pruned.initializers },
  };
}

/**
 * Loads the built-in ISNet encoder model (`models/isnet.json`): the fp16 `/models/medium` network of
 * `@imgly/background-removal-data@1.4.5` cut at `input.740` (decoder features, 512×32×32 for a 1024² input).
 *
 * @param options Cache folder and forced rebuild.
 * @returns The model, its sidecar and where it is cached.
 * @throws {TypeError} If the sidecar's source is not an `"npm"` source with a pinned `sha256`.
 * @throws {Error} See {@linkcode loadNpmModel}.
 *
 * @example
 * ```ts ignore
 * import { loadIsnetModel } from "./isnet_model.ts";
 * const { model, sidecar } = await loadIsnetModel();
 * console.log(sidecar.id, model.path, model.bytes.length);
 * ```
 */
export async function loadIsnetModel(
  options: Omit<LoadNpmModelOptions, "cacheName"> = {},
): Promise<{ model: LoadedModel; sidecar: EncoderSidecar }> {
  const sidecar = await readSidecar(fileURLToPath(ISNET_SIDECAR_URL));
  if (sidecar.source.kind !== "npm") {
    throw new TypeError(
      `Sidecar '${ISNET_SIDECAR_URL.pathname}' field 'source.kind' must be "npm", got ${
        JSON.stringify(sidecar.source.kind)
      }`,
    );
  }
  if (!sidecar.source.sha256) {
    throw new TypeError(
      `Sidecar '${ISNET_SIDECAR_URL.pathname}' is missing field 'source.sha256'; expected the built model's SHA-256`,
    );
  }
  const model = await loadNpmModel(sidecar.source, sidecar.output.name, {
    ...options,
    cacheName: sidecar.id,
  });
  return { model, sidecar };
}
