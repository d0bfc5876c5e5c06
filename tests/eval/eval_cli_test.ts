/**
 * `deno task eval` as a user runs it (a subprocess of lib/cli/eval.ts with the task's permissions), on generated
 * VOC folders with the `rgb-grid` encoder: the printed table and the written configuration; re-running resumes;
 * a real SIGKILL mid-run loses and duplicates nothing; `--shard` + `eval merge` equal the single run; concept vs
 * nearest upsampling and PAMR rows from `--upsample` / `--refine-both`; one-line errors naming what is missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readRecords } from "../../lib/eval/records.ts";
import { withTempDir } from "../datasets/_synthetic_layouts.ts";
import { BASE, cli, command, makeFolder, results } from "./_eval_cli.ts";

Deno.test("eval CLI: table, configuration, resume, and concept/nearest × PAMR rows", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await makeFolder(root, 3);
    const out = join(dir, "run");
    const first = await cli([...BASE, "--root", root, "--out", out]);
    assert.equal(first.code, 0, first.stderr);
    // 2 τ + 1 K = 3 variants × 2 upsampling modes × PAMR off/on = 12 rows.
    const rows = first.stdout.split("\n").filter((l) => /^\| (diffcut|kmeans) \|/.test(l));
    assert.equal(rows.length, 12, first.stdout);
    for (const up of ["concept", "nearest"]) {
      for (const pamr of ["no", "yes"]) {
        assert.ok(rows.some((r) => r.startsWith(`| diffcut | τ=0.1 | ${up} | ${pamr} |`)), `${up} ${pamr}`);
      }
    }
    assert.match(first.stdout, /3\/3 images, N = 3 \(many-to-one background\); encoder `rgb-grid`/);
    assert.match(first.stdout, /3 images computed in [\d.]+ s: [\d.]+ images\/s/);
    assert.match(first.stderr, /note: VOC folder: '_background_' and 255 are −1/);
    const res = await results(out);
    assert.equal(res.images, 3);
    assert.equal(res.config.encoder.id, "rgb-grid");
    assert.deepEqual(res.config.settings.taus, [0.1, 0.5]);
    assert.deepEqual(res.config.settings.refine, [false, true]);
    assert.deepEqual(res.config.settings.upsample, ["concept", "nearest"]);
    assert.equal(typeof res.config.settings.alpha, "number");
    assert.match(res.config.codeVersion ?? "", /^[0-9a-f]{40}$/);
    const csv = (await Deno.readTextFile(join(out, "results.csv"))).trim().split("\n");
    assert.equal(csv.length, 13);
    assert.match(csv[0], /encoder_sha256,alpha,.*refine.*code_version/);
    const md = await Deno.readTextFile(join(out, "results.md"));
    assert.ok(md.includes(rows[0]));
    // The modes change the predictions: concept assignment follows the colour edges inside a grid cell,
    // nearest upsampling keeps 4×4 blocks, and PAMR moves labels again.
    const recs = (await readRecords(join(out, "records.jsonl"))).records;
    const differ = (a: string, b: string) => recs.some((r) => r.results[a].hash !== r.results[b].hash);
    assert.ok(differ("diffcut|τ=0.1|concept|raw", "diffcut|τ=0.1|nearest|raw"), "concept vs nearest");
    assert.ok(differ("diffcut|τ=0.1|nearest|raw", "diffcut|τ=0.1|nearest|pamr"), "PAMR vs none");

    // Same command again: nothing computed, same table.
    const again = await cli([...BASE, "--root", root, "--out", out]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /resumed: 3 image\(s\) were already recorded in .*, 0 computed now/);
    assert.doesNotMatch(again.stdout, /images computed/);
    const res2 = await results(out);
    assert.deepEqual(res2.rows, res.rows);
    assert.equal(res2.timing.imagesThisSession, 0);
    assert.equal((await readRecords(join(out, "records.jsonl"))).records.length, 3);

    // Other settings into the same folder are refused, naming the folder.
    const other = await cli([...BASE, "--root", root, "--out", out, "--tau", "0.3"]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /^error: Output folder '.*run' holds a run with a different settings/m);
  });
});

Deno.test("eval CLI: a SIGKILL mid-run, then the same command, loses and duplicates nothing", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    const count = 10;
    await makeFolder(root, count);
    const reference = join(dir, "reference");
    assert.equal((await cli([...BASE, "--root", root, "--out", reference])).code, 0);

    const out = join(dir, "killed");
    const log = join(out, "records.jsonl");
    const child = command([...BASE, "--root", root, "--out", out]).spawn();
    let lines = 0;
    for (let waited = 0; waited < 120_000 && lines === 0; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
      try {
        lines = (await Deno.readTextFile(log)).split("\n").length - 1;
      } catch { /* not created yet */ }
    }
    child.kill("SIGKILL");
    const status = await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    const before = (await readRecords(log)).records.length;
    assert.ok(before >= 1, "at least one record before the kill");
    assert.ok(before < count, `killed mid-run (${before} of ${count} recorded, exit ${status.code})`);

    const resumed = await cli([...BASE, "--root", root, "--out", out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resumed: ${before} image\\(s\\) were already recorded`));
    const { records, validBytes, size } = await readRecords(log);
    assert.equal(validBytes, size, "no partial line");
    assert.deepEqual(
      records.map((r) => r.id),
      Array.from({ length: count }, (_, k) => `im${String(k).padStart(2, "0")}`),
      "every image exactly once, in order",
    );
    const a = await results(out), b = await results(reference);
    assert.equal(a.images, count);
    assert.deepEqual(
      a.rows.map((r) => [r.key, r.tp, r.fp, r.fn, r.all]),
      b.rows.map((r) => [r.key, r.tp, r.fp, r.fn, r.all]),
    );
  });
});

Deno.test("eval CLI: --shard i/n runs merged with 'eval merge' equal the single run", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await makeFolder(root, 5);
    const single = join(dir, "single");
    assert.equal((await cli([...BASE, "--root", root, "--out", single])).code, 0);
    for (const shard of ["0/2", "1/2"]) {
      const r = await cli([...BASE, "--root", root, "--out", join(dir, `s${shard[0]}`), "--shard", shard]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`shard ${shard}`));
    }
    const s0 = await results(join(dir, "s0"), "results-0of2");
    assert.deepEqual([s0.images, s0.expectedImages], [3, 3]);
    const merged = await cli(["merge", join(dir, "s0"), join(dir, "s1"), "--out", join(dir, "merged")]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stderr, /merged 5\/5 images from 2 record file\(s\)/);
    const m = await results(join(dir, "merged")), s = await results(single);
    assert.deepEqual(m.rows, s.rows);
    // The printed tables agree row by row (the merge has no timing line).
    const table = (text: string) => text.split("\n").filter((l) => l.startsWith("| "));
    const singleMd = await Deno.readTextFile(join(single, "results.md"));
    assert.deepEqual(table(merged.stdout), table(singleMd));
    // A merge with a shard missing says so.
    const partial = await cli(["merge", join(dir, "s0"), "--out", join(dir, "partial")]);
    assert.equal(partial.code, 0);
    assert.match(partial.stderr, /merged 3\/5 images/);
    assert.match(partial.stderr, /warning: 2 image\(s\) have no record yet/);
  });
});

Deno.test("eval CLI: one-line errors name the missing folder or file, and bad options", async () => {
  await withTempDir(async (dir) => {
    const expectError = async (args: string[], pattern: RegExp) => {
      const r = await cli(args);
      assert.equal(r.code, 1, `${args.join(" ")}: exit ${r.code}`);
      const lines = r.stderr.trim().split("\n")
        .filter((l) => !/^(Task|eval |Blocking waiting for file lock |Download |Initialize )/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], pattern);
    };
    const nowhere = join(dir, "nowhere");
    await expectError(
      ["--dataset", "voc-folder", "--root", nowhere],
      new RegExp(
        `^error: VOC folder '${nowhere}' does not exist; expected a folder with JPEGImages/ and SegmentationClassPNG/$`,
      ),
    );
    await expectError(
      ["--dataset", "cityscapes", "--root", nowhere],
      new RegExp(`^error: Missing Cityscapes image folder '${nowhere}/leftImg8bit/val'`),
    );
    await Deno.mkdir(join(dir, "coco", "images", "val2017"), { recursive: true });
    await expectError(
      ["--dataset", "coco-stuff", "--root", join(dir, "coco")],
      /^error: COCO-Stuff: missing the 2,175-image list '.*coco\/Coco164kFull_Stuff_Coarse_7\.txt' or '.*coco\/curated\/val2017\/Coco164kFull_Stuff_Coarse_7\.txt'; put Coco164kFull_Stuff_Coarse_7\.txt there or pass --list PATH \(.*google\/diffseg.*\)$/,
    );
    await expectError(
      ["--dataset", "coco-object", "--root", join(dir, "coco"), "--list", join(dir, "list.txt")],
      /missing the 2,175-image list '.*list\.txt'/,
    );
    await expectError(["--dataset", "pascal", "--root", dir], /^error: Unknown dataset "pascal"/);
    await expectError(["--dataset", "voc-folder"], /^error: Missing --dataset or --root/);
    await makeFolder(join(dir, "data"), 1);
    const data = ["--dataset", "voc-folder", "--root", join(dir, "data"), "--encoder", "rgb-grid"];
    await expectError([...data, "--tau", "0.1,x"], /^error: Invalid --tau "0\.1,x"/);
    await expectError(
      [...data, "--method", "diffcut,dino"],
      /^error: Invalid --method "dino": expected one of/,
    );
    await expectError([...data, "--upsample", "bilinear"], /^error: Invalid --upsample "bilinear"/);
    await expectError([...data, "--shard", "2/2"], /^error: Invalid shard "2\/2"/);
    await expectError(["merge", nowhere], /^error: Missing '.*nowhere\/run\.json'/);
    const help = await cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /deno task eval merge DIR/);
  });
});
