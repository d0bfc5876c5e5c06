import assert from "node:assert/strict";
import { buildPartitionTree } from "../../lib/stages.ts";
import { Chart, chartGrid } from "../../lib/viz/chart.ts";
import { heatmapChart } from "../../lib/viz/heatmap_chart.ts";
import { displayBundle } from "../../lib/viz/jupyter_display.ts";
import { lineChart } from "../../lib/viz/line_chart.ts";
import { treeChart, treeLayout } from "../../lib/viz/tree_chart.ts";

function count(svg: string, pattern: RegExp): number {
  return (svg.match(pattern) ?? []).length;
}

Deno.test("heatmapChart: one rect per cell carrying its value, markers outlined in red", () => {
  const values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
  const chart = heatmapChart(values, 2, 3, { legend: false, markers: [[1, 2]] });
  assert.ok(chart instanceof Chart);
  // 6 value cells + 1 marker cell.
  assert.equal(count(chart.svg, /<rect/g), 7);
  for (const v of values) {
    assert.ok(chart.svg.includes(`<title>${v.toFixed(4)}</title>`), `value ${v} missing`);
  }
  assert.match(chart.svg, /stroke="red"/);
  assert.match(chart.svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
});

Deno.test("heatmapChart: legend, tick labels and printed values", () => {
  const chart = heatmapChart([10, 20, 30, 40], 2, 2, {
    title: "Surface",
    columns: [0.1, 0.2],
    rows: ["α = 1", "α = 5"],
    valueDecimals: 0,
  });
  assert.equal(chart.title, "Surface");
  assert.ok(chart.svg.includes(">Surface</text>"));
  for (const label of ["0.1", "0.2", "α = 1", "α = 5", ">10<", ">40<"]) {
    assert.ok(chart.svg.includes(label), label);
  }
  assert.throws(() => heatmapChart([1, 2, 3], 2, 2), RangeError);
});

Deno.test("heatmapChart: NaN cells are left out (nodes outside a region)", () => {
  const chart = heatmapChart([1, NaN, NaN, 2], 2, 2, { legend: false });
  assert.equal(count(chart.svg, /<rect/g), 2);
});

Deno.test("lineChart: one path per series, legend labels, rules and points", () => {
  const chart = lineChart(
    [{ name: "α = 1", x: [0, 0.5, 1], y: [0, 0.6, 1] }, { name: "α = 10", x: [0, 0.5, 1], y: [0, 0.9, 1] }],
    {
      title: "ROC",
      diagonal: true,
      yRules: [{ y: 0.5, label: "τ = 0.5" }],
      points: [{ x: 0.5, y: 0.9, label: "best" }],
    },
  );
  assert.ok(chart.svg.includes(">α = 1</text>") && chart.svg.includes(">α = 10</text>"));
  assert.ok(chart.svg.includes(">τ = 0.5</text>") && chart.svg.includes(">best</text>"));
  // The two series, grouped by colour into separate path elements, plus the diagonal.
  assert.ok(count(chart.svg, /<path/g) >= 3);
  assert.throws(() => lineChart([{ name: "bad", x: [0, 1], y: [0] }]), RangeError);
});

Deno.test("chartGrid stacks charts and keeps their marks", () => {
  const a = heatmapChart([1, 2], 1, 2, { legend: false });
  const grid = chartGrid([a, a, a], 2, "Grid");
  assert.equal(count(grid.svg, /<rect/g), 6);
  assert.equal(grid.width, 2 * a.width + 8);
  assert.equal(grid.height, 24 + 2 * a.height + 8);
  assert.throws(() => chartGrid([]), RangeError);
});

Deno.test("Chart display bundle is SVG plus text; save writes the SVG", async () => {
  const chart = heatmapChart([1, 2], 1, 2, { legend: false, title: "T" });
  const bundle = displayBundle(chart);
  assert.deepEqual(Object.keys(bundle).sort(), ["image/svg+xml", "text/plain"]);
  assert.equal(bundle["image/svg+xml"], chart.svg);
  const dir = await Deno.makeTempDir();
  try {
    const path = await chart.save(`${dir}/t.svg`);
    assert.equal(await Deno.readTextFile(path), chart.svg);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("treeLayout/treeChart: accepted splits and segments of a two-block grid", async () => {
  const data = new Float32Array(16 * 2);
  for (let i = 0; i < 16; i++) data.set(i % 4 < 2 ? [1, 0.1] : [0.1, 1], i * 2);
  const tree = await buildPartitionTree({ height: 4, width: 4, channels: 2, data }, {
    tauMax: 0.5,
    minSegmentSize: 4,
  });
  const layout = treeLayout(tree, 0.5);
  assert.equal(layout[0].status, "accepted");
  const segments = layout.filter((n) => n.segment >= 0);
  assert.ok(segments.length >= 2);
  assert.equal(segments.reduce((s, n) => s + n.size, 0), 16);
  // Parents sit between their children.
  for (const n of layout.filter((n) => n.status === "accepted" && tree.nodes[n.id].children)) {
    const kids = layout.filter((k) => k.parent === n.id);
    assert.ok(Math.min(...kids.map((k) => k.x)) <= n.x && n.x <= Math.max(...kids.map((k) => k.x)));
  }
  const chart = treeChart(tree, 0.5);
  assert.ok(chart.svg.includes("✓"));
  assert.ok(chart.svg.includes("seg 0"));
  assert.ok(chart.svg.includes(`NCut ${tree.nodes[0].ncut.toFixed(3)}`));
});

Deno.test("lineChart: lo/hi draw one shaded band per series; both or neither", () => {
  // One y domain for both, so that the axes draw the same ticks.
  const yDomain: [number, number] = [0, 60];
  const plain = lineChart([{ name: "α = 5", x: [0.1, 0.2], y: [40, 50] }], { yDomain });
  const banded = lineChart([{ name: "α = 5", x: [0.1, 0.2], y: [40, 50], lo: [30, 45], hi: [48, 58] }], {
    yDomain,
  });
  assert.equal(count(plain.svg, /fill-opacity="0.14"/g), 0);
  assert.equal(count(banded.svg, /fill-opacity="0.14"/g), 1);
  assert.equal(count(banded.svg, /<path/g), count(plain.svg, /<path/g) + 1);
  assert.throws(() => lineChart([{ name: "half", x: [0], y: [0], lo: [0] }]), /only one of lo and hi/);
  assert.throws(
    () => lineChart([{ name: "short", x: [0, 1], y: [0, 1], lo: [0], hi: [1] }]),
    /1 lo and 1 hi/,
  );
});
