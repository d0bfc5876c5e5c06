/**
 * `Math.exp` of many float64 values at once in WebAssembly SIMD (`lib/wasm/exp.wat`), giving the very bits
 * `Math.exp` gives. PAMR's softmax takes one exp per pixel and neighbour (5.6 million at 512×341), and its
 * reference calls `Math.exp`, so the fast path must return the same values to keep the labels bit-identical.
 *
 * This is possible because the engine's `Math.exp` is correctly rounded (V8's is: it agreed with the
 * correctly rounded value on every input we checked, where glibc's `exp` and fdlibm's did not): every correctly
 * rounded exp returns the same double. The kernel computes exp to a relative error below 2^-64 and returns its
 * rounding only where that rounding is provably the correct one; the rest (about 1 value in 700, and the
 * subnormal and overflow ranges) go to `Math.exp` itself. {@linkcode exactExpKernel} first compares the kernel with
 * `Math.exp` on inputs spread over the whole range and near rounding boundaries: an engine whose `Math.exp` is
 * not correctly rounded fails that check, and its callers keep calling `Math.exp` one value at a time.
 *
 * The table's values 2^(j/1024) come from a double-double Taylor series computed here at start-up (a few
 * milliseconds, once per memory), so no constant of anyone else's is copied in.
 *
 * @module
 */
import { embeddedModule } from "./embedded_module.ts";
import { WASM_BASE64 } from "./exp_wasm.ts";
import { seededRandom } from "../random.ts";
import { sharedMemory } from "./shared_memory.ts";

/** Entries of the kernel's table, 2^(j/N) for j < N. */
const N = 1024;
/** Bytes of the table the kernel reads: a 32-byte header and N entries of two float64. */
export const EXP_TABLE_BYTES = 32 + N * 16;

/** A double-double: the unevaluated sum hi + lo with |lo| ≤ ulp(hi)/2. */
type DD = [number, number];

function twoSum(a: number, b: number): DD {
  const s = a + b, bb = s - a;
  return [s, (a - (s - bb)) + (b - bb)];
}

function fastTwoSum(a: number, b: number): DD {
  const s = a + b;
  return [s, b - (s - a)];
}

/** Veltkamp's split of a double into two halves of at most 26 significant bits each. */
function split(a: number): DD {
  const c = 134217729 * a, hi = c - (c - a);
  return [hi, a - hi];
}

/** Dekker's exact product: a·b = p + e. */
function twoProd(a: number, b: number): DD {
  const p = a * b, [ah, al] = split(a), [bh, bl] = split(b);
  return [p, ((ah * bh - p) + ah * bl + al * bh) + al * bl];
}

function ddMul(a: DD, b: DD): DD {
  const [p, e] = twoProd(a[0], b[0]);
  return fastTwoSum(p, e + (a[0] * b[1] + a[1] * b[0]));
}

function ddAdd(a: DD, b: DD): DD {
  const [s, e] = twoSum(a[0], b[0]);
  return fastTwoSum(s, e + a[1] + b[1]);
}

/** a / n for a small positive integer n. */
function ddDivInt(a: DD, n: number): DD {
  const q1 = a[0] / n, [p, e] = twoProd(q1, n);
  return fastTwoSum(q1, ((a[0] - p) - e + a[1]) / n);
}

/** ln 2 as a double-double (its nearest double and the nearest double to the remainder). */
const LN2: DD = [0.6931471805599453, 2.3190468138462996e-17];

/** e^a for 0 ≤ a < 1 by its Taylor series in double-double arithmetic (relative error ~2^-100). */
function ddExp(a: DD): DD {
  let sum: DD = [1, 0], term: DD = [1, 0];
  for (let n = 1; n < 60 && Math.abs(term[0]) > 2 ** -110; n++) {
    term = ddDivInt(ddMul(term, a), n);
    sum = ddAdd(sum, term);
  }
  return sum;
}

/**
 * Writes the kernel's table into `view` at `byteOffset`: 1024/ln2; C1 = ln2/1024 cut to 32 significant bits (so
 * k·C1 is exact for |k| < 2^21, all k of the kernel's range) and C2 = ln2/1024 − C1; the relative error bound
 * 2^-63 (see `exp.wat`); then for j = 0…1023 the double-double 2^(j/1024) = Th + Tl.
 *
 * @param view The memory's view.
 * @param byteOffset Where the table starts (8-byte aligned).
 */
