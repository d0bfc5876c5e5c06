/**
 * `loadLabelMap`: stored sample values of palette and greyscale PNGs come back as labels, never colours; other
 * PNGs and non-PNG data are rejected with a message naming the input.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encode as encodePng } from "fast-png";
import { encodeLabelPng, vocPalette } from "../../lib/image/encode_png.ts";
import { loadLabelMap } from "../../lib/image/load_labels.ts";
import { buildPng, packSamples } from "./_png_bytes.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "diffcut-labels-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadLabelMap: palette PNG indices come back raw, not as colours", async () => {
  const values = [0, 1, 15, 255, 7, 20];
  const png = encodeLabelPng({ data: Int32Array.from(values), height: 2, width: 3 });
  const labels = await loadLabelMap(png);
  assert.deepEqual([labels.height, labels.width], [2, 3]);
  assert.ok(labels.data instanceof Int32Array);
  assert.deepEqual(Array.from(labels.data), values);
  // The same indices with a palette whose colours have nothing to do with them.
  const palette = vocPalette().reverse();
  assert.deepEqual(
    Array.from(
      (await loadLabelMap(encodeLabelPng({ data: Int32Array.from(values), height: 2, width: 3 }, palette)))
        .data,
    ),
    values,
  );
  // From a file too.
  await withTempDir(async (dir) => {
    const path = join(dir, "labels.png");
    await Deno.writeFile(path, png);
    assert.deepEqual(Array.from((await loadLabelMap(path)).data), values);
  });
});

Deno.test("loadLabelMap: 8- and 16-bit greyscale PNGs give their sample values", async () => {
  const grey8 = encodePng({
    width: 2,
    height: 2,
    channels: 1,
    depth: 8,
    data: Uint8Array.of(0, 3, 128, 255),
  });
  assert.deepEqual(await loadLabelMap(grey8), { data: Int32Array.of(0, 3, 128, 255), height: 2, width: 2 });
  const grey16 = encodePng({
    width: 3,
    height: 1,
    channels: 1,
    depth: 16,
    data: Uint16Array.of(0, 300, 65535),
  });
  assert.deepEqual(await loadLabelMap(grey16), { data: Int32Array.of(0, 300, 65535), height: 1, width: 3 });
});

Deno.test("loadLabelMap: RGB, grey+alpha and sub-byte PNGs are rejected with the channel count and depth", async () => {
  const rgb = encodePng({ width: 1, height: 1, channels: 3, depth: 8, data: Uint8Array.of(128, 0, 0) });
  await assert.rejects(() => loadLabelMap(rgb), (e: Error) => {
    assert.ok(e instanceof TypeError);
    assert.equal(
      e.message,
      "Invalid label map <bytes>: 3 channel(s) at 8 bits; expected an 8- or 16-bit palette or greyscale PNG",
    );
    return true;
  });
  const greyAlpha = encodePng({ width: 1, height: 1, channels: 2, depth: 8, data: Uint8Array.of(1, 255) });
  await assert.rejects(() => loadLabelMap(greyAlpha), /2 channel\(s\) at 8 bits/);
  // 4-bit greyscale, 2×1 pixels (values 3, 9): one filter byte then one packed byte.
  const grey4 = await buildPng(
    { width: 2, height: 1, bitDepth: 4, colorType: 0 },
    Uint8Array.of(0, ...packSamples([3, 9], 2, 1, 4)),
  );
  await assert.rejects(
    () => loadLabelMap(grey4),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Invalid label map <bytes>: 1 channel(s) at 4 bits; expected an 8- or 16-bit palette or greyscale PNG",
  );
  await withTempDir(async (dir) => {
    const path = join(dir, "colour.png");
    await Deno.writeFile(path, rgb);
    await assert.rejects(
      () => loadLabelMap(path),
      (e: Error) =>
        e instanceof TypeError &&
        e.message.startsWith(`Invalid label map '${path}': 3 channel(s) at 8 bits;`),
    );
  });
});

Deno.test("loadLabelMap: a missing file or non-PNG data names the input", async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, "missing.png");
    await assert.rejects(
      () => loadLabelMap(missing),
      (e: Error) =>
        e instanceof Deno.errors.NotFound && e.message === `Cannot load label map "${missing}": no such file`,
    );
    const text = join(dir, "text.png");
    await Deno.writeTextFile(text, "not a png");
    await assert.rejects(() => loadLabelMap(text), (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(
        e.message,
        new RegExp(
          `^Cannot decode label map '${
            text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
          }': .*; expected a PNG file$`,
        ),
      );
      assert.ok(!e.message.includes("\n"), "one line");
      return true;
    });
  });
});
