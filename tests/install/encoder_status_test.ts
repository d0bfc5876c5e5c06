/** encoderStatus reads only sidecars and install folders: installed or not, and what to run otherwise. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { encoderStatus } from "../../lib/install/encoder_status.ts";
import { installInstructions, readRegistryEntry } from "../../lib/install/registry.ts";

Deno.test("encoderStatus: diffusion encoders, installed once encoder.json is in the install folder", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "diffcut-status-" });
  try {
    const before = await encoderStatus({ cacheDir, diffusionOnly: true });
    assert.deepEqual(before.map((e) => e.id), ["sd1.4", "ssd-1b", "ssd-vega"]);
    assert.ok(before.every((e) => e.diffusion && !e.installed));
    const entry = await readRegistryEntry("ssd-1b");
    const ssd = before.find((e) => e.id === "ssd-1b")!;
    assert.equal(ssd.instructions, installInstructions(entry, join(cacheDir, "ssd-1b")));
    assert.match(ssd.instructions, /deno task models prepare ssd-1b --from DIR/);
    assert.equal(ssd.name, entry.sidecar.name);

    await Deno.mkdir(join(cacheDir, "ssd-1b"));
    await Deno.writeTextFile(join(cacheDir, "ssd-1b", "encoder.json"), "{}");
    const after = await encoderStatus({ cacheDir, diffusionOnly: true });
    assert.deepEqual(after.filter((e) => e.installed).map((e) => e.id), ["ssd-1b"]);
    assert.equal(after.find((e) => e.id === "ssd-1b")!.instructions, "");

    // Without the filter: the ViTs too, and ISNet (built from npm on first use) counts as installed.
    const all = await encoderStatus({ cacheDir });
    assert.equal(all.find((e) => e.id === "isnet")?.installed, true);
    assert.equal(all.find((e) => e.id === "dino-vitb16")?.diffusion, false);
    assert.ok(all.length > after.length);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
