/**
 * Heatmaps of values on a patch grid (Fiedler vectors, cosine maps) as Observable Plot `cell` marks: one
 * rectangle per patch, so a 32×32 grid is 1024 SVG rectangles (`Plot.raster` would need a canvas).
 *
 * @module
 */
import * as Plot from "npm:@observablehq/plot@0.6.17";
import { type Chart, renderPlot } from "./chart.ts";

/** Options of {@linkcode heatmapChart}. */
export interface HeatmapOptions {
  /** Title above the chart. */
  title?: string;
  /** Caption below the chart. */
  caption?: string;
  /** Colour domain. @default {the values' min and max} */
  domain?: [number, number];
  /** Colour scheme (a Plot scheme name). @default {"viridis"} */
  scheme?: string;
  /** Diverging scheme centred on 0 (for signed vectors such as the Fiedler vector). @default {false} */
  diverging?: boolean;
  /** Pixels per cell. @default {8} */
  cellSize?: number;
  /** Cells to outline in red (e.g. the query patch of a cosine map), as `[row, column]`. */
  markers?: [number, number][];
  /** Draw the colour legend (quantised into `legendSteps` bins). @default {true} */
  legend?: boolean;
  /** Label of the colour legend. @default {none} */
  legendLabel?: string;
  /**
   * Draw the colour legend under the map rather than above it (maps side by side then start level).
   * @default {false}
   */
  legendBelow?: boolean;
  /** Column tick labels (shows the x axis); one per column. */
  columns?: (string | number)[];
  /** Row tick labels (shows the y axis); one per row. */
  rows?: (string | number)[];
  /** x-axis label (with `columns`). */
  xLabel?: string;
  /** y-axis label (with `rows`). */
  yLabel?: string;
  /** Print each cell's value in it, with this many decimals. */
  valueDecimals?: number;
  /** Colour bins when the legend is shown. @default {10} */
  legendSteps?: number;
}

/** Width of Plot's colour legend (its default), font size of its tick labels. */
const LEGEND_WIDTH = 240;
const LEGEND_FONT = 10;

/**
 * Tick labels of a quantised colour legend that never run together: Plot labels every threshold, so a legend of
 * many bins with labels like "−0.05" crowds its 240 px. Only thresholds that are multiples of `every · step` are
 * labelled (0 among them when the domain spans it), with as many decimals as that spacing needs.
 */
function legendTickFormat(domain: [number, number], n: number): (value: number) => string {
  // Plot picks round thresholds itself; ask it for the same ones.
  const thresholds = (Plot.scale({ color: { type: "quantize", n, domain } }).domain ?? []) as number[];
  if (thresholds.length < 2) return (v) => formatTick(v, 2);
  const step = thresholds[1] - thresholds[0];
  const spacing = LEGEND_WIDTH / (thresholds.length + 1);
  let every = 1, decimals = 0;
  for (; every <= thresholds.length; every++) {
    decimals = decimalsOf(every * step);
    const widest = Math.max(...thresholds.map((t) => formatTick(t, decimals).length));
    if (every * spacing >= 0.62 * LEGEND_FONT * widest + 8) break;
  }
  return (v) => {
    const k = Math.round(v / step);
    return Math.abs(v / step - k) < 1e-6 && k % every === 0 ? formatTick(v, decimals) : "";
  };
}

/** The fewest decimals that write `x` exactly (to 1e-6 of its last digit), at most 10. */
function decimalsOf(x: number): number {
  let d = 0;
  while (d < 10 && Math.abs(Math.round(x * 10 ** d) - x * 10 ** d) > 1e-6) d++;
  return d;
}

/** A tick value with `decimals` decimals, trailing zeros dropped, and a typographic minus. */
function formatTick(value: number, decimals: number): string {
  const text = String(Number(value.toFixed(decimals)));
  return text === "-0" ? "0" : text.replace(/^-/, "−");
}

