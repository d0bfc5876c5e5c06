/**
 * A rendered chart: Observable Plot output serialised to one standalone SVG, shown richly in the Deno Jupyter
 * kernel and written to `.svg` or `.png` files from `deno run` scripts.
 *
 * Plot returns a bare `<svg>` for a plain chart and a `<figure>` when it adds a title, caption or legends (and
 * its categorical legends are HTML, not SVG). {@linkcode renderPlot} turns either into a single SVG document:
 * headings become `<text>`, swatch legends become rectangles and labels, and the chart's own SVGs are stacked
 * below as nested `<svg>` elements, so the file displays the same in a browser, on GitHub and in Jupyter.
 *
 * @module
 */
import * as Plot from "npm:@observablehq/plot@0.6.17";
import { writeFileAtomic } from "../io/write_file_atomic.ts";
import { plotDocument } from "./plot_document.ts";
import { JUPYTER_DISPLAY } from "./jupyter_display.ts";
import { svgToPng, type SvgToPngOptions } from "./svg_to_png.ts";

/** Observable Plot's options (`Plot.plot(options)`), as accepted by {@linkcode renderPlot}. */
export type PlotOptions = Plot.PlotOptions;

/** A chart as standalone SVG text. */
export class Chart {
  /** Standalone SVG document (with the `xmlns` attribute). */
  readonly svg: string;
  /** Chart title (empty when none). */
  readonly title: string;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;

  /**
   * Wraps rendered SVG text.
   *
   * @param svg Standalone SVG text.
   * @param title Title for the plain-text representation.
   * @param width Width in pixels.
   * @param height Height in pixels.
   */
  constructor(svg: string, title: string, width: number, height: number) {
    this.svg = svg;
    this.title = title;
    this.width = width;
    this.height = height;
  }

  /**
   * Writes the chart atomically, as SVG or PNG by the path's extension: `.svg` writes the SVG text, `.png`
   * rasterises it with resvg ({@linkcode svgToPng}; the rasteriser is loaded on the first PNG only).
   *
   * @param path Destination ending in `.svg` or `.png` (any case).
   * @param options PNG scale and background (ignored for `.svg`).
   * @returns The path written.
   * @throws {RangeError} When the extension is neither `.svg` nor `.png`.
   */
  async save(path: string, options: SvgToPngOptions = {}): Promise<string> {
    const ext = /\.(svg|png)$/i.exec(path)?.[1]?.toLowerCase();
    if (ext === undefined) {
      throw new RangeError(`Cannot save a chart as '${path}': expected a path ending in .svg or .png`);
    }
    await writeFileAtomic(path, ext === "svg" ? this.svg : await this.toPng(options));
    return path;
  }

  /**
   * The chart as PNG file bytes, `width · scale × height · scale` pixels.
   *
   * @param options Scale (default 1) and background (default white).
   * @returns The PNG file.
   */
  async toPng(options: SvgToPngOptions = {}): Promise<Uint8Array> {
    return await svgToPng(this.svg, options);
  }

