/**
 * `runEval` and its folder lock in-process: settings are checked before the output folder is created, one
 * session at a time holds a folder (a killed holder releases it), a run.json left by an invalid configuration
 * that recorded nothing is replaced, and a cut-off last record is reported.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openDataset } from "../../lib/datasets/open_dataset.ts";
import { createColorEncoder } from "../../lib/encoder/color_encoder.ts";
import { checkEvalSettings, EVAL_OPTION_NAMES, type EvalSettings } from "../../lib/eval/methods.ts";
import { readRunConfig } from "../../lib/eval/report.ts";
import { FolderBusyError, lockRunFolder, runEval } from "../../lib/eval/run_eval.ts";
import { withTempDir } from "../datasets/_synthetic_layouts.ts";
import { makeFolder } from "./_eval_cli.ts";
import { testSettings } from "./_settings.ts";

const RGB = { id: "rgb-grid", sha256: null, standIn: true };

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

Deno.test("runEval: invalid settings are refused before the output folder is created", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await makeFolder(root, 2);
    const dataset = await openDataset("voc-folder", root);
    const out = join(dir, "out");
    const base = { dataset, encoder: createColorEncoder(), encoderInfo: RGB, outDir: out };
    const cases: [Partial<EvalSettings>, string][] = [
      [{ alpha: 0 }, "Invalid alpha 0: expected a finite number >= 1"],
      [{ alpha: NaN }, "Invalid alpha NaN: expected a finite number >= 1"],
      [{ taus: [0.5, 0] }, "Invalid taus value 0 in 0.5,0: expected a finite number > 0"],
      [{ taus: [Infinity] }, "Invalid taus value Infinity in Infinity: expected a finite number > 0"],
      [{ taus: [] }, "Invalid taus []: expected a non-empty list"],
      [{ taus: [0.2, 0.2] }, "Invalid taus 0.2,0.2: 0.2 is repeated; expected distinct values"],
      [{ kmeansK: [0] }, "Invalid kmeansK value 0 in 0: expected an integer >= 1"],
      [{ maskcutTau: NaN }, "Invalid maskcutTau NaN: expected a finite cosine threshold in [-1, 1)"],
      [{ seed: -1 }, "Invalid seed -1: expected an integer from 0 to 4294967295"],
      [{ autoscAlphas: [1, 0.5] }, "Invalid autoscAlphas value 0.5 in 1,0.5: expected a finite number >= 1"],
      [{ minSegmentSize: 0 }, "Invalid minSegmentSize 0: expected an integer >= 1"],
      [{ maxSegments: 1.5 }, "Invalid maxSegments 1.5: expected null or an integer >= 1"],
      [{ upsample: [] }, "Invalid upsample []: expected a non-empty list"],
      [{ scoringSize: 0 }, "Invalid scoringSize 0: expected an integer >= 1"],
    ];
    for (const [over, message] of cases) {
      await assert.rejects(
        () => runEval({ ...base, settings: testSettings(over) }),
        (e: Error) => e instanceof RangeError && e.message === message,
        JSON.stringify(over),
      );
      assert.equal(await exists(out), false, `${JSON.stringify(over)}: nothing written`);
    }
    await assert.rejects(
      () => runEval({ ...base, settings: testSettings(), limit: 0 }),
      { name: "RangeError", message: "Invalid limit 0: expected an integer >= 1" },
    );
    await assert.rejects(
      () => runEval({ ...base, settings: testSettings(), shard: { index: 2, count: 2 } }),
      { name: "RangeError", message: "Invalid shard 2/2: expected i/n with 0 ≤ i < n" },
    );
    assert.equal(await exists(out), false);
    const ok = await runEval({ ...base, settings: testSettings() });
    assert.equal(ok.images, 2);
  });
});

Deno.test("checkEvalSettings: one table, named after the CLI options when asked", () => {
  checkEvalSettings(testSettings());
  checkEvalSettings({});
  assert.throws(() => checkEvalSettings({ taus: [0.1, -1] }, EVAL_OPTION_NAMES), {
    message: "Invalid --tau value -1 in 0.1,-1: expected a finite number > 0",
  });
  assert.throws(() => checkEvalSettings({ methods: ["diffcut", "sam" as never] }, EVAL_OPTION_NAMES), {
    message:
      'Invalid --method value "sam" in "diffcut","sam": expected one of diffcut, kmeans, kmeans-gt, autosc, maskcut, kway',
  });
  assert.throws(() => checkEvalSettings({ refine: [true, true] }), {
    message: "Invalid refine true,true: true is repeated; expected distinct values",
  });
  assert.throws(() => checkEvalSettings({ compat: "exact" as never }), {
    message: 'Invalid compat "exact": expected default or reference',
  });
});

Deno.test("lockRunFolder: one holder at a time, the lock file holds its pid and is removed on release", async () => {
  await withTempDir(async (dir) => {
    const lock = await lockRunFolder(dir);
    assert.equal(await Deno.readTextFile(join(dir, ".lock")), `${Deno.pid}\n`);
    await assert.rejects(
      () => lockRunFolder(dir),
      (e: Error) =>
        e instanceof FolderBusyError && e.pid === Deno.pid &&
        e.message ===
          `Output folder '${dir}' is busy: another eval (pid ${Deno.pid}) is writing to it; wait for it to end or use another --out`,
    );
    await lock.release();
    assert.equal(await exists(join(dir, ".lock")), false);
    // A .lock file that nobody holds (left by a killed run) does not block.
    await Deno.writeTextFile(join(dir, ".lock"), "999999999\n");
    const again = await lockRunFolder(dir);
    assert.equal(await Deno.readTextFile(join(dir, ".lock")), `${Deno.pid}\n`);
    await again.release();
  });
});

Deno.test("lockRunFolder: the shards of one run lock apart, so they may share a folder; one shard twice may not", async () => {
  await withTempDir(async (dir) => {
    const s0 = await lockRunFolder(dir, { index: 0, count: 2 });
    const s1 = await lockRunFolder(dir, { index: 1, count: 2 });
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      ".lock-0of2",
      ".lock-1of2",
    ]);
    await assert.rejects(() => lockRunFolder(dir, { index: 1, count: 2 }), FolderBusyError);
    await s0.release();
    await s1.release();
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  });
});

Deno.test("lockRunFolder: a holder killed with SIGKILL releases the folder", async () => {
  await withTempDir(async (dir) => {
    const module = new URL("../../lib/eval/run_eval.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const { lockRunFolder } = await import(${JSON.stringify(module)});
         await lockRunFolder(${JSON.stringify(dir)});
         console.log("locked");
         await new Promise(() => setInterval(() => {}, 1000));`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("locked")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert.match(text, /locked/);
    await assert.rejects(
      () => lockRunFolder(dir),
      (e: Error) => e instanceof FolderBusyError && e.pid === child.pid,
    );
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    assert.equal(await Deno.readTextFile(join(dir, ".lock")), `${child.pid}\n`, "the stale file remains");
    const lock = await lockRunFolder(dir);
    await lock.release();
  });
});

Deno.test("runEval: a busy folder fails at once and writes nothing; records are not duplicated", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await makeFolder(root, 3);
    const dataset = await openDataset("voc-folder", root);
    const out = join(dir, "out");
    await Deno.mkdir(out);
    const base = {
      dataset,
      encoder: createColorEncoder(),
      encoderInfo: RGB,
      outDir: out,
      settings: testSettings(),
    };
    const held = await lockRunFolder(out);
    try {
      await assert.rejects(() => runEval(base), FolderBusyError);
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), [".lock"]);
    } finally {
      await held.release();
    }
    // Two sessions started together: exactly one computes, the other is refused.
    const both = await Promise.allSettled([runEval(base), runEval(base)]);
    assert.deepEqual(both.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    const refused = both.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.ok(refused.reason instanceof FolderBusyError, String(refused.reason));
    const lines = (await Deno.readTextFile(join(out, "records.jsonl"))).trim().split("\n");
    assert.deepEqual(lines.map((l) => JSON.parse(l).id), ["im00", "im01", "im02"]);
  });
});

Deno.test("runEval: replaces a run.json whose settings are invalid and recorded nothing; reports a cut-off record", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "data");
    await makeFolder(root, 2);
    const dataset = await openDataset("voc-folder", root);
    const out = join(dir, "out");
    const base = { dataset, encoder: createColorEncoder(), encoderInfo: RGB, outDir: out };
    await runEval({ ...base, settings: testSettings() });
    // As an older version left it after `--alpha 0`: run.json with α = 0 and no record.
    const cfg = await readRunConfig(out);
    await Deno.writeTextFile(
      join(out, "run.json"),
      JSON.stringify({ ...cfg, settings: { ...cfg.settings, alpha: 0 } }),
    );
    const records = await Deno.readTextFile(join(out, "records.jsonl"));
    await Deno.writeTextFile(join(out, "records.jsonl"), "");
    const notes: string[] = [];
    const res = await runEval({ ...base, settings: testSettings(), note: (m) => notes.push(m) });
    assert.equal(res.timing.imagesThisSession, 2);
    assert.deepEqual(notes, [
      `replaced '${
        join(out, "run.json")
      }': its settings were invalid (Invalid alpha 0: expected a finite number >= 1) and no image was recorded with them`,
    ]);
    assert.equal((await readRunConfig(out)).settings.alpha, 10);

    // With records made under it, an invalid run.json is not replaced.
    await Deno.writeTextFile(
      join(out, "run.json"),
      JSON.stringify({ ...cfg, settings: { ...cfg.settings, alpha: 0 } }),
    );
    await assert.rejects(
      () => runEval({ ...base, settings: testSettings() }),
      /Output folder '.*out' holds a run with a different settings/,
    );
    // A cut-off last line: reported with its size, and the image computed again.
    await Deno.writeTextFile(join(out, "run.json"), JSON.stringify(cfg));
    const [first, second] = records.trim().split("\n");
    const cut = second.slice(0, 50);
    await Deno.writeTextFile(join(out, "records.jsonl"), `${first}\n${cut}`);
    notes.length = 0;
    const resumed = await runEval({ ...base, settings: testSettings(), note: (m) => notes.push(m) });
    assert.deepEqual(notes, [
      `dropped an incomplete last record (${new TextEncoder().encode(cut).length} bytes) from '${
        join(out, "records.jsonl")
      }'; that image is computed again`,
    ]);
    assert.equal(resumed.timing.imagesThisSession, 1);
    assert.equal(resumed.images, 2);
  });
});

Deno.test("gridVariants(kway): per τ the recursive cut's K, never a worse NCut; per --k a fixed K", async () => {
  const { gridVariants } = await import("../../lib/eval/methods.ts");
  const { blockFeatures } = await import("../_helpers.ts");
  const features = blockFeatures(8, 8, 6, (y, x) => (y < 4 ? 0 : 1) + (x < 4 ? 0 : 2), 0.6, 3);
  const settings = {
    methods: ["kway" as const],
    taus: [0.2, 0.5],
    alpha: 5,
    selfLoops: false,
    minSegmentSize: 1,
    maxSegments: null,
    compat: "default" as const,
    kmeansK: [3],
    seed: 0,
    maskcutK: [],
    maskcutTau: 0.2,
    autoscAlphas: [],
    upsample: ["concept" as const],
    refine: [false],
    encoderSize: 64,
    scoringSize: 64,
  };
  const { variants } = await gridVariants(features, settings, 4);
  assert.deepEqual(variants.map((v) => v.param), ["τ=0.2", "τ=0.5", "K=3"]);
  for (const v of variants) assert.ok(v.info!.ncut <= v.info!.ncutStart + 1e-12, v.param);
  assert.ok(new Set(variants[2].grid).size <= 3);
});
