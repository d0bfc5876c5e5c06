/** Layout rules that keep figure text readable: legend labels apart, tree labels off the edges, labels on halos. */
import assert from "node:assert/strict";
import { buildPartitionTree } from "../../lib/stages.ts";
import { heatmapChart } from "../../lib/viz/heatmap_chart.ts";
import { lineChart } from "../../lib/viz/line_chart.ts";
import { plural } from "../../lib/viz/plural.ts";
import { treeChart } from "../../lib/viz/tree_chart.ts";

/** Legend ticks: [x, label] for each tick of the colour ramp ("" when unlabelled). */
function legendTicks(svg: string): [number, string][] {
  return [
    ...svg.matchAll(
      /<g transform="translate\(([\d.]+),0\)"[^>]*class="tick">.*?(?:<text[^>]*\/>|<text[^>]*>([^<]*)<\/text>)/g,
    ),
  ]
    .map((m) => [Number(m[1]), m[2] ?? ""]);
}

// A signed field spanning ±0.057, like a Fiedler vector.
const signed = Array.from({ length: 64 }, (_, i) => ((i - 31.5) / 31.5) * 0.057);

Deno.test("heatmap legend: with 20 bins only every 4th threshold is labelled, 0 among them, 40 px apart", () => {
  const ticks = legendTicks(heatmapChart(signed, 8, 8, { diverging: true, legendSteps: 20 }).svg);
  // Plot's thresholds for ±0.057 in ~20 bins: every 0.005 from −0.055 to 0.055.
  assert.equal(ticks.length, 23);
  const labelled = ticks.filter(([, label]) => label);
  assert.deepEqual(labelled.map(([, label]) => label), ["−0.04", "−0.02", "0", "0.02", "0.04"]);
  for (let i = 1; i < labelled.length; i++) assert.equal(labelled[i][0] - labelled[i - 1][0], 40);
});

Deno.test("heatmap legend: few bins keep every label; decimals follow the spacing", () => {
  const few = legendTicks(heatmapChart(signed, 8, 8, { diverging: true, legendSteps: 8 }).svg);
  assert.deepEqual(few.map(([, l]) => l), ["−0.04", "−0.02", "0", "0.02", "0.04"]);
  // Scores 10–66: thresholds every 5 (15 … 65), 20 px apart; two-digit labels need more, so every 10 is labelled.
  const scores = legendTicks(heatmapChart([10, 20, 30, 40, 50, 66], 2, 3).svg);
  assert.equal(scores.length, 11);
  assert.deepEqual(scores.filter(([, l]) => l).map(([, l]) => l), ["20", "30", "40", "50", "60"]);
});

Deno.test("treeChart: every edge starts below its parent's label, labels drawn black on a white halo", async () => {
  const data = new Float32Array(16 * 2);
  for (let i = 0; i < 16; i++) data.set(i % 4 < 2 ? [1, 0.1] : [0.1, 1], i * 2);
  const tree = await buildPartitionTree({ height: 4, width: 4, channels: 2, data }, {
    tauMax: 0.5,
    minSegmentSize: 4,
  });
  const svg = treeChart(tree, 0.5).svg;
  const attr = (tag: string, name: string) => Number(new RegExp(`\\b${name}="([\\d.]+)"`).exec(tag)![1]);
  const dots = [...svg.matchAll(/<circle[^>]*>/g)].map((m) => [attr(m[0], "cx"), attr(m[0], "cy")]);
  assert.equal(dots.length, 3);
  const root = dots.reduce((a, b) => (b[1] < a[1] ? b : a));
  // Plot draws each link as a path "Mx1,y1Lx2,y2"; the root's children hang from 44 px under its centre.
  const links = [...svg.matchAll(/<path d="M([\d.]+),([\d.]+)L([\d.]+),([\d.]+)"/g)].map((m) =>
    m.slice(1).map(Number)
  );
  assert.equal(links.length, 2);
  for (const [x1, y1, x2, y2] of links) {
    assert.deepEqual([x1, y1], [root[0], root[1] + 44]);
    assert.ok(dots.some(([x, y]) => x === x2 && y === y2), "each edge ends at a child's dot");
  }
  const textGroup = /<g[^>]*aria-label="text"[^>]*>/.exec(svg)![0];
  for (const a of ['fill="black"', 'stroke="white"', 'stroke-width="3"', 'paint-order="stroke"']) {
    assert.ok(textGroup.includes(a), `${a} in ${textGroup}`);
  }
});

Deno.test("lineChart: rule labels drawn after the curves; a log y scale refuses y ≤ 0", () => {
  const chart = lineChart([{ name: "a", x: [0, 1, 2], y: [100, 1, 0.01] }], {
    yType: "log",
    yRules: [{ y: 1, label: "SNR = 1" }],
  });
  const curve = chart.svg.indexOf('stroke-width="1.8"');
  const label = chart.svg.indexOf(">SNR = 1<");
  assert.ok(curve > 0 && label > curve, "the label comes after the curve");
  // Log ticks at the decades: 0.01 … 100 (Plot prints them as it formats log ticks).
  for (const decade of ["0.01", "0.1", "1", "10", "100"]) {
    assert.ok(chart.svg.includes(`>${decade}<`), decade);
  }
  assert.throws(
    () => lineChart([{ name: "b", x: [0, 1], y: [1, 0] }], { yType: "log" }),
    /Series 'b' has y = 0 at x = 1; a log y scale needs y > 0/,
  );
});

Deno.test("plural: one segment, many segments", () => {
  assert.equal(plural(1, "segment"), "1 segment");
  assert.equal(plural(2, "segment"), "2 segments");
  assert.equal(plural(0, "image"), "0 images");
  assert.equal(plural(1, "patch", "patches"), "1 patch");
  assert.equal(plural(4, "patch", "patches"), "4 patches");
});

Deno.test("heatmap legendBelow: the map starts right under the title and the colour ramp follows it", () => {
  const above = heatmapChart(signed, 8, 8, { title: "T", diverging: true, cellSize: 6, caption: "c" });
  const below = heatmapChart(signed, 8, 8, {
    title: "T",
    diverging: true,
    cellSize: 6,
    caption: "c",
    legendBelow: true,
  });
  const y = (svg: string, cls: RegExp) =>
    Number(new RegExp(`<svg y="([\\d.]+)"[^>]*class="${cls.source}"`).exec(svg)![1]);
  // Title: one 16 px line (22 units). Above: ramp at 22, map after the 50 px ramp; below: map at 22, ramp after it.
  assert.equal(y(above.svg, /plot-\w+-ramp/), 22);
  assert.equal(y(above.svg, /plot-\w+/), 22 + 50 + 4);
  assert.equal(y(below.svg, /plot-\w+/), 22);
  assert.equal(y(below.svg, /plot-\w+-ramp/), 22 + 8 * 6 + 20 + 4);
  assert.equal(below.height, above.height, "same parts, same height");
  assert.ok(below.svg.indexOf(">c</text>") > below.svg.indexOf("-ramp"), "the caption stays last");
});
