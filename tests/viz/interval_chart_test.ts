/** The dot-and-whisker chart of held-out scores (lib/viz/interval_chart.ts). */
import assert from "node:assert/strict";
import { intervalChart } from "../../lib/viz/interval_chart.ts";

const count = (svg: string, pattern: RegExp) => (svg.match(pattern) ?? []).length;

Deno.test("intervalChart: a dot per estimate, a whisker per interval, rows, series and values as text", () => {
  const chart = intervalChart([
    { row: "VOC photos (n = 3)", series: "held out", value: 41.25, lo: 30, hi: 52 },
    { row: "VOC photos (n = 3)", series: "one segment", value: 36 },
    { row: "all (n = 9)", series: "held out", value: 38.5, lo: 33, hi: 44, label: "38.5 (α 5, τ 0.2)" },
  ], { title: "Held out", xLabel: "mIoU (%)" });
  assert.equal(count(chart.svg, /<circle/g), 3);
  for (
    const text of [
      "VOC photos (n = 3)",
      "all (n = 9)",
      "held out",
      "one segment",
      "41.3",
      "36.0",
      "38.5 (α 5, τ 0.2)",
    ]
  ) {
    assert.ok(chart.svg.includes(`>${text}</text>`), text);
  }
  assert.throws(() => intervalChart([]), RangeError);
  assert.throws(() => intervalChart([{ row: "r", series: "s", value: NaN }]), /value NaN/);
});

Deno.test("intervalChart: colours given per series colour their dots and labels", () => {
  const chart = intervalChart([
    { row: "a", series: "held out", value: 40 },
    { row: "a", series: "one segment", value: 30 },
  ], { colors: ["#2557b3", "#8a8a8a"] });
  // Each series' dot and its value label take its colour.
  assert.equal(count(chart.svg, /fill="#2557b3"/g) >= 2, true);
  assert.equal(count(chart.svg, /fill="#8a8a8a"/g) >= 2, true);
});
