import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CACHE_DIR_ENV,
  readVerified,
  resolveCacheDir,
  writeVerified,
} from "../../lib/encoder/model_cache.ts";

Deno.test("resolveCacheDir: option, then DIFFCUT_CACHE_DIR, then <repo>/.cache/models", () => {
  const saved = Deno.env.get(CACHE_DIR_ENV);
  try {
    Deno.env.delete(CACHE_DIR_ENV);
    const repo = fileURLToPath(new URL("../../", import.meta.url));
    assert.equal(resolveCacheDir(), join(repo, ".cache", "models"));
    Deno.env.set(CACHE_DIR_ENV, "/tmp/from-env");
    assert.equal(resolveCacheDir(), "/tmp/from-env");
    assert.equal(resolveCacheDir("/tmp/explicit"), "/tmp/explicit");
    Deno.env.set(CACHE_DIR_ENV, "");
    assert.equal(resolveCacheDir(), join(repo, ".cache", "models"));
  } finally {
    if (saved === undefined) Deno.env.delete(CACHE_DIR_ENV);
    else Deno.env.set(CACHE_DIR_ENV, saved);
  }
});

Deno.test("writeVerified / readVerified: sha256sum-style file, mismatches and missing files are misses", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "nested", "m.onnx");
    const bytes = new Uint8Array([5, 4, 3, 2, 1]);
    const sha = await writeVerified(path, bytes);
    assert.equal(sha, createHash("sha256").update(bytes).digest("hex"));
    assert.equal(await Deno.readTextFile(`${path}.sha256`), `${sha}  m.onnx\n`);
    assert.deepEqual(await readVerified(path), { bytes, sha256: sha });
    // Only the two files remain: the temporary files were renamed.
    const names = [...Deno.readDirSync(join(dir, "nested"))].map((e) => e.name).sort();
    assert.deepEqual(names, ["m.onnx", "m.onnx.sha256"]);

    await Deno.writeFile(path, new Uint8Array([5, 4, 3, 2, 0]));
    assert.equal(await readVerified(path), undefined, "tampered file");
    await writeVerified(path, bytes);
    await Deno.remove(`${path}.sha256`);
    assert.equal(await readVerified(path), undefined, "no hash file");
    assert.equal(await readVerified(join(dir, "absent.onnx")), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
