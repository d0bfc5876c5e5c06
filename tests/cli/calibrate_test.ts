/**
 * `deno task calibrate` building blocks on a tiny synthetic VOC folder (two JPEGs of two hue blocks with palette
 * annotations) and the `"rgb-grid"` encoder: `loadCalibrationImages` (protocol, class remapping, ignore label)
 * and `scoreGrid` (one row per setting, per-image and dataset mIoU); the command itself as a subprocess: `--help`,
 * one-line errors for bad options and folders (options checked first), skipped images reported.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import jpeg from "jpeg-js";
import {
  type CalibrationImage,
  DEFAULT_TAUS,
  loadCalibrationImages,
  parseCalibrateArgs,
  scoreGrid,
} from "../../lib/cli/calibrate.ts";
import { loadEncoder } from "../../lib/encoder/load_encoder.ts";
import { encodeLabelPng } from "../../lib/image/encode_png.ts";

/**
 * 65×96 images: the evaluation crop is the 64×64 square at left 16, which scales by exactly 16 to 1024², so a
 * block edge at crop column or row 32 falls on a grid-cell edge (1024/32) and on scoring pixel 64.
 */
const H = 65, W = 96;
const SAMPLES = [
  // Left/right blocks (crop column 32 = image column 48); VOC class 15 on the right; top row "ignore" (255).
  {
    id: "img_a",
    cls: 15,
    hues: [[230, 25, 25], [25, 25, 230]],
    sideOf: (_y: number, x: number) => (x < 48 ? 0 : 1),
    ignoreTop: true,
  },
  // Top/bottom blocks (crop row 32 = image row 32, the crop's top is 0); VOC class 8 below.
  {
    id: "img_b",
    cls: 8,
    hues: [[25, 200, 25], [230, 25, 25]],
    sideOf: (y: number, _x: number) => (y < 32 ? 0 : 1),
    ignoreTop: false,
  },
];

async function makeVoc(root: string): Promise<void> {
  await Deno.mkdir(join(root, "JPEGImages"), { recursive: true });
  await Deno.mkdir(join(root, "SegmentationClassPNG"), { recursive: true });
  for (const s of SAMPLES) {
    const rgba = new Uint8Array(H * W * 4);
    const labels = new Int32Array(H * W);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const side = s.sideOf(y, x);
        rgba.set([...s.hues[side], 255], (y * W + x) * 4);
        labels[y * W + x] = s.ignoreTop && y === 0 ? 255 : side ? s.cls : 0;
      }
    }
    const jpg = new Uint8Array(jpeg.encode({ width: W, height: H, data: rgba }, 95).data);
    await Deno.writeFile(join(root, "JPEGImages", `${s.id}.jpg`), jpg);
    await Deno.writeFile(
      join(root, "SegmentationClassPNG", `${s.id}.png`),
      encodeLabelPng({ data: labels, height: H, width: W }),
    );
  }
}

async function withVoc(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "diffcut-calibrate-" });
  try {
    await makeVoc(root);
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("loadCalibrationImages: prepares, encodes and remaps classes per folder (255 → −1)", async () => {
  await withVoc(async (root) => {
    const encoder = await loadEncoder("rgb-grid");
    const lines: string[] = [];
    const images = await loadCalibrationImages([root], (im) => encoder.encode(im), (l) => lines.push(l));
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^encoded img_a in \d+\.\d s$/);
    assert.match(lines[1], /^encoded img_b in \d+\.\d s$/);
    assert.deepEqual(images.map((i) => [i.id, i.group, i.nClasses]), [["img_a", root, 3], [
      "img_b",
      root,
      3,
    ]]);
    for (const img of images) {
      assert.deepEqual([img.features.height, img.features.width, img.features.channels], [32, 32, 3]);
      assert.deepEqual([img.scoringImage.height, img.scoringImage.width], [128, 128]);
      assert.equal(img.gt.length, 128 * 128);
    }
    // Folder classes {0, 8, 15} become {0, 1, 2}. Scoring pixel (i, j) reads crop pixel (⌊i/2⌋, ⌊j/2⌋):
    // img_a's right half (crop column ≥ 32) is class 15 → 2 and its top crop row (scoring rows 0, 1) is ignore;
    // img_b's bottom half is 8 → 1.
    const gtA = Int32Array.from({ length: 128 * 128 }, (_, p) => (p < 2 * 128 ? -1 : p % 128 < 64 ? 0 : 2));
    const gtB = Int32Array.from({ length: 128 * 128 }, (_, p) => (p < 64 * 128 ? 0 : 1));
    assert.deepEqual(images[0].gt, gtA);
    assert.deepEqual(images[1].gt, gtB);
    // Features are mean colours of 32-pixel cells of the 1024² image: the left cells of img_a are red.
    const f = images[0].features.data;
    assert.ok(f[0] > 0.85 && f[2] < 0.15, `cell (0, 0) = ${f.subarray(0, 3)}`);
    assert.ok(f[31 * 3 + 2] > 0.85 && f[31 * 3] < 0.15, `cell (0, 31) = ${f.subarray(93, 96)}`);
  });
});

