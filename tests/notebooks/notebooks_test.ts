/**
 * The notebooks runner's pure parts: code-cell extraction for the type check, and the shipped notebooks' shape
 * (Deno kernelspec, imports only from mod.ts, a figure saved by each, committed executed with their outputs).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { NOTEBOOKS, notebookToTypeScript } from "../../lib/cli/notebooks.ts";

const root = new URL("../../", import.meta.url);

Deno.test("notebookToTypeScript joins code cells, skips markdown, rewrites ../mod.ts", () => {
  const nb = {
    cells: [
      { cell_type: "markdown", source: ["# Title\n"] },
      { cell_type: "code", source: ['import { a } from "../mod.ts";\n', "a"] },
      { cell_type: "code", source: "const b = 1;" },
    ],
  };
  assert.equal(
    notebookToTypeScript(JSON.stringify(nb), "/repo/mod.ts"),
    '// cell 1\nimport { a } from "/repo/mod.ts";\na\n// cell 2\nconst b = 1;\n',
  );
  assert.throws(() => notebookToTypeScript("{}", "/m.ts"), /Not a notebook/);
});

Deno.test("every shipped notebook uses the Deno kernel, imports project code only from mod.ts and saves figures", () => {
  for (const name of NOTEBOOKS) {
    const nb = JSON.parse(readFileSync(new URL(`notebooks/${name}.ipynb`, root), "utf8"));
    assert.equal(nb.metadata.kernelspec.name, "deno", name);
    assert.equal(nb.cells[0].cell_type, "markdown", `${name} starts with its lesson's introduction`);
    const code = notebookToTypeScript(JSON.stringify(nb), "MOD");
    for (const m of code.matchAll(/from "([^"]+)"/g)) {
      assert.ok(["MOD", "mathjs"].includes(m[1]) || m[1].startsWith("node:"), `${name} imports ${m[1]}`);
    }
    assert.ok(code.includes("saveFigure("), `${name} saves its figures`);
  }
});

/** Largest committed notebook: outputs inline their PNG and SVG figures, which must stay modest. */
const MAX_NOTEBOOK_BYTES = 1.6 * 1024 * 1024;

Deno.test("every shipped notebook is committed executed (deno task notebooks), with its figures and no errors", () => {
  for (const name of NOTEBOOKS) {
    const text = readFileSync(new URL(`notebooks/${name}.ipynb`, root), "utf8");
    assert.ok(text.length <= MAX_NOTEBOOK_BYTES, `${name}.ipynb is ${text.length} bytes`);
    const nb = JSON.parse(text);
    const code = nb.cells.filter((cell: { cell_type: string }) => cell.cell_type === "code");
    assert.deepEqual(
      code.map((cell: { execution_count: number | null }) => cell.execution_count),
      code.map((_: unknown, i: number) => i + 1),
      `${name}: every code cell ran, in order`,
    );
    const outputs = code.flatMap((cell: { outputs: { output_type: string }[] }) => cell.outputs);
    assert.ok(
      !outputs.some((o: { output_type: string }) => o.output_type === "error"),
      `${name} has an error`,
    );
    const figures = outputs.filter((o: { data?: Record<string, unknown> }) =>
      o.data &&
      ("image/png" in o.data || "image/svg+xml" in o.data || /<img|<svg/.test(String(o.data["text/html"])))
    );
    // timestep draws its schedule, SNR and noised photos offline; only its mIoU sweep needs a diffusion encoder.
    assert.ok(figures.length > 0, `${name} shows no figure`);
  }
});

Deno.test("the project kernelspec runs deno jupyter", () => {
  const spec = JSON.parse(readFileSync(new URL("notebooks/kernels/deno/kernel.json", root), "utf8"));
  assert.deepEqual(spec.argv, ["deno", "jupyter", "--kernel", "--conn", "{connection_file}"]);
});
