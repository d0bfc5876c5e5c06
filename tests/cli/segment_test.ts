/**
 * `deno task segment` (lib/cli/segment.ts) driven through `main(args)` with the `"rgb-grid"` encoder on small
 * PNGs in a temporary folder: outputs, folder inputs, exit codes, and no outputs for an image that fails.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decode as decodePng } from "fast-png";
import { bandImage, listing, run, withTempDir } from "./_segment_helpers.ts";
import { encodeRgbPng } from "../../lib/image/encode_png.ts";
import { loadLabelMap } from "../../lib/image/load_labels.ts";
import { samePartition } from "../_helpers.ts";

/** Checks the three outputs of one image and returns the JSON summary. */
async function checkOutputs(out: string, stem: string, height: number, width: number) {
  const labels = await loadLabelMap(join(out, `${stem}.labels.png`));
  assert.deepEqual([labels.height, labels.width], [height, width]);
  const overlay = decodePng(await Deno.readFile(join(out, `${stem}.overlay.png`)));
  assert.deepEqual([overlay.height, overlay.width, overlay.channels, overlay.depth], [height, width, 3, 8]);
  const json = JSON.parse(await Deno.readTextFile(join(out, `${stem}.json`)));
  assert.equal(json.encoder, "rgb-grid");
  assert.equal(typeof json.tau, "number");
  assert.equal(typeof json.alpha, "number");
  assert.deepEqual([json.width, json.height], [width, height]);
  assert.deepEqual(json.grid, { height: 32, width: 32 });
  for (const k of ["encode", "affinity", "tree", "cut", "assign", "refine", "total"]) {
    assert.equal(typeof json.timingsMs[k], "number", `timingsMs.${k}`);
  }
  // One label value per segment, 0..K−1, with the pixel counts the JSON reports.
  const distinct = [...new Set(labels.data)].sort((a, b) => a - b);
  assert.deepEqual(distinct, json.segments.map((s: { label: number }) => s.label));
  assert.deepEqual(distinct, Array.from({ length: distinct.length }, (_, i) => i));
  for (const s of json.segments) {
    assert.equal(s.pixels, labels.data.filter((v) => v === s.label).length);
    assert.equal(s.fraction, +(s.pixels / (height * width)).toFixed(6));
  }
  return { json, labels };
}

Deno.test("segment CLI: writes labels, overlay and JSON for one image", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "three.png");
    await Deno.writeFile(input, encodeRgbPng(bandImage(40, 96, 3)));
    const out = join(dir, "out");
    const { code, out: stdout, err } = await run([input, "--encoder", "rgb-grid", "--out", out]);
    assert.equal(code, 0, err);
    assert.equal(err, "");
    assert.match(stdout, /DiffCut with encoder 'rgb-grid' \(tau 0\.5, alpha 10, refine true\)/);
    assert.match(stdout, /three\.png: 3 segments in /);
    assert.deepEqual(await listing(out), ["three.json", "three.labels.png", "three.overlay.png"]);
    const { json, labels } = await checkOutputs(out, "three", 40, 96);
    assert.equal(json.segments.length, 3);
    assert.deepEqual([json.tau, json.alpha, json.refine], [0.5, 10, true]);
    assert.equal(json.input, input);
    const truth = Int32Array.from({ length: 40 * 96 }, (_, i) => Math.floor(((i % 96) * 3) / 96));
    assert.ok(samePartition(labels.data, truth), "labels follow the three bands");
  });
});

Deno.test("segment CLI: options reach the segmenter and the JSON", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "two.png");
    await Deno.writeFile(input, encodeRgbPng(bandImage(32, 64, 2)));
    const out = join(dir, "out");
    const { code, err } = await run([
      input,
      "--encoder=rgb-grid",
      "--tau",
      "0.2",
      "--alpha",
      "3",
      "--no-refine",
      "--size",
      "16",
      "--out",
      out,
    ]);
    assert.equal(code, 0, err);
    const { json } = await checkOutputs(out, "two", 32, 64);
    assert.deepEqual([json.tau, json.alpha, json.refine, json.segments.length], [0.2, 3, false, 2]);
    assert.deepEqual(json.workSize, { height: 8, width: 16 });
    // Asked for "auto"; on this image's tiny grid every stage runs on the CPU path, and the JSON says so.
    assert.equal(json.backendRequested, "auto");
    assert.equal(json.backend, "cpu");
    assert.deepEqual(Object.keys(json.stageBackends).sort(), ["affinity", "assign", "tree"]);
  });
});

