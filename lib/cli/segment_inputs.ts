/**
 * What `deno task segment` will read and write, settled before any image is encoded: the image files behind the
 * paths given (folders walked recursively, symlinks to files followed), a one-line reason for every file left
 * out, and for every image an output name that cannot collide with another's or resolve outside `--out`.
 *
 * Output names mirror the input's path relative to the folder it was found in (`photos/a/x.jpg` given as
 * `photos` → `<out>/a/x.*`); a file given by itself is named by its stem. Two inputs whose names differ only by
 * extension keep it (`x.png.*`, `x.jpg.*`); any other clash is refused before work starts. The files a run writes
 * (`*.labels.png`, `*.overlay.png`, `*.json` inside `--out`) are never taken as inputs.
 *
 * @module
 */
import { basename, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { printable } from "../io/printable.ts";

/** Extensions read as images. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([".png", ".jpg", ".jpeg"]);

/** Image formats people commonly have that the decoders do not read, by extension. */
const UNSUPPORTED_FORMATS: Readonly<Record<string, string>> = {
  ".webp": "WebP",
  ".bmp": "BMP",
  ".gif": "GIF",
  ".tif": "TIFF",
  ".tiff": "TIFF",
  ".heic": "HEIC",
  ".heif": "HEIF",
  ".avif": "AVIF",
  ".jxl": "JPEG XL",
};

/** Suffixes of the files one image's run writes. */
export const OUTPUT_SUFFIXES = { labels: ".labels.png", overlay: ".overlay.png", json: ".json" } as const;
const SUFFIXES = Object.values(OUTPUT_SUFFIXES);

/** Deepest folder nesting walked below an input folder. */
const MAX_DEPTH = 32;

/** One image to segment. */
export interface PlannedImage {
  /** The path to read, as given or joined from the folder given. */
  path: string;
  /** Where its outputs go: `<out>/<name>.labels.png`, `<out>/<name>.overlay.png`, `<out>/<name>.json`. */
  outputs: { labels: string; overlay: string; json: string };
}

/** What {@linkcode planSegmentation} settled. */
export interface SegmentationPlan {
  /** The images, in the order given (each folder's files sorted by path). */
  images: PlannedImage[];
  /** One line per file left out: `path (reason)`. */
  skipped: string[];
}

/** Whether `path` is `dir` or lies below it (both absolute). */
function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function isOutputName(name: string): boolean {
  return SUFFIXES.some((s) => name.toLowerCase().endsWith(s));
}

function statReason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "broken symbolic link";
  if (error instanceof Deno.errors.FilesystemLoop || /os error 40\b/.test(String(error))) {
    return "symbolic link loop";
  }
  return (error as Error).message.split("\n")[0];
}

