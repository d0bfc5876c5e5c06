/**
 * What a fresh clone installs. Deno installs every npm package that `deno.json`'s imports or `deno.lock` list, not
 * only what the module graph reaches, so the optional engines (TensorFlow.js + nsfwjs for `mobilenet-v2`,
 * onnxruntime-node for the native runner, ~600 MB together) must appear in neither: they are loaded with
 * `import()` of a non-literal specifier when chosen. The test task and `bench-encoders`, which load them, record
 * them in `tests/deno.lock` instead.
 */
import assert from "node:assert/strict";

const OPTIONAL = /^(npm:)?(@tensorflow\/|nsfwjs(@|$)|onnxruntime-node(@|$))/;
const root = new URL("../", import.meta.url);

Deno.test("deno.json and deno.lock list no optional engine (TensorFlow.js, nsfwjs, onnxruntime-node)", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const imports = Object.entries(config.imports ?? {}).filter(([key, value]) =>
    OPTIONAL.test(key) || OPTIONAL.test(String(value))
  );
  assert.deepEqual(imports, [], "deno.json imports");
  const lock = JSON.parse(await Deno.readTextFile(new URL("deno.lock", root)));
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
  const literal = /(\bfrom\s*|\bimport\s*\(\s*)["'`](npm:)?(@tensorflow\/|nsfwjs|onnxruntime-node)/;
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