Deno.test("loadCalibrationImages: a folder that is not VOC-shaped is an error naming it", async () => {
  const empty = await Deno.makeTempDir({ prefix: "diffcut-calibrate-" });
  try {
    await assert.rejects(
      () => loadCalibrationImages([empty], () => Promise.reject(new Error("not called"))),
      (e: Error) =>
        e instanceof Deno.errors.NotFound && e.message === `VOC folder '${empty}' has no JPEGImages/ folder`,
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("scoreGrid: one row per setting; perfect hue blocks score mIoU 1 in every row", async () => {
  await withVoc(async (root) => {
    const encoder = await loadEncoder("rgb-grid");
    const images = await loadCalibrationImages([root], encoder.encode);
    const rows = await scoreGrid(images, {
      alphas: [1, 5],
      taus: [0.3, 0.6],
      selfLoops: [true, false],
      refine: [false],
      cap: 16,
    });
    assert.equal(rows.length, 2 * 2 * 2);
    // Order: α, then self-loops, then τ, then refine.
    assert.deepEqual(
      rows.map((r) => [r.alpha, r.selfLoops, r.tau, r.refine]),
      [
        [1, true, 0.3, false],
        [1, true, 0.6, false],
        [1, false, 0.3, false],
        [1, false, 0.6, false],
        [5, true, 0.3, false],
        [5, true, 0.6, false],
        [5, false, 0.3, false],
        [5, false, 0.6, false],
      ],
    );
    // Min–max scaling maps the cross-block affinity to (almost) 0, so the root NCut is ≈ 0 below every τ, while
    // splitting a flat block costs an NCut near 1: exactly two segments, matching the two classes of each image.
    // Every image's per-image mIoU is then 1 (its third, absent class is 0/0 and left out), and so is the
    // folder's accumulated mIoU.
    for (const r of rows) {
      assert.deepEqual(
        [r.meanImageMiou, r.datasetMiou, r.meanSegments, r.capped],
        [1, 1, 2, 0],
        JSON.stringify(r),
      );
    }
    assert.equal(Math.max(...rows.map((r) => r.meanImageMiou)), 1);
  });
});

Deno.test("scoreGrid: a featureless image scores 0.25 and is averaged per image and per folder", async () => {
  await withVoc(async (root) => {
    const encoder = await loadEncoder("rgb-grid");
    const [perfect] = await loadCalibrationImages([root], encoder.encode);
    // Identical features everywhere: one segment. Against two equal halves its cluster matches one class
    // (IoU 8192 / 16384 = 0.5) and the other class gets nothing (IoU 0): per-image mIoU 0.25.
    const flat: CalibrationImage = {
      id: "flat",
      group: "other folder",
      features: { height: 32, width: 32, channels: 3, data: new Float32Array(32 * 32 * 3).fill(0.5) },
      scoringImage: perfect.scoringImage,
      gt: Int32Array.from({ length: 128 * 128 }, (_, p) => (p % 128 < 64 ? 0 : 1)),
      nClasses: 2,
    };
    const rows = await scoreGrid([perfect, flat], {
      alphas: [5],
      taus: [0.5],
      selfLoops: [false],
      refine: [false, true],
      cap: 16,
    });
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.equal(r.meanImageMiou, (1 + 0.25) / 2);
      // Two folders, one image each: the mean of the folders' mIoUs.
      assert.equal(r.datasetMiou, (1 + 0.25) / 2);
      assert.equal(r.meanSegments, 1.5);
      assert.equal(r.capped, 0);
    }
    // A cap of 2 is reached by the two-segment image.
    const capped = await scoreGrid([perfect, flat], {
      alphas: [5],
      taus: [0.5],
      selfLoops: [false],
      refine: [false],
      cap: 2,
    });
    assert.equal(capped[0].capped, 1);
  });
});

const CALIBRATE = new URL("../../lib/cli/calibrate.ts", import.meta.url).pathname;

async function calibrate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", CALIBRATE, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  // Deno's own lines (another deno process holding the node_modules lock, a package download) are left out.
  const stderr = dec.decode(out.stderr).split("\n")
    .filter((l) => !/^(Blocking waiting for file lock |Download |Initialize )/.test(l)).join("\n");
  return { code: out.code, stdout: dec.decode(out.stdout), stderr };
}

Deno.test("calibrate CLI: --help prints the usage; a missing folder is one error line, no stack trace", async () => {
  const help = await calibrate(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.equal(help.stderr, "");
  assert.ok(help.stdout.startsWith("Usage:\n  deno task calibrate [VOC folder]... [options]\n"), help.stdout);
  assert.match(help.stdout, /--alphas LIST {4}affinity exponents >= 1 \(default 1,2,3,5,10\)/);
  const missing = await calibrate(["/nonexistent"]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    "error: VOC folder '/nonexistent' does not exist; expected a folder with JPEGImages/ and SegmentationClassPNG/\n",
  );
  assert.equal(missing.stdout, "");
});

Deno.test("calibrate CLI: options are checked before any folder is read, one line each", async () => {
  const cases: [string[], string][] = [
    [["--alphas", "0"], "error: Invalid --alphas value 0 in 0: expected a finite number >= 1"],
    [["--alphas", "2,x"], 'error: Invalid --alphas "2,x": expected finite numbers separated by commas'],
    [["--alphas", "5,5"], "error: Invalid --alphas 5,5: 5 is repeated; expected distinct values"],
    [["--taus", "0.1,0"], "error: Invalid --taus value 0 in 0.1,0: expected a finite number > 0"],
    [
      ["--taus", "0.85,0.9,0.85"],
      "error: Invalid --taus 0.85,0.9,0.85: 0.85 is repeated; expected distinct values",
    ],
    [["--cap", "0"], 'error: Invalid --cap "0": expected an integer >= 1'],
    [["--cap", "1.5"], 'error: Invalid --cap "1.5": expected an integer >= 1'],
    [["--top", "many"], 'error: Invalid --top "many": expected an integer >= 1'],
  ];
  for (const [args, line] of cases) {
    // The folder does not exist: had it been read first, the error would name it.
    const r = await calibrate(["/nonexistent", ...args]);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stderr, `${line}\n`, args.join(" "));
  }
  const unknown = await calibrate(["--alpha", "5"]);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr.split("\n").length, 2, unknown.stderr);
  assert.match(unknown.stderr, /^error: Unknown option '--alpha'/);
});

Deno.test("calibrate: the default τ list is 0.05 … 0.95, each value distinct and exactly its decimal", () => {
  const a = parseCalibrateArgs([]);
  assert.ok(a !== "help");
  assert.deepEqual(a.taus, [...DEFAULT_TAUS]);
  assert.equal(new Set(DEFAULT_TAUS).size, 19);
  for (const [k, t] of DEFAULT_TAUS.entries()) {
    // The double nearest to the two-decimal number (k + 1) · 0.05, spelled as such.
    const decimal = ((k + 1) * 5 / 100).toFixed(2);
    assert.equal(t, Number(decimal));
    assert.equal(String(t), decimal.replace(/0$/, ""));
  }
});

Deno.test("calibrate CLI: a folder with an unlabelled image is scored and the image reported", async () => {
  await withVoc(async (root) => {
    const png = await Deno.readFile(join(root, "JPEGImages", "img_a.jpg"));
    await Deno.writeFile(join(root, "JPEGImages", "unlabelled.jpg"), png);
    const r = await calibrate([
      root,
      "--encoder",
      "rgb-grid",
      "--alphas",
      "5",
      "--taus",
      "0.5",
      "--cap",
      "16",
      "--protocol",
      "reference",
      "--rules",
      "tau",
      "--rings",
      "0",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(
      lines[0],
      `skipped: JPEGImages/unlabelled.jpg (no annotation in SegmentationClassPNG/) in '${root}'`,
    );
    assert.match(lines[1], /^encoded img_a in /);
    assert.match(lines[2], /^encoded img_b in /);
    assert.equal(lines.length, 3);
    assert.match(r.stdout, /^2 images from 1 folder\(s\), encoder 'rgb-grid'/);
    // One α × self-loops on/off × one τ: two rows, both perfect on the hue blocks (see scoreGrid above).
    const rows = r.stdout.split("\n").filter((l) => /^\| 5 \|/.test(l));
    assert.deepEqual(rows, [
      "| 5 | true | 0.5 | false | 100.0 | 100.0 | 2.0 | 0 | tau | 0 |",
      "| 5 | false | 0.5 | false | 100.0 | 100.0 | 2.0 | 0 | tau | 0 |",
    ]);
  });
});
