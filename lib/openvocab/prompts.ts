/**
 * The ViLD prompt templates and class-name expansion used to build an open-vocabulary text classifier (the paper's
 * Table 4, after fc-clip / ODISE): every class name may list synonyms separated by commas, and every synonym is
 * written into each of the 14 templates.
 *
 * @module
 */

/** The 14 ViLD prompt templates; `{}` stands for the class name. */
export const VILD_TEMPLATES: readonly string[] = Object.freeze([
  "a photo of a {}.",
  "This is a photo of a {}",
  "There is a {} in the scene",
  "There is the {} in the scene",
  "a photo of a {} in the scene",
  "a photo of a small {}.",
  "a photo of a medium {}.",
  "a photo of a large {}.",
  "This is a photo of a small {}.",
  "This is a photo of a medium {}.",
  "This is a photo of a large {}.",
  "There is a small {} in the scene.",
  "There is a medium {} in the scene.",
  "There is a large {} in the scene.",
]);

/**
 * The synonyms of one class name: split on commas, each trimmed, empty pieces dropped
 * (`"sofa, couch"` → `["sofa", "couch"]`). A name with no usable piece is an error.
 */
export function synonymsOf(className: string): string[] {
  const out = className.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (out.length === 0) throw new Error(`class name ${JSON.stringify(className)} has no synonym`);
  return out;
}

/** One template filled with a name: the first `{}` replaced. */
export function fillTemplate(template: string, name: string): string {
  return template.replace("{}", name);
}

/** The prompts of one class: for each synonym, every template filled with it (synonym-major order). */
export function promptsOf(className: string, templates: readonly string[] = VILD_TEMPLATES): string[][] {
  return synonymsOf(className).map((syn) => templates.map((t) => fillTemplate(t, syn)));
}
