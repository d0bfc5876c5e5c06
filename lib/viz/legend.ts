/**
 * A compact legend appended below an image: one entry per segment, its overlay colour as a square swatch followed by
 * a text such as `cat 0.31` (class name and score of `segment --labels`). The legend is a white panel under the
 * image, so it never hides part of the segmentation; entries fill rows left to right in as many columns as fit.
 * The text is drawn with the 5×7 bitmap font of `bitmap_font.ts` (no font file, no canvas).
 *
 * @module
 */
import type { ImageRGB } from "../types.ts";
import { drawText, GLYPH_ADVANCE, GLYPH_HEIGHT, textWidth } from "./bitmap_font.ts";

/** One legend entry. */
export interface LegendEntry {
  /** Swatch colour, bytes 0..255 (as `segmentColor` returns them). */
  color: readonly [number, number, number];
  /** The name; shortened with ".." when the entry does not fit the image's width. */
  label: string;
  /** A value written after the name (e.g. the score); never shortened. */
  value?: string;
}

/** Options of {@linkcode appendLegend}. */
export interface LegendOptions {
  /** Image pixels per font pixel. @default legendScale(image.width) */
  scale?: number;
}

const TEXT: readonly [number, number, number] = [0, 0, 0];

/** The default font scale for an image `width` pixels wide: 1 up to 639 pixels, then one more per 320, at most 4. */
export function legendScale(width: number): number {
  return Math.max(1, Math.min(4, Math.floor(width / 320)));
}

/** The text of an entry in at most `maxChars` characters: the label is cut (marked "..") before the value is. */
export function entryText(entry: LegendEntry, maxChars: number): string {
  const full = entry.value === undefined ? entry.label : `${entry.label} ${entry.value}`;
  const chars = [...full];
  if (chars.length <= maxChars) return full;
  const suffix = entry.value === undefined ? "" : ` ${entry.value}`;
  const keep = maxChars - [...suffix].length - 2;
  if (keep >= 1) return [...entry.label].slice(0, keep).join("") + ".." + suffix;
  return chars.slice(0, Math.max(0, maxChars)).join("");
}

/** Characters every entry may use before it is shortened, however narrow the image (the panel widens for them). */
export const MIN_LEGEND_CHARS = 16;

/**
 * A new image: `image` with a legend panel of `entries` below it. The panel has the image's width, or more when
 * the image is too narrow for {@linkcode MIN_LEGEND_CHARS} characters per entry (the image then sits at the left of
 * a white canvas). With no entries the image is returned as is.
 *
 * Layout, in font pixels of `scale` image pixels: 4 of padding, a 7×7 swatch, 3 of space, the text (5×7 glyphs,
 * 6 per character), 8 between columns and 4 between rows.
 */
export function appendLegend(
  image: ImageRGB,
  entries: readonly LegendEntry[],
  options: LegendOptions = {},
): ImageRGB {
  if (entries.length === 0) return image;
  const s = options.scale ?? legendScale(image.width);
  if (!Number.isInteger(s) || s < 1) {
    throw new RangeError(`Invalid legend scale ${s}: expected an integer >= 1`);
  }
  const { width: w, height: h } = image;
  const pad = 4 * s,
    swatch = GLYPH_HEIGHT * s,
    gap = 3 * s,
    colGap = 8 * s,
    rowStep = GLYPH_HEIGHT * s + 4 * s;
  // Characters that fit after the swatch in one full-width column: swatch + gap + (6n − 1)·s ≤ w − 2·pad.
  const fitChars = Math.floor((w - 2 * pad - swatch - gap + s) / (GLYPH_ADVANCE * s));
  const longest = Math.max(...entries.map((e) => [...entryText(e, Infinity)].length));
  const maxChars = Math.max(fitChars, Math.min(longest, MIN_LEGEND_CHARS));
  const texts = entries.map((e) => entryText(e, maxChars));
  const colWidth = Math.max(...texts.map((t) => swatch + gap + textWidth(t, s)));
  const width = Math.max(w, colWidth + 2 * pad);
  const cols = Math.max(1, Math.floor((width - 2 * pad + colGap) / (colWidth + colGap)));
  const rows = Math.ceil(entries.length / cols);
  const panel = 2 * pad + rows * rowStep - 4 * s;
  const out: ImageRGB = { data: new Float32Array(width * (h + panel) * 3).fill(1), height: h + panel, width };
  for (let y = 0; y < h; y++) out.data.set(image.data.subarray(y * w * 3, (y + 1) * w * 3), y * width * 3);
  entries.forEach((e, i) => {
    const x = pad + (i % cols) * (colWidth + colGap);
    const y = h + pad + Math.floor(i / cols) * rowStep;
    const rgb = [e.color[0] / 255, e.color[1] / 255, e.color[2] / 255];
    for (let py = y; py < y + swatch; py++) {
      for (let px = x; px < x + swatch; px++) out.data.set(rgb, (py * width + px) * 3);
    }
    drawText(out, texts[i], x + swatch + gap, y, TEXT, s);
  });
  return out;
}
