/**
 * Where notebooks and scripts put their figures: `$DIFFCUT_FIGURES_DIR` (set by `deno task notebooks` to
 * `docs/figures/<notebook>`), else `docs/figures` under the current folder.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { ImageRGB } from "../types.ts";
import { Chart } from "./chart.ts";
import { ImageView } from "./image_view.ts";

/**
 * The figure folder.
 *
 * @returns `$DIFFCUT_FIGURES_DIR`, else `docs/figures`.
 */
export function figuresDir(): string {
  return Deno.env.get("DIFFCUT_FIGURES_DIR") || "docs/figures";
}

/**
 * Writes a chart as `<name>.svg` or an image as `<name>.png` into {@linkcode figuresDir} (created if needed).
 *
 * @param name File name without extension (letters, digits, `_`, `-`).
 * @param figure A chart, an image view, or a raw RGB image.
 * @returns The path written.
 * @throws {RangeError} When `name` holds other characters.
 *
 * @example
 * ```ts ignore
 * import { saveFigure } from "./save_figure.ts";
 * await saveFigure("roc", rocChart); // docs/figures/roc.svg
 * ```
 */
export async function saveFigure(name: string, figure: Chart | ImageView | ImageRGB): Promise<string> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new RangeError(`Invalid figure name '${name}': use letters, digits, '_' and '-'`);
  }
  const dir = figuresDir();
  await mkdir(dir, { recursive: true });
  if (figure instanceof Chart) return await figure.save(join(dir, `${name}.svg`));
  const view = figure instanceof ImageView ? figure : new ImageView(figure);
  return await view.save(join(dir, `${name}.png`));
}
