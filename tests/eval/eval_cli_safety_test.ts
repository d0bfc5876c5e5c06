/**
 * `deno task eval` is safe with a user's files (subprocesses of lib/cli/eval.ts on generated VOC folders):
 * every option is checked before the dataset is read, the encoder loaded or anything written; two evals on one
 * `--out` never both write it; skipped images, a dropped cut-off record and names with control characters are
 * reported on one line each.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readRecords } from "../../lib/eval/records.ts";
import { lockRunFolder } from "../../lib/eval/run_eval.ts";
import { encodeLabelPng } from "../../lib/image/encode_png.ts";
import { withTempDir } from "../datasets/_synthetic_layouts.ts";
import { BASE, cli, command, makeFolder, results } from "./_eval_cli.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Lines of stderr without Deno's own: the task banner, and the lines it prints while another deno process holds
 * the node_modules lock or while it downloads a package.
 */
function errLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) =>
    l !== "" && !/^(Task |Blocking waiting for file lock |Download |Initialize )/.test(l)
  );
}

const ids = (count: number) => Array.from({ length: count }, (_, k) => `im${String(k).padStart(2, "0")}`);

Deno.test("eval CLI: a bad option is refused before anything is read or written; the fixed command runs", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await makeFolder(root, 2);
    const out = join(dir, "run");
    // The reported case: --alpha 0 used to write run.json, fail at the first image, and then refuse the
    // corrected command because the folder "holds a run with a different settings".
    const bad = await cli([...BASE, "--root", root, "--out", out, "--alpha", "0"]);
    assert.equal(bad.code, 1);
    assert.deepEqual(errLines(bad.stderr), ["error: Invalid --alpha 0: expected a finite number >= 1"]);
    assert.equal(await exists(out), false, "nothing written for a refused option");
    const fixed = await cli([...BASE, "--root", root, "--out", out, "--alpha", "5"]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal((await results(out)).images, 2);
    assert.equal((await results(out)).config.settings.alpha, 5);

    // Every option is checked before the dataset is opened or the encoder loaded: with a root and an encoder
    // that do not exist, the error is still about the option.
    const nowhere = [
      "--dataset",
      "voc-folder",
      "--root",
      join(dir, "nowhere"),
      "--encoder",
      join(dir, "no.json"),
    ];
    const cases: [string[], string][] = [
      [["--alpha", "0.5"], "error: Invalid --alpha 0.5: expected a finite number >= 1"],
      [["--alpha", "2,3"], 'error: Invalid --alpha "2,3": expected one number'],
      [["--alpha", "Infinity"], 'error: Invalid --alpha "Infinity": expected numbers separated by commas'],
      [["--tau", "0.3,0"], "error: Invalid --tau value 0 in 0.3,0: expected a finite number > 0"],
      [["--tau=-0.1"], "error: Invalid --tau value -0.1 in -0.1: expected a finite number > 0"],
      [["--tau", "0.3,0.3"], "error: Invalid --tau 0.3,0.3: 0.3 is repeated; expected distinct values"],
      [["--tau", "0.3,"], 'error: Invalid --tau "0.3,": expected numbers separated by commas'],
      [["--k", "0"], "error: Invalid --k value 0 in 0: expected an integer >= 1"],
      [["--k", "2.5"], "error: Invalid --k value 2.5 in 2.5: expected an integer >= 1"],
      [["--maskcut-k", "3,0"], "error: Invalid --maskcut-k value 0 in 3,0: expected an integer >= 1"],
      [
        ["--maskcut-tau", "1.5"],
        "error: Invalid --maskcut-tau 1.5: expected a finite cosine threshold in [-1, 1)",
      ],
      [["--seed=-1"], "error: Invalid --seed -1: expected an integer from 0 to 4294967295"],
      [["--seed", "0.5"], "error: Invalid --seed 0.5: expected an integer from 0 to 4294967295"],
      [["--limit", "0"], "error: Invalid --limit 0: expected an integer >= 1"],
      [["--shard", "3/3"], 'error: Invalid shard "3/3": expected i/n with 0 ≤ i < n, e.g. 0/4'],
      [
        ["--method", "diffcut,dino"],
        'error: Invalid --method "dino": expected one of diffcut, kmeans, kmeans-gt, autosc, maskcut, kway',
      ],
      [["--upsample", "bilinear"], 'error: Invalid --upsample "bilinear": expected one of concept, nearest'],
      [["--compat", "exact"], 'error: Invalid --compat "exact": expected default or reference'],
      [["--ade-labels", "x"], 'error: Invalid --ade-labels "x": expected reference or shifted'],
    ];
    for (const [args, line] of cases) {
      const r = await cli([...nowhere, "--out", join(dir, "never"), ...args]);
      assert.equal(r.code, 1, args.join(" "));
      assert.deepEqual(errLines(r.stderr), [line], args.join(" "));
    }
    assert.equal(await exists(join(dir, "never")), false);
    // With valid options the same command fails on the dataset, proving the order of the checks above.
    const missing = await cli([...nowhere, "--out", join(dir, "never")]);
    assert.match(errLines(missing.stderr)[0], /^error: VOC folder '.*nowhere' does not exist/);
  });
});

