/**
 * The cosine Gram matrix through ONNX Runtime's wasm `MatMul` (SIMD kernels): the same product as
 * {@linkcode cosineGram}, with float32 accumulation (like the reference's GPU matmul) instead of float64.
 *
 * Only the upper block triangle is computed: the rows are split into 4 blocks and the 10 products `Xi Xjᵀ`
 * (i ≤ j) give the whole symmetric matrix for 10/16 of the work. Measured on the project's 2-core machine for a
 * 1024×1280 input: 89 ms for one full MatMul, 55–64 ms for the block triangle, against ~290 ms in TypeScript.
 *
 * @module
 */
import p from "npm:onnx-proto@8.0.1";
import { createOrtSession, type OrtSession } from "../onnx/ort_session.ts";
import { powInt } from "./affinity.ts";
import { ConstantAffinityError } from "./constant_affinity_error.ts";
import { matrixMemory, squareMatrix } from "../wasm/square_matrix.ts";
import { embeddedModule } from "../wasm/embedded_module.ts";
import { WASM_BASE64 as UPPER_AFFINITY_WASM } from "../wasm/upper_affinity_wasm.ts";
import { f32Bits, MatrixJob, matrixRowWork, matrixTeam } from "../wasm/matrix_team.ts";

const { onnx } = p;

/** Row blocks of the block-triangular product. */
const BLOCKS = 4;

const sessions = new Map<number, Promise<OrtSession>>();

/** Sizes of the row blocks of an n-row matrix (the first n mod B blocks get one extra row). */
function blockSizes(n: number): number[] {
  const b = Math.min(BLOCKS, n);
  return Array.from({ length: b }, (_, i) => Math.floor(n / b) + (i < n % b ? 1 : 0));
}

/** A model splitting `x` (n×c) into row blocks and computing every `Xi · Xjᵀ`, i ≤ j. */
function gramModelBytes(sizes: number[]): Uint8Array {
  const { FLOAT, INT64 } = onnx.TensorProto.DataType;
  const { INT, INTS } = onnx.AttributeProto.AttributeType;
  const info = (name: string) => ({ name, type: { tensorType: { elemType: FLOAT } } });
  const b = sizes.length;
  const xs = sizes.map((_, i) => `x${i}`);
  const node: Record<string, unknown>[] = [
    { opType: "Split", input: ["x", "sizes"], output: xs, attribute: [{ name: "axis", type: INT, i: 0 }] },
    ...xs.map((x, j) => ({
      opType: "Transpose",
      input: [x],
      output: [`t${j}`],
      attribute: [{ name: "perm", type: INTS, ints: [1, 0] }],
    })),
  ];
  const output = [];
  for (let i = 0; i < b; i++) {
    for (let j = i; j < b; j++) {
      node.push({ opType: "MatMul", input: [xs[i], `t${j}`], output: [`g${i}_${j}`] });
      output.push(info(`g${i}_${j}`));
    }
  }
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 18 }],
    graph: {
      name: "cosine_gram_blocks",
      node,
      initializer: [{ name: "sizes", dataType: INT64, dims: [b], int64Data: sizes }],
      input: [info("x")],
      output,
    },
  }).finish();
}

/** The upper block triangle `Xi Xjᵀ` (i ≤ j) of `x xᵀ` as ONNX Runtime returns it: `blocks[i][j]`, row-major
 * `sizes[i]×sizes[j]`, null below the diagonal. */
async function gramBlocks(
  x: Float32Array,
  n: number,
  c: number,
): Promise<{ sizes: number[]; blocks: (Float32Array | null)[][] }> {
  const sizes = blockSizes(n);
  let session = sessions.get(n);
  if (!session) {
    sessions.set(n, session = createOrtSession(gramModelBytes(sizes), { label: "the cosine Gram model" }));
  }
  const outputs = await (await session).run({ x: { data: x, dims: [n, c] } });
  return {
    sizes,
    blocks: sizes.map((_, i) => sizes.map((_, j) => j < i ? null : outputs[`g${i}_${j}`].data)),
  };
}

/**
 * `x xᵀ` for `n` rows of length `c` (row-major float32), computed by ONNX Runtime.
 *
 * @param x Rows.
 * @param n Row count.
 * @param c Row length.
 * @param mirror Copy the upper triangle onto the lower one; false leaves the strict lower triangle unspecified
 * (for {@linkcode affinityFromUpperGram}, which mirrors after its element-wise work). @default true
 * @returns The n×n Gram matrix (float32, float32 accumulation), exactly symmetric.
 */
