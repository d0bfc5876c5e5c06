/**
 * Writing files so that readers never see half a file: write a temporary sibling, then rename it.
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
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot write '${path}': folder '${dirname(path)}' does not exist`);
    }
    throw new Error(`Cannot write '${path}': ${(e as Error).message.split("\n")[0]}`, { cause: e });
  }
}
