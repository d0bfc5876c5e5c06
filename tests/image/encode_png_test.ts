import assert from "node:assert/strict";
import { decode as decodePng } from "fast-png";
import { encodeLabelPng, encodeRgbPng, vocPalette } from "../../lib/image/encode_png.ts";
import { decodeImage } from "../../lib/image/load_image.ts";
import { readImageHeader } from "../../lib/image/image_header.ts";

function rgbAt(palette: Uint8Array, i: number): number[] {
  return Array.from(palette.subarray(i * 3, i * 3 + 3));
}

Deno.test("vocPalette gives the PASCAL VOC colours", () => {
  const palette = vocPalette();
  assert.equal(palette.length, 768);
  // Class colours every VOC tool shows: background, aeroplane, bicycle, bird, boat, bottle, bus, car, cat,
  // person (15), tvmonitor (20), and void (255).
  const known: [number, number[]][] = [
    [0, [0, 0, 0]],
    [1, [128, 0, 0]],
    [2, [0, 128, 0]],
    [3, [128, 128, 0]],
    [4, [0, 0, 128]],
    [5, [128, 0, 128]],
    [6, [0, 128, 128]],
    [7, [128, 128, 128]],
    [8, [64, 0, 0]],
    [15, [192, 128, 128]],
    [20, [0, 64, 128]],
    [255, [224, 224, 192]],
  ];
  for (const [i, colour] of known) assert.deepEqual(rgbAt(palette, i), colour, `colour ${i}`);
  const distinct = new Set(Array.from({ length: 256 }, (_, i) => rgbAt(palette, i).join(",")));
  assert.equal(distinct.size, 256);
  palette[0] = 99;
  assert.equal(vocPalette()[0], 0, "each call returns a fresh array");
});

Deno.test("encodeRgbPng round-trips every 8-bit value exactly", () => {
  const width = 256;
  const data = new Float32Array(width * 3);
  for (let v = 0; v < 256; v++) data.set([v / 255, (255 - v) / 255, ((v * 7) % 256) / 255], v * 3);
  const png = encodeRgbPng({ data, height: 1, width });
  const raw = decodePng(png);
  assert.deepEqual([raw.width, raw.height, raw.channels, raw.depth], [width, 1, 3, 8]);
  assert.equal(readImageHeader(png).codingType, 2);
  for (let v = 0; v < 256; v++) {
    assert.deepEqual(Array.from(raw.data.subarray(v * 3, v * 3 + 3)), [v, 255 - v, (v * 7) % 256]);
  }
  assert.deepEqual(decodeImage(png).data, data);
});

Deno.test("encodeRgbPng rounds and clamps", () => {
  const data = Float32Array.of(
    -0.1,
    1.5,
    Number.NaN,
    0.2,
    0.4 / 255,
    0.6 / 255,
    Infinity,
    -Infinity,
    254.49 / 255,
  );
  const raw = decodePng(encodeRgbPng({ data, height: 1, width: 3 }));
  assert.deepEqual(Array.from(raw.data), [0, 255, 0, 51, 0, 1, 255, 0, 254]);
});

Deno.test("encodeRgbPng checks the image shape", () => {
  assert.throws(() => encodeRgbPng({ data: new Float32Array(5), height: 1, width: 2 }), TypeError);
  assert.throws(() => encodeRgbPng({ data: new Float32Array(0), height: 0, width: 0 }), RangeError);
  assert.throws(
    () => encodeRgbPng({ data: new Float64Array(3) as unknown as Float32Array, height: 1, width: 1 }),
    TypeError,
  );
});

Deno.test("encodeLabelPng writes an indexed PNG whose raw values are the labels", () => {
  const height = 3;
  const width = 5;
  const labels = Int32Array.of(0, 1, 15, 20, 255, 7, 7, 8, 254, 0, 2, 3, 17, 22, 255);
  const png = encodeLabelPng({ data: labels, height, width });
  const header = readImageHeader(png);
  assert.deepEqual([header.codingType, header.bitDepth, header.channels], [3, 8, 1]);
  const raw = decodePng(png);
  assert.deepEqual(Array.from(raw.data), Array.from(labels));
  const palette = vocPalette();
  assert.equal(raw.palette?.length, 256);
  raw.palette?.forEach((colour, i) => assert.deepEqual(colour, rgbAt(palette, i), `palette entry ${i}`));
  // Viewers (and loadImage) see the palette colours.
  const shown = decodeImage(png);
  for (let p = 0; p < labels.length; p++) {
    assert.deepEqual(
      Array.from(shown.data.subarray(p * 3, p * 3 + 3)),
      rgbAt(palette, labels[p]).map((v) => Math.fround(v / 255)),
    );
  }
});

Deno.test("encodeLabelPng uses a custom palette", () => {
  const palette = new Uint8Array(768);
  for (let i = 0; i < 256; i++) palette.set([i, 0, 255 - i], i * 3);
  const raw = decodePng(encodeLabelPng({ data: Int32Array.of(3, 200), height: 1, width: 2 }, palette));
  assert.deepEqual(Array.from(raw.data), [3, 200]);
  assert.deepEqual(raw.palette?.[200], [200, 0, 55]);
});

Deno.test("encodeLabelPng refuses labels outside 0..255 and bad palettes", () => {
  for (const bad of [-1, 256, 1000]) {
    assert.throws(
      () => encodeLabelPng({ data: Int32Array.of(0, 1, 2, bad), height: 2, width: 2 }),
      (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.equal(error.message, `Invalid label ${bad} at (1, 1): expected an integer in [0, 255]`);
        return true;
      },
    );
  }
  assert.throws(() => encodeLabelPng({ data: Int32Array.of(0), height: 1, width: 1 }, new Uint8Array(765)), {
    name: "TypeError",
    message: "Invalid palette: expected a Uint8Array of 768 bytes (256 RGB colours), got 765 bytes",
  });
  assert.throws(() => encodeLabelPng({ data: Int32Array.of(0, 1), height: 1, width: 1 }), TypeError);
});
