/**
 * The WebAssembly memories of the kernels that threads share (`pamr.wat`, `exp.wat`): declared `shared` with a
 * 2 GiB maximum, so helper workers bind their own instances to the same memory (`row_team.ts`).
 *
 * @module
 */

/** Bytes in a WebAssembly page. */
export const PAGE = 65536;
/** The maximum the kernels declare: 32,768 pages, 2 GiB. */
export const SHARED_MAX_PAGES = 32768;

/**
 * A new shared memory of at least `bytes` bytes, growable up to {@linkcode SHARED_MAX_PAGES} pages.
 *
 * @param bytes Bytes needed now.
 * @returns The memory.
 * @throws {RangeError} If `bytes` exceeds the maximum, or the memory cannot be allocated.
 *
 * @example
 * ```ts
 * import { sharedMemory } from "./shared_memory.ts";
 * const memory = sharedMemory(100_000);
 * if (!(memory.buffer instanceof SharedArrayBuffer) || memory.buffer.byteLength < 100_000) throw new Error();
 * ```
 */
export function sharedMemory(bytes: number): WebAssembly.Memory {
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  if (pages > SHARED_MAX_PAGES) {
    throw new RangeError(`A shared kernel memory holds at most 2 GiB, asked ${bytes} bytes`);
  }
  return new WebAssembly.Memory({ initial: pages, maximum: SHARED_MAX_PAGES, shared: true });
}

/**
 * Grows `memory` to at least `bytes` bytes.
 *
 * @param memory A memory from {@linkcode sharedMemory}.
 * @param bytes Bytes needed.
 * @throws {RangeError} If the memory cannot grow that far.
 */
export function growTo(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength / PAGE, need = Math.ceil(bytes / PAGE);
  if (need > have) memory.grow(need - have);
}
