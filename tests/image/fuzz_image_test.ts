/**
 * Fuzzing the image decoders and the `segment` CLI with mutated PNG and JPEG files (truncations, bit flips, header
 * edits, spliced bytes, all drawn by fast-check from fixed seeds): every input must end in a decoded image or one
 * clean one-line error that names it, with no crash, no hang and no file left behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { encode as encodePng, type ImageData as PngImageData } from "fast-png";
import jpeg from "jpeg-js";
import { decodeImage } from "../../lib/image/load_image.ts";
import { listing, withTempDir } from "../cli/_segment_helpers.ts";

/** Mutated inputs decoded in process. */
const DECODE_RUNS = 5000;
/** Mutated files given to one `segment` run. */
const CLI_FILES = 300;
/** Keeps every fuzzed decode small: a mutated header may claim up to this many pixels. */
const FUZZ_MAX_PIXELS = 1_000_000;

function pattern(count: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (i * 37 + seed * 101 + ((i * i) >> 3)) & 255);
}

/** Valid seed files of several codings: PNG grey/RGB/RGBA/palette, 8 and 16 bits, interlaced; JPEG baseline. */
async function seeds(): Promise<Uint8Array[]> {
  const png = (width: number, height: number, channels: number, depth: 8 | 16, extra = {}) => {
    const n = width * height * channels;
    const data = depth === 16 ? Uint16Array.from(pattern(n, channels), (v) => v * 257) : pattern(n, channels);
    return encodePng({ width, height, data, channels, depth, ...extra } as PngImageData);
  };
  const palette = encodePng({
    width: 9,
    height: 5,
    data: Uint8Array.from({ length: 45 }, (_, i) => i % 4),
    channels: 1,
    depth: 8,
    palette: [[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9]],
  } as PngImageData);
  const jpg = (width: number, height: number, quality: number) =>
    new Uint8Array(jpeg.encode({ width, height, data: pattern(width * height * 4, quality) }, quality).data);
  const progressive = await Deno.readFile(new URL("../fixtures/gradient_progressive.jpg", import.meta.url));
  return [
    png(7, 5, 1, 8),
    png(12, 9, 3, 8),
    png(6, 11, 4, 16),
    png(10, 10, 2, 8),
    png(8, 8, 3, 8, { interlace: "Adam7" }),
    palette,
    jpg(16, 16, 90),
    jpg(33, 17, 50),
    progressive,
  ];
}

/** One mutation of a seed file. */
type Mutation =
  | { kind: "truncate"; at: number }
  | { kind: "flip"; bits: number[] }
  | { kind: "header"; at: number; bytes: number[] }
  | { kind: "splice"; at: number; remove: number; insert: number[] };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("flip" as const), bits: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }) }),
  // Header edits: size fields, bit depth, colour type, marker lengths all live in the first ~40 bytes.
  fc.record({
    kind: fc.constant("header" as const),
    at: fc.nat({ max: 40 }),
    bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant("splice" as const),
    at: fc.nat(),
    remove: fc.nat({ max: 64 }),
    insert: fc.array(fc.nat({ max: 255 }), { maxLength: 64 }),
  }),
);

function mutate(seed: Uint8Array, m: Mutation): Uint8Array {
  switch (m.kind) {
    case "truncate":
      return seed.slice(0, m.at % seed.length);
    case "flip": {
      const out = seed.slice();
      for (const b of m.bits) out[(b >> 3) % out.length] ^= 1 << (b & 7);
      return out;
    }
    case "header": {
      const out = seed.slice();
      m.bytes.forEach((v, i) => {
        if (m.at + i < out.length) out[m.at + i] = v;
      });
      return out;
    }
    case "splice": {
      const at = m.at % (seed.length + 1);
      return Uint8Array.from([...seed.subarray(0, at), ...m.insert, ...seed.subarray(at + m.remove)]);
    }
  }
}

