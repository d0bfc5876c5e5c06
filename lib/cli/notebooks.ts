/**
 * `deno task notebooks [name…]`: type-checks and executes the notebooks in `notebooks/` headless, writing each
 * notebook's figures into `docs/figures/<notebook>/` and the executed copies into `out/notebooks/`, then, when all
 * ran green, over the notebooks themselves.
 *
 * 1. Type check: the kernel does not report type errors, so the code cells of each notebook are joined into
 *    `out/notebooks/<name>.ts` (imports of `../mod.ts` rewritten to the absolute path) and a copy in a temporary
 *    folder (deno.json excludes `out/`) is run through `deno check --config deno.json`.
 * 2. Execution: `notebooks/run_notebooks.py` under Debian's `/usr/bin/python3` (apt packages
 *    `jupyter-nbconvert python3-nbclient`), with `JUPYTER_PATH=notebooks` so that the project's kernelspec
 *    `notebooks/kernels/deno/kernel.json` is used, and `DIFFCUT_FIGURES_ROOT=out/notebooks/figures`: the figures
 *    replace `docs/figures/<name>/` only when every notebook ran green (a failed run leaves them as they were). It fails on any cell
 *    error and survives the Deno kernel's early `idle` messages.
 *
 * 3. When every notebook ran green, the executed copies replace `notebooks/<name>.ipynb`, so the committed
 *    notebooks carry their outputs (figures included). `deno.lock` is restored after the kernels ran: a notebook
 *    that loads an optional engine (TensorFlow.js) must not make a fresh clone install it.
 * 4. With no notebook names given and every notebook green, `docs/api/build_api_md.ts` regenerates the API
 *    reference `docs/api/README.md`.
 *
 * Environment: `NOTEBOOKS_PYTHON` overrides the Python interpreter; `NOTEBOOKS_SKIP_RUN=1` only type-checks.
 *
 * @module
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/** The notebooks, in teaching order. */
export const NOTEBOOKS: readonly string[] = Object.freeze([
  "quickstart",
  "ncut_recursion",
  "semantic_coherence",
  "sensitivity",
  "timestep",
]);

/**
 * The code cells of a notebook joined into one TypeScript module, each preceded by a `// cell N` comment.
 *
 * @param notebookJson The `.ipynb` text.
 * @param modPath Absolute path that `../mod.ts` imports should point to.
 * @returns TypeScript source.
 * @throws {TypeError} When the text is not a notebook.
 *
 * @example
 * ```ts
 * import { notebookToTypeScript } from "./notebooks.ts";
 * import assert from "node:assert/strict";
 * const nb = JSON.stringify({ cells: [{ cell_type: "code", source: ['import { x } from "../mod.ts";\n', "x"] }] });
 * assert.equal(notebookToTypeScript(nb, "/r/mod.ts"), '// cell 0\nimport { x } from "/r/mod.ts";\nx\n');
 * ```
 */
export function notebookToTypeScript(notebookJson: string, modPath: string): string {
  const nb = JSON.parse(notebookJson);
  if (!nb || !Array.isArray(nb.cells)) throw new TypeError("Not a notebook: no 'cells' array");
  const parts: string[] = [];
  nb.cells.forEach((cell: { cell_type: string; source: string | string[] }, i: number) => {
    if (cell.cell_type !== "code") return;
    const src = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    parts.push(`// cell ${i}\n${src.replaceAll('"../mod.ts"', JSON.stringify(modPath))}\n`);
  });
  return parts.join("");
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const child = new Deno.Command(cmd, { args, env, stdout: "inherit", stderr: "inherit" }).spawn();
  return (await child.status).code;
}

