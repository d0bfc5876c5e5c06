/**
 * The DOM that Observable Plot draws into outside a browser: one `linkedom` document, shared by every chart.
 *
 * @module
 */
import { parseHTML } from "npm:linkedom@0.18.15";

/** The part of linkedom's document that callers see (Deno has no DOM types; Plot takes it as `document`). */
export interface PlotDocument {
  /** Creates an element. */
  createElement(tag: string): { tagName: string };
}

let cached: PlotDocument | undefined;

/**
 * A `document` for `Plot.plot({ document })`, created once per process.
 *
 * @returns A linkedom HTML document.
 *
 * @example
 * ```ts
 * import { plotDocument } from "./plot_document.ts";
 * import assert from "node:assert/strict";
 * assert.equal(plotDocument().createElement("svg").tagName.toLowerCase(), "svg");
 * ```
 */
export function plotDocument(): PlotDocument {
  if (!cached) {
    cached = (parseHTML("<!doctype html><html><head></head><body></body></html>") as unknown as {
      document: PlotDocument;
    }).document;
  }
  return cached;
}
