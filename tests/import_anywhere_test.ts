/**
 * The module works when imported by path from a folder outside the checkout, with no configuration file: a script
 * run with `deno run --no-config` from a temporary folder, and a notebook there executed on the Deno kernel. Both
 * segment a bundled photo with the default settings (ISNet) into at least 2 segments. Without the repository's
 * `deno.json`, npm packages come from Deno's global cache (downloaded there on the first run).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MOD_URL = pathToFileURL(join(ROOT, "mod.ts")).href;
const PHOTO = join(ROOT, "docs", "examples", "chelsea.png");

/** Environment for a child outside the checkout: no DENO_* overrides that point back into it. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", ...extra };
  for (
    const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "DIFFCUT_CACHE_DIR", "DENO_WEBGPU_BACKEND"]
  ) {
    const value = Deno.env.get(name);
    if (value !== undefined && env[name] === undefined) env[name] = value;
  }
  return env;
}

Deno.test({
  name: "a script outside the checkout imports mod.ts by file URL with --no-config and segments a photo",
  // Up to two ISNet encodes, plus a first download of the npm packages into Deno's global cache.
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "diffcut-import-anywhere-" });
    try {
      await Deno.copyFile(PHOTO, join(dir, "photo.png"));
      await Deno.writeTextFile(
        join(dir, "segment.ts"),
        `import { createSegmenter, loadImage } from ${JSON.stringify(MOD_URL)};
const photo = await loadImage("photo.png"); // relative to this folder, the current one
const counts: Record<string, number> = {};
for (const options of [{ encoder: "rgb-grid" }, {}]) {
  const segmenter = await createSegmenter(options);
  try {
    const result = await segmenter.segment(photo);
    counts[result.encoderId] = result.segments;
  } finally {
    await segmenter.dispose();
  }
}
console.log(JSON.stringify(counts));
`,
      );
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", "--allow-read", "--allow-env", "--allow-write", "segment.ts"],
        cwd: dir,
        env: childEnv(),
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(output.stdout);
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      const counts = JSON.parse(stdout.trim().split("\n").at(-1)!);
      assert.deepEqual(Object.keys(counts).sort(), ["isnet", "rgb-grid"]);
      assert.ok(counts["rgb-grid"] >= 1, stdout); // a raw-colour baseline: one segment on this photo at its defaults
      assert.ok(counts.isnet >= 2, stdout);
      // Nothing was written into the temporary folder but the script and the photo.
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["photo.png", "segment.ts"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const PYTHON = Deno.env.get("NOTEBOOKS_PYTHON") ?? "/usr/bin/python3";

/** Why the notebook test cannot run here (no Jupyter client), or `undefined` when it can. */
async function jupyterMissing(): Promise<string | undefined> {
  try {
    const probe = await new Deno.Command(PYTHON, {
      args: ["-c", "import nbformat, jupyter_client"],
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.code === 0 ? undefined : `${PYTHON} cannot import nbformat and jupyter_client`;
  } catch (error) {
    return `${PYTHON} cannot run (${(error as Error).message})`;
  }
}

const missing = await jupyterMissing();
if (missing) {
  console.warn(
    `notebook-outside-the-checkout test skipped: ${missing}; install Debian's jupyter-nbconvert and python3-nbclient`,
  );
}

Deno.test({
  name:
    "a notebook outside the checkout imports mod.ts by file URL on the Deno kernel and displays a segmentation",
  ignore: missing !== undefined,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "diffcut-notebook-anywhere-" });
    try {
      const cells = [
        `import { createSegmenter, loadImage, segmentationView } from ${JSON.stringify(MOD_URL)};\n` +
        `const photo = await loadImage(${JSON.stringify(PHOTO)});\n` +
        "const segmenter = await createSegmenter();\n" +
        "const result = await segmenter.segment(photo);\n" +
        "await segmenter.dispose();\n" +
        "console.log(`segments: ${result.segments}`);",
        "segmentationView(photo, result.labels, result.height, result.width);",
      ];
      const notebook = {
        cells: cells.map((source, i) => ({
          cell_type: "code",
          execution_count: null,
          id: `cell-${i}`,
          metadata: {},
          outputs: [],
          source,
        })),
        metadata: { kernelspec: { display_name: "Deno", language: "typescript", name: "deno" } },
        nbformat: 4,
        nbformat_minor: 5,
      };
      await Deno.writeTextFile(join(dir, "mine.ipynb"), JSON.stringify(notebook));
      const output = await new Deno.Command(PYTHON, {
        args: [join(ROOT, "notebooks", "run_notebooks.py"), join(dir, "executed"), join(dir, "mine.ipynb")],
        cwd: dir,
        // The project's kernelspec runs `deno jupyter --kernel` with this deno; the kernel starts in `dir`.
        env: childEnv({
          JUPYTER_PATH: join(ROOT, "notebooks"),
          PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
          XDG_RUNTIME_DIR: dir,
          JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
        }),
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, log);
      const executed = JSON.parse(await Deno.readTextFile(join(dir, "executed", "mine.ipynb")));
      const outputs = executed.cells.flatMap((c: { outputs: unknown[] }) => c.outputs) as {
        output_type: string;
        text?: string | string[];
        data?: Record<string, unknown>;
      }[];
      const text = outputs.filter((o) => o.output_type === "stream").map((o) => [o.text].flat().join(""))
        .join("");
      const segments = Number(/segments: (\d+)/.exec(text)?.[1]);
      assert.ok(segments >= 2, text);
      const images = outputs.filter((o) =>
        o.data && Object.keys(o.data).some((mime) =>
          mime === "image/png" || mime === "image/svg+xml" ||
          (mime === "text/html" &&
            /<img[^>]+src="data:image\/png;base64,|<svg/.test([o.data![mime]].flat().join("")))
        )
      );
      assert.ok(
        images.length >= 1,
        `no image among ${JSON.stringify(outputs.map((o) => Object.keys(o.data ?? {})))}`,
      );
      assert.ok(!existsSync(join(dir, "docs")), "nothing written relative to the notebook's folder");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("every import in lib/ and mod.ts resolves without deno.json: relative, node: or versioned npm:", async () => {
  const offenders: string[] = [];
  // Static imports and re-exports, and literal dynamic imports (JSDoc examples included: they are published too).
  const specifiers = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(["'])([^"'\n]+)\1/gm;
  const allowed = (s: string) => /^(\.\.?\/|\/|node:|npm:(@[^/@]+\/)?[^/@]+@\d[^/]*(\/|$))/.test(s);
  async function scan(url: URL): Promise<void> {
    if (url.pathname.endsWith("/")) {
      for await (const entry of Deno.readDir(url)) {
        await scan(new URL(entry.name + (entry.isDirectory ? "/" : ""), url));
      }
    } else if (url.pathname.endsWith(".ts")) {
      const text = await Deno.readTextFile(url);
      for (const m of text.matchAll(specifiers)) {
        if (!allowed(m[2])) offenders.push(`${url.pathname.slice(ROOT.length)}: ${m[2]}`);
      }
    }
  }
  await scan(pathToFileURL(join(ROOT, "lib") + "/"));
  await scan(pathToFileURL(join(ROOT, "mod.ts")));
  assert.deepEqual(offenders, []);
});
