/**
 * The forward-diffusion step DiffCut applies to the VAE latent before the UNet (REFERENCE.md §1.3): the DDPM
 * `scaled_linear` schedule (β from 0.00085 to 0.012 over 1000 steps), `ᾱ_t`, seeded Gaussian noise, and
 * `add_noise`: `√ᾱ_t · z + √(1 − ᾱ_t) · ε`.
 *
 * Everything is computed in float32 the way PyTorch computes it (`Math.fround` after each operation):
 * `torch.linspace(√β_start, √β_end, 1000, dtype=float32) ** 2` (PyTorch's CPU linspace fills the first half as
 * `start + step·i` and the second half as `end − step·(n − 1 − i)`), `cumprod(1 − β)` sequentially, then
 * `ᾱ_t ** 0.5` and `(1 − ᾱ_t) ** 0.5`. For t = 50 this gives √ᾱ = 0.97548795 and √(1 − ᾱ) = 0.2200528, the
 * reference's float32 values.
 *
 * Notes: the reference draws its noise once with `torch.randn` on a CUDA generator seeded with 42 (Philox), which
 * cannot be regenerated here. {@linkcode seededGaussian} gives a fixed, seeded standard normal draw instead (same
 * noise for every image of a run); `models/export_diffusion_encoder.py` can save the reference's exact draw as
 * `noise.bin`, which the diffusion encoder then uses.
 *
 * @module
 */

/** Parameters of a DDPM β schedule. */
export interface BetaSchedule {
  /** Schedule kind; only Stable Diffusion's `"scaled_linear"` is supported. */
  kind: "scaled_linear";
  /** First β. */
  betaStart: number;
  /** Last β. */
  betaEnd: number;
  /** Number of training timesteps. */
  steps: number;
}

/** Stable Diffusion's (and SDXL's) training schedule. */
export const SCALED_LINEAR_SCHEDULE: Readonly<BetaSchedule> = Object.freeze({
  kind: "scaled_linear",
  betaStart: 0.00085,
  betaEnd: 0.012,
  steps: 1000,
});

const f = Math.fround;

/**
 * `ᾱ_t` for every training timestep, in float32 as PyTorch computes it.
 *
 * @param schedule The β schedule.
 * @returns `schedule.steps` values, `ᾱ_0 … ᾱ_{steps-1}`.
 * @throws {RangeError} If `steps` is not an integer ≥ 2 or the βs are not in (0, 1).
 *
 * @example
 * ```ts
 * import { alphasCumprod, SCALED_LINEAR_SCHEDULE } from "./diffusion_noise.ts";
 * import assert from "node:assert/strict";
 * assert.equal(alphasCumprod(SCALED_LINEAR_SCHEDULE)[50], Math.fround(0.95157677));
 * ```
 */
