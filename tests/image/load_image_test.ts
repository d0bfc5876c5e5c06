import assert from "node:assert/strict";
import { encode as encodePng, type ImageData as PngImageData } from "fast-png";
import jpeg from "jpeg-js";
import { decodeImage, DEFAULT_LOAD_IMAGE_OPTIONS, loadImage } from "../../lib/image/load_image.ts";
import { readImageHeader } from "../../lib/image/image_header.ts";
import type { ImageRGB } from "../../lib/types.ts";
import { buildPng, packSamples } from "./_png_bytes.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);

// 5 columns so that 1-, 2- and 4-bit rows end in a partly used byte.
const H = 3;
const W = 5;
const N = H * W;

/** Asserts size and exact float32 values (`expected` holds doubles, rounded here like the decoder does). */
function assertImage(image: ImageRGB, height: number, width: number, expected: number[]): void {
  assert.deepEqual([image.height, image.width], [height, width]);
  assert.ok(image.data instanceof Float32Array);
  assert.deepEqual(Array.from(image.data), expected.map(Math.fround));
}

/** Grey samples `g` expanded to R = G = B. */
function grey(values: number[], max: number): number[] {
  return values.flatMap((v) => [v / max, v / max, v / max]);
}

function samples(count: number, modulo: number, step: number): number[] {
  return Array.from({ length: count }, (_, i) => (i * step + 1) % modulo);
}

Deno.test("decodeImage reads grey PNGs at every bit depth", () => {
  for (const depth of [1, 2, 4, 8, 16] as const) {
    const max = 2 ** depth - 1;
    const values = samples(N, max + 1, depth === 16 ? 4099 : 3);
    const data = depth === 16
      ? Uint16Array.from(values)
      : depth === 8
      ? Uint8Array.from(values)
      : packSamples(values, W, H, depth);
    const png = encodePng({ width: W, height: H, data, channels: 1, depth });
    assert.equal(readImageHeader(png).bitDepth, depth);
    // 1/2/4-bit grey scales to v / (2^depth - 1), as libpng's expansion to 8 bits (x255, x85, x17) gives.
    assertImage(decodeImage(png, `grey${depth}.png`), H, W, grey(values, max));
  }
});

Deno.test("decodeImage reads grey+alpha, RGB and RGBA PNGs at 8 and 16 bits, dropping alpha", () => {
  for (const depth of [8, 16] as const) {
    const max = 2 ** depth - 1;
    for (const channels of [2, 3, 4]) {
      const values = samples(N * channels, max + 1, depth === 16 ? 2671 : 37);
      // Alpha 0 on the first pixel: its colour must survive unchanged (no compositing).
      if (channels % 2 === 0) values[channels - 1] = 0;
      const data = depth === 16 ? Uint16Array.from(values) : Uint8Array.from(values);
      const png = encodePng({ width: W, height: H, data, channels, depth });
      const expected: number[] = [];
      for (let p = 0; p < N; p++) {
        const s = values.slice(p * channels, (p + 1) * channels).map((v) => v / max);
        expected.push(...(channels === 2 ? [s[0], s[0], s[0]] : s.slice(0, 3)));
      }
      assertImage(decodeImage(png, `c${channels}d${depth}.png`), H, W, expected);
    }
  }
});

Deno.test("decodeImage expands palette PNGs at 1, 2, 4 and 8 bits, ignoring tRNS alpha", () => {
  for (const depth of [1, 2, 4, 8] as const) {
    const colours = Math.min(2 ** depth, 11);
    const palette = Array.from({ length: colours }, (_, i) => [(i * 53) % 256, (i * 97 + 1) % 256, 255 - i]);
    const indices = samples(N, colours, 5);
    const data = depth === 8 ? Uint8Array.from(indices) : packSamples(indices, W, H, depth);
    const expected = indices.flatMap((i) => palette[i].map((v) => v / 255));
    const plain = encodePng({ width: W, height: H, data, channels: 1, depth, palette });
    assert.equal(readImageHeader(plain).codingType, 3);
    assertImage(decodeImage(plain, `palette${depth}.png`), H, W, expected);
    // A fourth component makes fast-png write a tRNS chunk; the colours stay the same.
    const withAlpha = encodePng({
      width: W,
      height: H,
      data,
      channels: 1,
      depth,
      palette: palette.map((c, i) => [...c, i === 0 ? 0 : 128]),
    });
    assert.ok(new TextDecoder().decode(withAlpha).includes("tRNS"));
    assertImage(decodeImage(withAlpha, `palette${depth}_trns.png`), H, W, expected);
  }
});

