/**
 * Rich displays for the Deno Jupyter kernel: a segmentation (the photo, its colour overlay with a legend, and a
 * table of segments), a feature map (its principal components as colours), and a captioned grid of images.
 * Each value implements `[Symbol.for("Jupyter.display")]()` and returns a `text/html` bundle with PNGs inlined
 * as data URLs, plus `text/plain`.
 *
 * @module
 */
import { resizeLabelsNearest } from "../image/resize.ts";
import type { FeatureMap, ImageRGB } from "../types.ts";
import { featurePcaImage } from "./feature_pca.ts";
import { ImageView, imageView } from "./image_view.ts";
import { overlaySegments } from "./overlay.ts";
import { segmentColor } from "./palette.ts";
import { plural } from "./plural.ts";
import { JUPYTER_DISPLAY } from "./jupyter_display.ts";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

function hex([r, g, b]: [number, number, number]): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

/** One row of a segment table. */
export interface SegmentRow {
  /** Segment number. */
  segment: number;
  /** Overlay colour, `#rrggbb`. */
  color: string;
  /** Pixels in the segment. */
  pixels: number;
  /** Share of the image, in [0, 1]. */
  share: number;
}

/** A segmentation ready to display. */
export class SegmentationView {
  /** The photo (display size). */
  readonly image: ImageView;
  /** The overlay (display size). */
  readonly overlay: ImageView;
  /** One row per segment, largest first. */
  readonly rows: SegmentRow[];
  /** Title shown above. */
  readonly title: string;

  /**
   * Holds a prepared segmentation display (use {@linkcode segmentationView} to build one).
   *
   * @param image Photo view.
   * @param overlay Overlay view.
   * @param rows Segment table.
   * @param title Title.
   */
  constructor(image: ImageView, overlay: ImageView, rows: SegmentRow[], title: string) {
    this.image = image;
    this.overlay = overlay;
    this.rows = rows;
    this.title = title;
  }

  /** HTML: photo and overlay side by side, the legend, and the segment table. */
  get html(): string {
    const legend = this.rows.map((r) =>
      `<span style="display:inline-block;margin:0 8px 2px 0"><span style="display:inline-block;width:12px;height:12px;background:${r.color};vertical-align:middle"></span> ${r.segment}</span>`
    ).join("");
    const table = this.rows.map((r) =>
      `<tr><td>${r.segment}</td><td><span style="display:inline-block;width:12px;height:12px;background:${r.color}"></span></td><td style="text-align:right">${r.pixels}</td><td style="text-align:right">${
        (100 * r.share).toFixed(1)
      }%</td></tr>`
    ).join("");
    return `<div><h4 style="margin:4px 0">${escapeHtml(this.title)}</h4>` +
      `<div style="display:flex;gap:8px"><img src="${this.image.dataUrl}" alt="image"/>` +
      `<img src="${this.overlay.dataUrl}" alt="segments"/></div>` +
      `<div style="font:12px sans-serif;margin:4px 0">${legend}</div>` +
      `<table style="font:12px sans-serif"><thead><tr><th>segment</th><th>colour</th><th>pixels</th><th>share</th></tr></thead><tbody>${table}</tbody></table></div>`;
  }

  /**
   * The Deno kernel's rich-display hook.
   *
   * @returns `text/html` and `text/plain`.
   */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return {
      "text/html": this.html,
      "text/plain": `${this.title}: ${plural(this.rows.length, "segment")} (${
        this.rows.map((r) => `${r.segment}: ${(100 * r.share).toFixed(1)}%`).join(", ")
      })`,
    };
  }
}

/** Options of {@linkcode segmentationView}. */
export interface SegmentationViewOptions {
  /** Title. @default {"Segmentation"} */
  title?: string;
  /** Long side of the displayed images, in pixels. @default {320} */
  maxSide?: number;
  /** Overlay colour weight. @default {0.5} */
  opacity?: number;
}

/**
 * Builds the display of a segmentation: labels of any size (for example a 32×32 grid or the full-size result)
 * are resized (nearest) to the image.
 *
 * @param image The photo.
 * @param labels Segment per pixel or per patch, row-major.
 * @param labelsHeight Rows of `labels`.
 * @param labelsWidth Columns of `labels`.
 * @param options Title, size and opacity.
 * @returns The view; its table counts pixels at the labels' own resolution.
 * @throws {RangeError} When `labels` does not hold `labelsHeight·labelsWidth` values.
 *
 * @example
 * ```ts
 * import { segmentationView } from "./segmentation_view.ts";
 * import { JUPYTER_DISPLAY } from "./jupyter_display.ts";
 * import assert from "node:assert/strict";
 * const image = { height: 4, width: 4, data: new Float32Array(48).fill(0.5) };
 * const view = segmentationView(image, Int32Array.from([0, 1, 0, 1]), 2, 2, { maxSide: 4 });
 * assert.equal(view.rows.length, 2);
 * assert.deepEqual(Object.keys(view[JUPYTER_DISPLAY]()), ["text/html", "text/plain"]);
 * ```
 */
export function segmentationView(
  image: ImageRGB,
  labels: Int32Array,
  labelsHeight: number,
  labelsWidth: number,
  options: SegmentationViewOptions = {},
): SegmentationView {
  if (labels.length !== labelsHeight * labelsWidth) {
    throw new RangeError(
      `Invalid labels: ${labels.length} values for ${labelsHeight}×${labelsWidth}, expected ${
        labelsHeight * labelsWidth
      }`,
    );
  }
  const shown = imageView(image, "image", options.maxSide ?? 320).image;
  const up = resizeLabelsNearest(
    { data: labels, height: labelsHeight, width: labelsWidth },
    shown.height,
    shown.width,
  );
  const overlay = overlaySegments(shown, up.data, { opacity: options.opacity });
  const counts = new Map<number, number>();
  for (const k of labels) counts.set(k, (counts.get(k) ?? 0) + 1);
  const rows = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .map(([segment, pixels]) => ({
      segment,
      color: hex(segmentColor(segment)),
      pixels,
      share: pixels / labels.length,
    }));
  return new SegmentationView(
    new ImageView(shown, "image"),
    new ImageView(overlay, "segments"),
    rows,
    options.title ?? "Segmentation",
  );
}

