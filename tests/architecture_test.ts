/**
 * The floor plan of `lib/` (docs/architecture.md), checked from the imports themselves: no import circle, nothing
 * in `lib/` imports `tests/`, no stage reference imports a WebGPU twin, and the backend is chosen in one place.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Folders that hold one stage each: a plain-TypeScript reference and its `_gpu.ts` twin. */
const STAGE_FOLDERS = ["affinity", "eigensolve", "features", "ncut", "pamr", "upsample"];

/** Every `.ts` file under `lib/`, relative to the repository root. */
function libFiles(dir = join(ROOT, "lib")): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...libFiles(path));
    else if (e.name.endsWith(".ts")) out.push(relative(ROOT, path));
  }
  return out.sort();
}

/** The relative imports of a file (static `import`/`export … from` and literal `import()`), as repository paths. */
function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(join(ROOT, file));
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+["'](\.{1,2}\/[^"']+)["']/gm),
    ...text.matchAll(/^\s*import\s+["'](\.{1,2}\/[^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*[,)]/g),
  ].map((m) => m[1]);
  return specs.map((s) => relative(ROOT, join(ROOT, dirname(file), s)));
}

const graph = new Map(libFiles().map((f) => [f, importsOf(f)]));

Deno.test("architecture: lib/ has no import circle", () => {
  const state = new Map<string, "open" | "done">();
  const circles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      circles.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "open");
    for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(circles, []);
  assert.ok(graph.size > 100, `read ${graph.size} files`);
});

Deno.test("architecture: nothing in lib/ imports tests/", () => {
  const offenders = [...graph].flatMap(([f, deps]) =>
    deps.filter((d) => d.startsWith("tests/")).map((d) => `${f} → ${d}`)
  );
  assert.deepEqual(offenders, []);
});

Deno.test("architecture: stage references import no WebGPU twin and no backend chooser", () => {
  const offenders: string[] = [];
  for (const [file, deps] of graph) {
    const [top, folder] = file.split("/");
    if (top !== "lib" || !STAGE_FOLDERS.includes(folder) || file.endsWith("_gpu.ts")) continue;
    for (const d of deps) {
      if (d.endsWith("_gpu.ts") || d === "lib/gpu/backend.ts") offenders.push(`${file} → ${d}`);
    }
  }
  assert.deepEqual(offenders, []);
  // The dispatcher is the one stage-level importer of the backend chooser.
  const choosers = [...graph].filter(([, deps]) => deps.includes("lib/gpu/backend.ts")).map(([f]) => f);
  const stageLevel = choosers.filter((f) => STAGE_FOLDERS.includes(f.split("/")[1]));
  assert.deepEqual(stageLevel, []);
  assert.ok(choosers.includes("lib/stages.ts"));
});
