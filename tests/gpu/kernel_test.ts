import assert from "node:assert/strict";
import {
  assembleWgsl,
  grid2d,
  kernelBindings,
  layoutKey,
  parseBindings,
  shaderSource,
} from "../../lib/gpu/kernel.ts";

const SHADERS = new URL("../../shaders/", import.meta.url);

/** Every kernel file: `[stage, kernel]` for `shaders/<stage>/<kernel>.wgsl`, outside `shaders/common/`. */
function kernelFiles(): [string, string][] {
  const out: [string, string][] = [];
  for (const dir of Deno.readDirSync(SHADERS)) {
    if (!dir.isDirectory || dir.name === "common") continue;
    for (const f of Deno.readDirSync(new URL(`${dir.name}/`, SHADERS))) {
      if (f.name.endsWith(".wgsl")) out.push([dir.name, f.name.slice(0, -5)]);
    }
  }
  return out.sort();
}

Deno.test("assembleWgsl replaces include lines once each, recursively, and refuses paths outside shaders/", () => {
  const files: Record<string, string> = {
    "common/a.wgsl": '#include "common/b.wgsl"\nstruct A { b: B }\n',
    "common/b.wgsl": "struct B { x: u32 }\n\n",
  };
  const read = (p: string) => {
    if (!(p in files)) throw new Deno.errors.NotFound(p);
    return files[p];
  };
  assert.equal(
    assembleWgsl('  #include "common/a.wgsl"\n#include "common/b.wgsl"\nvar<private> a: A;', read),
    "struct B { x: u32 }\nstruct A { b: B }\n\nvar<private> a: A;",
  );
  // Text that merely mentions an include is left alone.
  assert.equal(assembleWgsl('// #include "common/a.wgsl"', read), '// #include "common/a.wgsl"');
  for (const bad of ["../secret.wgsl", "/etc/a.wgsl", "common/a.txt", "common/../a.wgsl"]) {
    assert.throws(
      () => assembleWgsl(`#include "${bad}"`, read, "k.wgsl"),
      new RegExp(`Invalid include .* in k\\.wgsl`),
    );
  }
  assert.throws(() => assembleWgsl('#include "common/none.wgsl"', read), Deno.errors.NotFound);
});

Deno.test("parseBindings reads group-0 buffer bindings, ignores comments, and names what it cannot bind", () => {
  const code = `
    // @group(0) @binding(9) var<storage, read> commented: array<f32>;
    /* @group(0) @binding(8) var<uniform> block: P; /* nested */ still a comment */
    @group(0) @binding(2)
    var<uniform> params: P;
    @binding(0) @group(0) var<storage> a: array<f32>;
    @group( 0 ) @binding( 1 ) var<storage,read_write> b: array<atomic<u32>>;
    var<workgroup> shared: array<f32, 64>;
    @compute @workgroup_size(64, 1) fn main() { var x: u32 = 0u; }`;
  assert.deepEqual(parseBindings(code), [
    { binding: 0, name: "a", type: "read-only-storage" },
    { binding: 1, name: "b", type: "storage" },
    { binding: 2, name: "params", type: "uniform" },
  ]);
  assert.equal(layoutKey(parseBindings(code)), "0:r,1:rw,2:u");
  assert.throws(
    () => parseBindings("@group(1) @binding(0) var<uniform> p: P;", "k.wgsl"),
    /Binding p in k\.wgsl must be in @group\(0\), received @group\(1\)/,
  );
  assert.throws(
    () => parseBindings("@group(0) @binding(0) var t: texture_2d<f32>;", "k.wgsl"),
    /Binding t in k\.wgsl must be var<storage, read>, var<storage, read_write> or var<uniform>, received var$/,
  );
  assert.throws(
    () =>
      parseBindings(
        "@group(0) @binding(0) var<storage, read> a: array<f32>;\n@group(0) @binding(0) var<uniform> b: P;",
      ),
    /Binding 0 is declared twice in WGSL \(second: b\)/,
  );
  assert.throws(() => parseBindings("@binding(0) var<uniform> p: P;"), /needs literal @group and @binding/);
});

Deno.test("every kernel file declares dense group-0 bindings, each with a comment line above", () => {
  const files = kernelFiles();
  assert.ok(files.length >= 16, `found ${files.length} kernel files`);
  for (const [stage, kernel] of files) {
    const bindings = kernelBindings(stage, kernel);
    assert.deepEqual(bindings.map((b) => b.binding), bindings.map((_, i) => i), `${stage}/${kernel}`);
    const lines = shaderSource(stage, kernel).split("\n");
    for (const b of bindings) {
      const at = lines.findIndex((l) => new RegExp(`@binding\\(${b.binding}\\)`).test(l));
      assert.match(lines[at - 1], /^\s*\/\//, `${stage}/${kernel} binding ${b.binding} has no comment`);
    }
  }
});

Deno.test("the tree's kernels declare one layout, so one bind group serves them all", () => {
  const tree = [
    ["eigensolve", "lanczos_batched"],
    ["eigensolve", "lanczos_matvec"],
    ["ncut", "split_search"],
    ["ncut", "split_bins"],
    ["ncut", "next_level"],
  ];
  const keys = new Set(tree.map(([s, k]) => layoutKey(kernelBindings(s, k))));
  assert.deepEqual([...keys], ["0:r,1:r,2:r,3:rw,4:rw,5:rw,6:rw,7:u"]);
});

Deno.test("grid2d covers the workgroups within the per-dimension limit", () => {
  const ctx = { device: { limits: { maxComputeWorkgroupsPerDimension: 10 } } as GPUDevice };
  assert.deepEqual(grid2d(0, ctx), [0, 1]);
  assert.deepEqual(grid2d(10, ctx), [10, 1]);
  for (const groups of [11, 19, 20, 21, 99, 100]) {
    const [x, y] = grid2d(groups, ctx);
    assert.ok(x <= 10 && y <= 10 && x * y >= groups && x * (y - 1) < groups, `${groups}: ${x}×${y}`);
  }
});
