/** saveFigure writes only where the caller says: the dir option, else DIFFCUT_FIGURES_DIR, else nowhere. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { saveFigure } from "../../lib/viz/save_figure.ts";
import { imageView } from "../../lib/viz/image_view.ts";

const image = { height: 2, width: 3, data: new Float32Array(18).fill(0.25) };

Deno.test("saveFigure: the dir option (path or file: URL), else DIFFCUT_FIGURES_DIR, else nothing and one notice", async () => {
  const dir = await Deno.makeTempDir({ prefix: "diffcut-figures-" });
  const saved = Deno.env.get("DIFFCUT_FIGURES_DIR");
  const cwd = Deno.cwd();
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  try {
    assert.equal(await saveFigure("a", image, { dir: join(dir, "x") }), join(dir, "x", "a.png"));
    assert.equal(
      await saveFigure("b", imageView(image), { dir: pathToFileURL(join(dir, "y")) }),
      join(dir, "y", "b.png"),
    );
    Deno.env.set("DIFFCUT_FIGURES_DIR", join(dir, "env"));
    assert.equal(await saveFigure("c", image), join(dir, "env", "c.png"));
    assert.equal(await saveFigure("d", image, { dir: join(dir, "x") }), join(dir, "x", "d.png"), "dir wins");
    Deno.env.delete("DIFFCUT_FIGURES_DIR");
    // Nothing named: nothing written, not even relative to the current folder.
    assert.equal(await saveFigure("e", image), undefined);
    assert.equal(await saveFigure("f", image), undefined);
    assert.equal(existsSync(join(cwd, "docs", "figures", "e.png")), false);
    assert.deepEqual(warnings, [
      "saveFigure: no folder named (the dir option or DIFFCUT_FIGURES_DIR); 'e' and later figures are not saved",
    ]);
    await assert.rejects(saveFigure("../g", image, { dir }), RangeError);
  } finally {
    console.warn = warn;
    if (saved === undefined) Deno.env.delete("DIFFCUT_FIGURES_DIR");
    else Deno.env.set("DIFFCUT_FIGURES_DIR", saved);
    await Deno.remove(dir, { recursive: true });
  }
});
