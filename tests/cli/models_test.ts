import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../lib/cli/models.ts";
import { main as segmentMain } from "../../lib/cli/segment.ts";
import { loadEncoder } from "../../lib/encoder/load_encoder.ts";
import { SDXL_EXPORT, writeDiffusionExport } from "../../lib/bench/synthetic_diffusion_export.ts";
import { vitModel } from "../encoder/_vit_models.ts";
import { createOrtSession } from "../../lib/onnx/ort_session.ts";
import { sha256Hex } from "../../lib/encoder/model_cache.ts";
import { gpu } from "../_gpu.ts";

/** Whether onnxruntime-node loads here (it needs --allow-ffi). */
const nodeRunner = await createOrtSession(vitModel(16, 0, 3), { runner: "node" }).then(
  (session) => session.dispose().then(() => true),
  () => false,
);

const MODELS = new URL("../../models/", import.meta.url);

/** Runs the CLI, capturing its output. */
async function run(args: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = [];
  let err = "";
  const code = await main(args, { out: (line) => out.push(line), err: (text) => (err += text) });
  return { code, out, err };
}

/** A registry folder with copies of some sidecars, sized for the tiny generated models. */
async function testRegistry(dir: string): Promise<string> {
  const registry = join(dir, "registry");
  await Deno.mkdir(registry);
  const vit = JSON.parse(await Deno.readTextFile(new URL("dino-vitb16.json", MODELS)));
  vit.output.channels = 6;
  await Deno.writeTextFile(join(registry, "dino-vitb16.json"), JSON.stringify(vit));
  const ssd = JSON.parse(await Deno.readTextFile(new URL("ssd-1b.json", MODELS)));
  ssd.output.channels = 16;
  ssd.input.size = 128;
  ssd.output.grid = 4;
  await Deno.writeTextFile(join(registry, "ssd-1b.json"), JSON.stringify(ssd));
  return registry;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("models list: every registry encoder with its kind and install status", async () => {
  await withDir(async (dir) => {
    const { code, out } = await run(["list", "--cache-dir", dir]);
    assert.equal(code, 0);
    assert.match(out[0], /^id\s+kind\s+status\s+grid\s+source\s+licence$/);
    const row = (id: string) => out.find((l) => l.startsWith(`${id} `)) ?? "";
    assert.match(
      row("ssd-1b"),
      /diffusion\s+not installed\s+32x32x1280 @1024\s+segmind\/SSD-1B\s+Apache-2.0/,
    );
    assert.match(row("sd1.4"), /diffusion\s+not installed/);
    assert.match(row("ssd-vega"), /segmind\/Segmind-Vega/);
    assert.match(row("dinov2-large"), /vit\s+not installed\s+73x73x1024 @1024/);
    assert.match(row("isnet"), /stand-in\s+built in/);
    for (const id of ["dino-vitb16", "clip-vit-large-patch14", "siglip-large-patch16-256"]) {
      assert.ok(row(id), id);
    }
  });
});

Deno.test("models fetch/verify: a hub encoder from a local mirror, with progress, then loadEncoder(id) runs it", async () => {
  await withDir(async (dir) => {
    const registry = await testRegistry(dir);
    const cache = join(dir, "cache");
    const model = new Uint8Array(vitModel(16, 1, 6));
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      const path = new URL(request.url).pathname;
      if (path !== "/Xenova/dino-vitb16/resolve/main/onnx/model.onnx") {
        return new Response(null, { status: 404 });
      }
      return new Response(model.slice(), { headers: { "content-length": String(model.length) } });
    });
    try {
      const hub = `http://127.0.0.1:${server.addr.port}`;
      const fetched = await run([
        "fetch",
        "dino-vitb16",
        "--registry",
        registry,
        "--cache-dir",
        cache,
        "--hub-url",
        hub,
      ]);
      assert.equal(fetched.code, 0, fetched.err);
      assert.match(fetched.err, /\[#{30}\] 100%\s+0.0\/0.0 MB\s+onnx\/model.onnx/);
      assert.match(fetched.err, /no hash to check against; recorded/);
      assert.deepEqual(fetched.out, [`installed dino-vitb16: ${join(cache, "dino-vitb16", "encoder.json")}`]);
    } finally {
      await server.shutdown();
    }
    const verified = await run(["verify", "dino-vitb16", "--registry", registry, "--cache-dir", cache]);
    assert.equal(verified.code, 0, verified.err);
    // The registry pins no hash for the file: it is intact since the download, but was never checked against a pin.
    assert.deepEqual(verified.out, [
      `unpinned  onnx/model.onnx  ${
        sha256Hex(model)
      }  (matches the SHA-256 recorded at install; no pinned SHA-256 in ${
        join(registry, "dino-vitb16.json")
      })`,
    ]);

    const encoder = await loadEncoder("dino-vitb16", { cacheDir: cache });
    try {
      const map = await encoder.encode({
        data: new Float32Array(40 * 30 * 3).fill(0.5),
        height: 40,
        width: 30,
      });
      assert.deepEqual([map.height, map.width, map.channels], [14, 14, 6]);
      // Channel c = (c + 1) * normalised value of channel c % 3: (0.5 - mean) / std.
      const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
      for (let c = 0; c < 6; c++) {
        assert.ok(Math.abs(map.data[c] - (c + 1) * (0.5 - mean[c % 3]) / std[c % 3]) < 1e-4);
      }
    } finally {
      await encoder.dispose();
    }

    // A corrupted file is caught by verify.
    const file = join(cache, "dino-vitb16", "onnx", "model.onnx");
    const bytes = await Deno.readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    await Deno.writeFile(file, bytes);
    const bad = await run(["verify", "dino-vitb16", "--registry", registry, "--cache-dir", cache]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /error: .*model.onnx has SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
    // So is a truncated one, and loadEncoder refuses it too.
    await Deno.truncate(file, bytes.length - 10);
    const short = await run(["verify", "dino-vitb16", "--registry", registry, "--cache-dir", cache]);
    assert.equal(short.code, 1);
    assert.match(
      short.err,
      new RegExp(`error: .*model.onnx has ${bytes.length - 10} bytes, expected ${bytes.length}`),
    );
    await assert.rejects(
      loadEncoder("dino-vitb16", { cacheDir: cache }),
      /Model file '.*model.onnx' for encoder 'dino-vitb16' has SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}/,
    );
  });
});

/** Serves `model` as dino-vitb16's hub file on a local port while `fn` runs; returns how often it was fetched. */
async function withHub(model: Uint8Array, fn: (hub: string) => Promise<void>): Promise<number> {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    if (new URL(request.url).pathname !== "/Xenova/dino-vitb16/resolve/main/onnx/model.onnx") {
      return new Response(null, { status: 404 });
    }
    requests++;
    return new Response(model.slice(), { headers: { "content-length": String(model.length) } });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
  return requests;
}

/** Puts `bytes` where dino-vitb16's model goes, as a user downloading it by hand would. */
async function placeByHand(cache: string, bytes: Uint8Array): Promise<string> {
  const file = join(cache, "dino-vitb16", "onnx", "model.onnx");
  await Deno.mkdir(join(cache, "dino-vitb16", "onnx"), { recursive: true });
  await Deno.writeFile(file, bytes);
  return file;
}

/** Sets the registry copy's pin of dino-vitb16's model file. */
async function pinModel(registry: string, sha256: string): Promise<void> {
  const path = join(registry, "dino-vitb16.json");
  const json = JSON.parse(await Deno.readTextFile(path));
  json.source.files[0].sha256 = sha256;
  await Deno.writeTextFile(path, JSON.stringify(json));
}

/** Every file under `dir`, relative, sorted. */
async function filesUnder(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory) out.push(...await filesUnder(dir, path));
    else out.push(path);
  }
  return out.sort();
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("models verify: a file put in by hand with no pinned SHA-256 is unverified and not registered, unless --accept-unpinned", async () => {
  await withDir(async (dir) => {
    const registry = await testRegistry(dir);
    const cache = join(dir, "cache");
    const bytes = new Uint8Array(vitModel(16, 1, 6));
    await placeByHand(cache, bytes);
    const encoderJson = join(cache, "dino-vitb16", "encoder.json");
    const args = ["verify", "dino-vitb16", "--registry", registry, "--cache-dir", cache];
    const unverified = `unverified  onnx/model.onnx  ${sha256Hex(bytes)}  (no pinned SHA-256 in ${
      join(registry, "dino-vitb16.json")
    })`;

    const before = await filesUnder(dir);
    const refused = await run(args);
    assert.equal(refused.code, 1);
    assert.deepEqual(await filesUnder(dir), before, "a refused verify writes nothing");
    assert.deepEqual(refused.out, [unverified]);
    assert.equal(
      refused.err,
      `error: 1 file(s) of 'dino-vitb16' have no pinned SHA-256 in ${
        join(registry, "dino-vitb16.json")
      }, so they were not registered; expected pinned files, or --accept-unpinned to register them as they are\n`,
    );
    assert.equal(await exists(encoderJson), false, "not registered");

    const accepted = await run([...args, "--accept-unpinned"]);
    assert.equal(accepted.code, 0, accepted.err);
    assert.deepEqual(accepted.out, [
      unverified,
      `registered the files downloaded by hand: ${encoderJson} (1 without a pinned SHA-256, recorded as "pinned": false)`,
    ]);
    const installed = JSON.parse(await Deno.readTextFile(encoderJson));
    assert.equal(installed.installedFrom, "by hand");
    assert.deepEqual(installed.files, [
      { path: "onnx/model.onnx", sha256: sha256Hex(bytes), bytes: bytes.length, pinned: false },
    ]);
    // Only encoder.json was added, inside the install folder.
    assert.deepEqual(await filesUnder(dir), [...before, join("cache", "dino-vitb16", "encoder.json")].sort());

    // Once registered, verify checks the file against the recorded hash and says it was never pinned.
    const again = await run(args);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual(again.out, [
      `unpinned  onnx/model.onnx  ${
        sha256Hex(bytes)
      }  (registered by hand with --accept-unpinned; no pinned SHA-256 in ${
        join(registry, "dino-vitb16.json")
      })`,
    ]);
  });
});

