/** The 5×7 bitmap font (`glyphOf`, `textWidth`, `drawText`) and the overlay legend (`entryText`, `appendLegend`). */
import assert from "node:assert/strict";
import { drawText, glyphOf, textWidth } from "../../lib/viz/bitmap_font.ts";
import { appendLegend, entryText, legendScale } from "../../lib/viz/legend.ts";
import type { ImageRGB } from "../../lib/types.ts";

const rows = (g: boolean[][]) => g.map((r) => r.map((b) => (b ? "#" : ".")).join(""));
const px = (
  im: ImageRGB,
  x: number,
  y: number,
) => [...im.data.subarray((y * im.width + x) * 3, (y * im.width + x) * 3 + 3)];
const solid = (h: number, w: number, v: number): ImageRGB => ({
  data: new Float32Array(h * w * 3).fill(v),
  height: h,
  width: w,
});

Deno.test("bitmap font: glyph rows, one case, a box for unknown characters, widths", () => {
  assert.deepEqual(rows(glyphOf("T")), ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."]);
  assert.deepEqual(glyphOf("c"), glyphOf("C"));
  assert.deepEqual(rows(glyphOf("é")), ["#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####"]);
  assert.equal(rows(glyphOf(" ")).join(""), ".".repeat(35));
  assert.equal(textWidth(""), 0);
  assert.equal(textWidth("cat"), 17); // 3 glyphs of 5, 2 blank columns between
  assert.equal(textWidth("cat", 2), 34);
  assert.equal(textWidth("🐈x"), 11); // one code point, one glyph
});

Deno.test("drawText: font pixels as scale×scale squares, clipped at the edges", () => {
  const im = solid(10, 12, 0);
  drawText(im, "L", 1, 1, [1, 1, 1]);
  // "L": the left column (x 1, y 1..7) and the bottom row (y 7, x 1..5).
  const lit: string[] = [];
  for (let y = 0; y < 10; y++) for (let x = 0; x < 12; x++) if (px(im, x, y)[0] === 1) lit.push(`${x},${y}`);
  const expected = [1, 2, 3, 4, 5, 6].map((y) => `1,${y}`).concat([1, 2, 3, 4, 5].map((x) => `${x},7`));
  assert.deepEqual(lit.sort(), expected.sort());
  const big = solid(20, 20, 0);
  drawText(big, "L", 0, 0, [0, 1, 0], 2);
  assert.deepEqual([px(big, 0, 0), px(big, 1, 1), px(big, 2, 0), px(big, 9, 13), px(big, 10, 13)], [
    [0, 1, 0],
    [0, 1, 0],
    [0, 0, 0],
    [0, 1, 0],
    [0, 0, 0],
  ]);
  const edge = solid(4, 4, 0);
  drawText(edge, "TT", -1, -1, [1, 0, 0]); // partly outside: only the first T's stem (glyph column 2) is visible
  const red: string[] = [];
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) if (px(edge, x, y)[0] === 1) red.push(`${x},${y}`);
  assert.deepEqual(red, ["1,0", "1,1", "1,2", "1,3"]);
});

Deno.test("entryText: the label is shortened before the value", () => {
  const e = { color: [0, 0, 0] as const, label: "sofa, couch", value: "0.31" };
  assert.equal(entryText(e, 16), "sofa, couch 0.31");
  assert.equal(entryText(e, 12), "sofa,.. 0.31");
  assert.equal(entryText(e, 6), "sofa, ");
  assert.equal(entryText({ color: [0, 0, 0], label: "wall" }, 3), "w..");
  assert.equal(entryText({ color: [0, 0, 0], label: "wall" }, 2), "wa");
});

Deno.test("appendLegend: swatches and text in a white panel below the image, widened for narrow images", () => {
  assert.deepEqual([legendScale(64), legendScale(700), legendScale(5000)], [1, 2, 4]);
  const image = solid(32, 64, 0.5);
  assert.equal(appendLegend(image, []), image);
  const out = appendLegend(image, [
    { color: [255, 0, 0], label: "cat", value: "0.31" },
    { color: [0, 0, 255], label: "sofa", value: "0.69" },
  ]);
  // 64 pixels fit 7 characters; "sofa 0.69" (9) widens the panel to 4 + 7 + 3 + 53 + 4 = 71; one column, two rows:
  // 4 + 2·11 − 4 + 4 = 26 rows of panel.
  assert.deepEqual([out.width, out.height], [71, 58]);
  assert.deepEqual(px(out, 63, 31), [0.5, 0.5, 0.5]); // the image, unchanged, at the left
  assert.deepEqual(px(out, 64, 0), [1, 1, 1]); // the widened part is white
  assert.deepEqual([px(out, 4, 36), px(out, 10, 42), px(out, 11, 36), px(out, 3, 36)], [
    [1, 0, 0],
    [1, 0, 0],
    [1, 1, 1],
    [1, 1, 1],
  ]);
  assert.deepEqual([px(out, 4, 47), px(out, 10, 53)], [[0, 0, 1], [0, 0, 1]]);
  // "C" of "cat" at x 14, y 36: top row ".###.", third row "#....".
  assert.deepEqual([px(out, 14, 36), px(out, 15, 36), px(out, 14, 38), px(out, 15, 38)], [
    [1, 1, 1],
    [0, 0, 0],
    [0, 0, 0],
    [1, 1, 1],
  ]);
  // Text pixels: exactly the glyphs of both entries.
  const dark = (y0: number) => {
    let n = 0;
    for (let y = y0; y < y0 + 7; y++) for (let x = 14; x < 71; x++) if (px(out, x, y)[0] === 0) n++;
    return n;
  };
  const ink = (t: string) => [...t].reduce((a, c) => a + glyphOf(c).flat().filter(Boolean).length, 0);
  assert.equal(dark(36), ink("cat 0.31"));
  assert.equal(dark(47), ink("sofa 0.69"));
});

Deno.test("appendLegend: columns on a wide image, scale, long names cut", () => {
  const entries = [0, 1, 2, 3].map((k) => ({ color: [k, k, k] as const, label: "cat", value: "0.31" }));
  const wide = appendLegend(solid(10, 400, 0), entries);
  // Columns 57 wide with 8 between: 6 fit in 392, so one row: panel 4 + 11 − 4 + 4 = 15.
  assert.deepEqual([wide.width, wide.height], [400, 25]);
  assert.deepEqual(px(wide, 4 + 2 * 65, 14), [2 / 255, 2 / 255, 2 / 255].map(Math.fround));
  const scaled = appendLegend(solid(10, 400, 0), entries.slice(0, 1), { scale: 2 });
  assert.equal(scaled.height, 10 + 2 * (4 + 7 + 4));
  assert.throws(() => appendLegend(solid(2, 2, 0), entries, { scale: 0 }), /Invalid legend scale 0/);
  const long = appendLegend(solid(8, 64, 0), [{
    color: [9, 9, 9],
    label: "a very long class name",
    value: "0.50",
  }]);
  // Cut to 16 characters, "a very lo.. 0.50": 4 + 7 + 3 + 95 + 4.
  assert.equal(long.width, 113);
});
