/**
 * Log text helpers of lib/eval/report.ts: `printable` keeps a name on one line, `skippedLines` reports the files
 * a VOC folder left out (one line each, or one line with a count).
 */
import assert from "node:assert/strict";
import { printable } from "../../lib/io/printable.ts";
import { markdownTable, skippedLines } from "../../lib/eval/report.ts";
import type { EvalResults } from "../../lib/eval/report.ts";

Deno.test("printable: control characters become escapes, other text is unchanged", () => {
  assert.equal(printable("plain/ünïcode name (1).jpg"), "plain/ünïcode name (1).jpg");
  assert.equal(printable("a\nb\r\tc"), "a\\nb\\r\\tc");
  assert.equal(printable("x\x1b[31my\x00z\x7f"), "x\\x1b[31my\\x00z\\x7f");
  assert.equal(printable("c1\x85 ls\u2028ps\u2029"), "c1\\x85 ls\\u2028ps\\u2029");
  // Idempotent: an escaped text has no control character left.
  const once = printable("a\nb\x1b");
  assert.equal(printable(once), once);
  for (let code = 0; code < 0x2100; code++) {
    const out = printable(String.fromCharCode(code));
    assert.ok(![..."\n\r\u2028\u2029\x1b"].some((ch) => out.includes(ch)), `U+${code.toString(16)}`);
  }
});

Deno.test("skippedLines: one line per file up to five, then one line with the count and five names", () => {
  const reason = "no annotation in SegmentationClassPNG/";
  const files = (n: number) =>
    Array.from({ length: n }, (_, k) => ({ path: `JPEGImages/f${k}.jpg`, reason }));
  assert.deepEqual(skippedLines([]), []);
  assert.deepEqual(skippedLines(files(2)), [
    "skipped: JPEGImages/f0.jpg (no annotation in SegmentationClassPNG/)",
    "skipped: JPEGImages/f1.jpg (no annotation in SegmentationClassPNG/)",
  ]);
  assert.equal(skippedLines(files(5)).length, 5);
  const many = skippedLines(files(7));
  assert.equal(many.length, 1);
  assert.equal(
    many[0],
    `skipped: 7 files of JPEGImages/, e.g. ${
      [0, 1, 2, 3, 4].map((k) => `JPEGImages/f${k}.jpg (${reason})`).join(", ")
    }, …`,
  );
  assert.deepEqual(skippedLines([{ path: "JPEGImages/a\nb.jpg", reason }], 3), [
    "skipped: JPEGImages/a\\nb.jpg (no annotation in SegmentationClassPNG/)",
  ]);
});

Deno.test("markdownTable: a dataset root with a newline keeps the header on one line", () => {
  const res = {
    config: {
      format: 1,
      dataset: {
        name: "voc-folder",
        root: "/data/x\ny",
        nClasses: 2,
        manyToOne: false,
        classNames: ["a", "b"],
        options: {},
        images: 0,
        notes: [],
      },
      encoder: { id: "rgb-grid", sha256: null, standIn: true },
      settings: { alpha: 5, selfLoops: true, maxSegments: null },
      rows: [],
      limit: null,
      codeVersion: null,
    },
    rows: [],
    images: 0,
    expectedImages: 0,
    shards: 1,
    timing: { imagesThisSession: 0, wallSeconds: 0, imagesPerSecond: null, meanMs: {} },
  } as unknown as EvalResults;
  const [header, blank] = markdownTable(res).split("\n");
  assert.match(header, /^\*\*voc-folder\*\* \(\/data\/x\\ny\): 0\/0 images/);
  assert.equal(blank, "");
});