/** A clean failure: one of the loader's own one-line errors, naming the input. */
function assertCleanError(error: unknown, name: string): void {
  assert.ok(error instanceof TypeError || error instanceof RangeError, `unexpected ${String(error)}`);
  const message = (error as Error).message;
  assert.ok(!message.includes("\n"), `multi-line message: ${message}`);
  assert.match(message, new RegExp(`^Cannot decode (image|PNG|JPEG) ${JSON.stringify(name)}: `), message);
}

Deno.test(`fuzz: ${DECODE_RUNS} mutated PNG/JPEG inputs each decode to a valid image or fail with one clean line`, async () => {
  const files = await seeds();
  let decoded = 0, refused = 0;
  fc.assert(
    fc.property(fc.nat({ max: files.length - 1 }), mutation, (which, m) => {
      const bytes = mutate(files[which], m);
      try {
        const image = decodeImage(bytes, "fuzz", { maxPixels: FUZZ_MAX_PIXELS });
        assert.equal(image.data.length, image.height * image.width * 3);
        for (const v of image.data) assert.ok(v >= 0 && v <= 1, `sample ${v} outside [0, 1]`);
        decoded++;
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assertCleanError(error, "fuzz");
        refused++;
      }
    }),
    { seed: 13, numRuns: DECODE_RUNS },
  );
  assert.equal(decoded + refused, DECODE_RUNS);
  // Both outcomes occur: the mutations neither all break nor all spare the files.
  assert.ok(decoded > 50 && refused > 500, `decoded ${decoded}, refused ${refused}`);
});

Deno.test(`fuzz: segment on a folder of ${CLI_FILES} mutated files finishes, one line per image, outputs only for the good`, async () => {
  await withTempDir(async (dir) => {
    const files = await seeds();
    const samples = fc.sample(fc.tuple(fc.nat({ max: files.length - 1 }), mutation), {
      seed: 14,
      numRuns: CLI_FILES,
    });
    const input = join(dir, "in");
    await Deno.mkdir(input);
    const names: string[] = [];
    for (const [k, [which, m]] of samples.entries()) {
      const name = `f${String(k).padStart(3, "0")}.${files[which][0] === 0xff ? "jpg" : "png"}`;
      names.push(name);
      await Deno.writeFile(join(input, name), mutate(files[which], m));
    }
    const out = join(dir, "out");
    const script = new URL("../../lib/cli/segment.ts", import.meta.url).pathname;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", script, input, "--encoder", "rgb-grid"]
        .concat(["--no-refine", "--out", out]),
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(180_000), // a hang fails the test instead of the whole run
    }).output();
    const outLines = new TextDecoder().decode(stdout).trim().split("\n").slice(1); // after the settings line
    const errLines = new TextDecoder().decode(stderr).trim().split("\n").filter(Boolean);
    const ok = outLines.filter((l) => / segments? in /.test(l));
    const failed = errLines.filter((l) => /^\[\d+\/\d+\] .*: error: /.test(l));
    assert.equal(ok.length + failed.length, CLI_FILES, `${outLines.join("\n")}\n${errLines.join("\n")}`);
    assert.ok(failed.length > 0 && ok.length > 0, `${ok.length} ok, ${failed.length} failed`);
    assert.equal(code, 1, "some images failed, so the exit code is 1 (a crash would be another code)");
    // Nothing else on stderr: no stack trace, no stray line from a decoder.
    assert.deepEqual(errLines, [...failed, `${failed.length} of ${CLI_FILES} images failed`]);
    const decodeErrors = failed.filter((l) => /: error: Cannot decode (image|PNG|JPEG) "/.test(l));
    assert.ok(
      decodeErrors.length > failed.length / 2,
      `${decodeErrors.length} of ${failed.length} decode errors`,
    );
    // Exactly three outputs for each image that succeeded; none for the others; no temporary files.
    const good = ok.map((l) => /\] .*\/(f\d{3})\.(png|jpg): /.exec(l)![1]).sort();
    const expected = good.flatMap((s) => [`${s}.json`, `${s}.labels.png`, `${s}.overlay.png`]).sort();
    assert.deepEqual(await listing(out), expected);
    assert.deepEqual((await listing(dir)).sort(), ["in", "out"]);
    assert.equal((await listing(input)).length, CLI_FILES);
  });
});
