/**
 * lib/wasm/row_team.ts: every row of a job done exactly once across the caller and its helpers, flags OR-ed,
 * helpers taking part once started, a failing helper's job redone by the caller, and the thread setting.
 */
import assert from "node:assert/strict";
import { KERNEL_THREADS_ENV, kernelThreads, type RowTeam, startRowTeam } from "../../lib/wasm/row_team.ts";
import { sharedMemory } from "../../lib/wasm/shared_memory.ts";
import { countingWork } from "./fixtures/row_team_work.ts";

const WORKER = new URL("./fixtures/row_team_worker.ts", import.meta.url);

function team(rows: number, helpers: number): { t: RowTeam; v: Int32Array } {
  const memory = sharedMemory(4 * (2 * rows + 2));
  return { t: startRowTeam(memory, WORKER, helpers, countingWork(memory)), v: new Int32Array(memory.buffer) };
}

/** Runs op 3 (slow rows) until a helper has taken rows, at most ~5 s (a helper starts in tens of ms). */
async function untilHelpersJoin(t: RowTeam, v: Int32Array, rows: number): Promise<Set<number>> {
  const threads = new Set<number>();
  for (let i = 0; i < 100 && threads.size < 2; i++) {
    v.fill(0);
    t.run(3, [rows], rows, 2);
    for (let y = 0; y < rows; y++) threads.add(v[rows + y]);
    await new Promise((r) => setTimeout(r, 50));
  }
  return threads;
}

Deno.test("a team of the caller and two helpers does every row exactly once, and the helpers take part", async () => {
  const rows = 200;
  const { t, v } = team(rows, 2);
  try {
    assert.equal(t.threads, 3);
    const threads = await untilHelpersJoin(t, v, rows);
    assert.ok(threads.size >= 2, `rows were done by threads ${[...threads]}; a helper never took part`);
    for (let job = 0; job < 50; job++) {
      v.fill(0);
      const flags = t.run(1, [rows], rows, 3);
      for (let y = 0; y < rows; y++) assert.equal(v[y], 1, `job ${job}: row ${y} visited ${v[y]} times`);
      const expected = new Set(Array.from(v.subarray(rows, 2 * rows)));
      assert.equal(flags, [...expected].reduce((f, th) => f | (1 << th), 0), `job ${job}: flags`);
    }
  } finally {
    t.close();
  }
});

Deno.test("a job no larger than one chunk, and a team with no helpers, run on the caller alone", () => {
  for (const [rows, helpers, chunk] of [[5, 1, 8], [64, 0, 4]]) {
    const { t, v } = team(rows, helpers);
    try {
      assert.equal(t.run(1, [rows], rows, chunk), 1);
      assert.deepEqual([...v.subarray(0, 2 * rows)], [
        ...new Array(rows).fill(1),
        ...new Array(rows).fill(0),
      ]);
    } finally {
      t.close();
    }
  }
});

Deno.test("when a helper throws, the caller redoes the job and the team goes on alone", async () => {
  const rows = 120;
  const { t, v } = team(rows, 1);
  try {
    const threads = await untilHelpersJoin(t, v, rows);
    assert.ok(threads.has(1), "the helper never took part");
    // The caller is slow on op 2, so the helper takes rows (and throws) unless it is descheduled throughout.
    let flags = 0;
    for (let i = 0; i < 10 && t.threads > 1; i++) {
      v.fill(0);
      flags = t.run(2, [rows], rows, 2);
    }
    // The rows the caller did before the failure are counted twice (the job is redone), none are missing, and the
    // last pass is all the caller's.
    for (let y = 0; y < rows; y++) {
      assert.ok(v[y] >= 1 && v[y] <= 2, `row ${y} visited ${v[y]} times`);
      assert.equal(v[rows + y], 0, `row ${y} last done by thread ${v[rows + y]}`);
    }
    assert.equal(flags, 1);
    assert.equal(t.threads, 1);
    v.fill(0);
    t.run(1, [rows], rows, 2);
    assert.ok(v.subarray(0, rows).every((c) => c === 1));
  } finally {
    t.close();
  }
});

Deno.test("too many job arguments are refused", () => {
  const { t } = team(4, 0);
  assert.throws(() => t.run(1, new Array(57).fill(0), 4, 1), /at most 56 arguments/);
});

Deno.test(`${KERNEL_THREADS_ENV} sets the team size, and a bad value is named`, () => {
  const saved = Deno.env.get(KERNEL_THREADS_ENV);
  try {
    Deno.env.set(KERNEL_THREADS_ENV, "3");
    assert.equal(kernelThreads(), 3);
    Deno.env.set(KERNEL_THREADS_ENV, "0");
    assert.throws(() => kernelThreads(), /DIFFCUT_KERNEL_THREADS=0: expected a positive integer/);
    Deno.env.delete(KERNEL_THREADS_ENV);
    assert.equal(kernelThreads(), Math.max(1, Math.min(4, navigator.hardwareConcurrency)));
  } finally {
    if (saved === undefined) Deno.env.delete(KERNEL_THREADS_ENV);
    else Deno.env.set(KERNEL_THREADS_ENV, saved);
  }
});
