/**
 * Compute kernels: WGSL loaded at run time from `shaders/<stage>/<kernel>.wgsl` (its `#include "common/…"` lines
 * replaced by those snippets), `override` constants, labels, explicit bind group layouts derived from the WGSL's
 * `@group(0) @binding(n) var<…>` declarations, and the project's one pipeline cache.
 *
 * The cache key is device + kernel file + entry point + override constants + layout key; never sizes (sizes travel
 * in uniforms, so tree levels and image sizes never recompile). Bind group layouts are cached per device by their
 * layout key, so kernels whose files declare the same bindings share one `GPUBindGroupLayout` and one bind group
 * serves them all (the tree's kernels: lib/eigensolve/lanczos_gpu.ts).
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

/** How a binding is bound: `var<storage, read>`, `var<storage, read_write>` or `var<uniform>`. */
export type BindingType = "read-only-storage" | "storage" | "uniform";

/** One `@group(0) @binding(n)` declaration of a WGSL file. */
export interface WgslBinding {
  /** Binding index. */
  binding: number;
  /** Variable name. */
  name: string;
  /** Buffer binding type. */
  type: BindingType;
}

/** A compiled kernel. */
export interface Kernel {
  /** The pipeline (explicit layout: {@linkcode Kernel.layout}). */
  pipeline: GPUComputePipeline;
  /** `stage.kernel[.entry]`. */
  label: string;
  /** Bind group 0's layout, shared with every kernel of the same {@linkcode Kernel.layoutKey} on the device. */
  layout: GPUBindGroupLayout;
  /** The file's bindings, by index. */
  bindings: readonly WgslBinding[];
  /** The layout's key ({@linkcode layoutKey}). */
  layoutKey: string;
}

const SHADERS = new URL("../../shaders/", import.meta.url);
const sources = new Map<string, string>();
const bindingTables = new Map<string, readonly WgslBinding[]>();
const pipelines = new WeakMap<GPUDevice, Map<string, Promise<Kernel>>>();
const layouts = new WeakMap<GPUDevice, Map<string, GPUBindGroupLayout>>();

/**
 * Replaces each `#include "path"` line (a path under `shaders/`) with that file's text, recursively; a file is
 * included at most once (later lines naming it are dropped).
 *
 * @param code WGSL with include lines.
 * @param read Reads a file by its path under `shaders/`.
 * @param from Name of `code` for error messages.
 * @returns Plain WGSL.
 * @throws {RangeError} When an include path is absolute, leaves `shaders/` or is not a `.wgsl` file.
 *
 * @example
 * ```ts
 * import { assembleWgsl } from "./kernel.ts";
 * const files: Record<string, string> = { "common/p.wgsl": "struct P { n: u32 }" };
 * const code = assembleWgsl('#include "common/p.wgsl"\n#include "common/p.wgsl"\nvar<private> p: P;', (f) => files[f]);
 * if (code !== "struct P { n: u32 }\n\nvar<private> p: P;") throw new Error(code);
 * ```
 */
export function assembleWgsl(code: string, read: (path: string) => string, from = "WGSL"): string {
  const seen = new Set<string>();
  const expand = (text: string, name: string): string =>
    text.replace(/^[ \t]*#include[ \t]+"([^"]*)"[ \t]*$/gm, (_line, path: string) => {
      if (!/^[a-z0-9_]+(\/[a-z0-9_]+)*\.wgsl$/.test(path)) {
        throw new RangeError(
          `Invalid include "${path}" in ${name}: expected a .wgsl path under shaders/ like "common/tree_params.wgsl"`,
        );
      }
      if (seen.has(path)) return "";
      seen.add(path);
      return expand(read(path).replace(/\n+$/, ""), path);
    });
  return expand(code, from);
}

/**
 * The text of `shaders/<stage>/<kernel>.wgsl` with its includes (read once per process, synchronously: the files
 * are small, and bind group layouts are needed before any pipeline exists).
 *
 * @param stage Stage folder.
 * @param kernel File name without extension.
 * @returns WGSL source.
 * @throws {Deno.errors.NotFound} When the file or an included one does not exist.
 */
export function shaderSource(stage: string, kernel: string): string {
  const key = `${stage}/${kernel}.wgsl`;
  let src = sources.get(key);
  if (src === undefined) {
    const read = (path: string) => Deno.readTextFileSync(new URL(path, SHADERS));
    src = assembleWgsl(read(key), read, key);
    sources.set(key, src);
  }
  return src;
}

/**
 * {@linkcode shaderSource} as a promise (rejected when the file cannot be read).
 *
 * @param stage Stage folder.
 * @param kernel File name without extension.
 * @returns WGSL source.
 */
