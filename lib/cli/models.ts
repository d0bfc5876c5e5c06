/**
 * `deno task models list | fetch <id> | prepare <id> --from DIR | verify <id>`: the encoder registry (`models/`).
 *
 * - `list`: every registered encoder, whether it is installed, its grid and source.
 * - `fetch <id>`: downloads a hub encoder's files (progress bar, resumable, SHA-256 checked) into
 *   `<cache>/<id>/`; a diffusion encoder with a ready-made ONNX export is downloaded and prepared.
 * - `prepare <id> --from DIR`: derives a diffusion encoder (VAE mean, UNet cut at the hooked `attn1`, empty-prompt
 *   conditioning) from an ONNX Stable-Diffusion export folder.
 * - `verify <id>`: checks every installed file against its recorded SHA-256 and the registry's pin, and registers
 *   files downloaded by hand that match their pins (files with no pin only with `--accept-unpinned`). Each file is
 *   `ok` (matches a pin), `unpinned` (installed, matches only the hash recorded at install) or `unverified` (by
 *   hand, nothing to check against).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DownloadUnreachableError } from "../install/download.ts";
import { resolveRunner } from "../onnx/ort_session.ts";
import {
  DEFAULT_HUB_URL,
  fetchEncoder,
  installDirOf,
  INSTALLED_SIDECAR,
  listRegistry,
  prepareEncoder,
  REGISTRY_URL,
  verifyEncoder,
} from "../install/registry.ts";

const USAGE = `Usage: deno task models <command> [options]

Commands:
  list                      registered encoders and whether they are installed
  fetch <id>                download an encoder's files (resumable, SHA-256 checked)
  prepare <id> --from DIR   derive a diffusion encoder from an ONNX Stable-Diffusion export folder
  verify <id>               check an encoder's files against their SHA-256; registers files downloaded
                            by hand that match the pins in models/<id>.json

Options:
  --from DIR        export folder for prepare (unet/, vae_encoder/, text_encoder/, text_encoder_2/)
  --runner R        ONNX Runtime for prepare's text encoders: wasm (default), webgpu, node (needs
                    --allow-ffi, which this task does not grant; faster, and not bound by wasm's 4 GB)
  --cache-dir DIR   where encoders are installed (default: $DIFFCUT_CACHE_DIR, else ~/.cache/diffcut or the
                    platform's user cache folder)
  --hub-url URL     model hub or mirror for fetch (default: ${DEFAULT_HUB_URL})
  --registry DIR    folder of encoder sidecars (default: models/)
  --accept-unpinned verify: register files downloaded by hand that the registry pins no SHA-256 for
                    (recorded as "pinned": false; check them yourself first)
  -h, --help        show this help`;

/** Where the CLI writes. */
export interface ModelsCliIo {
  /** Normal output. */
  out: (line: string) => void;
  /** Errors and progress. */
  err: (text: string) => void;
}

const DEFAULT_IO: ModelsCliIo = {
  out: (line) => console.log(line),
  err: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
};

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/**
 * A one-line progress bar: `[#######.............]  35%  12.3/35.0 MB  onnx/model.onnx`.
 *
 * @param file The file's name.
 * @param done Bytes so far.
 * @param total Total bytes, if known.
 * @param width Bar width in characters.
 * @returns The line (no carriage return).
 *
 * @example
 * ```ts
 * import { progressLine } from "./models.ts";
 * import assert from "node:assert/strict";
 * assert.equal(progressLine("m.onnx", 5e6, 10e6, 10), "[#####.....]  50%  5.0/10.0 MB  m.onnx");
 * ```
 */
