import assert from "node:assert/strict";
import { packStruct, readStruct, TREE_PARAMS, type UniformStructLayout } from "../../lib/gpu/uniforms.ts";
import { shaderSource } from "../../lib/gpu/kernel.ts";

const SHADERS = new URL("../../shaders/", import.meta.url);

/** Alignment and size of the WGSL types a uniform struct may use here (WGSL §14.4, "Memory Layout"). */
const WGSL_TYPES: Record<string, { align: number; size: number }> = {
  u32: { align: 4, size: 4 },
  i32: { align: 4, size: 4 },
  f32: { align: 4, size: 4 },
  "vec2<u32>": { align: 8, size: 8 },
  "vec2<f32>": { align: 8, size: 8 },
  "vec3<u32>": { align: 16, size: 12 },
  "vec3<f32>": { align: 16, size: 12 },
  "vec4<u32>": { align: 16, size: 16 },
  "vec4<f32>": { align: 16, size: 16 },
};

const roundUp = (k: number, n: number) => Math.ceil(n / k) * k;

/** The members of `struct name` in WGSL text, with offsets and size by the WGSL layout rules. */
function wgslStructLayout(code: string, name: string) {
  const body = code.match(new RegExp(`struct\\s+${name}\\s*\\{([^}]*)\\}`))?.[1];
  if (body === undefined) throw new Error(`No struct ${name}`);
  const members = body.split("\n").map((l) => l.replace(/\/\/.*$/, "").trim()).filter((l) => l.length > 0)
    .map((l) => l.replace(/,$/, "").split(":").map((s) => s.trim()));
  let offset = 0, align = 1;
  const fields = members.map(([field, type]) => {
    const t = WGSL_TYPES[type.replace(/\s+/g, "")];
    if (!t) throw new Error(`Type ${type} of ${name}.${field} is not in the test's table`);
    offset = roundUp(t.align, offset);
    const at = offset;
    offset += t.size;
    align = Math.max(align, t.align);
    return { name: field, type, offset: at };
  });
  return { fields, size: roundUp(align, offset) };
}

/** Each shared layout and the kernels that bind it as `params`. */
const SHARED: { layout: UniformStructLayout; kernels: [string, string][] }[] = [{
  layout: TREE_PARAMS,
  kernels: [
    ["eigensolve", "lanczos_batched"],
    ["eigensolve", "lanczos_matvec"],
    ["ncut", "split_search"],
    ["ncut", "split_bins"],
    ["ncut", "next_level"],
  ],
}];

for (const { layout, kernels } of SHARED) {
  Deno.test(`${layout.struct}: the table's names, types, offsets and size follow the WGSL struct's layout`, () => {
    const code = Deno.readTextFileSync(new URL(layout.file, SHADERS));
    const wgsl = wgslStructLayout(code, layout.struct);
    assert.deepEqual(layout.fields.map((f) => ({ ...f })), wgsl.fields);
    assert.equal(layout.size, wgsl.size);
  });

  Deno.test(`${layout.struct}: kernels include ${layout.file} and declare no struct of their own`, () => {
    for (const [stage, kernel] of kernels) {
      const raw = Deno.readTextFileSync(new URL(`${stage}/${kernel}.wgsl`, SHADERS));
      assert.match(raw, new RegExp(`^#include "${layout.file}"$`, "m"), kernel);
      assert.doesNotMatch(raw, /^\s*struct\s+(Tree)?Params\b/m, kernel);
      const code = shaderSource(stage, kernel);
      assert.equal(code.match(new RegExp(`^struct ${layout.struct}\\s*\\{`, "gm"))?.length, 1, kernel);
      assert.match(code, new RegExp(`var<uniform>\\s+params\\s*:\\s*${layout.struct}\\s*;`), kernel);
    }
  });
}

Deno.test("TreeParams: tree_params_words lists the fields in the table's order", () => {
  const code = Deno.readTextFileSync(new URL(TREE_PARAMS.file, SHADERS));
  const body = code.match(/fn tree_params_words\([^)]*\)[^{]*\{([^}]*)\}/)?.[1] ?? "";
  const words = [...body.matchAll(/p\.(\w+)/g)].map((m) => m[1]);
  assert.deepEqual(words, TREE_PARAMS.fields.map((f) => f.name));
  assert.match(code, new RegExp(`const TREE_PARAMS_WORDS: u32 = ${TREE_PARAMS.size / 4}u;`));
});

Deno.test("packStruct writes each field at its offset and readStruct reads it back", () => {
  const values = {
    n: 4096,
    slots: 1000,
    nodes: 7,
    check_every: 4,
    tol: 1e-9,
    thresholds: 100,
    min_side: 3,
    global_base: 5120,
  };
  const bytes = packStruct(TREE_PARAMS, values);
  assert.equal(bytes.byteLength, 32);
  const view = new DataView(bytes);
  for (const { name, type, offset } of TREE_PARAMS.fields) {
    const got = type === "f32" ? view.getFloat32(offset, true) : view.getUint32(offset, true);
    assert.equal(got, type === "f32" ? Math.fround(values[name]) : values[name], name);
  }
  // At an offset inside a larger buffer (a staging copy).
  const staging = new Uint8Array(64 + 32);
  staging.set(new Uint8Array(bytes), 64);
  assert.deepEqual(readStruct(TREE_PARAMS, staging.buffer, 64), { ...values, tol: Math.fround(1e-9) });
});

Deno.test("packStruct and readStruct name the field or the size that is wrong", () => {
  const ok = {
    n: 1,
    slots: 1,
    nodes: 1,
    check_every: 1,
    tol: 0,
    thresholds: 1,
    min_side: 1,
    global_base: 0,
  };
  assert.throws(
    () => packStruct(TREE_PARAMS, { ...ok, slots: -1 }),
    /TreeParams\.slots must be a u32, received -1/,
  );
  assert.throws(() => packStruct(TREE_PARAMS, { ...ok, tol: NaN }), /TreeParams\.tol must be a finite f32/);
  const { min_side: _, ...missing } = ok;
  assert.throws(
    () => packStruct(TREE_PARAMS, missing as typeof ok),
    /TreeParams\.min_side must be a u32, received undefined/,
  );
  assert.throws(() => readStruct(TREE_PARAMS, new ArrayBuffer(40), 16), /does not fit in 40 bytes/);
});
