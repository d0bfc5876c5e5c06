/**
 * Compute kernels: WGSL loaded at run time from `shaders/<stage>/<kernel>.wgsl`, `override` constants, labels,
 * and a pipeline cache keyed by device + kernel + overrides (never by sizes: sizes travel in uniforms, so tree
 * levels and image sizes never recompile).
 *
 * @module
 */

/** How to build one kernel. */
export interface KernelSpec {
  /** Stage folder under `shaders/`, e.g. `"affinity"`. */
  stage: string;
  /** File name without `.wgsl`; also the entry point unless `entry` is given. */
  kernel: string;
  /** Entry point when the file holds several. @default kernel */
  entry?: string;
  /** `override` constants. */
  overrides?: Record<string, number>;
}

/** A compiled kernel. */
export interface Kernel {
  /** The pipeline (layout "auto"). */
  pipeline: GPUComputePipeline;
  /** `stage.kernel[.entry]`. */
  label: string;
}

const sources = new Map<string, Promise<string>>();
const pipelines = new WeakMap<GPUDevice, Map<string, Promise<Kernel>>>();

/**
 * The text of `shaders/<stage>/<kernel>.wgsl` (read once per process).
 *
 * @param stage Stage folder.
 * @param kernel File name without extension.
 * @returns WGSL source.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 */
export function loadShader(stage: string, kernel: string): Promise<string> {
  const key = `${stage}/${kernel}`;
  let src = sources.get(key);
  if (!src) {
    src = Deno.readTextFile(new URL(`../../shaders/${stage}/${kernel}.wgsl`, import.meta.url));
    sources.set(key, src);
    src.catch(() => sources.delete(key));
  }
  return src;
}

/**
 * Compiles (once per device and overrides) and returns a kernel.
 *
 * @param device Device.
 * @param spec Which kernel, with which overrides.
 * @returns The cached kernel.
 * @throws {Error} When the WGSL fails to compile (the message names the kernel and the first error line).
 */
export function getKernel(device: GPUDevice, spec: KernelSpec): Promise<Kernel> {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, cache = new Map());
  const entry = spec.entry ?? spec.kernel;
  const overrides = spec.overrides ?? {};
  const key = `${spec.stage}/${spec.kernel}:${entry}:${
    Object.keys(overrides).sort().map((k) => `${k}=${overrides[k]}`).join(",")
  }`;
  let kernel = cache.get(key);
  if (!kernel) {
    kernel = compile(device, spec, entry, overrides);
    cache.set(key, kernel);
    kernel.catch(() => cache.delete(key));
  }
  return kernel;
}

async function compile(
  device: GPUDevice,
  spec: KernelSpec,
  entry: string,
  overrides: Record<string, number>,
): Promise<Kernel> {
  const label = entry === spec.kernel
    ? `${spec.stage}.${spec.kernel}`
    : `${spec.stage}.${spec.kernel}.${entry}`;
  const code = await loadShader(spec.stage, spec.kernel);
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label, code });
  const pipeline = device.createComputePipeline({
    label,
    layout: "auto",
    compute: { module, entryPoint: entry, constants: overrides },
  });
  const error = await device.popErrorScope();
  if (error) throw new Error(`WGSL kernel ${label} failed to compile: ${firstLine(error.message)}`);
  return { pipeline, label };
}

/**
 * Records one dispatch: binds `buffers` to `@group(0) @binding(i)` in order and dispatches `groups`.
 *
 * @param device Device (for the bind group).
 * @param pass Open compute pass.
 * @param kernel Kernel.
 * @param buffers Buffers for bindings 0, 1, … (undefined entries are skipped: bindings the WGSL does not use).
 * @param groups Workgroup counts `[x, y?, z?]`.
 * @throws {RangeError} When a workgroup count exceeds the device limit.
 */
export function dispatch(
  device: GPUDevice,
  pass: GPUComputePassEncoder,
  kernel: Kernel,
  buffers: (GPUBuffer | undefined)[],
  groups: [number, number?, number?],
): void {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  const [x, y = 1, z = 1] = groups;
  if (x > max || y > max || z > max) {
    throw new RangeError(
      `Dispatch of ${kernel.label} needs ${x}×${y}×${z} workgroups, limit ${max} per dimension`,
    );
  }
  if (x === 0 || y === 0 || z === 0) return;
  const entries: GPUBindGroupEntry[] = [];
  buffers.forEach((buffer, binding) => {
    if (buffer) entries.push({ binding, resource: { buffer } });
  });
  const group = device.createBindGroup({
    label: `${kernel.label}.bindings`,
    layout: kernel.pipeline.getBindGroupLayout(0),
    entries,
  });
  pass.setPipeline(kernel.pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(x, y, z);
}

/**
 * Number of workgroups covering `count` items with `size` items each.
 *
 * @param count Items.
 * @param size Items per workgroup.
 * @returns `ceil(count / size)`.
 */
export function groupsFor(count: number, size: number): number {
  return Math.ceil(count / size);
}

/** The most informative line of a WGSL error message (the compiler puts a blank line first). */
function firstLine(message: string): string {
  const lines = message.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.slice(0, 3).join(" | ");
}
