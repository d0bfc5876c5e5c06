/** Helpers of the `segment` CLI tests: band images, a captured `main(args)` run, folder listings, temp folders. */
import { main } from "../../lib/cli/segment.ts";
import type { ImageRGB } from "../../lib/types.ts";

const HUES: [number, number, number][] = [[0.9, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.9]];

/** `bands` vertical hue bands of equal width (multiples of the 32-cell grid's cell width). */
export function bandImage(height: number, width: number, bands: number): ImageRGB {
  const data = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(HUES[Math.floor((x * bands) / width)], (y * width + x) * 3);
  }
  return { data, height, width };
}

/** Runs `main(args)` with console.log/error captured. */
export async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Sorted names in a folder, or [] when it does not exist. */
export async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "diffcut-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