export function loadShader(stage: string, kernel: string): Promise<string> {
  try {
    return Promise.resolve(shaderSource(stage, kernel));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** WGSL without its comments (line comments and nested block comments). */
function stripComments(code: string): string {
  let out = "";
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    if (code.startsWith("/*", i)) {
      depth++;
      i++;
    } else if (depth > 0 && code.startsWith("*/", i)) {
      depth--;
      i++;
    } else if (depth === 0 && code.startsWith("//", i)) {
      while (i < code.length && code[i] !== "\n") i++;
      out += "\n";
    } else if (depth === 0) {
      out += code[i];
    }
  }
  return out;
}

/**
 * The buffer bindings a WGSL module declares: every module-scope `var` with `@group` and `@binding` attributes.
 * Kernels use group 0 only, and bind buffers only (`var<storage[, read]>`, `var<storage, read_write>`,
 * `var<uniform>`).
 *
 * @param code WGSL (with its includes).
 * @param name Name for error messages.
 * @returns The bindings sorted by index.
 * @throws {RangeError} When a binding is in a group other than 0, is not a buffer, or an index repeats.
 *
 * @example
 * ```ts
 * import { parseBindings } from "./kernel.ts";
 * const b = parseBindings(`
 *   @group(0) @binding(1) var<storage, read_write> out: array<f32>;
 *   @group(0) @binding(0) var<storage, read> x: array<f32>; // input
 *   @group(0) @binding(2) var<uniform> params: Params;`);
 * if (b.map((e) => e.type).join() !== "read-only-storage,storage,uniform") throw new Error();
 * ```
 */
export function parseBindings(code: string, name = "WGSL"): WgslBinding[] {
  const out: WgslBinding[] = [];
  const decl = /((?:@\s*\w+\s*\(\s*[^)]*\)\s*)+)var\s*(?:<([^>]*)>)?\s*(\w+)\s*:/g;
  for (const m of stripComments(code).matchAll(decl)) {
    const attrs = new Map<string, string>();
    for (const a of m[1].matchAll(/@\s*(\w+)\s*\(\s*([^)]*?)\s*\)/g)) attrs.set(a[1], a[2]);
    if (!attrs.has("binding") && !attrs.has("group")) continue;
    const variable = m[3];
    const group = Number(attrs.get("group")), binding = Number(attrs.get("binding"));
    if (!Number.isInteger(group) || !Number.isInteger(binding) || binding < 0) {
      throw new RangeError(
        `Binding ${variable} in ${name} needs literal @group and @binding, received @group(${
          attrs.get("group")
        }) @binding(${attrs.get("binding")})`,
      );
    }
    if (group !== 0) {
      throw new RangeError(`Binding ${variable} in ${name} must be in @group(0), received @group(${group})`);
    }
    const [space, access = "read"] = (m[2] ?? "").split(",").map((s) => s.trim());
    let type: BindingType;
    if (space === "uniform") type = "uniform";
    else if (space === "storage" && access === "read") type = "read-only-storage";
    else if (space === "storage" && access === "read_write") type = "storage";
    else {
      throw new RangeError(
        `Binding ${variable} in ${name} must be var<storage, read>, var<storage, read_write> or var<uniform>, received var${
          m[2] === undefined ? "" : `<${m[2]}>`
        }`,
      );
    }
    if (out.some((b) => b.binding === binding)) {
      throw new RangeError(`Binding ${binding} is declared twice in ${name} (second: ${variable})`);
    }
    out.push({ binding, name: variable, type });
  }
  return out.sort((a, b) => a.binding - b.binding);
}

/**
 * A key naming a bind group layout: equal keys, equal layouts.
 *
 * @param bindings Bindings.
 * @returns E.g. `"0:r,1:rw,2:u"`.
 */
export function layoutKey(bindings: readonly WgslBinding[]): string {
  const short = { "read-only-storage": "r", "storage": "rw", "uniform": "u" } as const;
  return bindings.map((b) => `${b.binding}:${short[b.type]}`).join(",");
}

/**
 * The bindings of `shaders/<stage>/<kernel>.wgsl` (parsed once per process).
 *
 * @param stage Stage folder.
 * @param kernel File name without extension.
 * @returns The bindings sorted by index.
 * @throws {RangeError} See {@linkcode parseBindings}.
 */
export function kernelBindings(stage: string, kernel: string): readonly WgslBinding[] {
  const key = `${stage}/${kernel}`;
  let table = bindingTables.get(key);
  if (!table) {
    table = Object.freeze(parseBindings(shaderSource(stage, kernel), `${key}.wgsl`));
    bindingTables.set(key, table);
  }
  return table;
}

/**
 * The bind group layout of `shaders/<stage>/<kernel>.wgsl`'s group 0, created once per device and layout key.
 *
 * @param device Device.
 * @param stage Stage folder.
 * @param kernel File name without extension.
 * @returns The layout (the same object for every file with the same bindings).
 */
