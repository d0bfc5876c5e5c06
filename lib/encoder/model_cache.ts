/**
 * A folder of built model files, each with a `.sha256` file beside it (`sha256sum` format, so
 * `sha256sum -c isnet-….onnx.sha256` checks it by hand). Files are written atomically: to a temporary file in the
 * same folder, then renamed, so a reader never sees half a model.
 *
 * Cache location, first that applies: the `cacheDir` option, the `DIFFCUT_CACHE_DIR` environment variable, the
 * platform's user cache folder (see {@linkcode userCacheDir}): `$XDG_CACHE_HOME/diffcut` or `~/.cache/diffcut` on
 * Linux, `~/Library/Caches/diffcut` on macOS, `%LOCALAPPDATA%\diffcut` on Windows. Nothing is written next to the
 * module, so it works when imported from a read-only place or a registry.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, dirname, isAbsolute, join, win32 } from "node:path";

/** Environment variable that overrides the default cache folder. */
export const CACHE_DIR_ENV = "DIFFCUT_CACHE_DIR";

/**
 * Hex SHA-256 of some bytes.
 *
 * @param bytes The bytes to hash.
 * @returns 64 lowercase hex digits.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./model_cache.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sha256Hex(new Uint8Array()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
 * ```
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Reads an environment variable; `undefined` when unset, empty or not permitted (no `--allow-env`). */
function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The platform's user-level cache folder for DiffCut, the default model cache.
 *
 * @param os The operating system, as in `Deno.build.os`.
 * @param getEnv Reads an environment variable (`undefined` when unset).
 * @returns `%LOCALAPPDATA%\diffcut` on Windows (else `%USERPROFILE%\AppData\Local\diffcut`),
 * `$HOME/Library/Caches/diffcut` on macOS, `$XDG_CACHE_HOME/diffcut` elsewhere when that is an absolute path, else
 * `$HOME/.cache/diffcut`; `undefined` when the variables it needs are unset or cannot be read.
 *
 * @example
 * ```ts
 * import { userCacheDir } from "./model_cache.ts";
 * import assert from "node:assert/strict";
 * const env = (vars: Record<string, string>) => (name: string) => vars[name];
 * assert.equal(userCacheDir("linux", env({ HOME: "/home/ada" })), "/home/ada/.cache/diffcut");
 * assert.equal(userCacheDir("linux", env({ HOME: "/home/ada", XDG_CACHE_HOME: "/xdg" })), "/xdg/diffcut");
 * assert.equal(userCacheDir("darwin", env({ HOME: "/Users/ada" })), "/Users/ada/Library/Caches/diffcut");
 * assert.equal(userCacheDir("windows", env({ LOCALAPPDATA: "C:\\Users\\ada\\AppData\\Local" })), "C:\\Users\\ada\\AppData\\Local\\diffcut");
 * assert.equal(userCacheDir("linux", env({})), undefined);
 * ```
 */
export function userCacheDir(
  os: typeof Deno.build.os = Deno.build.os,
  getEnv: (name: string) => string | undefined = readEnv,
): string | undefined {
  if (os === "windows") {
    const local = getEnv("LOCALAPPDATA");
    if (local) return win32.join(local, "diffcut");
    const profile = getEnv("USERPROFILE");
    return profile ? win32.join(profile, "AppData", "Local", "diffcut") : undefined;
  }
  const home = getEnv("HOME");
  if (os === "darwin") return home ? join(home, "Library", "Caches", "diffcut") : undefined;
  const xdg = getEnv("XDG_CACHE_HOME");
  if (xdg && isAbsolute(xdg)) return join(xdg, "diffcut"); // the XDG spec ignores relative values
  return home ? join(home, ".cache", "diffcut") : undefined;
}

/**
 * The folder where built and installed models are cached.
 *
 * @param cacheDir An explicit folder, which wins over everything else.
 * @returns `cacheDir`, else `$DIFFCUT_CACHE_DIR`, else the platform's user cache folder ({@linkcode userCacheDir}).
 * @throws {TypeError} If no folder is given and the platform's cache folder cannot be found (no `HOME`, or no
 * `--allow-env` to read it).
 *
 * @example An explicit folder wins
 * ```ts
 * import { resolveCacheDir } from "./model_cache.ts";
 * import assert from "node:assert/strict";
 * assert.equal(resolveCacheDir("/tmp/models"), "/tmp/models");
 * ```
 */
export function resolveCacheDir(cacheDir?: string): string {
  if (cacheDir) return cacheDir;
  const dir = readEnv(CACHE_DIR_ENV) ?? userCacheDir();
  if (dir === undefined) {
    throw new TypeError(
      `Cannot find a user cache folder (HOME, XDG_CACHE_HOME or LOCALAPPDATA unset or not readable without --allow-env); expected a cacheDir option or ${CACHE_DIR_ENV} to be set`,
    );
  }
  return dir;
}

/**
 * Reads a cached file if it exists and its bytes match the SHA-256 recorded in `<path>.sha256`.
 *
 * @param path The cached file.
 * @returns The bytes and their hash, or `undefined` if the file or its hash file is missing or unreadable, or the
 * hash differs.
 *
 * @example A missing file is a cache miss
 * ```ts
 * import { readVerified } from "./model_cache.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await readVerified("/nonexistent/model.onnx"), undefined);
 * ```
 */
export async function readVerified(path: string): Promise<{ bytes: Uint8Array; sha256: string } | undefined> {
  let recorded: string;
  let bytes: Uint8Array;
  try {
    recorded = (await Deno.readTextFile(`${path}.sha256`)).trim().split(/\s+/)[0];
    bytes = await Deno.readFile(path);
  } catch {
    return undefined; // missing, unreadable or not permitted: a miss, so the caller rebuilds
  }
  const sha256 = sha256Hex(bytes);
  return sha256 === recorded.toLowerCase() ? { bytes, sha256 } : undefined;
}

async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${Deno.pid}.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeFile(temp, data);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => undefined);
    throw error;
  }
}

/**
 * Writes a file and its `<path>.sha256` atomically (each to a temporary file, then renamed), creating the folder.
 *
 * @param path Where the file goes.
 * @param bytes Its contents.
 * @returns The SHA-256 written to `<path>.sha256`.
 *
 * @example
 * ```ts
 * import { readVerified, writeVerified } from "./model_cache.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const sha = await writeVerified(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
 * assert.equal((await readVerified(`${dir}/a.bin`))?.sha256, sha);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeVerified(path: string, bytes: Uint8Array): Promise<string> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const sha256 = sha256Hex(bytes);
  await writeAtomic(path, bytes);
  await writeAtomic(`${path}.sha256`, new TextEncoder().encode(`${sha256}  ${basename(path)}\n`));
  return sha256;
}

/**
 * Hex SHA-256 and size of a file, read in chunks (for multi-gigabyte model files).
 *
 * @param path The file.
 * @returns 64 lowercase hex digits and the byte count.
 * @throws {Deno.errors.NotFound} If the file does not exist.
 *
 * @example
 * ```ts
 * import { sha256File } from "./model_cache.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * assert.deepEqual(await sha256File(path), { sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", bytes: 0 });
 * await Deno.remove(path);
 * ```
 */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1 << 22);
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
    bytes += n;
  }
  return { sha256: hash.digest("hex"), bytes };
}
