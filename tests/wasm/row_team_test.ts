/**
 * lib/wasm/row_team.ts: every row of a job done exactly once across the caller and its helpers, flags OR-ed,
 * helpers taking part once started, memories attached and detached in slots, a failing helper's job redone by the
 * caller, and the thread setting.
 */
import assert from "node:assert/strict";
import {
  KERNEL_THREADS_ENV,
  kernelThreads,
  MAX_ARGS,
  parseKernelThreads,
  type RowTeam,
  setKernelThreads,
  startRowTeam,
} from "../../lib/wasm/row_team.ts";
import { sharedMemory } from "../../lib/wasm/shared_memory.ts";
import { countingWork } from "./fixtures/row_team_work.ts";

const WORKER = new URL("./fixtures/row_team_worker.ts", import.meta.url);

/** A counting memory of `rows` rows attached to a team: `v` its int32 view, `job` runs an op over its rows. */
function counting(t: RowTeam, rows: number) {
  const memory = sharedMemory(4 * (2 * rows + 2));
  const slot = t.attach(memory), work = countingWork(memory);
  return {
    slot,
    v: new Int32Array(memory.buffer),
    job: (op: number, chunk: number) => t.run(slot, work, op, [rows], rows, chunk),
    start: (op: number, chunk: number) => t.start(slot, work, op, [rows], rows, chunk),
  };
}

/** Runs op 3 (slow rows) until a helper has taken rows, at most ~5 s (a helper starts in tens of ms). */
async function untilHelpersJoin(c: ReturnType<typeof counting>, rows: number): Promise<Set<number>> {
  const threads = new Set<number>();
  for (let i = 0; i < 100 && threads.size < 2; i++) {
    c.v.fill(0);
    c.job(3, 2);
    for (let y = 0; y < rows; y++) threads.add(c.v[rows + y]);
    await new Promise((r) => setTimeout(r, 50));
  }
  return threads;
}

/** A team with one helper that has taken rows, and `counts` counting memories of `rows` rows; closed after `body`. */
async function withJoinedHelper(
  rows: number,
  counts: number,
  body: (cs: ReturnType<typeof counting>[]) => Promise<void> | void,
): Promise<void> {
  const t = startRowTeam(WORKER, 1);
  try {
    const cs = Array.from({ length: counts }, () => counting(t, rows));
    await untilHelpersJoin(cs[0], rows);
    await body(cs);
  } finally {
    t.close();
  }
}

/** Asserts that each of the first `rows` rows was visited exactly once. */
function assertEachOnce(c: ReturnType<typeof counting>, rows: number, what = ""): void {
  for (let y = 0; y < rows; y++) assert.equal(c.v[y], 1, `${what}row ${y} visited ${c.v[y]} times`);
}

Deno.test("a team of the caller and two helpers does every row exactly once, and the helpers take part", async () => {
  const rows = 200;
  const t = startRowTeam(WORKER, 2);
  try {
    assert.equal(t.threads, 3);
    const c = counting(t, rows);
    const threads = await untilHelpersJoin(c, rows);
    assert.ok(threads.size >= 2, `rows were done by threads ${[...threads]}; a helper never took part`);
    for (let job = 0; job < 50; job++) {
      c.v.fill(0);
      const flags = c.job(1, 3);
      for (let y = 0; y < rows; y++) assert.equal(c.v[y], 1, `job ${job}: row ${y} visited ${c.v[y]} times`);
      const expected = new Set(Array.from(c.v.subarray(rows, 2 * rows)));
      assert.equal(flags, [...expected].reduce((f, th) => f | (1 << th), 0), `job ${job}: flags`);
    }
  } finally {
    t.close();
  }
});

Deno.test("memories attached later are served by the helpers, and a detached slot is refused", async () => {
  const t = startRowTeam(WORKER, 1);
  try {
    const first = counting(t, 100);
    await untilHelpersJoin(first, 100);
    for (const rows of [64, 333]) {
      const c = counting(t, rows);
      assert.notEqual(c.slot, first.slot);
      const threads = await untilHelpersJoin(c, rows);
      assert.ok(threads.has(1), `the helper never took rows of the memory attached for ${rows} rows`);
      c.v.fill(0);
      c.job(1, 5);
      assert.ok(c.v.subarray(0, rows).every((n) => n === 1));
      t.detach(c.slot);
      assert.throws(() => c.job(1, 5), /No memory is attached to slot/);
    }
  } finally {
    t.close();
  }
});

