/**
 * Class lists as users give them: `--labels "cat,sofa,floor"` (one class per comma, no synonyms) or a labels file
 * (one class per line, its synonyms separated by commas as in the datasets' class-name files; blank lines and lines
 * starting with `#` skipped). A class keeps its synonyms comma-joined, as `prompts.ts` expects.
 *
 * @module
 */

/** Classes of a comma-separated list (each piece one class), trimmed, empty pieces dropped. */
export function parseClassList(text: string): string[] {
  const out = text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (out.length === 0) throw new RangeError(`No class name in ${JSON.stringify(text)}`);
  return out;
}

/** Classes of a labels file's text: one class per line, synonyms comma-separated (normalised to `", "`). */
export function parseClassFile(text: string): string[] {
  const out = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("#"))
    .map((l) => l.split(",").map((s) => s.trim()).filter((s) => s.length > 0).join(", "))
    .filter((l) => l.length > 0);
  if (out.length === 0) throw new RangeError("The labels file names no class");
  return out;
}
