/**
 * Mask pooling: the mean feature vector of each segment, taken at the feature grid's resolution (the authors'
 * `MaskPooling`): the label map is resized to the grid by nearest-exact sampling (`lib/image/resize.ts`), then each segment's vector is the
 * mean of the grid cells it covers. A segment that covers no cell after resizing gets a zero vector.
 *
 * @module
 */

import { resizeLabelsNearestExact } from "../image/resize.ts";
import type { FeatureMap, LabelMap } from "../types.ts";

/** Pooled vectors: `rows × channels`, row `k` for the k-th entry of `labels`. */
export interface PooledFeatures {
  /** `rows·channels` values, row-major. */
  data: Float32Array;
  /** Number of segments. */
  rows: number;
  /** Channels per vector. */
  channels: number;
  /** The segment label of each row, ascending. */
  labels: number[];
  /** Feature-grid cells each segment covers (0 where it vanished at the grid resolution). */
  cells: number[];
}

/**
 * Mean-pool `features` over each segment of `labels` (any size; resized to the feature grid). Rows follow the
 * distinct labels of the full-resolution map in ascending order, so a segment lost by the resize still has a row
 * (all zeros, `cells` 0).
 */
export function maskPool(features: FeatureMap, labels: LabelMap): PooledFeatures {
  const { height, width, channels } = features;
  if (features.data.length !== height * width * channels) throw new Error("feature map size mismatch");
  const ids = [...new Set(labels.data)].sort((a, b) => a - b);
  const row = new Map(ids.map((id, k) => [id, k]));
  const grid = labels.height === height && labels.width === width
    ? labels
    : resizeLabelsNearestExact(labels, height, width);
  const data = new Float32Array(ids.length * channels);
  const sums = new Float64Array(ids.length * channels);
  const cells = new Array<number>(ids.length).fill(0);
  for (let p = 0; p < height * width; p++) {
    const k = row.get(grid.data[p])!;
    cells[k]++;
    const off = k * channels, src = p * channels;
    for (let c = 0; c < channels; c++) sums[off + c] += features.data[src + c];
  }
  for (let k = 0; k < ids.length; k++) {
    if (cells[k] === 0) continue;
    for (let c = 0; c < channels; c++) data[k * channels + c] = sums[k * channels + c] / cells[k];
  }
  return { data, rows: ids.length, channels, labels: ids, cells };
}
