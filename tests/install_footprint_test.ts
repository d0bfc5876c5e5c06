/**
 * What a fresh clone installs. Deno installs every npm package that `deno.json`'s imports or `deno.lock` list, not
 * only what the module graph reaches, so the optional engines (TensorFlow.js + nsfwjs for `mobilenet-v2`,
 * onnxruntime-node for the native runner, ~600 MB together) and the PNG rasteriser (@resvg/resvg-wasm and its
 * fonts, dejavu-fonts-ttf, ~16 MB, needed only when a chart is saved as PNG) and the WebAssembly compiler (wabt,
 * used only by `deno task build-wasm`) must appear in neither: they are
 * loaded with `import()` of a non-literal specifier when chosen. The test task and `bench-encoders`, which load
 * them, record them in `tests/deno.lock` instead; `deno task notebooks` restores `deno.lock` after its kernels
 * ran.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const OPTIONAL =
  /^(npm:)?(@tensorflow\/|nsfwjs(@|$)|onnxruntime-node(@|$)|@resvg\/|dejavu-fonts-ttf(@|$)|wabt(@|$))/;
const root = new URL("../", import.meta.url);

/**
 * The deno.lock a fresh clone gets: the one in git's index (what is committed, or about to be), else the file.
 * A run elsewhere in this working tree that loaded an optional engine with the main lock only changes the file;
 * that is a warning here, not a failure, until it is staged.
 */
async function committedLock(): Promise<string> {
  const file = await Deno.readTextFile(new URL("deno.lock", root));
  try {
    const out = await new Deno.Command("git", {
      args: ["show", ":deno.lock"],
      cwd: fileURLToPath(root),
      stdout: "piped",
      stderr: "null",
    }).output();
    if (out.code !== 0) return file;
    const indexed = new TextDecoder().decode(out.stdout);
    if (indexed !== file && Object.keys(JSON.parse(file).specifiers ?? {}).some((k) => OPTIONAL.test(k))) {
      console.warn(
        "deno.lock in the working tree records an optional engine (do not commit it); git's copy is checked",
      );
    }
    return indexed;
  } catch {
    return file; // no git: a copy of the files
  }
}

Deno.test("deno.json and deno.lock list no optional engine (TensorFlow.js, nsfwjs, onnxruntime-node, resvg)", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const imports = Object.entries(config.imports ?? {}).filter(([key, value]) =>
    OPTIONAL.test(key) || OPTIONAL.test(String(value))
  );
  assert.deepEqual(imports, [], "deno.json imports");
  const lock = JSON.parse(await committedLock());
  const listed = [...Object.keys(lock.specifiers ?? {}), ...Object.keys(lock.npm ?? {})].filter((k) =>
    OPTIONAL.test(k)
  );
  assert.deepEqual(
    listed,
    [],
    "deno.lock records optional engines, so a fresh clone would install them for the demo; a run outside " +
      '`deno task test` loaded them. Delete their entries under "specifiers" in deno.lock and run `deno install`, ' +
      "which drops the rest",
  );
});

Deno.test("the optional engines are loaded only by import() of a non-literal specifier", async () => {
  const offenders: string[] = [];
  const literal =
    /(\bfrom\s*|\bimport\s*\(\s*)["'`](npm:)?(@tensorflow\/|nsfwjs|onnxruntime-node|@resvg\/|dejavu-fonts-ttf|wabt)/;
  async function scan(dir: URL): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await scan(url);
      else if (entry.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(url);
        // A type-only import is still in the graph that `deno check` and `deno test` resolve and lock.
        if (literal.test(text)) offenders.push(url.pathname.slice(root.pathname.length));
      }
    }
  }
  await scan(new URL("lib/", root));
  assert.deepEqual(offenders, []);
  assert.ok(!literal.test(await Deno.readTextFile(new URL("mod.ts", root))), "mod.ts");
});
