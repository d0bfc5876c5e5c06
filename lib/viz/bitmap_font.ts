/**
 * A tiny 5×7 bitmap font for writing short labels into raster images (the overlay legend of `segment --labels`)
 * without a font file or a canvas. Letters have one case (lower case is drawn with the capitals); a character
 * without a glyph is drawn as a hollow box, so a name is never silently shortened.
 *
 * @module
 */
import type { ImageRGB } from "../types.ts";

/** Glyph width in font pixels. */
export const GLYPH_WIDTH = 5;
/** Glyph height in font pixels. */
export const GLYPH_HEIGHT = 7;
/** Horizontal advance per character in font pixels (one blank column between glyphs). */
export const GLYPH_ADVANCE = GLYPH_WIDTH + 1;

// One glyph per line: seven rows of five, top to bottom, "#" on and "." off.
const GLYPH_ROWS: Record<string, string> = {
  "A": ".###.|#...#|#...#|#####|#...#|#...#|#...#",
  "B": "####.|#...#|#...#|####.|#...#|#...#|####.",
  "C": ".###.|#...#|#....|#....|#....|#...#|.###.",
  "D": "####.|#...#|#...#|#...#|#...#|#...#|####.",
  "E": "#####|#....|#....|####.|#....|#....|#####",
  "F": "#####|#....|#....|####.|#....|#....|#....",
  "G": ".###.|#...#|#....|#.###|#...#|#...#|.####",
  "H": "#...#|#...#|#...#|#####|#...#|#...#|#...#",
  "I": ".###.|..#..|..#..|..#..|..#..|..#..|.###.",
  "J": "..###|...#.|...#.|...#.|...#.|#..#.|.##..",
  "K": "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#",
  "L": "#....|#....|#....|#....|#....|#....|#####",
  "M": "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#",
  "N": "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#",
  "O": ".###.|#...#|#...#|#...#|#...#|#...#|.###.",
  "P": "####.|#...#|#...#|####.|#....|#....|#....",
  "Q": ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#",
  "R": "####.|#...#|#...#|####.|#.#..|#..#.|#...#",
  "S": ".####|#....|#....|.###.|....#|....#|####.",
  "T": "#####|..#..|..#..|..#..|..#..|..#..|..#..",
  "U": "#...#|#...#|#...#|#...#|#...#|#...#|.###.",
  "V": "#...#|#...#|#...#|#...#|#...#|.#.#.|..#..",
  "W": "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.",
  "X": "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#",
  "Y": "#...#|#...#|.#.#.|..#..|..#..|..#..|..#..",
  "Z": "#####|....#|...#.|..#..|.#...|#....|#####",
  "0": ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
  "1": "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
  "2": ".###.|#...#|....#|...#.|..#..|.#...|#####",
  "3": "####.|....#|....#|.###.|....#|....#|####.",
  "4": "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
  "5": "#####|#....|####.|....#|....#|#...#|.###.",
  "6": "..##.|.#...|#....|####.|#...#|#...#|.###.",
  "7": "#####|....#|...#.|..#..|.#...|.#...|.#...",
  "8": ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
  "9": ".###.|#...#|#...#|.####|....#|...#.|.##..",
  " ": ".....|.....|.....|.....|.....|.....|.....",
  ".": ".....|.....|.....|.....|.....|.##..|.##..",
  ",": ".....|.....|.....|.....|.##..|..#..|.#...",
  "-": ".....|.....|.....|.###.|.....|.....|.....",
  "_": ".....|.....|.....|.....|.....|.....|#####",
  "(": "...#.|..#..|.#...|.#...|.#...|..#..|...#.",
  ")": ".#...|..#..|...#.|...#.|...#.|..#..|.#...",
  "/": ".....|....#|...#.|..#..|.#...|#....|.....",
  ":": ".....|.##..|.##..|.....|.##..|.##..|.....",
  "'": "..#..|..#..|.#...|.....|.....|.....|.....",
  "+": ".....|..#..|..#..|#####|..#..|..#..|.....",
  "&": ".##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#",
  "?": ".###.|#...#|....#|...#.|..#..|.....|..#..",
};
const MISSING = "#####|#...#|#...#|#...#|#...#|#...#|#####";

/** One glyph as `GLYPH_HEIGHT` rows of `GLYPH_WIDTH` booleans (lower case drawn as upper case; unknown: a box). */
export function glyphOf(char: string): boolean[][] {
  const rows = GLYPH_ROWS[char] ?? GLYPH_ROWS[char.toUpperCase()] ?? MISSING;
  return rows.split("|").map((row) => [...row].map((c) => c === "#"));
}

/** Width in image pixels of `text` drawn at `scale` (the last glyph's blank column not counted). */
export function textWidth(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * scale;
}

/**
 * Draws `text` into `image` in place with its top-left corner at (`x`, `y`), each font pixel a `scale`×`scale`
 * square of `color` (RGB in [0, 1]). Pixels outside the image are clipped.
 */
export function drawText(
  image: ImageRGB,
  text: string,
  x: number,
  y: number,
  color: readonly [number, number, number],
  scale = 1,
): void {
  const { width: w, height: h, data } = image;
  let left = x;
  for (const char of text) {
    const glyph = glyphOf(char);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!glyph[gy][gx]) continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + gy * scale + dy;
          if (py < 0 || py >= h) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = left + gx * scale + dx;
            if (px >= 0 && px < w) data.set(color, (py * w + px) * 3);
          }
        }
      }
    }
    left += GLYPH_ADVANCE * scale;
  }
}
