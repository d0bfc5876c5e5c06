/**
 * A deterministic, image-like synthetic feature map for benchmarks and tests: Voronoi regions with their own
 * prototype vectors, blended smoothly near region borders, plus a low-frequency spatial drift and seeded noise.
 *
 * @module
 */
import { seededVector } from "../random.ts";
import type { FeatureMap } from "../types.ts";

/**
 * Builds the map.
 *
 * @param height Grid height.
 * @param width Grid width.
 * @param channels Feature channels.
 * @param regions Number of Voronoi regions. @default 8
 * @param seed Seed. @default 1
 * @returns A feature map `[height, width, channels]`.
 */
export function syntheticFeatureMap(
  height: number,
  width: number,
  channels: number,
  regions = 8,
  seed = 1,
): FeatureMap {
  const centers = seededVector(regions * 2, seed).map((v) => v + 0.5);
  const protos = Array.from({ length: regions }, (_, r) => seededVector(channels, seed * 7919 + r));
  const drift = [seededVector(channels, seed + 11), seededVector(channels, seed + 13)];
  const noise = seededVector(height * width * channels, seed + 17);
  const data = new Float32Array(height * width * channels);
  const weights = new Float64Array(regions);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const py = (y + 0.5) / height, px = (x + 0.5) / width;
      // Soft Voronoi membership: sharp but not binary near borders.
      let total = 0;
      for (let r = 0; r < regions; r++) {
        const d2 = (py - centers[2 * r]) ** 2 + (px - centers[2 * r + 1]) ** 2;
        weights[r] = Math.exp(-d2 * 400);
        total += weights[r];
      }
      const o = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) {
        let v = 0;
        for (let r = 0; r < regions; r++) v += (weights[r] / total) * protos[r][c];
        data[o + c] = v + 0.3 * (py * drift[0][c] + px * drift[1][c]) + 0.35 * noise[o + c];
      }
    }
  }
  return { height, width, channels, data };
}
