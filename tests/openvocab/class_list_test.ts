import assert from "node:assert/strict";
import { parseClassFile, parseClassList } from "../../lib/openvocab/class_list.ts";

Deno.test("class lists: --labels splits classes on commas; a labels file has one class per line with synonyms", () => {
  assert.deepEqual(parseClassList(" cat, sofa ,,floor"), ["cat", "sofa", "floor"]);
  assert.throws(() => parseClassList(" , "), /No class name/);
  assert.deepEqual(parseClassFile("# VOC\nbackground\r\nsofa,couch , settee\n\n  cat \n"), [
    "background",
    "sofa, couch, settee",
    "cat",
  ]);
  assert.throws(() => parseClassFile("# only a comment\n\n"), /names no class/);
});