Deno.test("eval CLI: a second eval on a busy --out fails at once and writes nothing; the first completes", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    const count = 40;
    await makeFolder(root, count);
    const out = join(dir, "run");
    const log = join(out, "records.jsonl");
    const first = command([...BASE, "--root", root, "--out", out]).spawn();
    let firstDone = false;
    const firstStatus = first.status.then((s) => {
      firstDone = true;
      return s;
    });
    const firstStderr = new Response(first.stderr).text();
    const firstStdout = new Response(first.stdout).text();
    // Wait until the first run is computing (it has recorded an image).
    for (let waited = 0; waited < 120_000; waited += 20) {
      await new Promise((r) => setTimeout(r, 20));
      if ((await readRecords(log)).records.length > 0) break;
    }
    const runJson = await Deno.readTextFile(join(out, "run.json"));
    const second = await cli([...BASE, "--root", root, "--out", out]);
    const recordedWhenSecondEnded = (await readRecords(log)).records.length;
    assert.equal(firstDone, false, "the second run ended while the first was still running");
    assert.ok(recordedWhenSecondEnded < count, `${recordedWhenSecondEnded} of ${count} recorded`);
    assert.equal(second.code, 1);
    // One line, before the encoder is even loaded.
    assert.deepEqual(errLines(second.stderr), [
      `error: Output folder '${out}' is busy: another eval (pid ${first.pid}) is writing to it; wait for it to end or use another --out`,
    ]);
    assert.equal(second.stdout, "", "no table from the refused run");
    // It wrote nothing: run.json as it was, no results yet (the first writes them at its end).
    assert.equal(await Deno.readTextFile(join(out, "run.json")), runJson);
    assert.equal(await exists(join(out, "results.json")), false);

    const status = await firstStatus;
    assert.equal(status.code, 0, await firstStderr);
    await firstStdout;
    const { records, validBytes, size } = await readRecords(log);
    assert.equal(validBytes, size);
    assert.deepEqual(records.map((r) => r.id), ids(count), "every image recorded exactly once");
    assert.equal((await results(out)).images, count);
    assert.equal(await exists(join(out, ".lock")), false, "the lock file is removed at the end");

    // The folder is free again: the same command resumes at once.
    const again = await cli([...BASE, "--root", root, "--out", out]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`resumed: ${count} image\\(s\\) were already recorded`));
  });
});

Deno.test("eval merge: reads folders in use but refuses to write into a busy --out", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await makeFolder(root, 3);
    for (const shard of ["0/2", "1/2"]) {
      const r = await cli([...BASE, "--root", root, "--out", join(dir, `s${shard[0]}`), "--shard", shard]);
      assert.equal(r.code, 0, r.stderr);
    }
    // An input folder held by an eval (here: this process) is read without its lock.
    const held = await lockRunFolder(join(dir, "s0"));
    try {
      const merged = await cli(["merge", join(dir, "s0"), join(dir, "s1"), "--out", join(dir, "merged")]);
      assert.equal(merged.code, 0, merged.stderr);
      assert.match(merged.stderr, /merged 3\/3 images from 2 record file\(s\)/);
      // Writing into it is refused (the default --out is the first folder).
      const busy = await cli(["merge", join(dir, "s0"), join(dir, "s1")]);
      assert.equal(busy.code, 1);
      assert.deepEqual(errLines(busy.stderr), [
        `error: Output folder '${
          join(dir, "s0")
        }' is busy: another eval (pid ${Deno.pid}) is writing to it; wait for it to end or use another --out`,
      ]);
      assert.equal(await exists(join(dir, "s0", "results.json")), false);
    } finally {
      await held.release();
    }
    const after = await cli(["merge", join(dir, "s0"), join(dir, "s1")]);
    assert.equal(after.code, 0, after.stderr);
    assert.equal((await results(join(dir, "s0"))).images, 3);
  });
});

