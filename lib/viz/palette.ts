/**
 * Colours for segment overlays: well-separated hues (golden-angle steps) at two lightness levels, so that
 * neighbouring label numbers never look alike.
 *
 * @module
 */

/**
 * RGB colour (0..255) of segment `k`.
 *
 * @param k Segment index ≥ 0.
 * @returns `[r, g, b]`.
 */
export function segmentColor(k: number): [number, number, number] {
  const hue = (k * 137.508) % 360;
  const light = k % 2 === 0 ? 0.55 : 0.42;
  const sat = 0.75;
  const c = (1 - Math.abs(2 * light - 1)) * sat;
  const hp = hue / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1
    ? [c, x, 0]
    : hp < 2
    ? [x, c, 0]
    : hp < 3
    ? [0, c, x]
    : hp < 4
    ? [0, x, c]
    : hp < 5
    ? [x, 0, c]
    : [c, 0, x];
  const m = light - c / 2;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/**
 * Palette of `count` overlay colours, flat `[r0, g0, b0, r1, …]`.
 *
 * @param count Number of colours.
 * @returns 3·count bytes.
 */
export function segmentPalette(count: number): Uint8Array {
  const p = new Uint8Array(count * 3);
  for (let k = 0; k < count; k++) p.set(segmentColor(k), k * 3);
  return p;
}
