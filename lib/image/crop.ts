/**
 * The evaluation crop of the reference code: a centred square of side `min(H, W) - 1` (note the -1),
 * placed like torchvision's `CenterCrop`.
 *
 * @module
 */
import type { ImageRGB, LabelMap } from "../types.ts";
import { checkImageRGB, checkLabelMap, checkPositiveSize } from "./_check_shapes.ts";

/** A square crop window. */
export interface CropBox {
  /** First row kept. */
  top: number;
  /** First column kept. */
  left: number;
  /** Side of the square. */
  size: number;
}

/** Python 3 `round(x)` on halves: ties go to the even integer. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Computes the evaluation crop of an `height x width` image: side `size = min(height, width) - 1`,
 * offsets `top = int(round((height - size) / 2))` and `left = int(round((width - size) / 2))` with
 * Python's round-half-to-even, as `torchvision.transforms.CenterCrop` computes them. The short side
 * therefore starts at `round(0.5) = 0` and loses its last row or column.
 *
 * @example A 375x500 VOC image
 * ```ts
 * import assert from "node:assert/strict";
 * import { evalCropBox } from "./crop.ts";
 *
 * assert.deepEqual(evalCropBox(375, 500), { top: 0, left: 63, size: 374 });
 * ```
 *
 * @param height Image height.
 * @param width Image width.
 * @returns The crop window.
 * @throws {RangeError} If a size is not an integer of at least 2 (the crop would be empty).
 */
export function evalCropBox(height: number, width: number): CropBox {
  checkPositiveSize(height, "height");
  checkPositiveSize(width, "width");
  if (height < 2 || width < 2) {
    throw new RangeError(
      `Invalid image size ${height}x${width}: expected at least 2x2 for the evaluation crop`,
    );
  }
  const size = Math.min(height, width) - 1;
  return { top: roundHalfEven((height - size) / 2), left: roundHalfEven((width - size) / 2), size };
}

/** Copies the `box` window of HWC data with `channels` values per pixel. */
function cropData<T extends Float32Array | Int32Array>(
  src: T,
  width: number,
  channels: number,
  box: CropBox,
  out: T,
): T {
  const rowLength = box.size * channels;
  for (let y = 0; y < box.size; y++) {
    const start = ((box.top + y) * width + box.left) * channels;
    out.set(src.subarray(start, start + rowLength), y * rowLength);
  }
  return out;
}

/**
 * Applies the evaluation crop ({@linkcode evalCropBox}) to an RGB image.
 *
 * @example Crop a 2x3 image to 1x1
 * ```ts
 * import assert from "node:assert/strict";
 * import { centerCropImage } from "./crop.ts";
 *
 * // size 1, top round(0.5) = 0, left round(1.0) = 1: keeps pixel (0, 1).
 * const image = { data: new Float32Array([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), height: 2, width: 3 };
 * assert.deepEqual(Array.from(centerCropImage(image).data), [1, 1, 1]);
 * ```
 *
 * @param image The image to crop.
 * @returns A new `size x size` image.
 * @throws {RangeError} If the image is smaller than 2x2 or a size is not a positive integer.
 * @throws {TypeError} If `image.data` is not a Float32Array of `height * width * 3` values.
 */
export function centerCropImage(image: ImageRGB): ImageRGB {
  checkImageRGB(image);
  const box = evalCropBox(image.height, image.width);
  const data = cropData(image.data, image.width, 3, box, new Float32Array(box.size * box.size * 3));
  return { data, height: box.size, width: box.size };
}

/**
 * Applies the evaluation crop ({@linkcode evalCropBox}) to a label map, so that it stays aligned with
 * {@linkcode centerCropImage} of the same-sized image.
 *
 * @example Crop a 3x3 label map to 2x2
 * ```ts
 * import assert from "node:assert/strict";
 * import { centerCropLabels } from "./crop.ts";
 *
 * // size 2, top = left = round(0.5) = 0.
 * const labels = { data: new Int32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), height: 3, width: 3 };
 * assert.deepEqual(Array.from(centerCropLabels(labels).data), [1, 2, 4, 5]);
 * ```
 *
 * @param labels The label map to crop.
 * @returns A new `size x size` label map.
 * @throws {RangeError} If the map is smaller than 2x2 or a size is not a positive integer.
 * @throws {TypeError} If `labels.data` is not an Int32Array of `height * width` values.
 */
export function centerCropLabels(labels: LabelMap): LabelMap {
  checkLabelMap(labels);
  const box = evalCropBox(labels.height, labels.width);
  const data = cropData(labels.data, labels.width, 1, box, new Int32Array(box.size * box.size));
  return { data, height: box.size, width: box.size };
}
