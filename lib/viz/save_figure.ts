/**
 * Where notebooks and scripts put their figures: the folder the caller names (`dir`), else
 * `$DIFFCUT_FIGURES_DIR` (set by `deno task notebooks` to its staging folder for `<notebook>`), else nowhere: with neither,
 * {@linkcode saveFigure} writes nothing and says so once, instead of guessing a folder relative to the current
 * one (a notebook opened from `notebooks/` would otherwise write a stray `notebooks/docs/figures/`).
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/write_file_atomic.ts";
import { fileURLToPath } from "node:url";
import type { ImageRGB } from "../types.ts";
import { Chart } from "./chart.ts";
import { ImageView } from "./image_view.ts";

/**
 * The figure folder named by the environment.
 *
 * @returns `$DIFFCUT_FIGURES_DIR`, else `undefined` (also without `--allow-env`).
 */
export function figuresDir(): string | undefined {
  try {
    return Deno.env.get("DIFFCUT_FIGURES_DIR") || undefined;
  } catch {
    return undefined;
  }
}

/** Options of {@linkcode saveFigure}. */
export interface SaveFigureOptions {
  /**
   * Folder to write into (a path or a `file:` URL; created if needed). A relative path is taken from the current
   * folder, as the caller wrote it.
   * @default {`$DIFFCUT_FIGURES_DIR`, else nothing is written}
   */
  dir?: string | URL;
  /**
   * The files a chart is written as: `["svg"]`, `["png"]` or both (an image is always a PNG). PNGs are drawn at
   * `pngScale` pixels per SVG unit.
   * @default {["svg"]}
   */
  formats?: readonly ("svg" | "png")[];
  /**
   * Pixels per SVG unit of a chart's PNG.
   * @default {2}
   */
  pngScale?: number;
}

let warnedNoFolder = false;

/**
 * Writes a chart as `<name>.svg` and/or `<name>.png` (`options.formats`), or an image as `<name>.png`, into
 * the folder the caller names: `options.dir`, else {@linkcode figuresDir}. With neither, nothing is written and
 * a one-line notice says so (once per process).
 *
 * @param name File name without extension (letters, digits, `_`, `-`).
 * @param figure A chart, an image view, or a raw RGB image.
 * @param options The folder, and a chart's formats.
 * @returns The path written (a chart in several formats: the first of `formats`), or `undefined` when no folder
 * was named.
 * @throws {RangeError} When `name` holds other characters, or `formats` is empty or names another format.
 *
 * @example
 * ```ts
 * import { saveFigure } from "./save_figure.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const image = { height: 2, width: 2, data: new Float32Array(12).fill(0.5) };
 * assert.equal(await saveFigure("grey", image, { dir }), `${dir}/grey.png`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveFigure(
  name: string,
  figure: Chart | ImageView | ImageRGB,
  options: SaveFigureOptions = {},
): Promise<string | undefined> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new RangeError(`Invalid figure name '${name}': use letters, digits, '_' and '-'`);
  }
  const formats = options.formats ?? ["svg"];
  if (!formats.length || formats.some((f) => f !== "svg" && f !== "png")) {
    throw new RangeError(`Invalid figure formats ${JSON.stringify(formats)}: expected "svg", "png" or both`);
  }
  const named = options.dir ?? figuresDir();
  if (named === undefined) {
    if (!warnedNoFolder) {
      warnedNoFolder = true;
      console.warn(
        `saveFigure: no folder named (the dir option or DIFFCUT_FIGURES_DIR); '${name}' and later figures are not saved`,
      );
    }
    return undefined;
  }
  const dir = named instanceof URL ? fileURLToPath(named) : named;
  await mkdir(dir, { recursive: true });
  if (figure instanceof Chart) {
    const paths: string[] = [];
    for (const format of formats) {
      paths.push(await figure.save(join(dir, `${name}.${format}`), { scale: options.pngScale ?? 2 }));
    }
    return paths[0];
  }
  const view = figure instanceof ImageView ? figure : new ImageView(figure);
  return await view.save(join(dir, `${name}.png`));
}

/**
 * Writes the numbers behind a figure as `<name>.csv` beside it (same folder rules as {@linkcode saveFigure}).
 * Columns are the keys of the first row; values are written as they print (numbers with full precision), text
 * quoted when it holds a comma, quote or newline.
 *
 * @param name File name without extension (letters, digits, `_`, `-`).
 * @param rows One object per row.
 * @param options The folder.
 * @returns The path written, or `undefined` when no folder was named.
 * @throws {RangeError} When `name` holds other characters or `rows` is empty.
 *
 * @example
 * ```ts
 * import { saveCsv } from "./save_figure.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const path = await saveCsv("auc", [{ encoder: "a,b", auc: 0.5 }], { dir });
 * assert.equal(await Deno.readTextFile(path!), 'encoder,auc\n"a,b",0.5\n');
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveCsv(
  name: string,
  rows: Record<string, string | number>[],
  options: SaveFigureOptions = {},
): Promise<string | undefined> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new RangeError(`Invalid table name '${name}': use letters, digits, '_' and '-'`);
  }
  if (!rows.length) throw new RangeError(`Table '${name}' has no rows`);
  const named = options.dir ?? figuresDir();
  if (named === undefined) return undefined;
  const dir = named instanceof URL ? fileURLToPath(named) : named;
  await mkdir(dir, { recursive: true });
  const columns = Object.keys(rows[0]);
  const cell = (v: string | number | undefined) => {
    const s = v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const text = [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") +
    "\n";
  const path = join(dir, `${name}.csv`);
  await writeFileAtomic(path, text);
  return path;
}