function kindOf(info: Deno.FileInfo): string {
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

interface Candidate {
  path: string;
  /** Name relative to the folder given (or the file's base name), with its extension, `/`-separated. */
  relName: string;
}

/** Why a regular file's extension keeps it out, or null for an image extension. */
function extensionReason(name: string): string | null {
  const ext = extname(name).toLowerCase();
  if (IMAGE_EXTENSIONS.has(ext)) return null;
  const format = UNSUPPORTED_FORMATS[ext];
  return format ? `${format} is not supported; expected PNG or JPEG` : "not a .png, .jpg or .jpeg file";
}

async function walk(
  dir: string,
  rel: string,
  depth: number,
  outAbs: string,
  found: Candidate[],
  skipped: string[],
  outputs: { count: number },
): Promise<void> {
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const inOut = isInside(resolve(dir), outAbs);
  for (const e of entries) {
    const path = join(dir, e.name);
    const relName = rel ? `${rel}/${e.name}` : e.name;
    let info: Deno.FileInfo;
    if (e.isSymlink) {
      try {
        info = await Deno.stat(path);
      } catch (error) {
        skipped.push(`${path} (${statReason(error)})`);
        continue;
      }
      if (info.isDirectory) {
        skipped.push(`${path} (a symbolic link to a folder; not followed)`);
        continue;
      }
    } else {
      info = { isFile: e.isFile, isDirectory: e.isDirectory } as Deno.FileInfo;
      if (!e.isFile && !e.isDirectory) info = await Deno.lstat(path);
    }
    if (info.isDirectory) {
      if (!inOut && resolve(path) === outAbs) {
        skipped.push(`${path}${sep} (the output folder)`);
      } else if (depth >= MAX_DEPTH) {
        skipped.push(`${path}${sep} (deeper than ${MAX_DEPTH} folders)`);
      } else {
        await walk(path, relName, depth + 1, outAbs, found, skipped, outputs);
      }
      continue;
    }
    if (!info.isFile) {
      skipped.push(`${path} (${kindOf(info)}, not a regular file)`);
      continue;
    }
    if (inOut && isOutputName(e.name)) {
      outputs.count++;
      continue;
    }
    const reason = extensionReason(e.name);
    if (reason) skipped.push(`${path} (${reason})`);
    else found.push({ path, relName });
  }
}

function stemOf(relName: string): string {
  return relName.slice(0, relName.length - extname(relName).length);
}

/**
 * Expands the paths given into images and settles each one's output name (see the module notes).
 *
 * @param paths Files and folders, as given on the command line.
 * @param outDir The output folder.
 * @returns The images and the files left out.
 * @throws {Error} Naming the path when one does not exist or is neither a file nor a folder, when a folder holds
 * no image, or when two inputs would write the same outputs.
 */
export async function planSegmentation(paths: string[], outDir: string): Promise<SegmentationPlan> {
  const outAbs = resolve(outDir);
  const found: Candidate[] = [];
  const skipped: string[] = [];
  const outputs = { count: 0 };
  for (const p of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(p);
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound ? "no such file or folder" : statReason(error);
      throw new Error(`Cannot read input '${printable(p)}': ${reason}`);
    }
    if (info.isDirectory) {
      const before = found.length;
      await walk(p, "", 0, outAbs, found, skipped, outputs);
      if (found.length === before) {
        throw new Error(`Input folder '${printable(p)}' holds no .png, .jpg or .jpeg files`);
      }
    } else if (info.isFile) {
      found.push({ path: p, relName: basename(p) });
    } else {
      throw new Error(
        `Cannot read input '${printable(p)}': it is ${kindOf(info)}, expected an image file or a folder`,
      );
    }
  }
  if (outputs.count > 0) {
    skipped.push(
      `${outputs.count} file(s) in ${outDir} named like this tool's outputs (${SUFFIXES.join(", ")})`,
    );
  }
  // A clash of stems alone (x.png, x.jpg) keeps the extensions; any clash left is refused.
  const key = (name: string) => name.normalize("NFC").toLowerCase();
  const stemCount = new Map<string, number>();
  for (const c of found) {
    stemCount.set(key(stemOf(c.relName)), (stemCount.get(key(stemOf(c.relName))) ?? 0) + 1);
  }
  const taken = new Map<string, string>();
  const images: PlannedImage[] = [];
  for (const c of found) {
    const name = stemCount.get(key(stemOf(c.relName)))! > 1 ? c.relName : stemOf(c.relName);
    const other = taken.get(key(name));
    if (other !== undefined) {
      throw new Error(
        `Inputs '${printable(other)}' and '${printable(c.path)}' would both write ${
          printable(join(outDir, name))
        }.{labels.png,overlay.png,json}; expected distinct names, so segment them into separate --out folders`,
      );
    }
    taken.set(key(name), c.path);
    // Suffix first, then join: a stem such as "." or ".." stays part of one file name inside the folder.
    const outputs = {
      labels: join(outDir, `${name}${OUTPUT_SUFFIXES.labels}`),
      overlay: join(outDir, `${name}${OUTPUT_SUFFIXES.overlay}`),
      json: join(outDir, `${name}${OUTPUT_SUFFIXES.json}`),
    };
    for (const target of Object.values(outputs).map((o) => resolve(o))) {
      if (!isInside(target, outAbs) || target === outAbs) {
        throw new Error(
          `Output for '${printable(c.path)}' would be written outside ${printable(outDir)}: ${
            printable(target)
          }`,
        );
      }
    }
    images.push({ path: c.path, outputs });
  }
  // Never overwrite an input: an image named like another's output.
  const inputPaths = new Set(images.map((im) => resolve(im.path)));
  for (const im of images) {
    for (const target of Object.values(im.outputs).map((o) => resolve(o))) {
      if (inputPaths.has(target)) {
        throw new Error(
          `Output ${printable(target)} of '${
            printable(im.path)
          }' would overwrite an input image; expected another --out`,
        );
      }
    }
  }
  return { images, skipped };
}
