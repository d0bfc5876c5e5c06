/**
 * Private shape checks shared by the image helpers (not re-exported).
 *
 * @module
 */
import type { ImageRGB, LabelMap } from "../types.ts";

/**
 * Checks that a size is a positive integer.
 *
 * @param value The size received.
 * @param what How to call it in the message, e.g. `"outHeight"`.
 * @throws {RangeError} If `value` is not an integer of at least 1.
 */
export function checkPositiveSize(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Invalid ${what} ${value}: expected a positive integer`);
  }
}

/**
 * Checks an {@linkcode ImageRGB}: positive integer sizes and `height * width * 3` float values.
 *
 * @param image The image to check.
 * @param what How to call it in messages.
 * @throws {RangeError} If a size is not a positive integer.
 * @throws {TypeError} If `data` is not a Float32Array of the right length.
 */
export function checkImageRGB(image: ImageRGB, what = "image"): void {
  checkPositiveSize(image.height, `${what} height`);
  checkPositiveSize(image.width, `${what} width`);
  if (!(image.data instanceof Float32Array)) {
    throw new TypeError(`Invalid ${what} data: expected a Float32Array`);
  }
  const expected = image.height * image.width * 3;
  if (image.data.length !== expected) {
    throw new TypeError(
      `Invalid ${what}: data has ${image.data.length} values, expected ${image.height}x${image.width}x3 = ${expected}`,
    );
  }
}

/**
 * Checks a {@linkcode LabelMap}: positive integer sizes and `height * width` Int32 values.
 *
 * @param labels The label map to check.
 * @param what How to call it in messages.
 * @throws {RangeError} If a size is not a positive integer.
 * @throws {TypeError} If `data` is not an Int32Array of the right length.
 */
export function checkLabelMap(labels: LabelMap, what = "labels"): void {
  checkPositiveSize(labels.height, `${what} height`);
  checkPositiveSize(labels.width, `${what} width`);
  if (!(labels.data instanceof Int32Array)) {
    throw new TypeError(`Invalid ${what} data: expected an Int32Array`);
  }
  const expected = labels.height * labels.width;
  if (labels.data.length !== expected) {
    throw new TypeError(
      `Invalid ${what}: data has ${labels.data.length} values, expected ${labels.height}x${labels.width} = ${expected}`,
    );
  }
}
