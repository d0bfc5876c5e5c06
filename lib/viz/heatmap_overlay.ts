/**
 * A patch-grid heatmap drawn over its photo (the paper's Fig. 4 style): the photo at its own aspect ratio, the
 * grid's cells stretched over it with some transparency, the query patch outlined, and a colour bar with the
 * map's scale underneath. Written by hand as SVG (one `<image>`, one `<rect>` per cell), so it needs no canvas.
 *
 * @module
 */
import type { ImageRGB } from "../types.ts";
import { Chart, wrapText as wrapLines } from "./chart.ts";
import { viridis } from "./colormap.ts";
import jpeg from "npm:jpeg-js@0.4.4";
import { Buffer } from "node:buffer";
import { imageView } from "./image_view.ts";

/** Options of {@linkcode heatmapOverlayChart}. */
export interface HeatmapOverlayOptions {
  /** Title above the photo (kept to the chart's width: long titles are shortened with "…"). */
  title?: string;
  /** Colour domain. @default {the values' min and max} */
  domain?: [number, number];
  /** Opacity of the coloured cells over the photo. @default {0.6} */
  opacity?: number;
  /** Width of the drawn photo in pixels; its height follows the photo's aspect ratio. @default {200} */
  width?: number;
  /** Cells to outline (e.g. the query patch), as `[row, column]` of the grid. */
  markers?: [number, number][];
  /** Label under the colour bar. @default {""} */
  legendLabel?: string;
  /** Draw the colour bar. @default {true} */
  legend?: boolean;
}

let gradients = 0;

function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

