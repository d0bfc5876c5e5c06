import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import { readImageHeader, sniffImageFormat } from "../../lib/image/image_header.ts";
import { pngChunk } from "./_png_bytes.ts";

/** Asserts a one-line TypeError whose message contains every string in `parts`. */
function assertHeaderError(run: () => unknown, parts: string[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof TypeError, `expected TypeError, got ${error}`);
    assert.ok(!/[\r\n]/.test(error.message));
    for (const part of parts) {
      assert.ok(error.message.includes(part), `"${error.message}" lacks ${JSON.stringify(part)}`);
    }
    return true;
  });
}

Deno.test("sniffImageFormat reads signatures only", () => {
  assert.equal(sniffImageFormat(Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10, 0)), "png");
  assert.equal(sniffImageFormat(Uint8Array.of(137, 80, 78, 71, 13, 10, 26)), undefined); // 7 bytes
  assert.equal(sniffImageFormat(Uint8Array.of(0xff, 0xd8, 0xff)), "jpeg");
  assert.equal(sniffImageFormat(Uint8Array.of(0xff, 0xd8, 0x00)), undefined);
  assert.equal(sniffImageFormat(new TextEncoder().encode("GIF89a")), undefined);
  assert.equal(sniffImageFormat(new Uint8Array(0)), undefined);
});

Deno.test("readImageHeader parses a PNG IHDR", () => {
  const png = encodePng({ width: 7, height: 3, data: new Uint16Array(7 * 3 * 4), channels: 4, depth: 16 });
  assert.deepEqual(readImageHeader(png, "a.png"), {
    format: "png",
    width: 7,
    height: 3,
    bitDepth: 16,
    channels: 4,
    interlaced: false,
    codingType: 6,
  });
});

Deno.test("readImageHeader finds the JPEG frame header after other segments", () => {
  // deno-fmt-ignore
  const jpg = Uint8Array.of(
    0xff, 0xd8, // SOI
    0xff, 0xe0, 0, 4, 1, 2, // APP0 with 2 data bytes
    0xff, 0xfe, 0, 3, 65, // COM "A"
    0xff, 0xff, 0xc2, 0, 11, 8, 0x01, 0x2c, 0x00, 0xc8, 1, 1, 0x11, 0, // fill byte, SOF2: 300 rows x 200 columns, grey
  );
  assert.deepEqual(readImageHeader(jpg), {
    format: "jpeg",
    width: 200,
    height: 300,
    bitDepth: 8,
    channels: 1,
    interlaced: true,
    codingType: 0xc2,
  });
});

Deno.test("readImageHeader reports malformed headers with the input's name", () => {
  assertHeaderError(() => readImageHeader(new TextEncoder().encode("hello"), "notes.txt"), [
    '"notes.txt"',
    "expected PNG or JPEG data",
    "68 65 6c 6c 6f",
  ]);
  assertHeaderError(() => readImageHeader(new Uint8Array(0)), ['"<bytes>"', "an empty file"]);
  const jpg = Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 4, 1, 2, 0xff, 0xc0, 0, 11);
  assertHeaderError(() => readImageHeader(jpg, "short.jpg"), [
    '"short.jpg"',
    "truncated before the start-of-frame",
  ]);
  assertHeaderError(() => readImageHeader(Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0, 2)), [
    "no start-of-frame",
    "SOS",
  ]);
  assertHeaderError(() => readImageHeader(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 2, 0x12)), [
    "expected a marker at byte 6",
  ]);
  const notIhdr = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10, ...pngChunk("IDAT", new Uint8Array(13)));
  assertHeaderError(() => readImageHeader(notIhdr, "x.png"), ['"x.png"', "expected an IHDR chunk", '"IDAT"']);
  const png = encodePng({ width: 1, height: 1, data: Uint8Array.of(0, 0, 0), channels: 3, depth: 8 });
  assertHeaderError(() => readImageHeader(png.subarray(0, 28), "cut.png"), ['"cut.png"', "truncated"]);
  const badMethod = png.slice();
  badMethod[28] = 2; // interlace method 2 does not exist
  assertHeaderError(() => readImageHeader(badMethod), ["interlace method (0, 0, 2)"]);
});