Deno.test("models verify: files put in by hand that match their pin are ok and registered; a mismatch is an error", async () => {
  await withDir(async (dir) => {
    const registry = await testRegistry(dir);
    const cache = join(dir, "cache");
    const bytes = new Uint8Array(vitModel(16, 1, 6));
    const other = new Uint8Array(vitModel(16, 0, 6));
    const file = await placeByHand(cache, other);
    const encoderJson = join(cache, "dino-vitb16", "encoder.json");
    const args = ["verify", "dino-vitb16", "--registry", registry, "--cache-dir", cache];
    await pinModel(registry, sha256Hex(bytes));

    const wrong = await run([...args, "--accept-unpinned"]);
    assert.equal(wrong.code, 1);
    assert.deepEqual(wrong.out, []);
    assert.equal(
      wrong.err,
      `error: ${file} has SHA-256 ${sha256Hex(other)}, expected ${sha256Hex(bytes)} (pinned in ${
        join(registry, "dino-vitb16.json")
      })\n`,
    );
    assert.equal(await exists(encoderJson), false, "not registered");

    await Deno.writeFile(file, bytes);
    const good = await run(args);
    assert.equal(good.code, 0, good.err);
    assert.deepEqual(good.out, [
      `ok  onnx/model.onnx  ${sha256Hex(bytes)}`,
      `registered the files downloaded by hand: ${encoderJson}`,
    ]);
    const installed = JSON.parse(await Deno.readTextFile(encoderJson));
    assert.deepEqual(installed.files, [{
      path: "onnx/model.onnx",
      sha256: sha256Hex(bytes),
      bytes: bytes.length,
    }]);
    assert.deepEqual((await run(args)).out, [`ok  onnx/model.onnx  ${sha256Hex(bytes)}`]);

    // The file and encoder.json rewritten together still fail the registry's pin.
    await Deno.writeFile(file, other);
    installed.files[0] = { path: "onnx/model.onnx", sha256: sha256Hex(other), bytes: other.length };
    await Deno.writeTextFile(encoderJson, JSON.stringify(installed));
    const rewritten = await run(args);
    assert.equal(rewritten.code, 1);
    assert.deepEqual(rewritten.out, []);
    assert.equal(
      rewritten.err,
      `error: ${file} has SHA-256 ${sha256Hex(other)}, expected ${sha256Hex(bytes)} (pinned in ${
        join(registry, "dino-vitb16.json")
      })\n`,
    );
  });
});

