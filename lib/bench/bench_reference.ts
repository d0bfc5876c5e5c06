/**
 * `deno task bench-reference FIXTURES OUT.json [RUNS]`: the project's side of `/work/shared/bench/ref_clustering.py`
 * (the authors' `generate_masks` + PAMR on CPU torch), over the same fixture folder (`cases.json` + raw float32
 * 32×32×C feature maps, see write_fixtures.ts), timing the same work per case:
 *
 * - `cluster_s`: affinity (self-loops kept, as the reference) + partition tree to τ + cut at τ (the recursion with
 *   the reference's exact-zero handling, `compat: "reference"`) + concept assignment at 128²;
 * - `pamr_s`: PAMR (10 iterations, dilations 1, 2, 4, 8) + argmax + 3×3 median at 128² on a random 128² image.
 *
 * CPU path (`backend: "cpu"`). One untimed warm-up case first (ONNX Runtime session start-up, JIT); with RUNS > 1
 * each case reports its median. Writes `[{key, cluster_s, pamr_s, segments}]` for `compare.py`.
 *
 * @module
 */
import { join } from "node:path";
import { assignConcepts, buildPartitionTree, refinePamr } from "../stages.ts";
import { cutTree } from "../ncut/cut_tree.ts";
import { seededRandom } from "../random.ts";
import type { FeatureMap, ImageRGB } from "../types.ts";
import type { FixtureCase } from "./write_fixtures.ts";

const SIZE = { height: 128, width: 128 };

/** Reads one fixture's feature map (1024 rows, a 32×32 grid). */
export function readFixture(dir: string, c: FixtureCase): FeatureMap {
  const bytes = Deno.readFileSync(join(dir, c.features));
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (data.length !== 1024 * c.channels) throw new RangeError(`${c.key}: ${data.length} floats`);
  return { height: 32, width: 32, channels: c.channels, data: data.slice() };
}

/** The reference's clustering stage on one case: grid labels → 128² labels. */
async function cluster(f: FeatureMap, c: FixtureCase): Promise<Int32Array> {
  const tree = await buildPartitionTree(f, {
    alpha: c.alpha,
    tauMax: c.tau,
    compat: "reference",
    backend: "cpu",
  });
  return await assignConcepts(f, cutTree(tree, c.tau), SIZE, { backend: "cpu" });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

if (import.meta.main) {
  const [dir, out, runsArg] = Deno.args;
  if (!dir || !out) {
    console.error("usage: bench_reference.ts FIXTURES OUT.json [RUNS]");
    Deno.exit(2);
  }
  const runs = Math.max(1, Number(runsArg ?? 1));
  const cases: FixtureCase[] = JSON.parse(Deno.readTextFileSync(join(dir, "cases.json")));
  const rand = seededRandom(0);
  const image: ImageRGB = { ...SIZE, data: new Float32Array(SIZE.height * SIZE.width * 3).map(() => rand()) };
  {
    const f = readFixture(dir, cases[0]);
    await refinePamr(image, await cluster(f, cases[0]), { backend: "cpu" });
  }
  const results = [];
  for (const c of cases) {
    const f = readFixture(dir, c);
    const ct: number[] = [], pt: number[] = [];
    let labels: Int32Array = new Int32Array(0);
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      labels = await cluster(f, c);
      const t1 = performance.now();
      await refinePamr(image, labels, { backend: "cpu" });
      const t2 = performance.now();
      ct.push((t1 - t0) / 1e3);
      pt.push((t2 - t1) / 1e3);
    }
    const row = { key: c.key, cluster_s: median(ct), pamr_s: median(pt), segments: new Set(labels).size };
    results.push(row);
    console.log(
      `${c.key}: cluster ${row.cluster_s.toFixed(3)}s pamr ${row.pamr_s.toFixed(3)}s K=${row.segments}`,
    );
  }
  Deno.writeTextFileSync(out, JSON.stringify(results));
}