export async function cosineGramOnnx(
  x: Float32Array,
  n: number,
  c: number,
  mirror = true,
): Promise<Float32Array> {
  const { sizes, blocks } = await gramBlocks(x, n, c);
  // In WebAssembly memory, where the solver's SIMD products read it. Not zeroed: every entry of the upper block
  // triangle is written below, and the rest is the mirror's (or unspecified without it).
  const g = squareMatrix(n, false);
  const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, v) => a + v, 0));
  for (let i = 0; i < sizes.length; i++) {
    for (let j = i; j < sizes.length; j++) {
      const block = blocks[i][j]!;
      const rows = sizes[i], cols = sizes[j];
      for (let r = 0; r < rows; r++) {
        g.set(block.subarray(r * cols, (r + 1) * cols), (starts[i] + r) * n + starts[j]);
      }
    }
  }
  if (mirror) mirrorUpper(g, n);
  return g;
}

/**
 * `finishAffinity` (min-max, power α, diagonal rule) on a Gram matrix whose upper triangle alone is set
 * (`cosineGramOnnx(x, n, c, false)`): the element-wise work runs on the upper triangle only, then it is mirrored.
 * The same float32 values as `finishAffinity` on the mirrored Gram matrix (the min and max of a symmetric matrix
 * are those of its upper triangle), for about half the element-wise work.
 *
 * @param g Gram matrix, upper triangle (diagonal included) set; overwritten with the affinity.
 * @param n Order.
 * @param alpha Exponent (≥ 1).
 * @param selfLoops Keep the diagonal.
 * @param engine `"wasm"`: the min, max and power in WebAssembly SIMD (`lib/wasm/upper_affinity.wat`) when `g`
 * lives in a `squareMatrix` memory and α is an integer; `"typescript"`: always the loops here (the reference).
 * Both give the same bits. @default "wasm"
 * @returns `g`.
 * @throws {ConstantAffinityError} When every entry is the same.
 */