Deno.test("models fetch: a file put in by hand with no pin is downloaded again, not registered as it is", async () => {
  await withDir(async (dir) => {
    const registry = await testRegistry(dir);
    const cache = join(dir, "cache");
    const model = new Uint8Array(vitModel(16, 1, 6));
    const byHand = new Uint8Array(vitModel(16, 0, 6));
    const file = await placeByHand(cache, byHand);
    const args = ["fetch", "dino-vitb16", "--registry", registry, "--cache-dir", cache, "--hub-url"];
    let first = { code: -1, out: [] as string[], err: "" };
    const requests = await withHub(model, async (hub) => void (first = await run([...args, hub])));
    assert.equal(first.code, 0, first.err);
    assert.equal(requests, 1);
    assert.match(
      first.err,
      /onnx\/model.onnx: already here, but no SHA-256 is pinned for it and no earlier install recorded it; downloading it again\n/,
    );
    assert.deepEqual(await Deno.readFile(file), model);
    const installed = JSON.parse(await Deno.readTextFile(join(cache, "dino-vitb16", "encoder.json")));
    assert.deepEqual(installed.files, [{
      path: "onnx/model.onnx",
      sha256: sha256Hex(model),
      bytes: model.length,
    }]);

    // A file recorded by the earlier fetch is not downloaded again.
    let second = { code: -1, out: [] as string[], err: "" };
    assert.equal(await withHub(model, async (hub) => void (second = await run([...args, hub]))), 0);
    assert.equal(second.code, 0, second.err);
    assert.match(second.err, /^onnx\/model.onnx: already here\n$/);
  });
});

