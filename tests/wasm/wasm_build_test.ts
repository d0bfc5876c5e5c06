/**
 * The WebAssembly embedded in `lib/wasm/*_wasm.ts` is what its `.wat` source compiles to: a `.wat` edited
 * without `deno task build-wasm` (or a hand-edited generated file) fails here.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { compileWat, generatedSource, WASM_DIR, watSources } from "../../lib/wasm/build_wasm.ts";

Deno.test("every lib/wasm/*.wat has its generated module, and the embedded bytes are its compilation", async () => {
  const names = await watSources();
  assert.ok(names.includes("symmetric_matvec"), `found ${names.join(", ")}`);
  for (const name of names) {
    const bytes = await compileWat(`${name}.wat`, await readFile(join(WASM_DIR, `${name}.wat`), "utf8"));
    assert.ok(WebAssembly.validate(bytes), `${name}.wat compiles to an invalid module`);
    const committed = await readFile(join(WASM_DIR, `${name}_wasm.ts`), "utf8");
    assert.equal(
      committed,
      generatedSource(name, bytes),
      `lib/wasm/${name}_wasm.ts is stale: run deno task build-wasm`,
    );
  }
});

Deno.test("compileWat reports a syntax error with the file name", async () => {
  await assert.rejects(() => compileWat("broken.wat", "(module (func (i32.add)))"), /broken\.wat/);
});
