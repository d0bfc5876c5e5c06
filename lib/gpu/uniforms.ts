/**
 * Uniform structs shared by several kernels, each described by one table (WGSL field name → type and byte offset)
 * from which the host packs and reads them. The WGSL side of {@linkcode TREE_PARAMS} is
 * `shaders/common/tree_params.wgsl`; `tests/gpu/uniforms_test.ts` checks the table against that struct's layout
 * (WGSL alignment and size rules), without a GPU.
 *
 * @module
 */

/** WGSL scalar type of a uniform field. */
export type UniformScalar = "u32" | "i32" | "f32";

/** One field of a uniform struct. */
export interface UniformStructField<F extends string = string> {
  /** Field name, as in the WGSL struct. */
  readonly name: F;
  /** WGSL scalar type. */
  readonly type: UniformScalar;
  /** Byte offset in the struct (WGSL `OffsetOfMember`). */
  readonly offset: number;
}

/** The layout of a WGSL uniform struct of scalar fields. */
export interface UniformStructLayout<F extends string = string> {
  /** Struct name in the WGSL. */
  readonly struct: string;
  /** WGSL file (under `shaders/`) that declares it. */
  readonly file: string;
  /** Byte size of the struct (WGSL `SizeOf`). */
  readonly size: number;
  /** Fields in declaration order. */
  readonly fields: readonly UniformStructField<F>[];
}

/** The field names of a layout. */
export type StructFields<L extends UniformStructLayout> = L["fields"][number]["name"];

/** Values for every field of a layout. */
export type StructValues<L extends UniformStructLayout> = Record<StructFields<L>, number>;

/**
 * The tree level's parameters (`struct TreeParams`, `shaders/common/tree_params.wgsl`), bound at `@binding(7)`
 * by the batched Lanczos, split-search and next-level kernels.
 */
export const TREE_PARAMS = {
  struct: "TreeParams",
  file: "common/tree_params.wgsl",
  size: 32,
  fields: [
    { name: "n", type: "u32", offset: 0 },
    { name: "slots", type: "u32", offset: 4 },
    { name: "nodes", type: "u32", offset: 8 },
    { name: "check_every", type: "u32", offset: 12 },
    { name: "tol", type: "f32", offset: 16 },
    { name: "thresholds", type: "u32", offset: 20 },
    { name: "min_side", type: "u32", offset: 24 },
    { name: "global_base", type: "u32", offset: 28 },
  ],
} as const satisfies UniformStructLayout;

/**
 * Packs a uniform struct from named values (the buffer is the struct's size rounded up to 16 bytes).
 *
 * @param layout The struct's table.
 * @param values One value per field.
 * @returns The bytes.
 * @throws {RangeError} When a value is missing, a u32/i32 value is not an integer in range, or an f32 is not finite.
 *
 * @example
 * ```ts
 * import { packStruct, TREE_PARAMS } from "./uniforms.ts";
 * const bytes = packStruct(TREE_PARAMS, {
 *   n: 1024, slots: 1024, nodes: 1, check_every: 4, tol: 1e-9, thresholds: 100, min_side: 1, global_base: 5120,
 * });
 * const view = new DataView(bytes);
 * if (bytes.byteLength !== 32 || view.getUint32(28, true) !== 5120) throw new Error("bad layout");
 * ```
 */
export function packStruct<L extends UniformStructLayout>(layout: L, values: StructValues<L>): ArrayBuffer {
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil(layout.size / 16) * 16));
  const view = new DataView(bytes);
  for (const { name, type, offset } of layout.fields) {
    const value = (values as Record<string, number>)[name];
    const where = `${layout.struct}.${name}`;
    if (type === "f32") {
      if (!Number.isFinite(value)) throw new RangeError(`${where} must be a finite f32, received ${value}`);
      view.setFloat32(offset, value, true);
    } else if (type === "u32") {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new RangeError(`${where} must be a u32, received ${value}`);
      }
      view.setUint32(offset, value, true);
    } else {
      if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
        throw new RangeError(`${where} must be an i32, received ${value}`);
      }
      view.setInt32(offset, value, true);
    }
  }
  return bytes;
}

/**
 * Reads a uniform struct back from bytes (e.g. a staging copy of the buffer).
 *
 * @param layout The struct's table.
 * @param bytes Buffer holding the struct.
 * @param byteOffset Where the struct starts. @default 0
 * @returns One value per field.
 * @throws {RangeError} When the struct does not fit in `bytes` from `byteOffset`.
 *
 * @example
 * ```ts
 * import { packStruct, readStruct, TREE_PARAMS } from "./uniforms.ts";
 * const values = {
 *   n: 8, slots: 8, nodes: 1, check_every: 4, tol: 0.5, thresholds: 3, min_side: 1, global_base: 40,
 * };
 * const back = readStruct(TREE_PARAMS, packStruct(TREE_PARAMS, values));
 * if (back.tol !== 0.5 || back.global_base !== 40) throw new Error("bad round trip");
 * ```
 */
export function readStruct<L extends UniformStructLayout>(
  layout: L,
  bytes: ArrayBuffer,
  byteOffset = 0,
): StructValues<L> {
  if (byteOffset < 0 || byteOffset + layout.size > bytes.byteLength) {
    throw new RangeError(
      `${layout.struct} (${layout.size} bytes) at offset ${byteOffset} does not fit in ${bytes.byteLength} bytes`,
    );
  }
  const view = new DataView(bytes, byteOffset, layout.size);
  const out: Record<string, number> = {};
  for (const { name, type, offset } of layout.fields) {
    out[name] = type === "f32"
      ? view.getFloat32(offset, true)
      : type === "u32"
      ? view.getUint32(offset, true)
      : view.getInt32(offset, true);
  }
  return out as StructValues<L>;
}