  /**
   * The Deno kernel's rich-display hook.
   *
   * @returns A MIME bundle with `image/svg+xml` and `text/plain`.
   */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return {
      "image/svg+xml": this.svg,
      "text/plain": `Chart ${this.title || "(untitled)"} ${this.width}×${this.height}`,
    };
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** The part of a DOM element this module reads (linkedom provides it; Deno has no DOM types). */
export interface PlotElement {
  /** Tag name. */
  tagName: string;
  /** Element children. */
  children: ArrayLike<PlotElement>;
  /** Serialised element. */
  outerHTML: string;
  /** Text content. */
  textContent: string | null;
  /** Attribute value or null. */
  getAttribute(name: string): string | null;
  /** Sets an attribute. */
  setAttribute(name: string, value: string): void;
  /** First matching descendant. */
  querySelector(selector: string): PlotElement | null;
  /** All matching descendants. */
  querySelectorAll(selector: string): ArrayLike<PlotElement>;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/**
 * Breaks `text` into lines at spaces so that each fits `width` pixels at `fontSize` (estimated at 0.56 em per
 * character, 0.6 em bold; a conservative width for system sans-serif fonts).
 *
 * @param text The text.
 * @param width Available width in pixels.
 * @param fontSize Font size in pixels.
 * @param bold Whether the text is bold.
 * @returns The lines (a single word longer than a line stays whole).
 *
 * @example
 * ```ts
 * import { wrapText } from "./chart.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(wrapText("one two three", 60, 10), ["one two", "three"]);
 * ```
 */
export function wrapText(text: string, width: number, fontSize: number, bold = false): string[] {
  const max = Math.max(8, Math.floor(width / ((bold ? 0.6 : 0.56) * fontSize)));
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function svgSize(el: PlotElement): [number, number] {
  const w = Number(el.getAttribute("width")), h = Number(el.getAttribute("height"));
  if (Number.isFinite(w) && Number.isFinite(h) && w > 0 && h > 0) return [w, h];
  const vb = (el.getAttribute("viewBox") ?? "").split(/[\s,]+/).map(Number);
  return [vb[2] || 640, vb[3] || 400];
}

/** Swatch legend (`div.plot-swatches`) → SVG group of coloured squares and labels on one or more rows. */
function swatchesToSvg(div: PlotElement, width: number): { body: string; height: number } {
  const items: { fill: string; label: string }[] = [];
  for (const span of Array.from(div.querySelectorAll("span"))) {
    const icon = span.querySelector("svg");
    if (!icon) continue;
    const shape = icon.querySelector("rect, circle, path");
    const fill = icon.getAttribute("fill") ?? shape?.getAttribute("fill") ?? icon.getAttribute("stroke") ??
      "currentColor";
    items.push({ fill, label: (span.textContent ?? "").trim() });
  }
  const parts: string[] = [];
  let x = 0, y = 0;
  for (const { fill, label } of items) {
    const w = 22 + 6.5 * label.length;
    if (x > 0 && x + w > width) {
      x = 0;
      y += 18;
    }
    parts.push(
      `<rect x="${x}" y="${y + 2}" width="12" height="12" fill="${escapeXml(fill)}"/>` +
        `<text x="${x + 16}" y="${y + 12}" font-size="11">${escapeXml(label)}</text>`,
    );
    x += w;
  }
  return {
    body: `<g font-family="system-ui, sans-serif">${parts.join("")}</g>`,
    height: items.length ? y + 20 : 0,
  };
}

/** Where the parts of a Plot figure go in its standalone SVG. */
export interface FigureLayout {
  /**
   * Colour legends under the chart instead of above it, so that charts placed side by side (one with a legend,
   * one without) start at the same height.
   * @default {false}
   */
  legendsBelow?: boolean;
}

/**
 * Converts Plot's output element (an `<svg>` or a `<figure>`) into one standalone SVG.
 *
 * @param el Plot's return value.
 * @param layout Where the legends go.
 * @returns The SVG text, its size, and the title found in the figure.
 */
export function toStandaloneSvg(
  el: PlotElement,
  layout: FigureLayout = {},
): { svg: string; width: number; height: number; title: string } {
  if (el.tagName.toLowerCase() === "svg") {
    const [w, h] = svgSize(el);
    if (!el.getAttribute("xmlns")) el.setAttribute("xmlns", SVG_NS);
    return { svg: el.outerHTML, width: w, height: h, title: "" };
  }
  let children = Array.from(el.children);
  if (layout.legendsBelow) {
    // Colour ramps (class "plot-…-ramp") move to just after the last chart, before the caption.
    const isRamp = (c: PlotElement) => /-ramp\b/.test(c.getAttribute("class") ?? "");
    const ramps = children.filter(isRamp);
    const rest = children.filter((c) => !isRamp(c));
    const lastChart = rest.findLastIndex((c) => c.tagName.toLowerCase() === "svg");
    children = [...rest.slice(0, lastChart + 1), ...ramps, ...rest.slice(lastChart + 1)];
  }
  const svgs = children.filter((c) => c.tagName.toLowerCase() === "svg");
  let title = "";
  const width = Math.max(0, ...svgs.map((s) => svgSize(s)[0])) || 640;
  const rows: string[] = [];
  let y = 0;
  for (const child of children) {
    const tag = child.tagName.toLowerCase();
    const text = (child.textContent ?? "").trim();
    if (tag === "h2" || tag === "h3" || tag === "figcaption") {
      if (!text) continue;
      if (tag === "h2" && !title) title = text;
      const size = tag === "h2" ? 16 : tag === "h3" ? 13 : 11;
      // SVG text does not wrap: long headings and captions are broken into lines that fit the width.
      for (const line of wrapText(text, width, size, tag === "h2")) {
        y += size + 6;
        rows.push(
          `<text x="0" y="${y - 4}" font-size="${size}"${tag === "h2" ? ' font-weight="bold"' : ""}>${
            escapeXml(line)
          }</text>`,
        );
      }
    } else if (tag === "svg") {
      const [w, h] = svgSize(child);
      child.setAttribute("x", "0");
      child.setAttribute("y", String(y));
      child.setAttribute("width", String(w));
      child.setAttribute("height", String(h));
      rows.push(child.outerHTML);
      y += h + 4;
    } else if (tag === "div" && child.querySelector("span")) {
      const { body, height } = swatchesToSvg(child, width);
      rows.push(`<g transform="translate(0, ${y})">${body}</g>`);
      y += height + 4;
    }
  }
  const height = Math.ceil(y);
  const svg = `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, sans-serif" style="background: white">${rows.join("")}</svg>`;
  return { svg, width, height, title };
}

/**
 * Runs `Plot.plot(options)` on the shared linkedom document and wraps the result as a {@linkcode Chart}.
 *
 * @param options Observable Plot options (`document` is supplied). Continuous colour legends need a canvas and
 * fail here: use `type: "quantize"` (or another discrete colour scale) when `legend: true`.
 * @param layout Where the legends go (above the chart, Plot's order, unless `legendsBelow`).
 * @returns The chart.
 *
 * @example
 * ```ts
 * import * as Plot from "npm:@observablehq/plot@0.6.17";
 * import { renderPlot } from "./chart.ts";
 * import assert from "node:assert/strict";
 * const chart = renderPlot({ title: "Two points", marks: [Plot.dot([[0, 0], [1, 1]])] });
 * assert.match(chart.svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
 * assert.equal(chart.title, "Two points");
 * assert.equal((chart.svg.match(/<circle/g) ?? []).length, 2);
 * ```
 */
export function renderPlot(options: PlotOptions, layout: FigureLayout = {}): Chart {
  const el = Plot.plot(
    { ...options, document: plotDocument() } as Plot.PlotOptions,
  ) as unknown as PlotElement;
  const { svg, width, height, title } = toStandaloneSvg(el, layout);
  return new Chart(svg, title || (typeof options.title === "string" ? options.title : ""), width, height);
}

/**
 * Places charts side by side in rows (each keeps its own size), as one chart.
 *
 * @param charts The charts, row-major.
 * @param columns Charts per row. @default {charts.length}
 * @param title Title drawn above. @default {""}
 * @returns The combined chart.
 * @throws {RangeError} When there are no charts or `columns` is not a positive integer.
 *
 * @example
 * ```ts
 * import * as Plot from "npm:@observablehq/plot@0.6.17";
 * import { chartGrid, renderPlot } from "./chart.ts";
 * import assert from "node:assert/strict";
 * const one = renderPlot({ width: 100, height: 80, marks: [Plot.dot([[0, 0]])] });
 * const both = chartGrid([one, one], 2, "Pair");
 * assert.equal(both.width, 208); // 100 + 8 gap + 100
 * assert.equal((both.svg.match(/<circle/g) ?? []).length, 2);
 * ```
 */
export function chartGrid(charts: Chart[], columns: number = charts.length, title = ""): Chart {
  if (!charts.length) throw new RangeError("chartGrid needs at least one chart; got 0");
  if (!Number.isInteger(columns) || columns < 1) {
    throw new RangeError(`Invalid columns ${columns}: expected an integer ≥ 1`);
  }
  const parts: string[] = [];
  let y = 0, width = 0;
  if (title) {
    const total = Math.max(...charts.slice(0, columns).map((c) => c.width)) *
      Math.min(columns, charts.length);
    for (const line of wrapText(title, Math.max(total, 200), 16, true)) {
      parts.push(`<text x="0" y="${y + 16}" font-size="16" font-weight="bold">${escapeXml(line)}</text>`);
      y += 22;
    }
    y += 2;
  }
  for (let i = 0; i < charts.length; i += columns) {
    const row = charts.slice(i, i + columns);
    let x = 0, h = 0;
    for (const c of row) {
      const inner = c.svg.replace(/^<svg /, `<svg x="${x}" y="${y}" `);
      parts.push(inner);
      x += c.width + 8;
      h = Math.max(h, c.height);
    }
    width = Math.max(width, x - 8);
    y += h + 8;
  }
  const height = y - 8;
  const svg = `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, sans-serif" style="background: white">${parts.join("")}</svg>`;
  return new Chart(svg, title, width, height);
}
