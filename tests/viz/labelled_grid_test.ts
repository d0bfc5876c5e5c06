/** The labelled image grid (labelledImageGrid): axis titles, marked cells and the caption the τ/α grid relies on. */
import assert from "node:assert/strict";
import { labelledImageGrid } from "../../lib/viz/heatmap_overlay.ts";

const im = { height: 2, width: 2, data: new Float32Array(12).fill(0.5) };
const count = (svg: string, pattern: RegExp) => (svg.match(pattern) ?? []).length;

Deno.test("labelledImageGrid: row and column titles, red outline and caption on marked cells, footer caption", () => {
  const plain = labelledImageGrid([im, im, im, im], 2, {
    rowLabels: ["α = 1", "α = 5"],
    columnLabels: ["τ = 0.1", "τ = 0.2"],
    cellCaptions: ["1 segment", "3 segments", "1 segment", "5 segments"],
    cellWidth: 100,
  });
  const full = labelledImageGrid([im, im, im, im], 2, {
    rowLabels: ["α = 1", "α = 5"],
    columnLabels: ["τ = 0.1", "τ = 0.2"],
    cellCaptions: ["1 segment", "3 segments", "1 segment", "5 segments"],
    cellWidth: 100,
    rowTitle: "α (affinity exponent)",
    columnTitle: "τ (NCut threshold) →",
    marked: [true, false, true, false],
    caption: "Red: one segment.",
  });
  assert.ok(
    full.svg.includes(">α (affinity exponent)</text>") && full.svg.includes(">τ (NCut threshold) →</text>"),
  );
  assert.match(full.svg, /rotate\(-90 14 /);
  assert.equal(count(full.svg, /stroke="#d00"/g), 2);
  assert.equal(count(full.svg, /fill="#d00" font-weight="bold">1 segment</g), 2);
  assert.ok(full.svg.includes(">Red: one segment.</text>"));
  // The rotated title adds 22 px on the left; the column title and caption add rows above and below.
  assert.equal(full.width, plain.width + 22);
  assert.equal(full.height, plain.height + 20 + 4 + 16);
  assert.equal(count(plain.svg, /#d00/g), 0);
});
