/**
 * The cosine Gram matrix through ONNX Runtime's wasm `MatMul` (SIMD kernels, the runtime's thread pool): the
 * same product as {@linkcode cosineGram}, about 3–6× faster than plain TypeScript on these machines, with float32
 * accumulation (like the reference's GPU matmul) instead of float64.
 *
 * @module
 */
import p from "onnx-proto";
import { createOrtSession, type OrtSession } from "../encoder/ort_session.ts";

const { onnx } = p;

let session: Promise<OrtSession> | undefined;

/** A two-node model `g = x · xᵀ` with symbolic n and c. */
function gramModelBytes(): Uint8Array {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const info = (name: string, dims: string[]) => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimParam: d })) } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "cosine_gram",
      node: [
        {
          opType: "Transpose",
          input: ["x"],
          output: ["xt"],
          attribute: [{ name: "perm", type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 0] }],
        },
        { opType: "MatMul", input: ["x", "xt"], output: ["g"] },
      ],
      input: [info("x", ["n", "c"])],
      output: [info("g", ["n", "n"])],
    },
  }).finish();
}

/**
 * `x xᵀ` for `n` rows of length `c` (row-major float32), computed by ONNX Runtime.
 *
 * @param x Rows.
 * @param n Row count.
 * @param c Row length.
 * @returns The n×n Gram matrix (float32, float32 accumulation).
 */
export async function cosineGramOnnx(x: Float32Array, n: number, c: number): Promise<Float32Array> {
  session ??= createOrtSession(gramModelBytes(), { label: "the cosine Gram model" });
  const s = await session;
  const { g } = await s.run({ x: { data: x, dims: [n, c] } });
  // Exact symmetry (the reference's matrix is symmetric up to rounding; ours is made exactly so).
  const out = g.data;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) out[j * n + i] = out[i * n + j];
  return out;
}