Deno.test("eval CLI: images without an annotation are reported, one line each or a count", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await makeFolder(root, 2);
    const png = await Deno.readFile(join(root, "JPEGImages", "im00.png"));
    await Deno.writeFile(join(root, "JPEGImages", "orphan.png"), png);
    await Deno.writeTextFile(join(root, "JPEGImages", "notes.txt"), "not an image");
    const r = await cli([...BASE, "--root", root, "--out", join(dir, "run")]);
    assert.equal(r.code, 0, r.stderr);
    const lines = errLines(r.stderr);
    assert.deepEqual(lines.filter((l) => l.startsWith("skipped:")), [
      "skipped: JPEGImages/notes.txt (not a .jpg, .jpeg or .png image)",
      "skipped: JPEGImages/orphan.png (no annotation in SegmentationClassPNG/)",
    ]);
    assert.match(lines.find((l) => l.startsWith("eval ")) ?? "", /^eval voc-folder: 2 image\(s\)/);

    // Many: one line with the count and the first five names.
    for (let k = 0; k < 6; k++) await Deno.writeFile(join(root, "JPEGImages", `extra${k}.png`), png);
    const many = await cli([...BASE, "--root", root, "--out", join(dir, "run")]);
    assert.equal(many.code, 0, many.stderr);
    const reason = "(no annotation in SegmentationClassPNG/)";
    assert.deepEqual(errLines(many.stderr).filter((l) => l.startsWith("skipped:")), [
      `skipped: 8 files of JPEGImages/, e.g. ${
        [0, 1, 2, 3, 4].map((k) => `JPEGImages/extra${k}.png ${reason}`).join(", ")
      }, …`,
    ]);
  });
});

Deno.test("eval CLI: a cut-off last record is dropped with a notice and computed again", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await makeFolder(root, 3);
    const out = join(dir, "run");
    assert.equal((await cli([...BASE, "--root", root, "--out", out])).code, 0);
    const log = join(out, "records.jsonl");
    const text = await Deno.readTextFile(log);
    const lines = text.split("\n").filter(Boolean);
    // As if killed while writing the third record: its first 57 bytes are on disk, without the newline.
    const cut = lines[2].slice(0, 57);
    await Deno.writeTextFile(log, `${lines[0]}\n${lines[1]}\n${cut}`);
    const r = await cli([...BASE, "--root", root, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const bytes = new TextEncoder().encode(cut).length;
    assert.ok(
      errLines(r.stderr).includes(
        `note: dropped an incomplete last record (${bytes} bytes) from '${log}'; that image is computed again`,
      ),
      r.stderr,
    );
    assert.match(r.stderr, /resumed: 2 image\(s\) were already recorded in .*, 1 computed now/);
    assert.deepEqual((await readRecords(log)).records.map((x) => x.id), ids(3));
    // A clean log gives no notice.
    const clean = await cli([...BASE, "--root", root, "--out", out]);
    assert.doesNotMatch(clean.stderr, /dropped/);
  });
});

Deno.test("eval CLI: names with newlines and escape codes stay on one escaped line", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "da\nta");
    await makeFolder(root, 2);
    const png = await Deno.readFile(join(root, "JPEGImages", "im00.png"));
    // Sorted after im00/im01: an unlabelled image, then an image that does not decode.
    await Deno.writeFile(join(root, "JPEGImages", "x\nskipped: fake.png"), png);
    await Deno.writeFile(join(root, "JPEGImages", "y\x1b[2Jbad.png"), new Uint8Array([1, 2, 3]));
    await Deno.writeFile(
      join(root, "SegmentationClassPNG", "y\x1b[2Jbad.png"),
      encodeLabelPng({ data: new Int32Array(4), height: 2, width: 2 }),
    );
    const out = join(dir, "ru\nn");
    const r = await cli([...BASE, "--root", root, "--out", out]);
    assert.equal(r.code, 1);
    const esc = (s: string) => s.replaceAll("\n", "\\n").replaceAll("\x1b", "\\x1b");
    const lines = errLines(r.stderr);
    assert.equal(lines.length, 4, r.stderr);
    assert.equal(
      lines[0],
      "skipped: JPEGImages/x\\nskipped: fake.png (no annotation in SegmentationClassPNG/)",
    );
    assert.equal(
      lines[1],
      `eval voc-folder: 3 image(s), encoder rgb-grid, methods diffcut,kmeans → ${esc(out)}`,
    );
    assert.match(lines[2], /^note: VOC folder: '_background_' and 255 are −1/);
    const image = esc(join(root, "JPEGImages", "y\x1b[2Jbad.png"));
    const label = esc(join(root, "SegmentationClassPNG", "y\x1b[2Jbad.png"));
    assert.ok(
      lines[3].startsWith(`error: Cannot evaluate image 'y\\x1b[2Jbad' ('${image}', '${label}'): `),
      lines[3],
    );
    assert.ok(!r.stderr.includes("\x1b"), "no raw escape code reaches the terminal");
    // The two good images were recorded before the failure; the ids are JSON strings in the log.
    assert.deepEqual((await readRecords(join(out, "records.jsonl"))).records.map((x) => x.id), ids(2));
  });
});