/**
 * Draws a row-major `height × width` field as coloured cells (row 0 at the top).
 *
 * @param values Row-major values.
 * @param height Rows.
 * @param width Columns.
 * @param options Title, colours and markers.
 * @returns The chart; each cell is a `<rect>` carrying its value in a `<title>`.
 * @throws {RangeError} When `values` does not hold `height·width` entries.
 *
 * @example
 * ```ts
 * import { heatmapChart } from "./heatmap_chart.ts";
 * import assert from "node:assert/strict";
 * const chart = heatmapChart([0, 1, 2, 3], 2, 2, { title: "2×2", legend: false });
 * assert.equal((chart.svg.match(/<rect/g) ?? []).length, 4);
 * ```
 */
export function heatmapChart(
  values: ArrayLike<number>,
  height: number,
  width: number,
  options: HeatmapOptions = {},
): Chart {
  if (values.length !== height * width) {
    throw new RangeError(
      `Invalid field: ${values.length} values for ${height}×${width}, expected ${height * width}`,
    );
  }
  const cells = Array.from({ length: height * width }, (_, i) => ({
    row: Math.floor(i / width),
    col: i % width,
    value: values[i],
  }));
  const size = options.cellSize ?? 8;
  const legend = options.legend ?? true;
  let domain = options.domain;
  if (!domain) {
    let lo = Infinity, hi = -Infinity;
    for (const c of cells) {
      if (c.value < lo) lo = c.value;
      if (c.value > hi) hi = c.value;
    }
    if (options.diverging) {
      const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      domain = [-m, m];
    } else domain = [lo, hi === lo ? lo + 1 : hi];
  }
  const scheme = options.scheme ?? (options.diverging ? "rdbu" : "viridis");
  const n = options.legendSteps ?? 10;
  const color = {
    type: legend ? "quantize" : "linear",
    n,
    scheme,
    domain,
    legend,
    label: options.legendLabel ?? null,
    ...(legend ? { tickFormat: legendTickFormat(domain, n) } : {}),
  } as Plot.ScaleOptions;
  const marks: Plot.Markish[] = [
    Plot.cell(cells, {
      x: "col",
      y: "row",
      fill: "value",
      inset: 0,
      title: (d: { value: number }) => d.value.toFixed(4),
    }),
  ];
  if (options.valueDecimals !== undefined) {
    const digits = options.valueDecimals;
    marks.push(
      Plot.text(cells, {
        x: "col",
        y: "row",
        text: (d: { value: number }) => (Number.isFinite(d.value) ? d.value.toFixed(digits) : ""),
        fill: "white",
        stroke: "black",
        strokeWidth: 2,
        paintOrder: "stroke",
        fontSize: 9,
      }),
    );
  }
  if (options.markers?.length) {
    marks.push(
      Plot.cell(options.markers.map(([row, col]) => ({ row, col })), {
        x: "col",
        y: "row",
        fill: "none",
        stroke: "red",
        strokeWidth: 2,
      }),
    );
  }
  return renderPlot({
    title: options.title,
    caption: options.caption,
    width: width * size + 20 + (options.rows ? 50 : 0),
    height: height * size + 20 + (options.columns ? 40 : 0),
    margin: 10,
    marginLeft: options.rows ? 60 : 10,
    marginBottom: options.columns ? 50 : 10,
    padding: 0,
    x: options.columns
      ? {
        domain: Array.from({ length: width }, (_, i) => i),
        tickFormat: (i: number) => String(options.columns![i]),
        tickRotate: -90,
        label: options.xLabel ?? null,
      }
      : { axis: null, domain: Array.from({ length: width }, (_, i) => i) },
    y: options.rows
      ? {
        domain: Array.from({ length: height }, (_, i) => i),
        tickFormat: (i: number) => String(options.rows![i]),
        label: options.yLabel ?? null,
      }
      : { axis: null, domain: Array.from({ length: height }, (_, i) => i) },
    color,
    marks,
  }, { legendsBelow: options.legendBelow });
}