Deno.test("segment CLI: --backend cpu and webgpu give the same labels (webgpu falls back when no adapter exists)", async () => {
  await withTempDir(async (dir) => {
    const input = join(dir, "three.png");
    await Deno.writeFile(input, encodeRgbPng(bandImage(40, 96, 3)));
    const labels: Int32Array[] = [];
    for (const backend of ["cpu", "webgpu"]) {
      const out = join(dir, backend);
      const { code, err } = await run([input, "--encoder", "rgb-grid", "--backend", backend, "--out", out]);
      assert.equal(code, 0, err);
      const { json, labels: l } = await checkOutputs(out, "three", 40, 96);
      assert.equal(json.backend, backend);
      assert.equal(json.segments.length, 3, backend);
      labels.push(l.data);
    }
    assert.ok(samePartition(labels[0], labels[1]), "cpu and webgpu labels are the same partition");
  });
});

Deno.test("segment CLI: a folder input processes every image in it, sorted", async () => {
  await withTempDir(async (dir) => {
    const folder = join(dir, "images");
    await Deno.mkdir(folder);
    await Deno.writeFile(join(folder, "b.png"), encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.writeFile(join(folder, "a.png"), encodeRgbPng(bandImage(24, 48, 3)));
    await Deno.writeTextFile(join(folder, "notes.txt"), "not an image");
    const out = join(dir, "out");
    const { code, out: stdout, err } = await run([folder, "--encoder", "rgb-grid", "--out", out]);
    assert.equal(code, 0, err);
    assert.match(stdout, /\[1\/2\] .*a\.png: 3 segments/);
    assert.match(stdout, /\[2\/2\] .*b\.png: 2 segments/);
    assert.deepEqual(await listing(out), [
      "a.json",
      "a.labels.png",
      "a.overlay.png",
      "b.json",
      "b.labels.png",
      "b.overlay.png",
    ]);
    assert.equal((await checkOutputs(out, "a", 24, 48)).json.segments.length, 3);
    assert.equal((await checkOutputs(out, "b", 32, 32)).json.segments.length, 2);
  });
});

Deno.test("segment CLI: an image that fails leaves no outputs; the others are still written", async () => {
  await withTempDir(async (dir) => {
    const good = join(dir, "good.png"), bad = join(dir, "x.png");
    await Deno.writeFile(good, encodeRgbPng(bandImage(32, 32, 2)));
    await Deno.writeTextFile(bad, "this is text, not a PNG\n");
    const out = join(dir, "out");
    const { code, err } = await run([bad, good, "--encoder", "rgb-grid", "--out", out]);
    assert.equal(code, 1);
    const lines = err.split("\n");
    assert.equal(lines.length, 2, err);
    assert.match(lines[0], /^\[1\/2\] .*x\.png: error: .*x\.png/);
    assert.equal(lines[1], "1 of 2 images failed");
    // Only the good image's outputs, and no temporary files.
    assert.deepEqual(await listing(out), ["good.json", "good.labels.png", "good.overlay.png"]);
  });
});

Deno.test("segment CLI: bad inputs and options give a non-zero code, one error line and no outputs", async () => {
  await withTempDir(async (dir) => {
    const good = join(dir, "good.png");
    await Deno.writeFile(good, encodeRgbPng(bandImage(32, 32, 2)));
    const bad = join(dir, "x.png");
    await Deno.writeTextFile(bad, "plain text\n");
    const cases: [string, string[], RegExp][] = [
      ["text file named .png", [bad], /x\.png: error: .*x\.png/],
      [
        "missing file",
        [join(dir, "missing.png")],
        /^error: Cannot read input '.*missing\.png': no such file or folder$/,
      ],
      ["--tau abc", [good, "--tau", "abc"], /^error: Invalid --tau "abc": expected a number$/],
      ["--tau 0", [good, "--tau", "0"], /^error: Invalid --tau 0: expected a finite number > 0$/],
      [
        "--alpha 0.5",
        [good, "--alpha", "0.5"],
        /^error: Invalid --alpha 0\.5: expected a finite number >= 1$/,
      ],
      ["--size 0", [good, "--size", "0"], /^error: Invalid --size 0: expected a positive integer$/],
      [
        "--compat bogus",
        [good, "--compat", "bogus"],
        /^error: Invalid --compat "bogus": expected "default" or "reference"$/,
      ],
      [
        "--backend cuda",
        [good, "--backend", "cuda"],
        /^error: Invalid --backend "cuda": expected "auto", "cpu" or "webgpu"$/,
      ],
      [
        "unknown encoder",
        [good, "--encoder", "nope"],
        /^error: Encoder 'nope' is neither a built-in id nor a sidecar file/,
      ],
    ];
    for (const [name, args, message] of cases) {
      const out = join(dir, `out-${name.replace(/\W+/g, "_")}`);
      const encoder = args.includes("--encoder") ? [] : ["--encoder", "rgb-grid"];
      const { code, out: stdout, err } = await run([...args, ...encoder, "--out", out]);
      assert.equal(code, 1, name);
      assert.match(err.split("\n")[0], message, name);
      assert.ok(!/ segments? in /.test(stdout), name);
      assert.deepEqual(await listing(out), [], `${name}: out folder holds ${await listing(out)}`);
    }
  });
});

Deno.test("segment CLI: --runner, --timestep and --input-size are checked and refused where they do not apply", async () => {
  await withTempDir(async (dir) => {
    const good = join(dir, "good.png");
    await Deno.writeFile(good, encodeRgbPng(bandImage(32, 32, 2)));
    const cases: [string, string[], RegExp][] = [
      [
        "--runner cuda",
        ["--runner", "cuda"],
        /^error: --runner "cuda" is not supported; expected one of "auto", "wasm", "webgpu", "node"$/,
      ],
      ["--timestep abc", ["--timestep", "abc"], /^error: Invalid --timestep "abc": expected a number$/],
      ["--timestep 2.5", ["--timestep", "2.5"], /^error: Invalid --timestep "2.5": expected an integer$/],
      [
        "--input-size 1.5",
        ["--input-size", "1.5"],
        /^error: Invalid --input-size "1.5": expected an integer$/,
      ],
      [
        "timestep on rgb-grid",
        ["--timestep", "50"],
        /^error: Encoder 'rgb-grid' takes no timestep \(it has no model\), got 50$/,
      ],
      [
        "runner on rgb-grid",
        ["--runner", "wasm"],
        /^error: Encoder 'rgb-grid' takes no runner \(it has no model\), got "wasm"$/,
      ],
      [
        "input size on rgb-grid",
        ["--input-size", "512"],
        /^error: Encoder 'rgb-grid' takes no input size \(it has no model\), got 512$/,
      ],
      [
        "timestep on mobilenet-v2",
        ["--encoder", "mobilenet-v2", "--timestep", "50"],
        /^error: Encoder 'mobilenet-v2' takes no timestep \(it runs on TensorFlow.js\), got 50$/,
      ],
      [
        "timestep on isnet",
        ["--encoder", "isnet", "--timestep", "50"],
        /^error: Encoder 'isnet' takes no timestep \(it is not a diffusion encoder\), got 50$/,
      ],
      [
        "input size on isnet",
        ["--encoder", "isnet", "--input-size", "512"],
        /^error: Encoder 'isnet' takes only 1024² inputs \(its sidecar is not resizable\), got 512$/,
      ],
    ];
    for (const [name, args, message] of cases) {
      const out = join(dir, `out-${name.replace(/\W+/g, "_")}`);
      const encoder = args.includes("--encoder") ? [] : ["--encoder", "rgb-grid"];
      const { code, err } = await run([good, ...args, ...encoder, "--out", out]);
      assert.equal(code, 1, name);
      assert.match(err.split("\n")[0], message, name);
      assert.deepEqual(await listing(out), [], name);
    }
  });
});

Deno.test("segment task: --runner node without --allow-ffi stops at once with the command that grants it", async () => {
  const script = new URL("../../lib/cli/segment.ts", import.meta.url).pathname;
  for (const [args, env] of [[["--runner", "node"], {}], [[], { DIFFCUT_ORT_RUNNER: "node" }]] as const) {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", script, ...args, "missing.png"],
      env,
      stdout: "null",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr).trim();
    assert.equal(code, 1, err);
    assert.equal(
      err,
      'error: Runner "node" (onnxruntime-node) needs --allow-ffi, which deno task segment grants; run: deno run --allow-read --allow-write --allow-env --allow-ffi=node_modules/.deno/onnxruntime-node@1.30.0 lib/cli/segment.ts <args>, or use --runner wasm',
    );
  }
});

Deno.test("segment CLI: usage errors return 2, --help returns 0", async () => {
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: deno task segment <image or folder>\.\.\. \[options\]/);
  assert.match(help.out, /--tau T/);
  assert.match(help.out, /--runner R .*wasm, webgpu or node/);
  assert.match(help.out, /--timestep T/);
  assert.match(help.out, /--input-size N/);
  assert.equal(help.err, "");
  assert.equal((await run(["-h"])).code, 0);
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.err, /^error: no input given\n\nUsage:/);
  const unknown = await run(["a.png", "--frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^error: .*frobnicate/);
});