/** A captioned grid of images. */
export class ImageGrid {
  /** The cells, row-major. */
  readonly cells: ImageView[];
  /** Cells per row. */
  readonly columns: number;
  /** Title. */
  readonly title: string;

  /**
   * Holds a grid (use {@linkcode imageGrid} to build one).
   *
   * @param cells Images with captions.
   * @param columns Cells per row.
   * @param title Title.
   */
  constructor(cells: ImageView[], columns: number, title = "") {
    this.cells = cells;
    this.columns = columns;
    this.title = title;
  }

  /** HTML table of the images with their captions. */
  get html(): string {
    const rows: string[] = [];
    for (let i = 0; i < this.cells.length; i += this.columns) {
      rows.push(
        "<tr>" + this.cells.slice(i, i + this.columns).map((c) =>
          `<td style="text-align:center;font:12px sans-serif"><img src="${c.dataUrl}" alt="${
            escapeHtml(c.caption)
          }"/><br/>${escapeHtml(c.caption)}</td>`
        ).join("") + "</tr>",
      );
    }
    return `<div>${this.title ? `<h4 style="margin:4px 0">${escapeHtml(this.title)}</h4>` : ""}<table>${
      rows.join("")
    }</table></div>`;
  }

  /**
   * One image holding the whole grid (captions are not drawn), for saving as PNG.
   *
   * @param gap Pixels of white between cells. @default {4}
   * @returns The mosaic.
   */
  mosaic(gap = 4): ImageRGB {
    const cw = Math.max(...this.cells.map((c) => c.image.width));
    const ch = Math.max(...this.cells.map((c) => c.image.height));
    const rows = Math.ceil(this.cells.length / this.columns);
    const W = this.columns * cw + (this.columns - 1) * gap, H = rows * ch + (rows - 1) * gap;
    const data = new Float32Array(W * H * 3).fill(1);
    this.cells.forEach((c, i) => {
      const ox = (i % this.columns) * (cw + gap), oy = Math.floor(i / this.columns) * (ch + gap);
      for (let y = 0; y < c.image.height; y++) {
        const src = y * c.image.width * 3;
        data.set(c.image.data.subarray(src, src + c.image.width * 3), ((oy + y) * W + ox) * 3);
      }
    });
    return { data, height: H, width: W };
  }

  /**
   * The Deno kernel's rich-display hook.
   *
   * @returns `text/html` and `text/plain`.
   */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return {
      "text/html": this.html,
      "text/plain": `${this.title || "Image grid"}: ${this.cells.map((c) => c.caption).join(" | ")}`,
    };
  }
}

/**
 * Lays out images in a captioned grid.
 *
 * @param cells Images with their captions.
 * @param columns Cells per row.
 * @param title Title above the grid.
 * @returns The grid.
 * @throws {RangeError} When `columns` is not a positive integer or there are no cells.
 *
 * @example
 * ```ts
 * import { imageGrid } from "./segmentation_view.ts";
 * import { imageView } from "./image_view.ts";
 * import assert from "node:assert/strict";
 * const tile = imageView({ height: 2, width: 2, data: new Float32Array(12) }, "black");
 * const grid = imageGrid([tile, tile, tile], 2);
 * assert.deepEqual([grid.mosaic(1).width, grid.mosaic(1).height], [5, 5]);
 * ```
 */
export function imageGrid(cells: ImageView[], columns: number, title = ""): ImageGrid {
  if (!Number.isInteger(columns) || columns < 1) {
    throw new RangeError(`Invalid columns ${columns}: expected an integer ≥ 1`);
  }
  if (!cells.length) throw new RangeError("An image grid needs at least one cell; got 0");
  return new ImageGrid(cells, columns, title);
}

/**
 * Displays a feature map as its first three principal components in colour (one pixel per patch, enlarged).
 *
 * @param features Feature map.
 * @param caption Caption (e.g. the encoder id).
 * @param maxSide Long side of the displayed image. @default {256}
 * @returns An image view; its caption gives the grid and channel count.
 *
 * @example
 * ```ts
 * import { featureMapView } from "./segmentation_view.ts";
 * import assert from "node:assert/strict";
 * const view = featureMapView({ height: 2, width: 2, channels: 2, data: new Float32Array([1, 0, 0, 1, 1, 0, 0, 1]) }, "toy", 4);
 * assert.match(view.caption, /2×2×2/);
 * ```
 */
export function featureMapView(features: FeatureMap, caption = "", maxSide = 256): ImageView {
  const pca = featurePcaImage(features);
  const s = Math.max(1, Math.floor(maxSide / Math.max(pca.height, pca.width)));
  const big = new Float32Array(pca.height * s * pca.width * s * 3);
  const W = pca.width * s;
  for (let y = 0; y < pca.height * s; y++) {
    for (let x = 0; x < W; x++) {
      const src = (Math.floor(y / s) * pca.width + Math.floor(x / s)) * 3;
      big.set(pca.data.subarray(src, src + 3), (y * W + x) * 3);
    }
  }
  const label = `${
    caption ? caption + " " : ""
  }${features.height}×${features.width}×${features.channels} (PCA → RGB)`;
  return new ImageView({ data: big, height: pca.height * s, width: W }, label);
}
