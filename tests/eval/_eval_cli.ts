/**
 * Private test helpers for `deno task eval` run as a subprocess: the command, a generated VOC folder and the
 * options the CLI tests share.
 *
 * @module
 */
import { join } from "node:path";
import { encodeLabelPng, encodeRgbPng } from "../../lib/image/encode_png.ts";

/** Repository root. */
export const REPO = new URL("../..", import.meta.url).pathname;
/** The eval CLI. */
export const CLI = join(REPO, "lib", "cli", "eval.ts");

/** The eval CLI as a subprocess with the task's permissions. */
export function command(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", CLI, ...args],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** Runs the eval CLI to the end. */
export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await command(args).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * A VOC folder of `count` 96×80 pictures: a red left part (class 1) whose width varies per image, a grey top
 * right (background) and a blue bottom right (class 2). The label boundaries are offset from the colour
 * boundaries by a few pixels so that scores are not all 1.
 */
export async function makeFolder(root: string, count: number): Promise<void> {
  await Deno.mkdir(join(root, "JPEGImages"), { recursive: true });
  await Deno.mkdir(join(root, "SegmentationClassPNG"), { recursive: true });
  await Deno.writeTextFile(join(root, "class_names.txt"), "_background_\nred\nblue\n");
  const w = 96, h = 80;
  for (let k = 0; k < count; k++) {
    const split = 20 + 5 * k;
    const data = new Float32Array(w * h * 3);
    const labels = new Int32Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        data.set(x < split ? [0.9, 0.2, 0.1] : y < 30 ? [0.5, 0.5, 0.5] : [0.1, 0.2, 0.9], (y * w + x) * 3);
        labels[y * w + x] = x < split + 3 ? 1 : y < 34 ? 0 : 2;
      }
    }
    const id = `im${String(k).padStart(2, "0")}`;
    await Deno.writeFile(join(root, "JPEGImages", `${id}.png`), encodeRgbPng({ data, height: h, width: w }));
    await Deno.writeFile(
      join(root, "SegmentationClassPNG", `${id}.png`),
      encodeLabelPng({ data: labels, height: h, width: w }),
    );
  }
}

/** Options of the CLI tests (rgb-grid, DiffCut and k-means, concept/nearest, PAMR off/on). */
export const BASE = [
  "--dataset",
  "voc-folder",
  "--encoder",
  "rgb-grid",
  "--method",
  "diffcut,kmeans",
  "--tau",
  "0.1,0.5",
  "--k",
  "2",
  "--upsample",
  "concept,nearest",
  "--refine-both",
  "--no-progress",
];

/** The parts of results.json the tests read. */
export interface ResultsJson {
  images: number;
  expectedImages: number;
  rows: { key: string; miou: number; tp: number[]; fp: number[]; fn: number[]; all: number }[];
  config: {
    encoder: { id: string; sha256: string | null };
    settings: { taus: number[]; alpha: number; refine: boolean[]; upsample: string[] };
    codeVersion: string | null;
  };
  timing: { imagesThisSession: number };
}

/** Reads `<dir>/<name>.json`. */
export async function results(dir: string, name = "results"): Promise<ResultsJson> {
  return JSON.parse(await Deno.readTextFile(join(dir, `${name}.json`)));
}
