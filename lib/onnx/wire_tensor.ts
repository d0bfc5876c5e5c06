/**
 * Tensors crossing between the main thread and ONNX Runtime's worker ({@linkcode ./ort_wasm_worker.ts}) as bare
 * `ArrayBuffer`s, moved (transferred) where the sender owns them. Not typed arrays: Deno 2.9.6's
 * `node:worker_threads` clones a typed array element by element (a 30 MB `Uint8Array` took 5 s to arrive, its
 * `ArrayBuffer` 3 ms, transferred or copied alike).
 *
 * @module
 */

/** A tensor as it crosses the thread boundary: ONNX Runtime's element type name, values, dimensions. */
export interface WireTensor {
  /** ONNX Runtime's element type name (`"float32"`, `"float16"`, `"int64"`, ...). */
  type: string;
  /** The values, row-major, filling the whole buffer (float16 as raw bit patterns). */
  buffer: ArrayBuffer;
  /** The tensor's dimensions, outermost first. */
  dims: readonly number[];
}

type TypedArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint32Array
  | BigUint64Array;

/** The typed array that holds each element type on the wire (float16 as its bit patterns). */
const ARRAYS: Readonly<Record<string, new (buffer: ArrayBuffer) => TypedArray>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
};

/**
 * The values of a wire tensor as a typed array over its buffer (no copy).
 *
 * @throws {TypeError} If the element type has no typed array (strings).
 */
export function wireData(tensor: WireTensor): TypedArray {
  const Array = ARRAYS[tensor.type];
  if (!Array) throw new TypeError(`Element type ${tensor.type} cannot cross to the worker`);
  return new Array(tensor.buffer);
}

/**
 * A buffer holding exactly `data`'s bytes, to transfer: `data`'s own buffer when `owned` and it fills it, else a
 * copy.
 */
export function wireBuffer(data: ArrayBufferView, owned: boolean): ArrayBuffer {
  const whole = data.buffer instanceof ArrayBuffer && data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength;
  if (owned && whole) return data.buffer as ArrayBuffer;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer;
}