Deno.test("decodeImage reads Adam7-interlaced PNGs at 8 and 16 bits", () => {
  const h = 11;
  const w = 9; // every Adam7 pass is non-empty and some are ragged
  const rgb = Array.from({ length: h * w * 3 }, (_, i) => (i * 29) % 256);
  const rgbPng = encodePng({ width: w, height: h, data: Uint8Array.from(rgb), channels: 3, depth: 8 }, {
    interlace: "Adam7",
  });
  assert.equal(readImageHeader(rgbPng).interlaced, true);
  assertImage(decodeImage(rgbPng), h, w, rgb.map((v) => v / 255));
  const g16 = Array.from({ length: h * w }, (_, i) => (i * 7919) % 65536);
  const g16Png = encodePng({ width: w, height: h, data: Uint16Array.from(g16), channels: 1, depth: 16 }, {
    interlace: "Adam7",
  });
  assertImage(decodeImage(g16Png), h, w, grey(g16, 65535));
});

Deno.test("decodeImage accepts PNG scanlines with every filter type", async () => {
  // Written by hand (fast-png only writes filter 0): 2x2 grey, one row with Sub (1), one with Paeth (4).
  // Row 0 raw [10, 30] -> Sub stores [10, 20]; row 1 raw [50, 40] -> Paeth predicts from (a, b, c):
  // x=0: a=0, b=10, c=0 -> b=10, stored 40; x=1: a=50, b=30, c=10 -> p=70, pa=20, pb=40, pc=60 -> a, stored 246.
  const png = await buildPng(
    { width: 2, height: 2, bitDepth: 8, colorType: 0 },
    Uint8Array.of(1, 10, 20, 4, 40, 246),
  );
  assertImage(decodeImage(png), 2, 2, grey([10, 30, 50, 40], 255));
});

Deno.test("decodeImage decodes a baseline JPEG to plausible values", () => {
  const w = 16;
  const h = 16;
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([200, 100, 50, 255], i * 4);
  const bytes = jpeg.encode({ width: w, height: h, data: rgba }, 90).data;
  const header = readImageHeader(bytes);
  assert.deepEqual([header.format, header.codingType, header.interlaced], ["jpeg", 0xc0, false]);
  const image = decodeImage(bytes, "flat.jpg");
  assert.deepEqual([image.height, image.width], [h, w]);
  for (let p = 0; p < w * h; p++) {
    for (const [k, v] of [200, 100, 50].entries()) {
      assert.ok(
        Math.abs(image.data[p * 3 + k] * 255 - v) <= 3,
        `pixel ${p} channel ${k}: ${image.data[p * 3 + k] * 255}`,
      );
    }
  }
});

Deno.test("loadImage decodes the committed progressive JPEG fixture close to its source gradient", async () => {
  // tests/fixtures/gradient_progressive.jpg: cjpeg -quality 95 -progressive (see gen_gradient_progressive_jpeg.py)
  // of R = round(255 x / 39), G = round(255 y / 23), B = 128 on 40x24 pixels, 4:2:0 chroma.
  const path = new URL("gradient_progressive.jpg", FIXTURES).pathname;
  const bytes = await Deno.readFile(path);
  assert.ok(bytes.length < 5000);
  const header = readImageHeader(bytes);
  assert.deepEqual([header.format, header.codingType, header.interlaced, header.channels], [
    "jpeg",
    0xc2,
    true,
    3,
  ]);
  const image = await loadImage(path);
  assert.deepEqual([image.height, image.width], [24, 40]);
  let maxError = 0;
  let sumError = 0;
  for (let y = 0; y < 24; y++) {
    for (let x = 0; x < 40; x++) {
      const source = [Math.round((255 * x) / 39), Math.round((255 * y) / 23), 128];
      for (let k = 0; k < 3; k++) {
        const error = Math.abs(image.data[(y * 40 + x) * 3 + k] * 255 - source[k]);
        maxError = Math.max(maxError, error);
        sumError += error;
      }
    }
  }
  // jpeg-js gives max 10 and mean 3.0 levels here (libjpeg-turbo's djpeg: within 8 levels of jpeg-js).
  assert.ok(maxError <= 12, `max error ${maxError} levels`);
  assert.ok(sumError / (24 * 40 * 3) <= 4, `mean error ${sumError / (24 * 40 * 3)} levels`);
});

