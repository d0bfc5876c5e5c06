import assert from "node:assert/strict";
import { join } from "node:path";
import { bytesToUnicode, CLIP_MERGES, ClipTokenizer } from "../../lib/openvocab/clip_tokenizer.ts";

/** A merges file of the standard layout: header, then ranked pairs. */
const MERGES = ["#version: tiny", "c a", "ca t</w>", "s o", "f a</w>", "so fa</w>", ""].join("\n");

Deno.test("clip tokenizer: byte table as GPT-2/CLIP (printable bytes kept, the rest from U+0100)", () => {
  const t = bytesToUnicode();
  assert.equal(t[0x61], "a");
  assert.equal(t[0x20], "\u0120"); // space is the 33rd unprintable byte
  assert.equal(t[0x00], "\u0100");
  assert.equal(new Set(t).size, 256);
});

Deno.test("clip tokenizer: vocabulary ids in the reference's order", () => {
  const tok = new ClipTokenizer(MERGES);
  assert.equal(tok.vocabSize, 512 + 5 + 2);
  assert.equal(tok.encoder.get("!"), 0);
  assert.equal(tok.encoder.get("a"), 64); // as in CLIP's real vocabulary
  assert.equal(tok.encoder.get("a</w>"), 320);
  assert.equal(tok.encoder.get("\u0120"), 188 + 32);
  assert.equal(tok.encoder.get("cat</w>"), 513);
  assert.equal(tok.sot, 517);
  assert.equal(tok.eot, 518);
});

Deno.test("clip tokenizer: merges by rank, cleaning, words and punctuation", () => {
  const tok = new ClipTokenizer(MERGES);
  assert.deepEqual(tok.bpe("sofa"), ["sofa</w>"]);
  assert.deepEqual(tok.bpe("cats"), ["ca", "t", "s</w>"]);
  assert.deepEqual(tok.encode("a photo of a cat."), [
    320,
    ...tok.encode("photo"),
    ...tok.encode("of"),
    320,
    513,
    269,
  ]);
  assert.deepEqual(tok.encode("  Sofa,\n CAT "), [516, 267, 513]);
  assert.deepEqual(tok.encode("dog"), [67, 78, 326]);
  assert.deepEqual(tok.encode("é"), [127, 256 + 102]); // UTF-8 c3 a9, both printable bytes
  assert.deepEqual(tok.encode("There's"), [...tok.encode("there"), ...tok.encode("'s")]);
});

Deno.test("clip tokenizer: sot/eot rows, zero padding, truncation keeps eot, eot index", () => {
  const tok = new ClipTokenizer(MERGES);
  const out = tok.tokenize(["a", "a a a a"], 5);
  assert.deepEqual([...out.ids], [517, 320, 518, 0, 0, 517, 320, 320, 320, 518]);
  assert.deepEqual(out.eotIndex, [2, 4]);
  assert.equal(tok.tokenize(["cat"]).contextLength, 77);
});

Deno.test("clip tokenizer: reads a gzipped merges file and keeps only the reference's merge count", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "bpe_simple_vocab_16e6.txt.gz");
    const gz = new Blob([MERGES]).stream().pipeThrough(new CompressionStream("gzip"));
    await Deno.writeFile(path, new Uint8Array(await new Response(gz).arrayBuffer()));
    const tok = await ClipTokenizer.fromFile(path);
    assert.deepEqual(tok.encode("sofa cat"), [516, 513]);
    assert.equal(new ClipTokenizer(MERGES, 2).vocabSize, 512 + 2 + 2);
    assert.equal(CLIP_MERGES, 48894);
    assert.throws(() => new ClipTokenizer("#h\nonly-one-symbol\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
