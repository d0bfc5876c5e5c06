/**
 * Point estimates with intervals, one row per group (e.g. the held-out score of a setting picked on the other
 * folders, beside the in-sample best and the one-segment baseline, each with its bootstrap 95% interval), as an
 * Observable Plot dot-and-whisker chart.
 *
 * @module
 */
import * as Plot from "npm:@observablehq/plot@0.6.17";
import { type Chart, renderPlot } from "./chart.ts";

/** One estimate: a dot at `value`, a whisker from `lo` to `hi` when both are given. */
export interface IntervalPoint {
  /** Row (y category), e.g. `street frames (n = 5)`. */
  row: string;
  /** Series (colour), e.g. `picked on the other folders`. */
  series: string;
  /** Point estimate. */
  value: number;
  /** Lower end of the interval. */
  lo?: number;
  /** Upper end of the interval. */
  hi?: number;
  /** Text printed beside the point. @default {the value, with `valueDecimals` decimals} */
  label?: string;
}

/** Options of {@linkcode intervalChart}. */
export interface IntervalChartOptions {
  /** Title above the chart. */
  title?: string;
  /** Caption below the chart. */
  caption?: string;
  /** x-axis label. */
  xLabel?: string;
  /** x domain. @default {the values' and intervals' extent} */
  xDomain?: [number, number];
  /** Print each value beside its dot with this many decimals. @default {1} */
  valueDecimals?: number;
  /** Width in pixels. @default {560} */
  width?: number;
  /** Pixels per row. @default {54} */
  rowHeight?: number;
  /** Left margin for the row labels, in pixels. @default {150} */
  marginLeft?: number;
  /** Right margin for the column of values or labels, in pixels. @default {60} */
  marginRight?: number;
  /** One colour per series, in order of first appearance. @default {Plot's categorical scheme} */
  colors?: string[];
}

/**
 * Draws estimates with intervals: rows top to bottom in order of first appearance, the series of one row side by
 * side vertically (offset a few pixels) so their whiskers do not overlap.
 *
 * @param points The estimates.
 * @param options Title, caption, axis, sizes.
 * @returns The chart; one `<circle>` per point, one `<line>` per interval.
 * @throws {RangeError} When there are no points or a value is not finite.
 *
 * @example
 * ```ts
 * import { intervalChart } from "./interval_chart.ts";
 * import assert from "node:assert/strict";
 * const chart = intervalChart([
 *   { row: "fold 1", series: "held out", value: 40, lo: 30, hi: 50 },
 *   { row: "fold 1", series: "one segment", value: 36 },
 * ]);
 * assert.equal((chart.svg.match(/<circle/g) ?? []).length, 2);
 * assert.ok(chart.svg.includes(">fold 1</text>"));
 * ```
 */
export function intervalChart(points: IntervalPoint[], options: IntervalChartOptions = {}): Chart {
  if (!points.length) throw new RangeError("intervalChart needs at least one point; got 0");
  for (const p of points) {
    if (!Number.isFinite(p.value)) {
      throw new RangeError(`Point '${p.row}' / '${p.series}' has value ${p.value}`);
    }
  }
  const rows = [...new Set(points.map((p) => p.row))];
  const series = [...new Set(points.map((p) => p.series))];
  const rowHeight = options.rowHeight ?? 54;
  const decimals = options.valueDecimals ?? 1;
  const step = Math.min(12, (rowHeight - 14) / Math.max(1, series.length));
  const marks: Plot.Markish[] = [];
  series.forEach((name, k) => {
    // Offsets keep one row's series apart; the middle series sits on the row's line.
    const dy = (k - (series.length - 1) / 2) * step;
    const own = points.filter((p) => p.series === name);
    const whiskers = own.filter((p) => Number.isFinite(p.lo) && Number.isFinite(p.hi));
    marks.push(
      Plot.ruleY(whiskers, { y: "row", x1: "lo", x2: "hi", stroke: "series", strokeWidth: 2, dy }),
      Plot.dot(own, { x: "value", y: "row", fill: "series", r: 4, dy }),
      // Values in a column in the right margin, so long labels never run over whiskers or off the plot.
      Plot.text(own, {
        frameAnchor: "right",
        y: "row",
        text: (p: IntervalPoint) => p.label ?? p.value.toFixed(decimals),
        dx: 10,
        dy,
        textAnchor: "start",
        fontSize: 10,
        fill: "series",
      }),
    );
  });
  return renderPlot({
    title: options.title,
    caption: options.caption,
    width: options.width ?? 560,
    height: 40 + rows.length * rowHeight,
    marginLeft: options.marginLeft ?? 150,
    marginRight: options.marginRight ?? 60,
    grid: true,
    x: { label: options.xLabel ?? null, domain: options.xDomain },
    y: { label: null, domain: rows },
    color: { legend: true, domain: series, ...(options.colors ? { range: options.colors } : {}) },
    marks,
  });
}