export function writeExpTable(view: DataView, byteOffset: number): void {
  const step = LN2[0] / N;
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, step);
  bits.setUint32(4, bits.getUint32(4) & ~0x1fffff); // the low 21 of the 52 fraction bits
  const c1 = bits.getFloat64(0);
  const c2 = (step - c1) + LN2[1] / N; // the first difference is exact
  const header = [N / LN2[0], c1, c2, 2 ** -63];
  header.forEach((v, i) => view.setFloat64(byteOffset + 8 * i, v, true));
  // 2^(j/N) = 2^(a/32) · 2^(b/N) for j = 32a + b: 64 series and N products instead of N series.
  const power = (i: number, of: number): DD => {
    const [p, e] = twoProd(i, LN2[0]);
    return ddExp(fastTwoSum(p / of, (e + i * LN2[1]) / of));
  };
  const coarse = Array.from({ length: N / 32 }, (_, a) => power(a, N / 32));
  const fine = Array.from({ length: 32 }, (_, b) => power(b, N));
  for (let j = 0; j < N; j++) {
    const [th, tl] = ddMul(coarse[j >> 5], fine[j & 31]);
    view.setFloat64(byteOffset + 16 * (j + 2), th, true);
    view.setFloat64(byteOffset + 16 * (j + 2) + 8, tl, true);
  }
}

/** The kernel bound to one memory: `exp(at, count)` replaces `count` float64 at byte `at` by their exp. */
export type ExpKernel = (at: number, count: number) => void;

/** Whether this engine's Math.exp agreed with the kernel (checked once per process). */
let agrees: boolean | undefined;

/**
 * The exp kernel on `memory`, with its table written at `tableAt` (`EXP_TABLE_BYTES` bytes, 8-byte aligned),
 * or `null` where WebAssembly SIMD is missing or this engine's `Math.exp` differs from the kernel anywhere on
 * the check: the caller then applies `Math.exp` itself.
 *
 * @param memory The memory holding the values and the table (shared: `sharedMemory`).
 * @param tableAt Byte offset of the table.
 * @param writeTable Write the table (false: another thread has written it at `tableAt` in this shared memory).
 * @returns The kernel, or null.
 *
 * @example
 * ```ts
 * import { EXP_TABLE_BYTES, exactExpKernel } from "./exact_exp.ts";
 * import { sharedMemory } from "./shared_memory.ts";
 * const memory = sharedMemory(EXP_TABLE_BYTES + 24);
 * const exp = exactExpKernel(memory, 0);
 * if (exp) {
 *   const values = new Float64Array(memory.buffer, EXP_TABLE_BYTES, 3);
 *   values.set([0, -1, 2.5]);
 *   exp(EXP_TABLE_BYTES, 3);
 *   if (!values.every((v, i) => v === Math.exp([0, -1, 2.5][i]))) throw new Error("not Math.exp");
 * }
 * ```
 */
export function exactExpKernel(
  memory: WebAssembly.Memory,
  tableAt: number,
  writeTable = true,
): ExpKernel | null {
  const module = embeddedModule(WASM_BASE64);
  if (!module) return null;
  agrees ??= selfCheck();
  if (!agrees) return null;
  const known = bound.get(memory);
  if (known?.tableAt === tableAt) return known.kernel;
  if (writeTable) writeExpTable(new DataView(memory.buffer), tableAt);
  const instance = new WebAssembly.Instance(module, { env: { memory, exp: Math.exp } });
  const expInPlace = instance.exports.expInPlace as (p: number, n: number, table: number) => void;
  const kernel: ExpKernel = (at, count) => expInPlace(at, count, tableAt);
  bound.set(memory, { tableAt, kernel });
  return kernel;
}

/** The kernel already bound to a memory, and where its table is: a memory kept between calls keeps both. */
const bound = new WeakMap<WebAssembly.Memory, { tableAt: number; kernel: ExpKernel }>();

/**
 * Compares the kernel with Math.exp on 20,000 inputs: random over the kernel's range and beyond, and values
 * whose exp lies next to a rounding boundary of the reduction.
 */
function selfCheck(): boolean {
  const n = 20_000;
  const memory = sharedMemory(EXP_TABLE_BYTES + 8 * n);
  writeExpTable(new DataView(memory.buffer), 0);
  const instance = new WebAssembly.Instance(embeddedModule(WASM_BASE64)!, {
    env: { memory, exp: Math.exp },
  });
  const values = new Float64Array(memory.buffer, EXP_TABLE_BYTES, n);
  const random = seededRandom(0x2545f491);
  for (let i = 0; i < n; i++) {
    const kind = i % 4;
    values[i] = kind === 0
      ? -750 + 1460 * random() // the whole range and past both ends
      : kind === 1
      ? -30 * random() // softmax logits
      : kind === 2
      ? ((Math.round(random() * 20000 - 10000) + 0.5) * LN2[0]) / N // near the reduction's break points
      : (random() - 0.5) * 1e-6; // near zero
  }
  values[0] = 0, values[1] = -0, values[2] = -Infinity, values[3] = Infinity, values[4] = NaN, values[5] = 1;
  const inputs = values.slice();
  (instance.exports.expInPlace as (p: number, n: number, t: number) => void)(EXP_TABLE_BYTES, n, 0);
  return inputs.every((x, i) => Object.is(values[i], Math.exp(x)));
}
