/**
 * Compiles the WebAssembly modules that `deno task build-wasm` embeds as base64 (`lib/wasm/*_wasm.ts`), once
 * per process, and says whether this runtime runs them (WebAssembly with fixed-width SIMD).
 *
 * @module
 */
import { Buffer } from "node:buffer";

const compiled = new Map<string, WebAssembly.Module | null>();

/**
 * The compiled module of embedded bytes, or `null` when this runtime cannot run it (no WebAssembly, or no SIMD):
 * the callers then take their plain-TypeScript path, which computes the same values.
 *
 * @param base64 The `WASM_BASE64` export of a generated `*_wasm.ts` module.
 * @returns The module, compiled on first use and cached.
 */
export function embeddedModule(base64: string): WebAssembly.Module | null {
  let module = compiled.get(base64);
  if (module === undefined) {
    const bytes = Buffer.from(base64, "base64");
    // Synchronous compilation keeps the solvers synchronous; the modules are a few hundred bytes.
    module = typeof WebAssembly === "object" && WebAssembly.validate(bytes)
      ? new WebAssembly.Module(bytes)
      : null;
    compiled.set(base64, module);
  }
  return module;
}
