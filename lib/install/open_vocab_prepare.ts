/**
 * `deno task models prepare convnext-clip --from DIR`: installs a CLIP for open-vocabulary labels from a folder
 * holding its export (the dense trunk, the visual head, the text encoder and the merges file, named as in the
 * registry sidecar — what `models/export_convnext_clip.py --out DIR` writes). The files are checked (present, the
 * merges file readable), copied into the install folder and recorded with their SHA-256 in `encoder.json`.
 *
 * @module
 */

import { join } from "node:path";
import { sha256File } from "../encoder/model_cache.ts";
import type { InstalledFile } from "../encoder/sidecar.ts";
import { writeFileAtomic } from "../io/write_file_atomic.ts";
import { parseOpenVocabSection } from "../openvocab/clip_sidecar.ts";
import { ClipTokenizer } from "../openvocab/clip_tokenizer.ts";

/** The files of a CLIP sidecar's export, model first. */
export function openVocabFiles(registryJson: Record<string, unknown>, registryPath: string): string[] {
  const section = parseOpenVocabSection(registryJson, registryPath);
  return [String(registryJson.model), section.head.model, section.text.model, section.tokenizer];
}

/**
 * Install the CLIP export in `fromDir` into `toDir`; returns the written `encoder.json`.
 *
 * @throws {Deno.errors.NotFound} naming every missing file and how to make them
 */
export async function prepareOpenVocabModel(
  registryJson: Record<string, unknown>,
  registryPath: string,
  fromDir: string,
  toDir: string,
): Promise<string> {
  const files = openVocabFiles(registryJson, registryPath);
  const missing: string[] = [];
  for (const f of files) {
    try {
      if (!(await Deno.stat(join(fromDir, f))).isFile) missing.push(f);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      missing.push(f);
    }
  }
  if (missing.length) {
    throw new Deno.errors.NotFound(
      `${fromDir} lacks ${
        missing.join(", ")
      }; make them with: python3 models/export_convnext_clip.py --out ${fromDir}`,
    );
  }
  const tokenizer = await ClipTokenizer.fromFile(join(fromDir, files[3]));
  if (tokenizer.vocabSize < 514) throw new RangeError(`${files[3]} holds no merges`);
  await Deno.mkdir(toDir, { recursive: true });
  const installed: InstalledFile[] = [];
  for (const f of files) {
    if (join(fromDir, f) !== join(toDir, f)) await Deno.copyFile(join(fromDir, f), join(toDir, f));
    installed.push({ path: f, ...(await sha256File(join(toDir, f))) });
  }
  const sidecar = { ...registryJson, sha256: installed[0].sha256, files: installed };
  const path = join(toDir, "encoder.json");
  await writeFileAtomic(path, JSON.stringify(sidecar, null, 2) + "\n");
  return path;
}