export function progressLine(file: string, done: number, total: number | undefined, width = 30): string {
  if (!total) return `[${".".repeat(width)}]  ${megabytes(done)} MB  ${file}`;
  const fraction = Math.min(1, done / total);
  const filled = Math.round(fraction * width);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${percent}  ${megabytes(done)}/${
    megabytes(total)
  } MB  ${file}`;
}

/** A registry sidecar's path as the user knows it: `models/<id>.json` for the built-in registry. */
function displayPath(path: string): string {
  const builtIn = fileURLToPath(REGISTRY_URL);
  return path.startsWith(builtIn) ? `models/${path.slice(builtIn.length)}` : path;
}

async function list(io: ModelsCliIo, cacheDir: string | undefined, registryDir?: string): Promise<void> {
  const rows = [["id", "kind", "status", "grid", "source", "licence"]];
  for (const entry of await listRegistry(registryDir)) {
    const s = entry.sidecar;
    const kind = s.diffusion
      ? "diffusion"
      : s.standIn
      ? "stand-in"
      : s.source.kind === "hub"
      ? "vit"
      : "onnx";
    const installed = existsSync(join(installDirOf(entry.id, cacheDir), INSTALLED_SIDECAR));
    const status = s.source.kind === "npm" ? "built in" : installed ? "installed" : "not installed";
    const source = s.source.kind === "hub" || s.source.kind === "diffusers"
      ? s.source.repo
      : s.source.kind === "npm"
      ? `npm:${s.source.package}`
      : s.source.kind;
    const grid = `${s.output.grid}x${s.output.grid}x${s.output.channels} @${s.input.size}`;
    rows.push([entry.id, kind, status, grid, source, s.licence.split(" (")[0]]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const row of rows) io.out(row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
}

/**
 * Entry point.
 *
 * @param args Command-line arguments.
 * @param io Where output goes (tests capture it).
 * @returns The exit code: 0 on success, 1 on failure, 2 on bad usage.
 *
 * @example
 * ```ts
 * import { main } from "./models.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * assert.equal(await main(["list"], { out: (l) => lines.push(l), err: () => {} }), 0);
 * assert.ok(lines.some((l) => l.startsWith("ssd-1b ")));
 * ```
 */
export async function main(args: string[], io: ModelsCliIo = DEFAULT_IO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        from: { type: "string" },
        runner: { type: "string" },
        "cache-dir": { type: "string" },
        "hub-url": { type: "string" },
        registry: { type: "string" },
        "accept-unpinned": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [command, id, ...rest] = positionals;
  const cacheDir = values["cache-dir"];
  const registryDir = values.registry;
  const needsId = command === "fetch" || command === "prepare" || command === "verify";
  if (
    !command || !["list", "fetch", "prepare", "verify"].includes(command) || (needsId && !id) || rest.length
  ) {
    io.err(`error: expected list, fetch <id>, prepare <id> --from DIR or verify <id>\n\n${USAGE}\n`);
    return 2;
  }
  const log = (line: string) => io.err(`${line}\n`);
  let lastDraw = 0;
  const onProgress = (file: string, done: number, total: number | undefined) => {
    const now = Date.now();
    if (now - lastDraw < 100 && done !== total) return;
    lastDraw = now;
    io.err(`\r${progressLine(file, done, total)}${done === total ? "\n" : ""}`);
  };
  try {
    switch (command) {
      case "list":
        await list(io, cacheDir, registryDir);
        return 0;
      case "fetch": {
        const path = await fetchEncoder(id, {
          cacheDir,
          registryDir,
          hubUrl: values["hub-url"],
          onProgress,
          log,
        });
        io.out(`installed ${id}: ${path}`);
        return 0;
      }
      case "prepare": {
        if (!values.from) {
          io.err(`error: prepare needs --from DIR (an ONNX Stable-Diffusion export folder)\n\n${USAGE}\n`);
          return 2;
        }
        const runner = resolveRunner(values.runner, "--runner");
        if (runner === "node" && Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
          io.err(
            `error: Runner "node" (onnxruntime-node) needs --allow-ffi, which deno task models does not grant; run: deno run --allow-read --allow-write --allow-env --allow-ffi lib/cli/models.ts prepare ${id} --from ${values.from} --runner node\n`,
          );
          return 1;
        }
        const path = await prepareEncoder(id, values.from, { cacheDir, registryDir, runner, log });
        io.out(`prepared ${id}: ${path}`);
        return 0;
      }
      case "verify": {
        const acceptUnpinned = values["accept-unpinned"] ?? false;
        const report = await verifyEncoder(id, {
          cacheDir,
          registryDir,
          hubUrl: values["hub-url"],
          acceptUnpinned,
        });
        const registry = displayPath(report.registryPath);
        for (const file of report.ok) io.out(`ok  ${file.path}  ${file.sha256}`);
        for (const file of report.unpinned) {
          const how = file.pinned === false
            ? "registered by hand with --accept-unpinned"
            : "matches the SHA-256 recorded at install";
          io.out(`unpinned  ${file.path}  ${file.sha256}  (${how}; no pinned SHA-256 in ${registry})`);
        }
        for (const file of report.unverified) {
          io.out(`unverified  ${file.path}  ${file.sha256}  (no pinned SHA-256 in ${registry})`);
        }
        for (const problem of report.problems) io.err(`error: ${problem}\n`);
        const refused = report.unverified.length > 0 && !report.adopted;
        if (refused && report.problems.length === 0) {
          io.err(
            `error: ${report.unverified.length} file(s) of '${id}' have no pinned SHA-256 in ${registry}, so they were not registered; expected pinned files, or --accept-unpinned to register them as they are\n`,
          );
        }
        if (report.adopted) {
          const unpinned = report.unverified.length
            ? ` (${report.unverified.length} without a pinned SHA-256, recorded as "pinned": false)`
            : "";
          io.out(`registered the files downloaded by hand: ${report.sidecarPath}${unpinned}`);
        }
        return report.problems.length === 0 && !refused ? 0 : 1;
      }
    }
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    io.err(`\nerror: ${message}\n`);
    if (error instanceof DownloadUnreachableError && message.includes("may not contact")) {
      io.err(
        `hint: this task may contact the model hub only; for another host (a mirror, a redirect) add --allow-net=${error.host}\n`,
      );
    }
    return 1;
  }
  return 2;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
