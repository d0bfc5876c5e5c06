/**
 * The Deno Jupyter kernel's rich-display protocol: a value whose `[Symbol.for("Jupyter.display")]()` method
 * returns a MIME bundle (`{ "image/png": base64, "text/html": …, "text/plain": … }`) shows itself richly as a
 * cell's result or through `Deno.jupyter.display(value)`.
 *
 * @module
 */

/** `Symbol.for("Jupyter.display")`, typed as a unique symbol so classes can declare the method. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as typeof JUPYTER_DISPLAY;

/** A MIME bundle: MIME type → content (base64 for binary types). */
export type MimeBundle = Record<string, string>;

/** A value that displays itself in the Deno Jupyter kernel. */
export interface Displayable {
  /** Returns the MIME bundle to show. */
  [JUPYTER_DISPLAY](): MimeBundle;
}

/**
 * The MIME bundle a value would show in the kernel.
 *
 * @param value A {@linkcode Displayable}.
 * @returns Its bundle.
 * @throws {TypeError} When the value does not implement the protocol.
 *
 * @example
 * ```ts
 * import { displayBundle, JUPYTER_DISPLAY } from "./jupyter_display.ts";
 * import assert from "node:assert/strict";
 * const value = { [JUPYTER_DISPLAY]: () => ({ "text/plain": "hi" }) };
 * assert.deepEqual(displayBundle(value), { "text/plain": "hi" });
 * assert.equal(JUPYTER_DISPLAY, Symbol.for("Jupyter.display"));
 * ```
 */
export function displayBundle(value: unknown): MimeBundle {
  const fn = (value as Partial<Displayable> | null)?.[JUPYTER_DISPLAY];
  if (typeof fn !== "function") {
    throw new TypeError(`Value does not implement Symbol.for("Jupyter.display"); got ${typeof value}`);
  }
  return fn.call(value);
}
