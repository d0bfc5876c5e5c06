/**
 * Writing files so that readers never see half a file: write a temporary sibling, then rename it; and writing a
 * set of files so that they appear together or not at all.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

/**
 * Writes `bytes` to `path` atomically (temporary file in the same folder, then rename).
 *
 * @param path Destination.
 * @param bytes Content (a string is written as UTF-8).
 * @throws {Error} When the folder does not exist or is not writable; the destination is left untouched.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFilesAtomic([{ path, bytes }]);
}

/** One file of {@linkcode writeFilesAtomic}. */
export interface FileToWrite {
  /** Destination. */
  path: string;
  /** Content (a string is written as UTF-8). */
  bytes: Uint8Array | string;
}

function writeError(e: unknown, path: string): Error {
  if (e instanceof Deno.errors.NotFound) {
    return new Deno.errors.NotFound(`Cannot write '${path}': folder '${dirname(path)}' does not exist`);
  }
  return new Error(`Cannot write '${path}': ${(e as Error).message.split("\n")[0]}`, { cause: e });
}

/**
 * Writes several files so that they appear together or not at all: every file goes to a temporary sibling first
 * (where a full disk fails), then all are renamed into place. On any failure the temporary files and the files
 * already renamed are removed, so no partial set is left (a destination that existed before is then gone too,
 * rather than left mixed with new files).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFilesAtomic } from "./write_file_atomic.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/c.json`); // a folder where the last file should go: its rename fails
 * await assert.rejects(writeFilesAtomic([
 *   { path: `${dir}/a.png`, bytes: new Uint8Array([1]) },
 *   { path: `${dir}/b.png`, bytes: new Uint8Array([2]) },
 *   { path: `${dir}/c.json`, bytes: "{}" },
 * ]), /Cannot write '.*c\.json'/);
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["c.json"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param files Destinations and contents (distinct paths).
 * @throws {Deno.errors.NotFound} When a destination's folder does not exist.
 * @throws {Error} Naming the destination when a file cannot be written or renamed.
 */
export async function writeFilesAtomic(files: FileToWrite[]): Promise<void> {
  const temps: string[] = [];
  const placed: string[] = [];
  try {
    for (const { path, bytes } of files) {
      const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
      const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
      temps.push(tmp);
      try {
        await Deno.writeFile(tmp, data);
      } catch (e) {
        throw writeError(e, path);
      }
    }
    for (const [i, { path }] of files.entries()) {
      try {
        await Deno.rename(temps[i], path);
      } catch (e) {
        throw writeError(e, path);
      }
      placed.push(path);
    }
  } catch (e) {
    for (const p of [...temps, ...placed]) await Deno.remove(p).catch(() => {});
    throw e;
  }
}
