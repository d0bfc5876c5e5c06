/**
 * Names made safe for one log line: every CLI prints file names, ids and paths through this.
 *
 * @module
 */

/**
 * Control characters (newlines, tabs, escape sequences …) of a name, written as escapes, so that a name
 * printed in a log line keeps the line one line: `\n`, `\r`, `\t`, otherwise `\xNN` or `\uNNNN`.
 *
 * @param text A file name, id or path.
 * @returns The text with every C0/C1 control character, DEL and U+2028/U+2029 escaped.
 *
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * import assert from "node:assert/strict";
 * assert.equal(printable("a\nb\u001b[2J.jpg"), "a\\nb\\x1b[2J.jpg");
 * ```
 */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (ch) => {
    if (ch === "\n") return "\\n";
    if (ch === "\r") return "\\r";
    if (ch === "\t") return "\\t";
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
  });
}
