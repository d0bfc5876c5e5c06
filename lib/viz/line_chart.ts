/**
 * Curves (ROC, NCut against threshold, mIoU against τ for several α, mIoU against timestep) as one Observable
 * Plot line chart with a colour legend.
 *
 * @module
 */
import * as Plot from "npm:@observablehq/plot@0.6.17";
import { type Chart, renderPlot } from "./chart.ts";

/** One named curve. */
export interface LineSeries {
  /** Legend label. */
  name: string;
  /** x values. */
  x: ArrayLike<number>;
  /** y values (NaN and ±Infinity break the line). */
  y: ArrayLike<number>;
  /** Lower ends of an interval per point (e.g. a bootstrap 95% interval), drawn as a shaded band with `hi`. */
  lo?: ArrayLike<number>;
  /** Upper ends of the interval per point. */
  hi?: ArrayLike<number>;
}

/** Options of {@linkcode lineChart}. */
export interface LineChartOptions {
  /** Title above the chart. */
  title?: string;
  /** Caption below the chart. */
  caption?: string;
  /** x-axis label. */
  xLabel?: string;
  /** y-axis label. */
  yLabel?: string;
  /** x domain. @default {the data's extent} */
  xDomain?: [number, number];
  /** y domain. @default {the data's extent} */
  yDomain?: [number, number];
  /**
   * y scale: `"log"` for quantities spanning decades (a signal-to-noise ratio); every y must then be > 0.
   * @default {"linear"}
   */
  yType?: "linear" | "log";
  /** Draw the y = x diagonal (chance level of an ROC curve). @default {false} */
  diagonal?: boolean;
  /**
   * Vertical reference lines (e.g. τ, or the chosen threshold); each label at the top of its line, or at the
   * bottom with `at: "bottom"` (where the curves leave room).
   */
  xRules?: { x: number; label?: string; color?: string; at?: "top" | "bottom" }[];
  /** Horizontal reference lines. */
  yRules?: { y: number; label?: string; color?: string }[];
  /**
   * Points to highlight, drawn as dots; a label sits above its point, centred, or starting at the point with
   * `labelAnchor: "start"` (a point near the left edge), or ending there with `"end"`.
   */
  points?: {
    x: number;
    y: number;
    label?: string;
    color?: string;
    labelAnchor?: "start" | "middle" | "end";
  }[];
  /** Also draw a dot at every data point. @default {false} */
  dots?: boolean;
  /** Width in pixels. @default {560} */
  width?: number;
  /** Height in pixels. @default {360} */
  height?: number;
}

/**
 * Plots named series against a shared x axis.
 *
 * @param series The curves; each must have as many x as y values.
 * @param options Axes, reference lines and highlights.
 * @returns The chart; one `<path>` per series, legend labels as text.
 * @throws {RangeError} When a series' x and y (or `lo`/`hi`) lengths differ, only one of `lo`/`hi` is given, or a
 * log y scale meets a y ≤ 0.
 *
 * @example
 * ```ts
 * import { lineChart } from "./line_chart.ts";
 * import assert from "node:assert/strict";
 * const chart = lineChart([{ name: "a", x: [0, 1], y: [0, 1] }, { name: "b", x: [0, 1], y: [1, 0] }]);
 * assert.ok(chart.svg.includes(">a</text>") && chart.svg.includes(">b</text>"));
 * ```
 */