if (import.meta.main) {
  const root = resolve(new URL("../..", import.meta.url).pathname);
  const names = Deno.args.length ? Deno.args : [...NOTEBOOKS];
  const available = new Set((await readdir(join(root, "notebooks"))).filter((f) => f.endsWith(".ipynb")));
  for (const n of names) {
    if (!available.has(`${n}.ipynb`)) {
      console.error(`Unknown notebook '${n}'; expected one of ${[...available].join(", ")}`);
      Deno.exit(2);
    }
  }
  const outDir = join(root, "out", "notebooks");
  await mkdir(join(outDir, "runtime"), { recursive: true, mode: 0o700 });
  const t0 = performance.now();
  // out/ is excluded in deno.json, so the extracted sources are checked from a temporary folder.
  const checkDir = await Deno.makeTempDir({ prefix: "diffcut_notebooks_" });
  const sources: string[] = [];
  for (const n of names) {
    const ts = notebookToTypeScript(
      await readFile(join(root, "notebooks", `${n}.ipynb`), "utf8"),
      join(root, "mod.ts"),
    );
    await writeFile(join(outDir, `${n}.ts`), ts);
    const path = join(checkDir, `${n}.ts`);
    await writeFile(path, ts);
    sources.push(path);
  }
  console.log(`Type-checking ${names.length} notebook(s)…`);
  const checked = await run(Deno.execPath(), ["check", "--config", join(root, "deno.json"), ...sources]);
  await rm(checkDir, { recursive: true, force: true });
  if (checked !== 0) {
    console.error("Notebook type check failed (the files are in out/notebooks/)");
    Deno.exit(1);
  }
  if (Deno.env.get("NOTEBOOKS_SKIP_RUN") === "1") Deno.exit(0);
  // Figures are written into a fresh temporary folder and replace docs/figures/<name>/ only after every notebook
  // ran green, so a failed run leaves the tracked figures as they were.
  const figuresRoot = join(root, "docs", "figures");
  const stagedFigures = join(outDir, "figures");
  await rm(stagedFigures, { recursive: true, force: true });
  await mkdir(stagedFigures, { recursive: true });
  const python = Deno.env.get("NOTEBOOKS_PYTHON") ?? "/usr/bin/python3";
  // The kernels use deno.json and so deno.lock, and a notebook that compares encoders loads the optional engines
  // (TensorFlow.js): they would be recorded there, and a fresh clone would then install them for the demo.
  const lockPath = join(root, "deno.lock");
  const lockBefore = await readFile(lockPath, "utf8").catch(() => undefined);
  const code = await run(
    python,
    [
      join(root, "notebooks", "run_notebooks.py"),
      outDir,
      ...names.map((n) => join(root, "notebooks", `${n}.ipynb`)),
    ],
    {
      JUPYTER_PATH: join(root, "notebooks"),
      DIFFCUT_FIGURES_ROOT: stagedFigures,
      PATH: `${join(Deno.execPath(), "..")}:${Deno.env.get("PATH") ?? ""}`,
      XDG_RUNTIME_DIR: Deno.env.get("XDG_RUNTIME_DIR") ?? join(outDir, "runtime"),
    },
  );
  if (lockBefore !== undefined && (await readFile(lockPath, "utf8").catch(() => lockBefore)) !== lockBefore) {
    await writeFile(lockPath, lockBefore);
    console.log("deno.lock restored (the notebooks' kernels had added the optional engines they loaded)");
  }
  console.log(
    `Notebooks ${code === 0 ? "passed" : "FAILED"} in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  if (code === 0) {
    for (const n of names) {
      await rm(join(figuresRoot, n), { recursive: true, force: true });
      const staged = join(stagedFigures, n);
      if ((await readdir(staged).catch(() => undefined)) !== undefined) {
        await mkdir(figuresRoot, { recursive: true });
        await rename(staged, join(figuresRoot, n));
        console.log(`docs/figures/${n}/ ← figures of this run`);
      }
    }
  } else console.error(`docs/figures/ left as it was; this run's figures are in ${stagedFigures}`);
  if (code === 0) {
    // Green runs are committed with their outputs, so the repository shows every figure.
    for (const n of names) {
      const executed = await readFile(join(outDir, `${n}.ipynb`), "utf8");
      await writeFile(join(root, "notebooks", `${n}.ipynb`), executed);
      console.log(
        `notebooks/${n}.ipynb ← executed copy, ${
          (new TextEncoder().encode(executed).length / 1024).toFixed(0)
        } KiB`,
      );
    }
  }
  if (code === 0 && Deno.args.length === 0) {
    // The API reference is regenerated with the figures, so docs/ matches the code of one green run.
    const apiMd = join(root, "docs", "api", "README.md");
    let api = await run(Deno.execPath(), ["run", "-A", join(root, "docs", "api", "build_api_md.ts")]);
    // Formatted like the rest of the repository, so `deno task lint` (fmt --check) stays green.
    if (api === 0) api = await run(Deno.execPath(), ["fmt", "--config", join(root, "deno.json"), apiMd]);
    if (api !== 0) {
      console.error("Regenerating docs/api/README.md failed");
      Deno.exit(1);
    }
    console.log(`API reference → ${apiMd}`);
  }
  Deno.exit(code);
}