const hex = ([r, g, b]: [number, number, number]) =>
  `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;

/** The photo scaled to (at most) 1.5 times the drawn size, as a JPEG data URL (quality 85): a few tens of kB. */
function jpegDataUrl(photo: ImageRGB, w: number, h: number): string {
  const side = Math.min(Math.max(photo.height, photo.width), Math.round(1.5 * Math.max(w, h)));
  const { image } = imageView(photo, "", side);
  const rgba = new Uint8Array(image.height * image.width * 4);
  for (let i = 0; i < image.height * image.width; i++) {
    for (let c = 0; c < 3; c++) {
      rgba[4 * i + c] = Math.round(255 * Math.min(1, Math.max(0, image.data[3 * i + c])));
    }
    rgba[4 * i + 3] = 255;
  }
  const { data } = jpeg.encode({ data: rgba, width: image.width, height: image.height }, 85);
  return `data:image/jpeg;base64,${Buffer.from(data).toString("base64")}`;
}

/** Shortens `text` so that it fits `width` pixels at `fontSize` (≈ 0.58 em per character). */
function fit(text: string, width: number, fontSize: number): string {
  const max = Math.max(4, Math.floor(width / (0.58 * fontSize)));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Draws a `height × width` field (row-major) over `photo`, with a viridis colour bar giving the scale.
 *
 * @param photo The photo the grid covers (the whole of it).
 * @param values Row-major values, one per grid cell.
 * @param height Grid rows.
 * @param width Grid columns.
 * @param options Title, domain, opacity, size, markers.
 * @returns The chart.
 * @throws {RangeError} When `values` does not hold `height·width` entries.
 *
 * @example
 * ```ts
 * import { heatmapOverlayChart } from "./heatmap_overlay.ts";
 * import assert from "node:assert/strict";
 * const photo = { height: 3, width: 6, data: new Float32Array(54).fill(0.5) };
 * const chart = heatmapOverlayChart(photo, [0, 1, 2, 3], 2, 2, { width: 120, markers: [[0, 1]] });
 * assert.equal(chart.width, 120);
 * assert.match(chart.svg, /<image /);
 * assert.equal((chart.svg.match(/<rect /g) ?? []).length >= 5, true);
 * ```
 */
export function heatmapOverlayChart(
  photo: ImageRGB,
  values: ArrayLike<number>,
  height: number,
  width: number,
  options: HeatmapOverlayOptions = {},
): Chart {
  if (values.length !== height * width) {
    throw new RangeError(
      `Invalid field: ${values.length} values for ${height}×${width}, expected ${height * width}`,
    );
  }
  const W = options.width ?? 200;
  const H = Math.round((W * photo.height) / photo.width);
  const opacity = options.opacity ?? 0.6;
  const legend = options.legend ?? true;
  let [lo, hi] = options.domain ?? [Infinity, -Infinity];
  if (!options.domain) {
    for (let i = 0; i < values.length; i++) {
      if (values[i] < lo) lo = values[i];
      if (values[i] > hi) hi = values[i];
    }
  }
  if (!(hi > lo)) hi = lo + 1;
  const parts: string[] = [];
  let y = 0;
  if (options.title) {
    parts.push(
      `<text x="0" y="13" font-size="13" font-weight="bold">${escapeXml(fit(options.title, W, 13))}</text>`,
    );
    y = 20;
  }
  parts.push(
    `<image x="0" y="${y}" width="${W}" height="${H}" preserveAspectRatio="none" href="${
      jpegDataUrl(photo, W, H)
    }"/>`,
  );
  const cw = W / width, ch = H / height;
  const cells: string[] = [];
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const v = values[r * width + c];
      cells.push(
        `<rect x="${(c * cw).toFixed(1)}" y="${(r * ch).toFixed(1)}" width="${cw.toFixed(1)}" height="${
          ch.toFixed(1)
        }" fill="${hex(viridis((v - lo) / (hi - lo)))}"/>`,
      );
    }
  }
  parts.push(
    `<g transform="translate(0, ${y})" fill-opacity="${opacity}" shape-rendering="crispEdges">${
      cells.join("")
    }</g>`,
  );
  for (const [r, c] of options.markers ?? []) {
    const box = `x="${(c * cw).toFixed(2)}" y="${(y + r * ch).toFixed(2)}" width="${cw.toFixed(2)}" height="${
      ch.toFixed(2)
    }" fill="none"`;
    parts.push(`<rect ${box} stroke="white" stroke-width="4"/><rect ${box} stroke="red" stroke-width="2"/>`);
  }
  y += H;
  if (legend) {
    const id = `diffcut-cbar-${++gradients}`;
    const stops = Array.from(
      { length: 9 },
      (_, i) => `<stop offset="${i / 8}" stop-color="${hex(viridis(i / 8))}" stop-opacity="${opacity}"/>`,
    ).join("");
    const fmt = (v: number) => (Math.abs(hi - lo) < 0.1 ? v.toFixed(3) : v.toFixed(2));
    y += 6;
    parts.push(
      `<defs><linearGradient id="${id}">${stops}</linearGradient></defs>` +
        `<rect x="0" y="${y}" width="${W}" height="10" fill="white"/>` +
        `<rect x="0" y="${y}" width="${W}" height="10" fill="url(#${id})" stroke="#999" stroke-width="0.5"/>`,
    );
    y += 10;
    const ticks: [number, string][] = [[0, "start"], [0.5, "middle"], [1, "end"]];
    for (const [t, anchor] of ticks) {
      parts.push(
        `<line x1="${t * W}" x2="${t * W}" y1="${y}" y2="${y + 3}" stroke="#333"/>` +
          `<text x="${t * W}" y="${y + 14}" font-size="10" text-anchor="${anchor}">${
            fmt(lo + t * (hi - lo))
          }</text>`,
      );
    }
    y += 16;
    if (options.legendLabel) {
      parts.push(
        `<text x="${W / 2}" y="${y + 12}" font-size="10" text-anchor="middle">${
          escapeXml(fit(options.legendLabel, W, 10))
        }</text>`,
      );
      y += 16;
    }
  }
  const total = Math.ceil(y + 2);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${total}" viewBox="0 0 ${W} ${total}" ` +
    `font-family="system-ui, sans-serif" style="background: white"><rect width="${W}" height="${total}" fill="white"/>${
      parts.join("")
    }</svg>`;
  return new Chart(svg, options.title ?? "", W, total);
}

/** Options of {@linkcode labelledImageGrid}. */
export interface LabelledImageGridOptions {
  /** Title above the grid. */
  title?: string;
  /** One label per row, drawn to the left (e.g. `α = 5`). */
  rowLabels?: string[];
  /** One label per column, drawn above (e.g. `τ = 0.15`). */
  columnLabels?: string[];
  /** One caption per cell, drawn under it (e.g. the segment count). */
  cellCaptions?: string[];
  /** Drawn width of each cell in pixels; heights follow each image's aspect ratio. @default {160} */
  cellWidth?: number;
  /** Title of the row axis, drawn rotated left of the row labels (e.g. `α (affinity exponent)`). */
  rowTitle?: string;
  /** Title of the column axis, drawn above the column labels (e.g. `τ (NCut threshold) →`). */
  columnTitle?: string;
  /** Cells to outline in red, row-major (e.g. those cut into one segment); their captions are red too. */
  marked?: boolean[];
  /** Caption under the grid, wrapped to its width (e.g. what the red outlines mean). */
  caption?: string;
}