export function lineChart(series: LineSeries[], options: LineChartOptions = {}): Chart {
  const rows: { name: string; x: number; y: number }[] = [];
  const bands: { name: string; x: number; lo: number; hi: number }[] = [];
  const finite = (v: number) => Number.isFinite(v) ? v : NaN;
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw new RangeError(
        `Series '${s.name}' has ${s.x.length} x values and ${s.y.length} y values; expected equal`,
      );
    }
    if ((s.lo === undefined) !== (s.hi === undefined)) {
      throw new RangeError(`Series '${s.name}' has only one of lo and hi; expected both or neither`);
    }
    if (s.lo && s.hi && (s.lo.length !== s.x.length || s.hi.length !== s.x.length)) {
      throw new RangeError(
        `Series '${s.name}' has ${s.lo.length} lo and ${s.hi.length} hi values for ${s.x.length} points`,
      );
    }
    for (let i = 0; i < s.x.length; i++) {
      rows.push({ name: s.name, x: s.x[i], y: finite(s.y[i]) });
      if (s.lo && s.hi) bands.push({ name: s.name, x: s.x[i], lo: finite(s.lo[i]), hi: finite(s.hi[i]) });
    }
  }
  const log = options.yType === "log";
  if (log && rows.some((r) => r.y <= 0)) {
    const bad = rows.find((r) => r.y <= 0)!;
    throw new RangeError(`Series '${bad.name}' has y = ${bad.y} at x = ${bad.x}; a log y scale needs y > 0`);
  }
  // The y = 0 baseline has no place on a log scale.
  const marks: Plot.Markish[] = log ? [] : [Plot.ruleY([0], { strokeOpacity: 0.2 })];
  // Bands first, faint, so the lines stay readable where the intervals overlap.
  if (bands.length) {
    marks.push(Plot.areaY(bands, { x: "x", y1: "lo", y2: "hi", fill: "name", fillOpacity: 0.14, z: "name" }));
  }
  if (options.diagonal) {
    marks.push(Plot.line([[0, 0], [1, 1]], { stroke: "#999", strokeDasharray: "4,3" }));
  }
  // Labels are drawn last, on a white halo, so a curve passing under a label leaves it readable.
  const halo = { stroke: "white", strokeWidth: 3, paintOrder: "stroke" } as const;
  const labels: Plot.Markish[] = [];
  for (const r of options.xRules ?? []) {
    marks.push(Plot.ruleX([r.x], { stroke: r.color ?? "#c00", strokeDasharray: "3,3" }));
    if (r.label) {
      labels.push(
        Plot.text([r], {
          ...halo,
          x: "x",
          frameAnchor: r.at ?? "top",
          dy: r.at === "bottom" ? -4 : 4,
          dx: 4,
          textAnchor: "start",
          text: "label",
          fill: r.color ?? "#c00",
        }),
      );
    }
  }
  for (const r of options.yRules ?? []) {
    marks.push(Plot.ruleY([r.y], { stroke: r.color ?? "#c00", strokeDasharray: "3,3" }));
    if (r.label) {
      labels.push(
        Plot.text([r], {
          ...halo,
          y: "y",
          frameAnchor: "right",
          dy: -6,
          textAnchor: "end",
          text: "label",
          fill: r.color ?? "#c00",
        }),
      );
    }
  }
  marks.push(Plot.line(rows, { x: "x", y: "y", stroke: "name", strokeWidth: 1.8 }));
  if (options.dots) marks.push(Plot.dot(rows, { x: "x", y: "y", fill: "name", r: 2.5 }));
  for (const p of options.points ?? []) {
    marks.push(
      Plot.dot([p], { x: "x", y: "y", r: 5, stroke: p.color ?? "black", fill: "white", strokeWidth: 2 }),
    );
    if (p.label) {
      const anchor = p.labelAnchor ?? "middle";
      labels.push(
        Plot.text([p], {
          ...halo,
          x: "x",
          y: "y",
          text: "label",
          dy: -12,
          dx: anchor === "start" ? 4 : anchor === "end" ? -4 : 0,
          textAnchor: anchor,
          fill: p.color ?? "black",
        }),
      );
    }
  }
  marks.push(...labels);
  return renderPlot({
    title: options.title,
    caption: options.caption,
    width: options.width ?? 560,
    height: options.height ?? 360,
    marginLeft: 50,
    grid: true,
    x: { label: options.xLabel ?? null, domain: options.xDomain },
    y: {
      label: options.yLabel ?? null,
      domain: options.yDomain,
      // Decades only, as plain decimals (Plot's default writes 0.01 as "10m" and labels 2, 3, … 9 too).
      ...(log ? { type: "log" as const, tickFormat: (v: number) => (isDecade(v) ? String(v) : "") } : {}),
    },
    color: { legend: series.length > 1, domain: series.map((s) => s.name) },
    marks,
  });
}

/** Whether `v` is a power of ten (1e-6 tolerance on its logarithm). */
function isDecade(v: number): boolean {
  const e = Math.log10(v);
  return Math.abs(e - Math.round(e)) < 1e-6;
}