export function alphasCumprod(schedule: BetaSchedule = SCALED_LINEAR_SCHEDULE): Float32Array {
  const { betaStart, betaEnd, steps } = schedule;
  if (!Number.isInteger(steps) || steps < 2) {
    throw new RangeError(`Schedule steps must be an integer >= 2, got ${steps}`);
  }
  for (const [what, beta] of [["betaStart", betaStart], ["betaEnd", betaEnd]] as const) {
    if (!(beta > 0 && beta < 1)) throw new RangeError(`Schedule ${what} must be in (0, 1), got ${beta}`);
  }
  const start = f(Math.sqrt(betaStart));
  const end = f(Math.sqrt(betaEnd));
  const step = f(f(end - start) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const out = new Float32Array(steps);
  let product = 1;
  for (let i = 0; i < steps; i++) {
    const root = i < halfway ? f(start + f(step * i)) : f(end - f(step * (steps - i - 1)));
    const beta = f(root * root);
    product = f(product * f(1 - beta));
    out[i] = product;
  }
  return out;
}

/** The two factors of `add_noise` at one timestep. */
export interface NoiseCoefficients {
  /** The timestep. */
  timestep: number;
  /** `ᾱ_t` (float32). */
  alphaBar: number;
  /** `√ᾱ_t` (float32), the latent's factor. */
  signal: number;
  /** `√(1 − ᾱ_t)` (float32), the noise's factor. */
  noise: number;
}

/**
 * The `add_noise` factors at timestep `t`.
 *
 * @param timestep An integer training timestep in `[0, steps)`.
 * @param schedule The β schedule.
 * @returns `ᾱ_t`, `√ᾱ_t` and `√(1 − ᾱ_t)`, each rounded to float32.
 * @throws {RangeError} If `timestep` is not an integer in range.
 *
 * @example The reference's constants at t = 50
 * ```ts
 * import { noiseCoefficients } from "./diffusion_noise.ts";
 * import assert from "node:assert/strict";
 * const c = noiseCoefficients(50);
 * assert.equal(c.signal, Math.fround(0.97548795));
 * assert.equal(c.noise, Math.fround(0.2200528));
 * ```
 */
export function noiseCoefficients(
  timestep: number,
  schedule: BetaSchedule = SCALED_LINEAR_SCHEDULE,
): NoiseCoefficients {
  if (!Number.isInteger(timestep) || timestep < 0 || timestep >= schedule.steps) {
    throw new RangeError(`Timestep must be an integer in [0, ${schedule.steps - 1}], got ${timestep}`);
  }
  const alphaBar = alphasCumprod(schedule)[timestep];
  return { timestep, alphaBar, signal: f(Math.sqrt(alphaBar)), noise: f(Math.sqrt(f(1 - alphaBar))) };
}

/**
 * `√ᾱ_t · latent + √(1 − ᾱ_t) · noise`, element by element in float32 (diffusers' `add_noise`).
 *
 * @param latent The clean latent.
 * @param noise Standard normal noise of the same length.
 * @param coefficients The factors from {@linkcode noiseCoefficients}.
 * @returns A new array.
 * @throws {RangeError} If the lengths differ.
 *
 * @example
 * ```ts
 * import { addNoise, noiseCoefficients } from "./diffusion_noise.ts";
 * import assert from "node:assert/strict";
 * const c = noiseCoefficients(50);
 * const noisy = addNoise(new Float32Array([1, 0]), new Float32Array([0, 1]), c);
 * assert.deepEqual(Array.from(noisy), [c.signal, c.noise]);
 * ```
 */
export function addNoise(
  latent: Float32Array,
  noise: Float32Array,
  coefficients: NoiseCoefficients,
): Float32Array {
  if (latent.length !== noise.length) {
    throw new RangeError(
      `Noise has ${noise.length} values, expected ${latent.length} (one per latent value)`,
    );
  }
  const { signal, noise: sigma } = coefficients;
  const out = new Float32Array(latent.length);
  for (let i = 0; i < latent.length; i++) out[i] = f(f(signal * latent[i]) + f(sigma * noise[i]));
  return out;
}

/**
 * Seeded standard normal values (xoshiro128** uniforms, Box–Muller in float64, rounded to float32). The same seed
 * always gives the same values on every platform.
 *
 * @param count How many values.
 * @param seed An unsigned 32-bit seed.
 * @returns `count` float32 values.
 * @throws {RangeError} If `count` is negative or `seed` is not an integer.
 *
 * @example Mean near 0 and variance near 1; repeatable
 * ```ts
 * import { seededGaussian } from "./diffusion_noise.ts";
 * import assert from "node:assert/strict";
 * const z = seededGaussian(20000, 42);
 * const mean = z.reduce((a, b) => a + b, 0) / z.length;
 * const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length;
 * assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05);
 * assert.deepEqual(seededGaussian(5, 42), z.subarray(0, 5));
 * ```
 */
export function seededGaussian(count: number, seed: number): Float32Array {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`Noise count must be a non-negative integer, got ${count}`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`Noise seed must be an integer, got ${seed}`);
  // splitmix32 expands the seed into the xoshiro128** state.
  let x = seed >>> 0;
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    state[i] = (z ^ (z >>> 16)) >>> 0;
  }
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(state[1], 5), 7), 9) >>> 0;
    const t = state[1] << 9;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 11);
    return result;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = (next() + 1) / 4294967297; // (0, 1)
    const u2 = next() / 4294967296; // [0, 1)
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

function rotl(v: number, k: number): number {
  return ((v << k) | (v >>> (32 - k))) >>> 0;
}
