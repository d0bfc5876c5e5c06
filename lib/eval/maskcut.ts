/**
 * MaskCut-style baseline (REFERENCE.md §8.2) adapted to any patch features: k rounds of a binary-graph NCut,
 * each keeping the connected component around the seed as one object mask, then masking those patches out.
 *
 * One round, on the unit features `f` of the grid (patches painted by earlier masks have `f = 0`):
 * 1. graph `A_ij = 1` if `cos(f_i, f_j) > τ`, else `eps` (painted patches therefore connect with `eps` only);
 * 2. the generalised Fiedler vector y of `(D − A) y = λ D y` (the project's Lanczos/Jacobi solver);
 * 3. foreground `y > mean(y)`; the partition is reversed when ≥ 3 grid corners are foreground or when the
 *    seed `argmax |y|` is not foreground; the seed is then `argmax y`;
 * 4. the mask is the 4-connected component of the foreground that holds the seed;
 * 5. after the first round a mask whose IoU with the previous round's mask is > 0.5, or that covers ≤ 1 % of
 *    the grid, is dropped (left empty), as MaskCut does; painted patches accumulate the masks;
 * 6. each stored mask excludes patches of earlier masks.
 *
 * Differences from MaskCut: no DINO key features (any encoder's features), no DenseCRF / hole filling
 * (use PAMR, `--refine`, for refinement), and everything stays on the feature grid.
 *
 * **From k masks to a label map** (not in MaskCut or DiffCut's code): label 0 is every patch no mask covers
 * ("background"), label j is the j-th non-empty mask in discovery order. These k+1 clusters then go through the
 * same upsampling, background merge and Hungarian matching as every other method.
 *
 * Reference: X. Wang, R. Girdhar, S. X. Yu, I. Misra, "Cut and Learn for Unsupervised Object Detection and
 * Instance Segmentation", CVPR 2023 (MaskCut).
 *
 * @module
 */
import { cosineGram } from "../affinity/affinity.ts";
import { normalizeRows } from "../features/normalize_rows.ts";
import { fiedlerVector } from "../eigensolve/fiedler.ts";
import type { FeatureMap } from "../types.ts";

/** Options of {@linkcode maskcutMasks}. */
export interface MaskcutOptions {
  /** Cosine threshold of the binary graph. @default 0.2 (MaskCut's script default) */
  tau?: number;
  /** Weight of non-edges. @default 1e-5 */
  eps?: number;
}

/**
 * Runs `rounds` MaskCut rounds.
 *
 * @param features Feature map `[h, w, c]`.
 * @param rounds Number of rounds (objects) N ≥ 1.
 * @param options Graph threshold and eps.
 * @returns One mask per round (grid-sized 0/1 arrays, possibly empty), disjoint.
 * @throws {RangeError} If rounds is not a positive integer.
 */
export function maskcutMasks(
  features: FeatureMap,
  rounds: number,
  options: MaskcutOptions = {},
): Uint8Array[] {
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`Invalid MaskCut rounds ${rounds}: expected a positive integer`);
  }
  const tau = options.tau ?? 0.2;
  const eps = options.eps ?? 1e-5;
  const { height: h, width: w, channels: c } = features;
  const n = h * w;
  const cos = cosineGram(normalizeRows(features), n, c);
  const painted = new Uint8Array(n);
  const covered = new Uint8Array(n);
  let previous: Uint8Array = new Uint8Array(n);
  const masks: Uint8Array[] = [];
  const a = new Float64Array(n * n);
  const d = new Float64Array(n);
  for (let round = 0; round < rounds; round++) {
    d.fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const s = painted[i] || painted[j] ? 0 : cos[i * n + j];
        const v = s > tau ? 1 : eps;
        a[i * n + j] = v;
        d[i] += v;
      }
    }
    const y = n >= 2 ? fiedlerVector(a, n, d).vector : new Float64Array(n);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += y[i];
    mean /= n;
    let fg = Array.from(y, (v) => v > mean);
    let seed = 0;
    for (let i = 1; i < n; i++) if (Math.abs(y[i]) > Math.abs(y[seed])) seed = i;
    const corners = [0, w - 1, (h - 1) * w, n - 1].filter((i) => fg[i]).length;
    const reverse = corners >= 3 || !fg[seed];
    if (reverse) fg = fg.map((v) => !v);
    seed = 0;
    for (let i = 1; i < n; i++) if ((reverse ? -y[i] : y[i]) > (reverse ? -y[seed] : y[seed])) seed = i;
    let mask: Uint8Array = fg[seed] ? component(fg, h, w, seed) : new Uint8Array(n);
    if (round >= 1) {
      let area = 0, inter = 0, union = 0;
      for (let i = 0; i < n; i++) {
        area += mask[i];
        inter += mask[i] & previous[i];
        union += mask[i] | previous[i];
      }
      if ((union > 0 && inter / union > 0.5) || area / n <= 0.01) mask = new Uint8Array(n);
    }
    previous = mask;
    const stored = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (mask[i]) painted[i] = 1;
      if (mask[i] && !covered[i]) {
        stored[i] = 1;
        covered[i] = 1;
      }
    }
    masks.push(stored);
  }
  return masks;
}

/**
 * Grid labels from the first `k` masks: 0 for uncovered patches, then 1, 2, … for the non-empty masks in order.
 *
 * @param masks Disjoint masks from {@linkcode maskcutMasks}.
 * @param k How many rounds to use (≤ masks.length).
 * @returns Labels per patch.
 *
 * @example
 * ```ts
 * import { masksToLabels } from "./maskcut.ts";
 * import assert from "node:assert/strict";
 * const masks = [new Uint8Array([1, 1, 0, 0]), new Uint8Array(4), new Uint8Array([0, 0, 0, 1])];
 * assert.deepEqual([...masksToLabels(masks, 3)], [1, 1, 0, 2]);
 * assert.deepEqual([...masksToLabels(masks, 1)], [1, 1, 0, 0]);
 * ```
 */
export function masksToLabels(masks: Uint8Array[], k: number): Int32Array {
  const n = masks[0]?.length ?? 0;
  const labels = new Int32Array(n);
  let next = 1;
  for (const m of masks.slice(0, k)) {
    let any = false;
    for (let i = 0; i < n; i++) {
      if (m[i]) {
        labels[i] = next;
        any = true;
      }
    }
    if (any) next++;
  }
  return labels;
}

/** The 4-connected component of `fg` that holds `seed`. */
function component(fg: boolean[], h: number, w: number, seed: number): Uint8Array {
  const out = new Uint8Array(h * w);
  const stack = [seed];
  out[seed] = 1;
  while (stack.length) {
    const i = stack.pop()!;
    const y = Math.floor(i / w), x = i % w;
    for (const [dy, dx] of [[-1, 0], [1, 0], [0, -1], [0, 1]]) {
      const yy = y + dy, xx = x + dx;
      if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      const j = yy * w + xx;
      if (fg[j] && !out[j]) {
        out[j] = 1;
        stack.push(j);
      }
    }
  }
  return out;
}
