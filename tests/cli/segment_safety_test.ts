/**
 * `deno task segment` with a user's files at stake: output names that cannot collide or leave `--out`, inputs that
 * are not regular files, outputs that appear together or not at all, options refused before any work, the
 * backend that really ran, and log lines that stay one line. Each test reproduces one defect of issue 13.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { encodeRgbPng } from "../../lib/image/encode_png.ts";
import { bandImage, listing, run, withTempDir } from "./_segment_helpers.ts";

const RGB_GRID = ["--encoder", "rgb-grid", "--no-refine"];

/** Every file below `dir`, as sorted paths relative to it. */
async function tree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const name of await listing(dir)) {
    const info = await Deno.lstat(join(dir, name));
    if (info.isDirectory) out.push(...await tree(join(dir, name), `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out.sort();
}

function jpegBytes(height: number, width: number, bands: number): Uint8Array {
  const image = bandImage(height, width, bands);
  const rgba = new Uint8Array(height * width * 4);
  for (let i = 0; i < height * width; i++) {
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.round(image.data[i * 3 + c] * 255);
    rgba[i * 4 + 3] = 255;
  }
  return jpeg.encode({ data: rgba, height, width }, 95).data;
}

Deno.test("segment: same-named images in two subfolders keep both results, mirrored under --out", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "c/a"), { recursive: true });
    await Deno.mkdir(join(dir, "c/b"));
    await Deno.writeFile(join(dir, "c/a/x.png"), encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.writeFile(join(dir, "c/b/x.png"), encodeRgbPng(bandImage(32, 96, 3)));
    const out = join(dir, "out");
    const { code, err } = await run([join(dir, "c"), ...RGB_GRID, "--out", out]);
    assert.equal(code, 0, err);
    assert.deepEqual(await tree(out), [
      "a/x.json",
      "a/x.labels.png",
      "a/x.overlay.png",
      "b/x.json",
      "b/x.labels.png",
      "b/x.overlay.png",
    ]);
    const a = JSON.parse(await Deno.readTextFile(join(out, "a/x.json")));
    const b = JSON.parse(await Deno.readTextFile(join(out, "b/x.json")));
    assert.deepEqual([a.input.endsWith("c/a/x.png"), a.segments.length], [true, 2]);
    assert.deepEqual([b.input.endsWith("c/b/x.png"), b.segments.length], [true, 3]);
  });
});

Deno.test("segment: two folders given whose images share a name are refused before any work", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "c/a"), { recursive: true });
    await Deno.mkdir(join(dir, "c/b"));
    await Deno.writeFile(join(dir, "c/a/x.png"), encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.writeFile(join(dir, "c/b/x.png"), encodeRgbPng(bandImage(32, 96, 3)));
    const out = join(dir, "out");
    const { code, out: stdout, err } = await run([
      join(dir, "c/a"),
      join(dir, "c/b"),
      ...RGB_GRID,
      "--out",
      out,
    ]);
    assert.equal(code, 1);
    assert.match(
      err,
      /^error: Inputs '.*c\/a\/x\.png' and '.*c\/b\/x\.png' would both write .*out\/x\.png\.\{labels/,
    );
    assert.equal(err.split("\n").length, 1, err);
    assert.equal(stdout, "", "nothing was encoded");
    assert.deepEqual(await listing(out), []);
  });
});

Deno.test("segment: x.png and x.jpg in one folder keep their extensions in the output names", async () => {
  await withTempDir(async (dir) => {
    const folder = join(dir, "in");
    await Deno.mkdir(folder);
    await Deno.writeFile(join(folder, "x.png"), encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.writeFile(join(folder, "x.jpg"), jpegBytes(32, 96, 3));
    const out = join(dir, "out");
    const { code, err } = await run([folder, ...RGB_GRID, "--out", out]);
    assert.equal(code, 0, err);
    assert.deepEqual(await listing(out), [
      "x.jpg.json",
      "x.jpg.labels.png",
      "x.jpg.overlay.png",
      "x.png.json",
      "x.png.labels.png",
      "x.png.overlay.png",
    ]);
    const segments = async (name: string) =>
      JSON.parse(await Deno.readTextFile(join(out, `${name}.json`))).segments.length;
    assert.deepEqual([await segments("x.png"), await segments("x.jpg")], [2, 3]);
  });
});

Deno.test("segment: files named '..png' and '...png' write inside --out, never into its parents", async () => {
  await withTempDir(async (dir) => {
    const folder = join(dir, "in");
    await Deno.mkdir(folder);
    await Deno.writeFile(join(folder, "..png"), encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.writeFile(join(folder, "...png"), encodeRgbPng(bandImage(32, 96, 3)));
    const out = join(dir, "deep", "out");
    for (const args of [[folder], [join(folder, "..png"), join(folder, "...png")]]) {
      await Deno.remove(join(dir, "deep"), { recursive: true }).catch(() => {});
      const { code, err } = await run([...args, ...RGB_GRID, "--out", out]);
      assert.equal(code, 0, err);
      // Stems "." and ".." become part of one file name each, inside --out.
      assert.deepEqual(await tree(join(dir, "deep")), [
        "out/...json",
        "out/...labels.png",
        "out/...overlay.png",
        "out/..json",
        "out/..labels.png",
        "out/..overlay.png",
      ]);
      assert.deepEqual(await listing(dir), ["deep", "in"], "nothing written beside --out");
    }
  });
});

Deno.test("segment: a FIFO or a device given as input fails at once; in a folder it is skipped by name", async () => {
  await withTempDir(async (dir) => {
    const fifo = join(dir, "pipe.png");
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(mk.success, "mkfifo");
    await Deno.writeFile(join(dir, "good.png"), encodeRgbPng(bandImage(32, 32, 2)));
    const out = join(dir, "out");
    for (const [input, kind] of [[fifo, "a FIFO"], ["/dev/zero", "a device"]]) {
      const r = await run([input, ...RGB_GRID, "--out", out]);
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        `error: Cannot read input '${input}': it is ${kind}, expected an image file or a folder`,
      );
    }
    const r = await run([dir, ...RGB_GRID, "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, `skipped: ${fifo} (a FIFO, not a regular file)`);
    assert.deepEqual(await listing(out), ["good.json", "good.labels.png", "good.overlay.png"]);
  });
});

Deno.test("segment: a huge sparse PNG with a small header is refused from its header and size", async () => {
  await withTempDir(async (dir) => {
    const big = join(dir, "big.png");
    await Deno.writeFile(big, encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.truncate(big, 3 * 2 ** 30); // 3 GiB, sparse: costs no disk
    const out = join(dir, "out");
    const r = await run([big, ...RGB_GRID, "--out", out]);
    assert.equal(r.code, 1);
    assert.match(
      r.err.split("\n")[0],
      /big\.png: error: Cannot decode image ".*big\.png": file is 3\.2 GB, expected at most 67\.1 MB for a 32x32 PNG$/,
    );
    assert.ok(Deno.memoryUsage().rss < 2 ** 31, "the body was not read");
    assert.deepEqual(await listing(out), []);
  });
});

Deno.test("segment: when one output cannot be written, none of the image's outputs stays behind", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "chelsea.png");
    await Deno.writeFile(input, encodeRgbPng(bandImage(32, 32, 2)));
    const out = join(dir, "out");
    await Deno.mkdir(join(out, "chelsea.json"), { recursive: true }); // the JSON's rename fails
    const r = await run([input, ...RGB_GRID, "--out", out]);
    assert.equal(r.code, 1);
    assert.match(r.err, /chelsea\.png: error: Cannot write '.*chelsea\.json'/);
    assert.deepEqual(await listing(out), ["chelsea.json"], "no labels, overlay or temporary file left");
  });
});

Deno.test("segment: bad guards are refused once, before any image is read or encoded", async () => {
  await withTempDir(async (dir) => {
    const a = join(dir, "a.png"), b = join(dir, "b.png");
    await Deno.writeFile(a, encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.writeFile(b, encodeRgbPng(bandImage(32, 32, 2)));
    const out = join(dir, "out");
    const cases: [string[], string][] = [
      [["--min-segment=-3"], "error: Invalid --min-segment -3: expected an integer >= 1"],
      [["--max-segments", "0"], "error: Invalid --max-segments 0: expected an integer >= 1"],
      [
        ["--max-segments", "2000"],
        "error: Invalid --max-segments 2000: expected at most 256 (labels are written as an 8-bit PNG)",
      ],
      [["--min-segment", "2.5"], 'error: Invalid --min-segment "2.5": expected an integer'],
    ];
    for (const [flags, message] of cases) {
      const r = await run([a, b, ...RGB_GRID, ...flags, "--out", out]);
      assert.equal(r.code, 1, flags.join(" "));
      assert.equal(r.err, message, "one error line, not one per image");
      assert.equal(r.out, "", "the encoder was never loaded");
    }
    assert.deepEqual(await listing(out), []);
  });
});

Deno.test("segment: an encoder with no segment cap is capped at 256, so every result fits the label PNG", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "a.png");
    await Deno.writeFile(input, encodeRgbPng(bandImage(32, 32, 2)));
    const out = join(dir, "out");
    const r = await run([input, ...RGB_GRID, "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(await Deno.readTextFile(join(out, "a.json"))).maxSegments, 256);
  });
});

Deno.test("segment: --out equal to the input folder never takes the run's own outputs as inputs", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "a.png"), encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.writeFile(join(dir, "b.png"), encodeRgbPng(bandImage(32, 96, 3)));
    for (const round of [1, 2]) {
      const r = await run([dir, ...RGB_GRID, "--out", dir]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.split("\n").filter((l) => / segments? in /.test(l)).length, 2, `round ${round}`);
      if (round === 2) {
        assert.equal(
          r.err,
          `skipped: 6 file(s) in ${dir} named like this tool's outputs (.labels.png, .overlay.png, .json)`,
        );
      }
    }
    assert.deepEqual(await listing(dir), [
      "a.json",
      "a.labels.png",
      "a.overlay.png",
      "a.png",
      "b.json",
      "b.labels.png",
      "b.overlay.png",
      "b.png",
    ]);
  });
});

