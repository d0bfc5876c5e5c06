/**
 * An image that shows itself in the Deno Jupyter kernel (PNG) and saves to a `.png` file.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { encodeRgbPng } from "../image/encode_png.ts";
import { resizeImage } from "../image/resize.ts";
import { writeFileAtomic } from "../io/write_file_atomic.ts";
import type { ImageRGB } from "../types.ts";
import { JUPYTER_DISPLAY } from "./jupyter_display.ts";

/** An RGB image with a caption, displayable and savable. */
export class ImageView {
  /** The pixels. */
  readonly image: ImageRGB;
  /** Caption for the plain-text representation and HTML layouts. */
  readonly caption: string;
  #png: Uint8Array | undefined;

  /**
   * Wraps an image.
   *
   * @param image RGB image in [0, 1].
   * @param caption Caption.
   */
  constructor(image: ImageRGB, caption = "") {
    this.image = image;
    this.caption = caption;
  }

  /** PNG file bytes (encoded once). */
  get png(): Uint8Array {
    return this.#png ??= encodeRgbPng(this.image);
  }

  /** `data:image/png;base64,…` URL, for `<img>` tags and `Plot.image`. */
  get dataUrl(): string {
    return `data:image/png;base64,${Buffer.from(this.png).toString("base64")}`;
  }

  /**
   * Writes the PNG atomically.
   *
   * @param path Destination, normally ending in `.png`.
   * @returns The path written.
   */
  async save(path: string): Promise<string> {
    await writeFileAtomic(path, this.png);
    return path;
  }

  /**
   * The Deno kernel's rich-display hook.
   *
   * @returns A MIME bundle with `image/png` (base64) and `text/plain`.
   */
  [JUPYTER_DISPLAY](): Record<string, string> {
    return {
      "image/png": Buffer.from(this.png).toString("base64"),
      "text/plain": `Image ${this.image.width}×${this.image.height}${
        this.caption ? `: ${this.caption}` : ""
      }`,
    };
  }
}

/**
 * Wraps an image for display, optionally scaled so that its long side is `maxSide` pixels (bilinear).
 *
 * @param image RGB image in [0, 1].
 * @param caption Caption.
 * @param maxSide Long side after scaling; no scaling when omitted.
 * @returns The view.
 *
 * @example
 * ```ts
 * import { imageView } from "./image_view.ts";
 * import { JUPYTER_DISPLAY } from "./jupyter_display.ts";
 * import assert from "node:assert/strict";
 * const view = imageView({ height: 2, width: 4, data: new Float32Array(24).fill(0.5) }, "grey", 8);
 * assert.deepEqual([view.image.height, view.image.width], [4, 8]);
 * assert.ok("image/png" in view[JUPYTER_DISPLAY]());
 * ```
 */
export function imageView(image: ImageRGB, caption = "", maxSide?: number): ImageView {
  if (maxSide !== undefined && Math.max(image.height, image.width) !== maxSide) {
    const s = maxSide / Math.max(image.height, image.width);
    image = resizeImage(
      image,
      Math.max(1, Math.round(image.height * s)),
      Math.max(1, Math.round(image.width * s)),
    );
  }
  return new ImageView(image, caption);
}
