/**
 * GPU test gate: `gpu` is true when a WebGPU device can be acquired. GPU tests use `ignore: !gpu`; with
 * `REQUIRE_GPU=1` a missing adapter fails the run instead of skipping.
 *
 * @module
 */
import { getGpu, type GpuContext } from "../lib/gpu/device.ts";

let context: GpuContext | null = null;
let reason = "";
try {
  context = await getGpu();
} catch (e) {
  reason = (e as Error).message;
}

/** Whether GPU tests run. */
export const gpu: boolean = context !== null;

if (!gpu) {
  if (Deno.env.get("REQUIRE_GPU") === "1") {
    throw new Error(`REQUIRE_GPU=1 but no WebGPU device: ${reason}`);
  }
  console.warn(`GPU tests skipped: ${reason}`);
}

/**
 * The shared test device.
 *
 * @returns The context.
 * @throws {Error} When there is none (only reached by a test that is not ignored without a GPU).
 */
export function testGpu(): GpuContext {
  if (!context) throw new Error(`No WebGPU device: ${reason}`);
  return context;
}