export function kernelLayout(device: GPUDevice, stage: string, kernel: string): GPUBindGroupLayout {
  return bindGroupLayout(device, kernelBindings(stage, kernel));
}

function bindGroupLayout(device: GPUDevice, bindings: readonly WgslBinding[]): GPUBindGroupLayout {
  let cache = layouts.get(device);
  if (!cache) layouts.set(device, cache = new Map());
  const key = layoutKey(bindings);
  let layout = cache.get(key);
  if (!layout) {
    layout = device.createBindGroupLayout({
      label: `layout(${key})`,
      entries: bindings.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b.type },
      })),
    });
    cache.set(key, layout);
  }
  return layout;
}

/**
 * Compiles (once per device, file, entry point and overrides) and returns a kernel, with the explicit bind group
 * layout its file's bindings give.
 *
 * @param device Device.
 * @param spec Which kernel, with which overrides.
 * @returns The cached kernel.
 * @throws {Error} When the WGSL fails to compile (the message names the kernel and the first error line).
 * @throws {RangeError} When a binding is not a group-0 buffer ({@linkcode parseBindings}).
 */
export function getKernel(device: GPUDevice, spec: KernelSpec): Promise<Kernel> {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, cache = new Map());
  const entry = spec.entry ?? spec.kernel;
  const overrides = spec.overrides ?? {};
  let bindings: readonly WgslBinding[];
  try {
    bindings = kernelBindings(spec.stage, spec.kernel);
  } catch (error) {
    return Promise.reject(error);
  }
  const key = `${spec.stage}/${spec.kernel}:${entry}:${
    Object.keys(overrides).sort().map((k) => `${k}=${overrides[k]}`).join(",")
  }|${layoutKey(bindings)}`;
  let kernel = cache.get(key);
  if (!kernel) {
    kernel = compile(device, spec, entry, overrides, bindings);
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
  bindings: readonly WgslBinding[],
): Promise<Kernel> {
  const label = entry === spec.kernel
    ? `${spec.stage}.${spec.kernel}`
    : `${spec.stage}.${spec.kernel}.${entry}`;
  const code = shaderSource(spec.stage, spec.kernel);
  const layout = bindGroupLayout(device, bindings);
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label, code });
  const pipeline = device.createComputePipeline({
    label,
    layout: device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: entry, constants: overrides },
  });
  const error = await device.popErrorScope();
  if (error) throw new Error(`WGSL kernel ${label} failed to compile: ${firstLine(error.message)}`);
  return { pipeline, label, layout, bindings, layoutKey: layoutKey(bindings) };
}

/**
 * Records one dispatch: binds `buffers[i]` to the kernel's i-th binding (in index order) and dispatches `groups`.
 *
 * @param device Device (for the bind group).
 * @param pass Open compute pass.
 * @param kernel Kernel.
 * @param buffers One buffer per binding the WGSL declares, in binding order.
 * @param groups Workgroup counts `[x, y?, z?]`.
 * @throws {RangeError} When a workgroup count exceeds the device limit, or a binding gets no buffer.
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
  if (buffers.length !== kernel.bindings.length || buffers.some((b) => b === undefined)) {
    const missing = kernel.bindings.filter((_, i) => buffers[i] === undefined).map((b) => b.name);
    throw new RangeError(
      `Dispatch of ${kernel.label} needs ${kernel.bindings.length} buffers (${
        kernel.bindings.map((b) => b.name).join(", ")
      }), received ${buffers.filter((b) => b !== undefined).length}${
        missing.length > 0 ? `; missing ${missing.join(", ")}` : ""
      }`,
    );
  }
  if (x === 0 || y === 0 || z === 0) return;
  const group = device.createBindGroup({
    label: `${kernel.label}.bindings`,
    layout: kernel.layout,
    entries: kernel.bindings.map((b, i) => ({ binding: b.binding, resource: { buffer: buffers[i]! } })),
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

/**
 * A 2-D dispatch covering at least `groups` workgroups, for counts above the per-dimension limit (kernels
 * linearise it as `x + y·groupsX` and skip the surplus).
 *
 * @param groups Workgroups needed.
 * @param ctx Anything holding the device (a `GpuContext`).
 * @returns `[x, y]` with `x·y ≥ groups`, both within `maxComputeWorkgroupsPerDimension`.
 */
export function grid2d(groups: number, ctx: { readonly device: GPUDevice }): [number, number] {
  const max = ctx.device.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}

/** The most informative line of a WGSL error message (the compiler puts a blank line first). */
function firstLine(message: string): string {
  const lines = message.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.slice(0, 3).join(" | ");
}