export function affinityFromUpperGram(
  g: Float32Array,
  n: number,
  alpha: number,
  selfLoops: boolean,
  engine: "wasm" | "typescript" = "wasm",
): Float32Array {
  const simd = engine === "wasm" && Number.isInteger(alpha) && alpha < 2 ** 31
    ? upperAffinityKernels(g, n)
    : null;
  let lo = Infinity, hi = -Infinity;
  if (simd) [lo, hi] = simd.minMax();
  // The kernel's lanes may settle a tie between −0 and +0 differently from this scan's order: rescan then.
  if (!simd || lo === 0 || hi === 0) {
    lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) {
      for (let k = i * n + i, end = (i + 1) * n; k < end; k++) {
        const v = g[k];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  const range = Math.fround(hi - lo);
  if (!(range > 0)) throw new ConstantAffinityError();
  if (simd) simd.power(lo, range, alpha);
  else {
    const integer = Number.isInteger(alpha);
    for (let i = 0; i < n; i++) {
      for (let k = i * n + i, end = (i + 1) * n; k < end; k++) {
        const t = Math.fround(Math.fround(g[k] - lo) / range);
        g[k] = integer ? powInt(t, alpha) : Math.pow(t, alpha);
      }
    }
  }
  if (simd) simd.mirror();
  else mirrorUpper(g, n);
  if (!selfLoops) { for (let i = 0; i < n; i++) g[i * n + i] = 0; }
  return g;
}

/**
 * The affinity of unit rows `x` on the CPU path with the ONNX Gram:
 * `affinityFromUpperGram(await cosineGramOnnx(x, n, c, false), n, alpha, selfLoops)`, whose element-wise work
 * and mirror run in WebAssembly SIMD (4,096²: ~40 ms, against ~150 ms for the earlier fused TypeScript pass).
 *
 * @param x Unit rows, row-major n×c.
 * @param n Row count.
 * @param c Row length.
 * @param alpha Exponent (≥ 1).
 * @param selfLoops Keep the diagonal.
 * @returns The n×n affinity.
 * @throws {ConstantAffinityError} When every entry is the same.
 */
export async function affinityFromGramOnnx(
  x: Float32Array,
  n: number,
  c: number,
  alpha: number,
  selfLoops: boolean,
): Promise<Float32Array> {
  return affinityFromUpperGram(await cosineGramOnnx(x, n, c, false), n, alpha, selfLoops);
}

/** The kernels of `lib/wasm/upper_affinity.wat` bound to a matrix's memory. */
interface UpperAffinityKernels {
  /** The smallest and largest entry of the upper triangle (see the `.wat` for ties between zeros). */
  minMax(): [number, number];
  /** Min-max and integer power of the upper triangle in place. */
  power(lo: number, range: number, alpha: number): void;
  /** Copies the strict upper triangle onto the lower one. */
  mirror(): void;
}

const upperInstances = new WeakMap<WebAssembly.Memory, WebAssembly.Instance>();

/** The kernels for `g` when it lives in a `squareMatrix` memory and WebAssembly SIMD runs here, else null. */
function upperAffinityKernels(g: Float32Array, n: number): UpperAffinityKernels | null {
  const module = embeddedModule(UPPER_AFFINITY_WASM);
  const where = module ? matrixMemory(g, n) : undefined;
  if (!module || !where) return null;
  const { memory, xAt } = where;
  let instance = upperInstances.get(memory);
  if (!instance) upperInstances.set(memory, instance = new WebAssembly.Instance(module, { env: { memory } }));
  const exports = instance.exports as {
    upperMinMax(g: number, n: number, out: number): void;
    upperPower(g: number, n: number, lo: number, range: number, alpha: number): void;
    mirrorUpper(g: number, n: number): void;
  };
  // Large matrices: rows shared with the matrix team's helpers (same bits; lib/wasm/matrix_team.ts).
  const threaded = n >= UPPER_THREADS_MIN_ORDER ? matrixTeam(memory) : undefined;
  if (threaded) {
    const { team, slot } = threaded, work = matrixRowWork(memory);
    const run = (job: number, args: number[], rows: number, chunk: number) =>
      team.run(slot, work, job, args, rows, chunk);
    return {
      minMax() {
        // Each thread leaves its pair at xAt + 8t (the solver's vector slot is free until the affinity is done);
        // a thread that took no rows leaves the empty pair. Folded in thread order with the scan's comparisons.
        const pairs = new Float32Array(memory.buffer, xAt, 2 * team.threads);
        for (let t = 0; t < team.threads; t++) pairs.set([Infinity, -Infinity], 2 * t);
        run(MatrixJob.upperMinMax, [0, n, xAt], n, UPPER_CHUNK_ROWS);
        let lo = Infinity, hi = -Infinity;
        for (let t = 0; t < pairs.length / 2; t++) {
          if (pairs[2 * t] < lo) lo = pairs[2 * t];
          if (pairs[2 * t + 1] > hi) hi = pairs[2 * t + 1];
        }
        return [lo, hi];
      },
      power: (lo, range, alpha) =>
        run(MatrixJob.upperPower, [0, n, f32Bits(lo), f32Bits(range), alpha], n, UPPER_CHUNK_ROWS),
      mirror: () => run(MatrixJob.mirror, [0, n], Math.ceil(n / 32), 2),
    };
  }
  return {
    minMax() {
      exports.upperMinMax(0, n, xAt); // the solver's vector slot is free until the affinity is done
      const out = new Float32Array(memory.buffer, xAt, 2);
      return [out[0], out[1]];
    },
    power: (lo, range, alpha) => exports.upperPower(0, n, lo, range, alpha),
    mirror: () => exports.mirrorUpper(0, n),
  };
}

/** Affinities of at least this order run their element-wise pass on the matrix team's threads too. */
const UPPER_THREADS_MIN_ORDER = 1024;
/** Rows per claim of those jobs (upper-triangle rows shorten down the matrix: claims balance them). */
const UPPER_CHUNK_ROWS = 32;

/** Copies the strict upper triangle onto the lower one, in 32×32 tiles to stay cache friendly. */
function mirrorUpper(g: Float32Array, n: number): void {
  const T = 32;
  for (let bi = 0; bi < n; bi += T) {
    for (let bj = bi; bj < n; bj += T) {
      const iEnd = Math.min(bi + T, n), jEnd = Math.min(bj + T, n);
      for (let i = bi; i < iEnd; i++) {
        for (let j = Math.max(bj, i + 1); j < jEnd; j++) g[j * n + i] = g[i * n + j];
      }
    }
  }
}
