/**
 * `writeFileAtomic`: content lands whole, no temporary sibling is left behind, and a failed write leaves
 * nothing (and the destination untouched).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/io/write_file_atomic.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "diffcut-atomic-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("writeFileAtomic: writes bytes and strings, replaces an existing file, leaves no temp files", async () => {
  await withTempDir(async (dir) => {
    const bin = join(dir, "data.bin");
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 255);
    await writeFileAtomic(bin, bytes);
    assert.deepEqual(await Deno.readFile(bin), bytes);
    const text = join(dir, "note.json");
    await writeFileAtomic(text, '{"π": 3.14}\n');
    assert.equal(await Deno.readTextFile(text), '{"π": 3.14}\n');
    assert.equal((await Deno.readFile(text)).length, 13, "UTF-8: π is two bytes");
    // Overwrite with shorter content: the old tail is gone.
    await writeFileAtomic(bin, Uint8Array.of(1, 2, 3));
    assert.deepEqual(await Deno.readFile(bin), Uint8Array.of(1, 2, 3));
    // Empty content is a valid file.
    await writeFileAtomic(join(dir, "empty"), "");
    assert.equal((await Deno.stat(join(dir, "empty"))).size, 0);
    assert.deepEqual(await names(dir), ["data.bin", "empty", "note.json"]);
  });
});

Deno.test("writeFileAtomic: a missing folder throws NotFound and creates nothing", async () => {
  await withTempDir(async (dir) => {
    const target = join(dir, "missing", "out.png");
    await assert.rejects(() => writeFileAtomic(target, Uint8Array.of(1)), (e: Error) => {
      assert.ok(e instanceof Deno.errors.NotFound, String(e));
      assert.ok(e.message.includes(join(dir, "missing")), `message names the folder: ${e.message}`);
      return true;
    });
    assert.deepEqual(await names(dir), []);
  });
});

Deno.test("writeFileAtomic: a failed rename leaves the destination untouched and removes the temp file", async () => {
  await withTempDir(async (dir) => {
    // The destination is a non-empty folder: the temp file is written, the rename fails.
    const target = join(dir, "taken");
    await Deno.mkdir(target);
    await Deno.writeTextFile(join(target, "keep.txt"), "keep");
    await assert.rejects(() => writeFileAtomic(target, "new content"));
    assert.deepEqual(await names(dir), ["taken"]);
    assert.ok((await Deno.stat(target)).isDirectory);
    assert.deepEqual(await names(target), ["keep.txt"]);
  });
});