/**
 * Images in a grid with row and column labels, as one SVG chart (images embedded as JPEG).
 *
 * @param images The images, row-major.
 * @param columns Images per row.
 * @param options Title, row/column labels and axis titles, cell captions, marked cells, caption, cell width.
 * @returns The chart.
 * @throws {RangeError} When there are no images or `columns` is not a positive integer.
 *
 * @example
 * ```ts
 * import { labelledImageGrid } from "./heatmap_overlay.ts";
 * import assert from "node:assert/strict";
 * const im = { height: 2, width: 2, data: new Float32Array(12).fill(0.5) };
 * const chart = labelledImageGrid([im, im], 2, { rowLabels: ["α = 1"], columnLabels: ["τ = 0.1", "τ = 0.2"] });
 * assert.equal((chart.svg.match(/<image /g) ?? []).length, 2);
 * assert.match(chart.svg, /τ = 0.2/);
 * ```
 */
export function labelledImageGrid(
  images: ImageRGB[],
  columns: number,
  options: LabelledImageGridOptions = {},
): Chart {
  if (!images.length) throw new RangeError("labelledImageGrid needs at least one image; got 0");
  if (!Number.isInteger(columns) || columns < 1) {
    throw new RangeError(`Invalid columns ${columns}: expected an integer ≥ 1`);
  }
  const cw = options.cellWidth ?? 160, gap = 6;
  // Room for the row labels, plus a rotated axis title left of them.
  const rowTitleWidth = options.rowTitle ? 22 : 0;
  const left = (options.rowLabels ? 64 : 0) + rowTitleWidth;
  const ch = Math.max(...images.map((im) => Math.round((cw * im.height) / im.width)));
  const caption = options.cellCaptions ? 16 : 0;
  const rows = Math.ceil(images.length / columns);
  const width = left + columns * cw + (columns - 1) * gap;
  const parts: string[] = [];
  let y = 0;
  if (options.title) {
    for (const line of wrapLines(options.title, width, 15)) {
      parts.push(`<text x="0" y="${y + 15}" font-size="15" font-weight="bold">${escapeXml(line)}</text>`);
      y += 21;
    }
    y += 2;
  }
  if (options.columnTitle) {
    const mid = left + (width - left) / 2;
    parts.push(
      `<text x="${mid}" y="${y + 13}" font-size="13" font-style="italic" text-anchor="middle">${
        escapeXml(fit(options.columnTitle, width - left, 13))
      }</text>`,
    );
    y += 20;
  }
  if (options.columnLabels) {
    options.columnLabels.forEach((label, c) =>
      parts.push(
        `<text x="${left + c * (cw + gap) + cw / 2}" y="${y + 13}" font-size="13" text-anchor="middle">${
          escapeXml(label)
        }</text>`,
      )
    );
    y += 20;
  }
  const gridTop = y;
  for (let r = 0; r < rows; r++) {
    if (options.rowLabels?.[r] !== undefined) {
      parts.push(
        `<text x="${left - 8}" y="${y + ch / 2 + 5}" font-size="13" text-anchor="end">${
          escapeXml(options.rowLabels[r])
        }</text>`,
      );
    }
    for (let c = 0; c < columns && r * columns + c < images.length; c++) {
      const im = images[r * columns + c];
      const h = Math.round((cw * im.height) / im.width);
      const x = left + c * (cw + gap);
      parts.push(`<image x="${x}" y="${y}" width="${cw}" height="${h}" href="${jpegDataUrl(im, cw, h)}"/>`);
      const marked = options.marked?.[r * columns + c] ?? false;
      if (marked) {
        parts.push(
          `<rect x="${x + 1.5}" y="${y + 1.5}" width="${cw - 3}" height="${
            h - 3
          }" fill="none" stroke="#d00" ` +
            `stroke-width="3"/>`,
        );
      }
      const text = options.cellCaptions?.[r * columns + c];
      if (text) {
        parts.push(
          `<text x="${x + cw / 2}" y="${y + ch + 12}" font-size="11" text-anchor="middle"${
            marked ? ' fill="#d00" font-weight="bold"' : ""
          }>${escapeXml(fit(text, cw, marked ? 10 : 11))}</text>`,
        );
      }
    }
    y += ch + caption + gap;
  }
  if (options.rowTitle) {
    const cy = (gridTop + y) / 2;
    parts.push(
      `<text x="14" y="${cy}" font-size="13" font-style="italic" text-anchor="middle" ` +
        `transform="rotate(-90 14 ${cy})">${escapeXml(fit(options.rowTitle, y - gridTop, 13))}</text>`,
    );
  }
  if (options.caption) {
    y += 4;
    for (const line of wrapLines(options.caption, width, 12)) {
      parts.push(`<text x="0" y="${y + 12}" font-size="12" fill="#333">${escapeXml(line)}</text>`);
      y += 16;
    }
  }
  const height = Math.ceil(y);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" style="background: white">` +
    `<rect width="${width}" height="${height}" fill="white"/>${parts.join("")}</svg>`;
  return new Chart(svg, options.title ?? "", width, height);
}