Deno.test("a job no larger than one chunk, and a team with no helpers, run on the caller alone", () => {
  for (const [rows, helpers, chunk] of [[5, 1, 8], [64, 0, 4]]) {
    const t = startRowTeam(WORKER, helpers);
    try {
      const c = counting(t, rows);
      assert.equal(c.job(1, chunk), 1);
      assert.deepEqual([...c.v.subarray(0, 2 * rows)], [
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
  const t = startRowTeam(WORKER, 1);
  try {
    const c = counting(t, rows);
    const threads = await untilHelpersJoin(c, rows);
    assert.ok(threads.has(1), "the helper never took part");
    // The caller is slow on op 2, so the helper takes rows (and throws) unless it is descheduled throughout.
    let flags = 0;
    for (let i = 0; i < 10 && t.threads > 1; i++) {
      c.v.fill(0);
      flags = c.job(2, 2);
    }
    // The rows the caller did before the failure are counted twice (the job is redone), none are missing, and the
    // last pass is all the caller's.
    for (let y = 0; y < rows; y++) {
      assert.ok(c.v[y] >= 1 && c.v[y] <= 2, `row ${y} visited ${c.v[y]} times`);
      assert.equal(c.v[rows + y], 0, `row ${y} last done by thread ${c.v[rows + y]}`);
    }
    assert.equal(flags, 1);
    assert.equal(t.threads, 1);
    c.v.fill(0);
    c.job(1, 2);
    assert.ok(c.v.subarray(0, rows).every((n) => n === 1));
  } finally {
    t.close();
  }
});

Deno.test("too many job arguments are refused", () => {
  const t = startRowTeam(WORKER, 0);
  const memory = sharedMemory(64);
  const slot = t.attach(memory);
  assert.throws(
    () => t.run(slot, countingWork(memory), 1, new Array(MAX_ARGS + 1).fill(0), 4, 1),
    new RegExp(`at most ${MAX_ARGS} arguments`),
  );
});

Deno.test("DIFFCUT_KERNEL_THREADS values are parsed or named, and setKernelThreads overrides them here", () => {
  assert.equal(parseKernelThreads("3"), 3);
  assert.equal(parseKernelThreads("1"), 1);
  const cores = Math.max(1, Math.min(4, navigator.hardwareConcurrency));
  assert.equal(parseKernelThreads(undefined), cores);
  assert.equal(parseKernelThreads(""), cores);
  for (const bad of ["0", "-1", "1.5", "abc", "2x"]) {
    assert.throws(
      () => parseKernelThreads(bad),
      new RegExp(`${KERNEL_THREADS_ENV}=${bad.replace(".", "\\.")}: expected a positive integer`),
    );
  }
  // Without a setting, the count is the environment's (read, not changed: other test files share it).
  assert.equal(kernelThreads(), parseKernelThreads(Deno.env.get(KERNEL_THREADS_ENV)));
  try {
    setKernelThreads(3);
    assert.equal(kernelThreads(), 3);
    assert.throws(() => setKernelThreads(0), /Invalid kernel thread count 0/);
  } finally {
    setKernelThreads(undefined);
  }
  assert.equal(kernelThreads(), parseKernelThreads(Deno.env.get(KERNEL_THREADS_ENV)));
});

Deno.test("a started job is done by the helpers while the caller waits elsewhere; finish returns its flags", async () => {
  const rows = 90;
  await withJoinedHelper(rows, 1, async ([c]) => {
    c.v.fill(0);
    const job = c.start(3, 2);
    // The caller is away (its event loop turns): the helper alone does the rows meanwhile.
    for (let i = 0; i < 200 && Atomics.load(c.v, rows - 1) === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(job.finish(), 1 << 1, "flags of the helper's rows");
    assertEachOnce(c, rows);
    for (let y = 0; y < rows; y++) assert.equal(c.v[rows + y], 1, `row ${y} done by thread ${c.v[rows + y]}`);
    assert.equal(job.finish(), 1 << 1, "a second finish returns the same flags");
  });
});

Deno.test("finish takes the rows no helper has claimed; run and start finish a pending job first", async () => {
  const rows = 120;
  await withJoinedHelper(rows, 2, ([a, b]) => {
    a.v.fill(0);
    // Slow rows finished at once: the caller takes the rows left, every row once.
    const flags = a.start(3, 2).finish();
    assertEachOnce(a, rows);
    assert.equal(flags & 1, 1, "the caller took no rows");
    // A job left pending is finished by the next run, before that run's own rows.
    a.v.fill(0);
    b.v.fill(0);
    const pending = a.start(3, 2);
    b.job(1, 4);
    assertEachOnce(a, rows, "pending job: ");
    assertEachOnce(b, rows, "next job: ");
    assert.ok(pending.finish() !== 0);
  });
});

Deno.test("cancel stops handing out rows and waits for the chunks in progress", async () => {
  const rows = 400;
  await withJoinedHelper(rows, 1, async ([c]) => {
    c.v.fill(0);
    // Op 3 takes 2 ms a row: the job is cancelled once the helper has done its first row, long before the last.
    const job = c.start(3, 2);
    for (let i = 0; i < 500 && Atomics.load(c.v, 0) === 0; i++) await new Promise((r) => setTimeout(r, 2));
    job.cancel();
    const snapshot = Array.from(c.v.subarray(0, rows));
    const done = snapshot.filter((n) => n === 1).length;
    assert.ok(snapshot.every((n) => n === 0 || n === 1), "a row was done twice");
    assert.ok(
      done > 0 && done < rows,
      `${done} of ${rows} rows done before the cancel (expected some, not all)`,
    );
    // Done rows are a prefix in claim order, chunk by chunk, and nothing moves after cancel returned.
    assert.equal(snapshot.indexOf(0), done, "rows after the first undone one were done");
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(Array.from(c.v.subarray(0, rows)), snapshot, "rows were done after cancel returned");
    assert.throws(() => job.finish(), /cancelled/);
    job.cancel(); // again: nothing
    // The team goes on.
    c.v.fill(0);
    c.job(1, 4);
    assertEachOnce(c, rows);
  });
});

Deno.test("without helpers a started job runs on the caller at finish, and not at all once cancelled", () => {
  const rows = 40;
  const t = startRowTeam(WORKER, 0);
  try {
    const c = counting(t, rows);
    const job = c.start(1, 4);
    assert.ok(c.v.subarray(0, rows).every((n) => n === 0), "rows done before finish");
    assert.equal(job.finish(), 1);
    assert.ok(c.v.subarray(0, rows).every((n) => n === 1));
    c.v.fill(0);
    const cancelled = c.start(1, 4);
    cancelled.cancel();
    assert.ok(c.v.subarray(0, rows).every((n) => n === 0));
    assert.throws(() => cancelled.finish(), /cancelled/);
  } finally {
    t.close();
  }
});
