/**
 * The reference's evaluation preprocessing (REFERENCE.md §1.2, §5.2): centre crop to side min(H, W) − 1 with
 * banker's-rounded offsets, bilinear resize of the image to the encoder size, nearest-exact resize of the labels
 * to the same size, then legacy-nearest reduction of the labels to the scoring size (128²), where
 * `GT128[i, j] = GT1024[8i, 8j]`; the PAMR image is the bilinear 1024 → 128 reduction.
 *
 * @module
 */
import { centerCropImage, centerCropLabels } from "../image/crop.ts";
import { resizeImage, resizeLabelsNearest, resizeLabelsNearestExact } from "../image/resize.ts";
import type { ImageRGB, LabelMap } from "../types.ts";

/** One image prepared for scoring. */
export interface EvalSample {
  /** Cropped image resized to the encoder size (e.g. 1024²). */
  image: ImageRGB;
  /** The same image at the scoring size (input to PAMR). */
  scoringImage: ImageRGB;
  /** Ground truth at the scoring size; ignore labels kept as they are. */
  labels: LabelMap;
}

/**
 * Prepares an image and its annotation like the reference evaluation.
 *
 * @param image Decoded image.
 * @param labels Annotation of the same size.
 * @param encoderSize Side fed to the encoder. @default 1024
 * @param scoringSize Side at which predictions are scored. @default 128
 * @returns The prepared sample.
 * @throws {RangeError} When the annotation's size differs from the image's.
 */
export function prepareEvalSample(
  image: ImageRGB,
  labels: LabelMap,
  encoderSize = 1024,
  scoringSize = 128,
): EvalSample {
  if (image.height !== labels.height || image.width !== labels.width) {
    throw new RangeError(
      `Annotation is ${labels.width}×${labels.height} but its image is ${image.width}×${image.height}; expected equal sizes`,
    );
  }
  const big = resizeImage(centerCropImage(image), encoderSize, encoderSize);
  const gtBig = resizeLabelsNearestExact(centerCropLabels(labels), encoderSize, encoderSize);
  return {
    image: big,
    scoringImage: resizeImage(big, scoringSize, scoringSize),
    labels: resizeLabelsNearest(gtBig, scoringSize, scoringSize),
  };
}
