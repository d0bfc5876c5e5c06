import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { CACHE_DIR_ENV, readVerified, userCacheDir, writeVerified } from "../../lib/encoder/model_cache.ts";

const MODEL_CACHE_URL = new URL("../../lib/encoder/model_cache.ts", import.meta.url).href;

/**
 * Runs `code` in a fresh `deno` with exactly the environment `env` (plus PATH) and the given permissions, so that
 * HOME and friends can be overridden without touching this process's environment.
 */
async function runWithEnv(
  code: string,
  env: Record<string, string>,
  permissions = ["--allow-env", "--allow-read"],
): Promise<{ code: number; stdout: string; stderr: string }> {
  // `deno eval` would grant every permission: the code runs from a file with exactly `permissions`.
  const script = await Deno.makeTempFile({ prefix: "diffcut-cache-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, code);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissions, script],
      env: { PATH: Deno.env.get("PATH") ?? "", NO_COLOR: "1", ...env },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return { code: output.code, stdout: text.decode(output.stdout), stderr: text.decode(output.stderr) };
  } finally {
    await Deno.remove(script);
  }
}

function denoDirEnv(): Record<string, string> {
  // The child needs the same module cache as this process (no download), which by default lives under HOME.
  const home = Deno.env.get("HOME");
  const denoDir = Deno.env.get("DENO_DIR") || (home ? join(home, ".cache", "deno") : "");
  return denoDir ? { DENO_DIR: denoDir } : {};
}

Deno.test("resolveCacheDir: option, then DIFFCUT_CACHE_DIR, then XDG_CACHE_HOME/diffcut, then ~/.cache/diffcut", async () => {
  const print = `import { resolveCacheDir } from ${JSON.stringify(MODEL_CACHE_URL)};
const results = [];
for (const option of [undefined, "/tmp/explicit"]) {
  try { results.push(resolveCacheDir(option)); } catch (error) { results.push(String(error)); }
}
console.log(JSON.stringify(results));`;
  const cases: [Record<string, string>, string, string][] = [
    [{ HOME: "/home/ada" }, "/home/ada/.cache/diffcut", "HOME only"],
    [
      { HOME: "/home/ada", XDG_CACHE_HOME: "/var/cache/ada" },
      "/var/cache/ada/diffcut",
      "XDG_CACHE_HOME wins",
    ],
    [
      { HOME: "/home/ada", XDG_CACHE_HOME: "relative/cache" },
      "/home/ada/.cache/diffcut",
      "relative XDG ignored",
    ],
    [
      { HOME: "/home/ada", XDG_CACHE_HOME: "/xdg", [CACHE_DIR_ENV]: "/srv/models" },
      "/srv/models",
      "env wins",
    ],
    [{ HOME: "/home/ada", [CACHE_DIR_ENV]: "" }, "/home/ada/.cache/diffcut", "empty env is unset"],
  ];
  for (const [env, expected, what] of cases) {
    const run = await runWithEnv(print, { ...denoDirEnv(), ...env });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), [expected, "/tmp/explicit"], what);
  }
  // No HOME at all: only an explicit folder or DIFFCUT_CACHE_DIR can say where the cache goes.
  const none = await runWithEnv(print, denoDirEnv());
  assert.equal(none.code, 0, none.stderr);
  const [error, explicit] = JSON.parse(none.stdout);
  assert.match(
    error,
    /^TypeError: Cannot find a user cache folder .*expected a cacheDir option or DIFFCUT_CACHE_DIR to be set$/,
  );
  assert.equal(explicit, "/tmp/explicit");
});

Deno.test("userCacheDir: Linux, macOS and Windows folders", () => {
  const env = (vars: Record<string, string>) => (name: string): string | undefined => vars[name];
  assert.equal(userCacheDir("linux", env({ HOME: "/home/ada" })), "/home/ada/.cache/diffcut");
  assert.equal(userCacheDir("freebsd", env({ HOME: "/home/ada", XDG_CACHE_HOME: "/c" })), "/c/diffcut");
  assert.equal(
    userCacheDir("darwin", env({ HOME: "/Users/ada", XDG_CACHE_HOME: "/c" })),
    "/Users/ada/Library/Caches/diffcut",
  );
  assert.equal(
    userCacheDir("windows", env({ LOCALAPPDATA: "C:\\Users\\ada\\AppData\\Local", HOME: "/ignored" })),
    "C:\\Users\\ada\\AppData\\Local\\diffcut",
  );
  assert.equal(
    userCacheDir("windows", env({ USERPROFILE: "C:\\Users\\ada" })),
    "C:\\Users\\ada\\AppData\\Local\\diffcut",
  );
  assert.equal(userCacheDir("windows", env({})), undefined);
  assert.equal(userCacheDir("darwin", env({})), undefined);
});

Deno.test("a read-only cache: without write permission the model is built in memory, with one warning", async () => {
  const cache = await Deno.makeTempDir({ prefix: "diffcut-ro-cache-" });
  try {
    const isnet = new URL("../../lib/encoder/isnet_model.ts", import.meta.url).href;
    const code = `import { loadNpmModel } from ${JSON.stringify(isnet)};
const source = { kind: "npm", package: "@imgly/background-removal-data", version: "1.4.5", resource: "/models/small" };
const a = await loadNpmModel(source, "output", { cacheName: "small" });
const b = await loadNpmModel(source, "output", { cacheName: "small" });
console.log(JSON.stringify([a.fromCache, b.fromCache, a.sha256 === b.sha256, a.bytes.length > 1e6]));`;
    // --allow-read and --allow-env but no --allow-write: the cache folder cannot be written.
    // The script lives outside the checkout and runs with no deno.json: the module needs none.
    const run = await runWithEnv(code, { ...denoDirEnv(), [CACHE_DIR_ENV]: cache, HOME: cache });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), [false, false, true, true]);
    const warnings = run.stderr.split("\n").filter((line) => line.startsWith("Cannot cache the model"));
    assert.equal(warnings.length, 1, run.stderr);
    assert.match(warnings[0], /NotCapable|write access/);
    assert.deepEqual([...Deno.readDirSync(cache)], [], "nothing written");
  } finally {
    await Deno.remove(cache, { recursive: true });
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