Deno.test("models fetch offline: names the host and lists the files to download by hand and where", async () => {
  await withDir(async (dir) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const r = await run([
      "fetch",
      "dinov2-large",
      "--cache-dir",
      dir,
      "--hub-url",
      `http://127.0.0.1:${port}`,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      new RegExp(
        `error: cannot reach 127.0.0.1:${port} \\(.*\\); download these files by hand into ${
          join(dir, "dinov2-large")
        }: http://127.0.0.1:${port}/Xenova/dinov2-large/resolve/main/onnx/model.onnx -> ${
          join(dir, "dinov2-large", "onnx", "model.onnx")
        }\n`,
      ),
    );
    const ssd = await run(["fetch", "ssd-1b", "--cache-dir", dir]);
    assert.equal(ssd.code, 1);
    assert.match(
      ssd.err,
      /error: Encoder 'ssd-1b' has no ready-made download; make an ONNX export of segmind\/SSD-1B with: optimum-cli export onnx --model segmind\/SSD-1B --task text-to-image DIR .*deno task models prepare ssd-1b --from DIR/,
    );
    const unknown = await run(["verify", "sd3", "--cache-dir", dir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /Encoder 'sd3' is not in the registry; expected one of .*ssd-1b/);
    assert.equal((await run(["fetch"])).code, 2);
    assert.equal((await run(["prepare", "ssd-1b"])).code, 2);
  });
});

Deno.test("segment --encoder ssd-1b: fails with what to prepare, then uses the prepared model", async () => {
  await withDir(async (dir) => {
    const cache = join(dir, "cache");
    const previous = Deno.env.get("DIFFCUT_CACHE_DIR");
    Deno.env.set("DIFFCUT_CACHE_DIR", cache);
    const errors: string[] = [];
    const logs: string[] = [];
    const { error, log } = console;
    console.error = (...a: unknown[]) => errors.push(a.join(" "));
    console.log = (...a: unknown[]) => logs.push(a.join(" "));
    try {
      const photo = new URL("../../docs/examples/chelsea.png", import.meta.url).pathname;
      const out = join(dir, "out");
      assert.equal(await segmentMain(["--encoder", "ssd-1b", "--no-refine", "--out", out, photo]), 1);
      assert.match(
        errors.join("\n"),
        /error: Encoder 'ssd-1b' is not prepared in .*cache\/ssd-1b; make an ONNX export of segmind\/SSD-1B with: optimum-cli .* \(it holds unet\/model.onnx, vae_encoder\/model.onnx, text_encoder\/model.onnx, text_encoder_2\/model.onnx and their external data\), then run: deno task models prepare ssd-1b --from DIR/,
      );

      const registry = await testRegistry(dir);
      await writeDiffusionExport(join(dir, "export"), SDXL_EXPORT);
      const prepared = await run([
        "prepare",
        "ssd-1b",
        "--from",
        join(dir, "export"),
        "--registry",
        registry,
      ]);
      assert.equal(prepared.code, 0, prepared.err);
      assert.match(prepared.err, /cutting the UNet at down_blocks.2.attentions.1.transformer_blocks.3.attn1/);
      const verified = await run(["verify", "ssd-1b", "--registry", registry]);
      assert.equal(verified.code, 0, verified.err);
      assert.equal(verified.out.length, 4);
      for (const line of verified.out) {
        assert.match(line, /^unpinned {2}\S+ {2}[0-9a-f]{64} {2}\(matches the SHA-256 recorded at install; /);
      }

      errors.length = 0;
      assert.equal(
        await segmentMain(["--encoder", "ssd-1b", "--no-refine", "--out", out, photo]),
        0,
        errors.join("\n"),
      );
      const summary = JSON.parse(await Deno.readTextFile(join(out, "chelsea.json")));
      assert.equal(summary.encoder, "ssd-1b");
      assert.deepEqual(summary.grid, { height: 4, width: 4 });
      // A small model: one thread in-process (DIFFCUT_ORT_THREADS unset or 1).
      assert.deepEqual([summary.runner, summary.threads, summary.timestep, summary.inputSize], [
        "wasm",
        1,
        50,
        128,
      ]);
      assert.match(
        logs.join("\n"),
        /encoder 'ssd-1b' \(tau 0.5, alpha 10, refine false, runner wasm, threads 1, timestep 50, input size 128\)/,
      );

      // The encoder flags reach the prepared model: another timestep and input size (grid = size / 32), and
      // every runner that loads here gives the same segmentation.
      const jpeg = join(dir, "photo.jpg");
      await Deno.copyFile(new URL("../fixtures/gradient_progressive.jpg", import.meta.url), jpeg);
      const runners = ["wasm", ...(nodeRunner ? ["node"] : []), ...(gpu ? ["webgpu"] : [])];
      const grids: number[][] = [];
      for (const runner of runners) {
        const flagged = join(dir, `out-${runner}`);
        errors.length = 0;
        const args = ["--encoder", "ssd-1b", "--runner", runner, "--timestep", "400", "--input-size", "64"];
        assert.equal(
          await segmentMain([...args, "--no-refine", "--out", flagged, jpeg]),
          0,
          errors.join("\n"),
        );
        const s = JSON.parse(await Deno.readTextFile(join(flagged, "photo.json")));
        assert.deepEqual([s.runner, s.timestep, s.inputSize, s.grid], [runner, 400, 64, {
          height: 2,
          width: 2,
        }]);
        grids.push(s.segments.map((g: { pixels: number }) => g.pixels));
      }
      for (const g of grids.slice(1)) assert.deepEqual(g, grids[0]);
      errors.length = 0;
      const bad = await segmentMain([
        "--encoder",
        "ssd-1b",
        "--timestep",
        "1000",
        "--out",
        join(dir, "x"),
        jpeg,
      ]);
      assert.equal(bad, 1);
      assert.match(errors[0], /^error: Timestep must be an integer in \[0, 999\], got 1000$/);
      errors.length = 0;
      assert.equal(
        await segmentMain(["--encoder", "ssd-1b", "--input-size", "100", "--out", join(dir, "x"), jpeg]),
        1,
      );
      assert.match(
        errors[0],
        /^error: Input size of encoder 'ssd-1b' must be a positive multiple of 32, got 100$/,
      );
    } finally {
      console.error = error;
      console.log = log;
      if (previous === undefined) Deno.env.delete("DIFFCUT_CACHE_DIR");
      else Deno.env.set("DIFFCUT_CACHE_DIR", previous);
    }
  });
});

Deno.test("models prepare --runner node without --allow-ffi stops at once with the command that grants it", async () => {
  const script = new URL("../../lib/cli/models.ts", import.meta.url).pathname;
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", script, "prepare", "ssd-1b", "--from", "x"]
      .concat(["--runner", "node"]),
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 1);
  assert.equal(
    new TextDecoder().decode(stderr).trim(),
    'error: Runner "node" (onnxruntime-node) needs --allow-ffi, which deno task models does not grant; run: deno run --allow-read --allow-write --allow-env --allow-ffi lib/cli/models.ts prepare ssd-1b --from x --runner node',
  );
});
