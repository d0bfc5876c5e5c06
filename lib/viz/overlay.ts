/**
 * A segmentation drawn over its image: each segment tinted with its colour, boundaries in white.
 *
 * @module
 */
import type { ImageRGB } from "../types.ts";
import { segmentColor } from "./palette.ts";

/** Options of {@linkcode overlaySegments}. */
export interface OverlayOptions {
  /** Weight of the segment colour. @default 0.5 */
  opacity?: number;
  /** Draw one-pixel white boundaries between segments. @default true */
  boundaries?: boolean;
}

/**
 * Blends a label map over an image of the same size.
 *
 * @param image RGB image in [0, 1].
 * @param labels Labels, `height·width`, values ≥ 0.
 * @param options See {@linkcode OverlayOptions}.
 * @returns A new RGB image.
 * @throws {RangeError} When the label map does not have the image's size.
 */
export function overlaySegments(image: ImageRGB, labels: Int32Array, options: OverlayOptions = {}): ImageRGB {
  const { height: h, width: w } = image;
  if (labels.length !== h * w) {
    throw new RangeError(`Invalid labels: ${labels.length} values for a ${h}×${w} image, expected ${h * w}`);
  }
  const opacity = options.opacity ?? 0.5;
  const edges = options.boundaries ?? true;
  const colors = new Map<number, [number, number, number]>();
  const out = new Float32Array(h * w * 3);
  // A call per row: as a loop nest in a function called once per image, V8 deoptimised at every row's end.
  for (let y = 0; y < h; y++) overlayRow(image.data, labels, y, h, w, opacity, edges, colors, out);
  return { data: out, height: h, width: w };
}

function overlayRow(
  data: Float32Array,
  labels: Int32Array,
  y: number,
  h: number,
  w: number,
  opacity: number,
  edges: boolean,
  colors: Map<number, [number, number, number]>,
  out: Float32Array,
): void {
  for (let x = 0; x < w; x++) {
    const i = y * w + x;
    const k = labels[i];
    let c = colors.get(k);
    if (!c) colors.set(k, c = segmentColor(k));
    const edge = edges && ((x + 1 < w && labels[i + 1] !== k) || (y + 1 < h && labels[i + w] !== k));
    for (let ch = 0; ch < 3; ch++) {
      out[i * 3 + ch] = edge ? 1 : (1 - opacity) * data[i * 3 + ch] + opacity * (c[ch] / 255);
    }
  }
}
