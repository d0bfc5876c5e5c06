/**
 * `deno task bench-fixtures OUT_DIR [--encoder isnet|mobilenet-v2] [--tau T] [--alpha A] IMAGE...`: writes a
 * fixture folder for `/work/shared/bench/ref_clustering.py` and `bench_reference.ts`: each image's 32×32 feature
 * map as raw little-endian float32 (1024 rows × C channels, row-major) plus `cases.json`
 * (`[{key, features, channels, tau, alpha}]`). τ and α default to the encoder's sidecar defaults. Appends to an
 * existing `cases.json` (same key: replaced), so several encoders can share one folder. Keep fixtures outside the
 * repository: they are data, not source.
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import { parseArgs } from "node:util";
import { loadEncoder } from "../encoder/load_encoder.ts";
import { loadImage } from "../image/load_image.ts";

/** One entry of `cases.json`. */
export interface FixtureCase {
  /** Unique case name (encoder/image). */
  key: string;
  /** Feature file name inside the folder. */
  features: string;
  /** Channels per row. */
  channels: number;
  /** Stopping threshold. */
  tau: number;
  /** Affinity exponent. */
  alpha: number;
}

if (import.meta.main) {
  const { values: args, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      encoder: { type: "string", default: "isnet" },
      tau: { type: "string" },
      alpha: { type: "string" },
    },
  });
  const [out, ...images] = positionals;
  if (!out || images.length === 0) {
    console.error("usage: write_fixtures.ts OUT_DIR [--encoder ID] [--tau T] [--alpha A] IMAGE...");
    Deno.exit(2);
  }
  Deno.mkdirSync(out, { recursive: true });
  const casesPath = join(out, "cases.json");
  let cases: FixtureCase[] = [];
  try {
    cases = JSON.parse(Deno.readTextFileSync(casesPath));
  } catch { /* new folder */ }
  const encoder = await loadEncoder(args.encoder);
  const tau = args.tau !== undefined ? Number(args.tau) : encoder.defaults.tau;
  const alpha = args.alpha !== undefined ? Number(args.alpha) : encoder.defaults.alpha;
  const used = new Set<string>();
  for (const path of images) {
    let stem = basename(path, extname(path));
    for (let i = 2; used.has(stem); i++) stem = `${basename(path, extname(path))}_${i}`;
    used.add(stem);
    const f = await encoder.encode(await loadImage(path));
    if (f.height * f.width !== 1024) {
      throw new RangeError(`${path}: ${f.height}×${f.width} grid, the harness expects 32×32`);
    }
    const key = `${args.encoder}/${stem}`;
    const file = `${args.encoder}_${stem}.f32`;
    const bytes = new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength);
    Deno.writeFileSync(join(out, file), bytes);
    cases = cases.filter((c) => c.key !== key);
    cases.push({ key, features: file, channels: f.channels, tau, alpha });
    console.log(`${key}: ${f.height}×${f.width}×${f.channels}`);
  }
  await encoder.dispose();
  Deno.writeTextFileSync(casesPath, JSON.stringify(cases, null, 1) + "\n");
}