Deno.test("loadImage detects the format from the signature, not the extension", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const png = encodePng({ width: 1, height: 1, data: Uint8Array.of(255, 0, 0), channels: 3, depth: 8 });
    await Deno.writeFile(`${dir}/really_a_png.jpg`, png);
    assertImage(await loadImage(`${dir}/really_a_png.jpg`), 1, 1, [1, 0, 0]);
    const rgba = new Uint8Array(8 * 8 * 4).fill(255);
    await Deno.writeFile(
      `${dir}/really_a_jpeg.png`,
      jpeg.encode({ width: 8, height: 8, data: rgba }, 90).data,
    );
    const white = await loadImage(`${dir}/really_a_jpeg.png`);
    assert.ok(white.data.every((v) => v > 0.98));
    assertImage(await loadImage(png), 1, 1, [1, 0, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Asserts that `run` fails with `kind` and a one-line message containing every string in `parts`. */
async function assertFails(
  run: () => unknown,
  kind: abstract new (...args: never[]) => Error,
  parts: string[],
): Promise<void> {
  await assert.rejects(async () => await run(), (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${error}`);
    assert.ok(!/[\r\n]/.test(error.message), `message spans lines: ${JSON.stringify(error.message)}`);
    assert.ok(!error.message.endsWith("."), `message ends with a period: ${error.message}`);
    for (const part of parts) {
      assert.ok(error.message.includes(part), `"${error.message}" lacks ${JSON.stringify(part)}`);
    }
    return true;
  });
}

function noise(count: number, seed: number): Uint8Array {
  const out = new Uint8Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function rgbPng(width: number, height: number): Uint8Array {
  return encodePng(
    { width, height, data: noise(width * height * 3, 7), channels: 3, depth: 8 } as PngImageData,
  );
}

function rgbJpeg(width: number, height: number): Uint8Array {
  // Copied into a plain Uint8Array: jpeg-js returns a Node Buffer, whose slice() would share memory.
  return new Uint8Array(jpeg.encode({ width, height, data: noise(width * height * 4, 11) }, 90).data);
}

/** Offset of the first SOF0 marker's length field in a jpeg-js output. */
function sofAt(bytes: Uint8Array): number {
  for (let i = 2; i < bytes.length - 1; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xc0) return i + 2;
  throw new Error("no SOF0");
}

Deno.test("loadImage names the path in one-line errors for missing, unreadable and non-image files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertFails(() => loadImage(`${dir}/missing.png`), Deno.errors.NotFound, [
      `"${dir}/missing.png"`,
      "no such file",
    ]);
    await assertFails(() => loadImage(dir), Error, [`"${dir}"`]);
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello, world\n");
    await assertFails(() => loadImage(`${dir}/notes.txt`), TypeError, [
      `"${dir}/notes.txt"`,
      "expected PNG or JPEG data",
      "68 65 6c 6c",
    ]);
    await Deno.writeFile(`${dir}/empty.png`, new Uint8Array(0));
    await assertFails(() => loadImage(`${dir}/empty.png`), TypeError, [`"${dir}/empty.png"`, "empty file"]);
    const gif = new TextEncoder().encode("GIF89a\x01\x00\x01\x00");
    await assertFails(() => loadImage(gif), TypeError, [`"<bytes>"`, "47 49 46 38"]);
    await assertFails(() => loadImage(42 as unknown as string), TypeError, ["number"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadImage reports truncated and corrupt PNG and JPEG data", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const png = rgbPng(20, 20);
    await Deno.writeFile(`${dir}/cut.png`, png.subarray(0, png.length >> 1));
    await assertFails(() => loadImage(`${dir}/cut.png`), TypeError, [
      `"${dir}/cut.png"`,
      "truncated or corrupt",
    ]);
    await assertFails(() => decodeImage(png.subarray(0, 20), "head.png"), TypeError, [
      `"head.png"`,
      "truncated",
    ]);
    await assertFails(() => decodeImage(png.subarray(0, png.length - 12)), TypeError, [
      `"<bytes>"`,
      "truncated",
    ]);
    const flipped = png.slice();
    flipped[60] ^= 0x55; // inside IDAT: the CRC no longer matches
    await assertFails(() => decodeImage(flipped, "flipped.png"), TypeError, [
      `"flipped.png"`,
      "truncated or corrupt",
    ]);
    const badPlte = encodePng({
      width: 1,
      height: 1,
      data: Uint8Array.of(0),
      channels: 1,
      depth: 8,
      palette: [[1, 2, 3]],
    });
    badPlte[41] ^= 0xff; // a PLTE colour byte: only the CRC check can notice
    await assertFails(() => decodeImage(badPlte, "plte.png"), TypeError, [`"plte.png"`, "CRC mismatch"]);

    const jpg = rgbJpeg(32, 32);
    await Deno.writeFile(`${dir}/cut.jpg`, jpg.subarray(0, jpg.length >> 1));
    await assertFails(() => loadImage(`${dir}/cut.jpg`), TypeError, [
      `"${dir}/cut.jpg"`,
      "truncated or corrupt",
    ]);
    await assertFails(() => decodeImage(jpg.subarray(0, 100), "head.jpg"), TypeError, [
      `"head.jpg"`,
      "truncated",
    ]);
    await assertFails(() => decodeImage(jpg.subarray(0, jpg.length - 2), "no_eoi.jpg"), TypeError, [
      `"no_eoi.jpg"`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeImage refuses 0-pixel images", async () => {
  const empty = await buildPng({ width: 0, height: 0, bitDepth: 8, colorType: 2 }, new Uint8Array(0));
  await assertFails(() => decodeImage(empty, "zero.png"), RangeError, [`"zero.png"`, "0x0", "at least 1x1"]);
  const jpg = rgbJpeg(8, 8);
  const at = sofAt(jpg);
  jpg[at + 3] = 0; // height
  jpg[at + 4] = 0;
  await assertFails(() => decodeImage(jpg, "zero.jpg"), RangeError, [`"zero.jpg"`, "8x0"]);
});

Deno.test("decodeImage refuses images above maxPixels before decoding them", async () => {
  const png = rgbPng(20, 20);
  assert.equal(decodeImage(png, "ok.png", { maxPixels: 400 }).height, 20);
  await assertFails(() => decodeImage(png, "big.png", { maxPixels: 399 }), RangeError, [
    `"big.png"`,
    "400 pixels",
    "at most 399",
  ]);
  const jpg = rgbJpeg(16, 16);
  await assertFails(() => loadImage(jpg, { maxPixels: 255 }), RangeError, [`"<bytes>"`, "256 pixels"]);
  // Headers that claim huge sizes over tiny bodies: refused as too large, not reported as corrupt, so the
  // check ran on the header alone.
  const huge = await buildPng(
    { width: 10_000, height: 10_000, bitDepth: 8, colorType: 2 },
    new Uint8Array(0),
  );
  await assertFails(() => decodeImage(huge, "huge.png"), RangeError, [
    "100000000 pixels",
    `${DEFAULT_LOAD_IMAGE_OPTIONS.maxPixels}`,
  ]);
  const at = sofAt(jpg);
  jpg.set([0x23, 0x28, 0x23, 0x28], at + 3); // 9000 x 9000
  await assertFails(() => decodeImage(jpg, "huge.jpg"), RangeError, ["81000000 pixels"]);
  for (const bad of [0, -1, 2.5, Number.NaN]) {
    await assertFails(() => decodeImage(png, "x.png", { maxPixels: bad }), RangeError, [
      "maxPixels",
      `${bad}`,
    ]);
  }
});

Deno.test("decodeImage refuses codings the decoders cannot handle", async () => {
  const interlaced1bit = await buildPng(
    { width: 1, height: 1, bitDepth: 1, colorType: 0, interlace: 1 },
    Uint8Array.of(0, 0x80),
  );
  await assertFails(() => decodeImage(interlaced1bit, "adam7.png"), TypeError, [
    `"adam7.png"`,
    "1-bit",
    "interlaced",
  ]);
  const badIndex = encodePng({
    width: 2,
    height: 1,
    data: Uint8Array.of(0, 7),
    channels: 1,
    depth: 8,
    palette: [[0, 0, 0], [9, 9, 9]],
  });
  await assertFails(() => decodeImage(badIndex, "index.png"), TypeError, [`"index.png"`, "palette index 7"]);
  const noPalette = await buildPng({ width: 1, height: 1, bitDepth: 8, colorType: 3 }, Uint8Array.of(0, 0));
  await assertFails(() => decodeImage(noPalette, "nopal.png"), TypeError, [`"nopal.png"`, "PLTE"]);
  const badDepth = await buildPng({ width: 1, height: 1, bitDepth: 4, colorType: 2 }, Uint8Array.of(0, 0));
  await assertFails(() => decodeImage(badDepth, "depth.png"), TypeError, ["colour type 2 with bit depth 4"]);

  const jpg = rgbJpeg(8, 8);
  const twelveBit = jpg.slice();
  twelveBit[sofAt(jpg) + 2] = 12;
  await assertFails(() => decodeImage(twelveBit, "12bit.jpg"), TypeError, [`"12bit.jpg"`, "12 bits"]);
  const arithmetic = jpg.slice();
  arithmetic[sofAt(jpg) - 1] = 0xc9;
  await assertFails(() => decodeImage(arithmetic, "arith.jpg"), TypeError, [`"arith.jpg"`, "SOF9"]);
});

Deno.test("loadImage reads only regular files: a FIFO, a device or a folder fails at once, naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = `${dir}/pipe.png`;
    assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success, "mkfifo");
    // Opening a FIFO for reading would block until a writer appears: the stat before the open keeps it out.
    await assertFails(() => loadImage(fifo), TypeError, [
      `"${fifo}"`,
      "a FIFO (named pipe), expected a regular file",
    ]);
    await assertFails(() => loadImage("/dev/zero"), TypeError, [`"/dev/zero"`, "a character device"]);
    await assertFails(() => loadImage(dir), TypeError, [`"${dir}"`, "a folder, expected a regular file"]);
    await Deno.symlink(`${dir}/loop.png`, `${dir}/loop.png`);
    await assertFails(() => loadImage(`${dir}/loop.png`), Deno.errors.FilesystemLoop, ["symbolic link loop"]);
    await Deno.symlink(`${dir}/good.png`, `${dir}/link.png`);
    await Deno.writeFile(`${dir}/good.png`, rgbPng(6, 4));
    assert.deepEqual([(await loadImage(`${dir}/link.png`)).width], [6], "a symlink to a file is read");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadImage refuses a file larger than its header allows before reading the body", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, bytes] of [["big.png", rgbPng(20, 20)], ["big.jpg", rgbJpeg(16, 16)]] as const) {
      const path = `${dir}/${name}`;
      await Deno.writeFile(path, bytes);
      await Deno.truncate(path, 3 * 2 ** 30); // sparse: 3 GiB on paper, nothing on disk
      const before = Deno.memoryUsage().rss;
      await assertFails(() => loadImage(path), RangeError, [`"${path}"`, "file is 3.2 GB, expected at most"]);
      assert.ok(Deno.memoryUsage().rss - before < 2 ** 30, "the 3 GiB body was not read");
    }
    // A file with a large metadata block before its JPEG frame header: the head grows until the header is found.
    const jpg = rgbJpeg(16, 16);
    const app = new Uint8Array(4 + 65_533);
    app.set([0xff, 0xe1, 0xff, 0xff]); // APP1 of 65535 bytes
    const padded = new Uint8Array(2 + 3 * app.length + jpg.length - 2);
    padded.set(jpg.subarray(0, 2));
    for (let k = 0; k < 3; k++) padded.set(app, 2 + k * app.length);
    padded.set(jpg.subarray(2), 2 + 3 * app.length);
    await Deno.writeFile(`${dir}/meta.jpg`, padded);
    assert.deepEqual([(await loadImage(`${dir}/meta.jpg`)).height], [16]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeImage refuses an image whose decoding would exceed maxDecodeBytes, with the sizes", async () => {
  const jpg = rgbJpeg(16, 16);
  jpg.set([0x1f, 0x40, 0x1f, 0x40], sofAt(jpg) + 3); // 8000 x 8000: 64 MP, within maxPixels
  await assertFails(() => decodeImage(jpg, "8000.jpg"), RangeError, [
    `"8000.jpg"`,
    "a 8000x8000 JPEG needs about 3.8 GB to decode, expected at most 2.1 GB (maxDecodeBytes)",
  ]);
  // The budget is an option: a small one refuses a small image, from its header.
  await assertFails(() => decodeImage(rgbPng(20, 20), "p.png", { maxDecodeBytes: 1000 }), RangeError, [
    "a 20x20 PNG needs about",
    "expected at most 1000 bytes",
  ]);
  assert.equal(decodeImage(rgbPng(20, 20), "p.png", { maxDecodeBytes: 20_000 }).width, 20);
  await assertFails(() => decodeImage(rgbPng(2, 2), "p.png", { maxDecodeBytes: 0 }), RangeError, [
    "Invalid maxDecodeBytes 0",
  ]);
});
