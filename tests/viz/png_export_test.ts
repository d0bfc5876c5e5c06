/** Charts saved as PNG: resvg draws the marks and, with the bundled DejaVu Sans, the text. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decode } from "npm:fast-png@8.0.0";
import { Chart } from "../../lib/viz/chart.ts";
import { lineChart } from "../../lib/viz/line_chart.ts";
import { saveFigure } from "../../lib/viz/save_figure.ts";
import { svgToPng } from "../../lib/viz/svg_to_png.ts";

/** Decoded RGBA pixels and a reader of one pixel. */
function pixels(png: Uint8Array) {
  const image = decode(png);
  assert.equal(image.depth, 8);
  const channels = image.channels;
  const at = (x: number, y: number) =>
    Array.from(image.data.subarray((y * image.width + x) * channels).slice(0, 3));
  return { width: image.width, height: image.height, at };
}

/** Pixels darker than mid-grey inside a box (text is drawn in black on white). */
function darkCount(p: ReturnType<typeof pixels>, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const [r, g, b] = p.at(x, y);
      if (r + g + b < 3 * 128) n++;
    }
  }
  return n;
}

// Text on the left, a red square on the right, white elsewhere.
const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40" font-family="system-ui, sans-serif">' +
  '<text x="4" y="26" font-size="18">τ = 0.15 ✓</text>' +
  '<rect x="130" y="10" width="20" height="20" fill="#ff0000"/></svg>';

Deno.test("Chart.save('.png'): the picture has the chart's size, the text's glyphs and the mark's colour", async () => {
  const dir = await Deno.makeTempDir({ prefix: "diffcut-png-" });
  try {
    const chart = new Chart(SVG, "t", 160, 40);
    const path = await chart.save(join(dir, "t.png"));
    const p = pixels(await Deno.readFile(path));
    assert.deepEqual([p.width, p.height], [160, 40]);
    assert.deepEqual(p.at(140, 20), [255, 0, 0], "inside the red square");
    assert.deepEqual(p.at(155, 5), [255, 255, 255], "background");
    // The text spans x ≈ 4…100 at this size (the ✓ at 88…100); without a font resvg would draw nothing there.
    const text = darkCount(p, 0, 0, 125, 40);
    assert.ok(text > 150, `only ${text} dark pixels where the text is`);
    assert.equal(darkCount(p, 0, 30, 160, 40) < 20, true, "below the baseline: descenders only");
    // The ✓ (last glyph) is drawn: dark pixels in its part of the line.
    assert.ok(darkCount(p, 86, 5, 110, 30) > 10, "the ✓ glyph");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("svgToPng: scale multiplies the size; a transparent background keeps alpha 0", async () => {
  const png = await svgToPng(SVG, { scale: 2, background: "transparent" });
  const image = decode(png);
  assert.deepEqual([image.width, image.height, image.channels], [320, 80, 4]);
  assert.equal(image.data[(5 * 320 + 310) * 4 + 3], 0, "alpha of an empty corner");
  assert.equal(image.data[(40 * 320 + 280) * 4 + 3], 255, "alpha inside the square");
  await assert.rejects(svgToPng(SVG, { scale: 0 }), /Invalid PNG scale 0: expected a number in \(0, 16\]/);
  await assert.rejects(svgToPng("not svg"), /^Error: Cannot rasterise the SVG: /);
});

Deno.test("saveFigure formats: a line chart as SVG and PNG at 2×, the title drawn in the PNG", async () => {
  const dir = await Deno.makeTempDir({ prefix: "diffcut-png-" });
  try {
    const chart = lineChart([{ name: "a", x: [0, 1, 2], y: [0, 1, 4] }], {
      title: "Growth",
      xLabel: "x",
      yLabel: "y",
    });
    const first = await saveFigure("growth", chart, { dir, formats: ["svg", "png"] });
    assert.equal(first, join(dir, "growth.svg"));
    assert.equal(await Deno.readTextFile(join(dir, "growth.svg")), chart.svg);
    const p = pixels(await Deno.readFile(join(dir, "growth.png")));
    assert.deepEqual([p.width, p.height], [2 * chart.width, 2 * chart.height]);
    // The bold 16 px title sits in the first 22 SVG units (44 px here), at the left.
    assert.ok(darkCount(p, 0, 0, 200, 44) > 300, "title pixels");
    // The line is drawn in a colour, not grey: some pixel has distinct channels.
    let coloured = 0;
    for (let y = 44; y < p.height; y += 2) {
      for (let x = 0; x < p.width; x += 2) {
        const [r, g, b] = p.at(x, y);
        if (Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured++;
      }
    }
    assert.ok(coloured > 20, `only ${coloured} coloured pixels for the line`);
    assert.equal(await saveFigure("only_png", chart, { dir, formats: ["png"] }), join(dir, "only_png.png"));
    await assert.rejects(
      saveFigure("x", chart, { dir, formats: [] }),
      /Invalid figure formats \[\]: expected "svg", "png" or both/,
    );
    await assert.rejects(
      chart.save(join(dir, "x.jpg")),
      /Cannot save a chart as '.*x\.jpg': expected a path ending in \.svg or \.png/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