Deno.test("segment: symlinks, unsupported formats and odd names in a folder", async () => {
  await withTempDir(async (dir) => {
    const folder = join(dir, "in");
    await Deno.mkdir(folder);
    const real = join(dir, "real.png");
    await Deno.writeFile(real, encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.symlink(real, join(folder, "linked.png"));
    await Deno.symlink(join(folder, "loop.png"), join(folder, "loop.png"));
    await Deno.symlink(join(dir, "gone.png"), join(folder, "broken.png"));
    await Deno.symlink(dir, join(folder, "up"));
    await Deno.writeFile(join(folder, "photo.webp"), new Uint8Array([1, 2, 3]));
    await Deno.writeFile(join(folder, "scan.BMP"), new Uint8Array([1, 2, 3]));
    await Deno.writeFile(join(folder, "two\nlines.png"), encodeRgbPng(bandImage(32, 96, 3)));
    const out = join(dir, "out");
    const r = await run([folder, ...RGB_GRID, "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.err.split("\n"), [
      `skipped: ${folder}/broken.png (broken symbolic link)`,
      `skipped: ${folder}/loop.png (symbolic link loop)`,
      `skipped: ${folder}/photo.webp (WebP is not supported; expected PNG or JPEG)`,
      `skipped: ${folder}/scan.BMP (BMP is not supported; expected PNG or JPEG)`,
      `skipped: ${folder}/up (a symbolic link to a folder; not followed)`,
    ]);
    // The symlinked image is segmented; the newline in a name is escaped, so each event stays one line.
    const lines = r.out.split("\n");
    assert.equal(lines.length, 3, r.out);
    assert.match(lines[1], /\[1\/2\] .*linked\.png: 2 segments/);
    assert.match(lines[2], /\[2\/2\] .*two\\nlines\.png: 3 segments in .* -> .*two\\nlines\.\{labels/);
    assert.deepEqual(await listing(out), [
      "linked.json",
      "linked.labels.png",
      "linked.overlay.png",
      "two\nlines.json",
      "two\nlines.labels.png",
      "two\nlines.overlay.png",
    ]);
    // A symlink loop given directly says so, not "no such file".
    const loop = await run([join(folder, "loop.png"), ...RGB_GRID, "--out", out]);
    assert.equal(loop.code, 1);
    assert.equal(loop.err, `error: Cannot read input '${folder}/loop.png': symbolic link loop`);
  });
});

Deno.test("segment task: --backend webgpu without an adapter records the CPU path and the fallback in the JSON", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "a.png");
    await Deno.writeFile(input, encodeRgbPng(bandImage(32, 96, 3)));
    const out = join(dir, "out");
    const script = new URL("../../lib/cli/segment.ts", import.meta.url).pathname;
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        script,
        input,
        ...RGB_GRID,
        "--backend",
        "webgpu",
        "--out",
        out,
      ],
      env: { DENO_WEBGPU_BACKEND: "" }, // set but empty: requestAdapter() returns null
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const json = JSON.parse(await Deno.readTextFile(join(out, "a.json")));
    assert.equal(json.backendRequested, "webgpu");
    assert.equal(json.backend, "cpu");
    assert.deepEqual(json.stageBackends, { affinity: "cpu", tree: "cpu", assign: "cpu" });
    assert.match(json.notes[0], /^WebGPU was asked for but .* ran on the CPU path \(.+\)$/);
    assert.equal(json.segments.length, 3);
  });
});

Deno.test("segment: --solver kway --segments K improves the recursive cut and reports both objectives", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "a.png");
    await Deno.writeFile(input, encodeRgbPng(bandImage(32, 96, 3)));
    const out = join(dir, "out");
    const r = await run([input, ...RGB_GRID, "--solver", "kway", "--segments", "3", "--out", out]);
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(await Deno.readTextFile(join(out, "a.json")));
    assert.equal(json.solver, "kway");
    assert.equal(json.segments.length, 3);
    assert.ok(
      json.ncut.kway <= json.ncut.recursive,
      `kway ${json.ncut.kway} > recursive ${json.ncut.recursive}`,
    );
    const bad = await run([input, ...RGB_GRID, "--solver", "spectral", "--out", out]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^error: Invalid --solver "spectral"/);
  });
});
