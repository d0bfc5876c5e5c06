/**
 * WebGPU adapter and device acquisition for the WGSL path, cached per process.
 *
 * `navigator.gpu.requestAdapter()` may return null (no driver, or `DENO_WEBGPU_BACKEND` set but empty): that
 * becomes a {@linkcode GpuUnavailableError}, which every entry point catches to fall back to the TypeScript path
 * with a one-line notice. A device lost mid-run raises {@linkcode GpuDeviceLostError} (a subclass, so the same
 * catch covers it) and the next acquisition asks for a fresh device.
 *
 * @module
 */

/** The GPU cannot be used (no WebGPU, no adapter, device request failed). Callers fall back to the CPU path. */
export class GpuUnavailableError extends Error {
  /**
   * @param message What failed, in one line.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GpuUnavailableError";
  }
}

/** The device was lost (driver reset, destroyed) while a kernel ran. Callers fall back to the CPU path. */
export class GpuDeviceLostError extends GpuUnavailableError {
  /**
   * @param message What was lost and why, in one line.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GpuDeviceLostError";
  }
}

/** An acquired device with what callers need to know about it. */
export interface GpuContext {
  /** The adapter the device came from. */
  adapter: GPUAdapter;
  /** The device (requested with the adapter's largest buffer and binding limits). */
  device: GPUDevice;
  /** One-line description, e.g. `"llvmpipe (LLVM 15.0.6, 256 bits)"`. */
  description: string;
  /** Stable key of the adapter (vendor, device, description, backend env), for per-adapter caches. */
  key: string;
  /** Set once the device is lost. */
  lost: boolean;
  /** Counts host waits (`mapAsync`, `onSubmittedWorkDone`) made through this context, for benchmarks. */
  hostWaits: number;
  /** Counts queue submissions made through this context. */
  submissions: number;
}

let current: Promise<GpuContext> | null = null;

/**
 * Returns the process-wide device, requesting it on first use (and again after a loss).
 *
 * @returns The device context.
 * @throws {GpuUnavailableError} When WebGPU is missing, `requestAdapter()` returns null or the device request fails.
 */
export function getGpu(): Promise<GpuContext> {
  if (!current) {
    current = acquire();
    // A failed acquisition is not cached: a later call tries again (e.g. after the environment changed).
    current.catch(() => current = null);
  }
  return current;
}

/**
 * Mesa prints "error: XDG_RUNTIME_DIR is invalid or not set" twice when the variable is unset (containers, CI),
 * which reads like a failure in every CLI's output. Compute needs no runtime folder, so point the variable at a
 * private temporary one; skipped (Mesa keeps its harmless message) without env or write permission.
 */
function quietMesaRuntimeDir(): void {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: "XDG_RUNTIME_DIR" }).state !== "granted") return;
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    const dir = Deno.makeTempDirSync({ prefix: "diffcut-runtime-" });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // Already gone.
      }
    });
  } catch {
    // No write permission for the temporary folder: keep Mesa's message.
  }
}

async function acquire(): Promise<GpuContext> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) {
    throw new GpuUnavailableError("WebGPU is not available in this runtime (navigator.gpu is undefined)");
  }
  quietMesaRuntimeDir();
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    throw new GpuUnavailableError(`requestAdapter() failed: ${(e as Error).message}`, { cause: e });
  }
  if (!adapter) {
    const env = Deno.env.get("DENO_WEBGPU_BACKEND");
    throw new GpuUnavailableError(
      `requestAdapter() returned null (DENO_WEBGPU_BACKEND=${
        env === undefined ? "unset" : JSON.stringify(env)
      })`,
    );
  }
  const lim = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: "diffcut.device",
      // ONNX Runtime's WebGPU backend shares this device (runner "webgpu") and needs shader-f16 for fp16 models.
      requiredFeatures: adapter.features.has("shader-f16") ? ["shader-f16"] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
        maxBufferSize: lim.maxBufferSize,
        maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
        maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
        maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX,
      },
    });
  } catch (e) {
    throw new GpuUnavailableError(`requestDevice() failed: ${(e as Error).message}`, { cause: e });
  }
  const info = adapter.info;
  const description = info.description || `${info.vendor} ${info.device}`.trim() || "unknown adapter";
  const ctx: GpuContext = {
    adapter,
    device,
    description,
    key: [info.vendor, info.device, description, Deno.env.get("DENO_WEBGPU_BACKEND") ?? ""].join("|"),
    lost: false,
    hostWaits: 0,
    submissions: 0,
  };
  device.lost.then(() => {
    ctx.lost = true;
    if (current) current.then((c) => c === ctx && (current = null), () => {});
  });
  return ctx;
}

/**
 * Whether a WebGPU adapter can be acquired here (never throws).
 *
 * @returns True when {@linkcode getGpu} succeeds.
 */
export async function gpuAvailable(): Promise<boolean> {
  try {
    await getGpu();
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws {@linkcode GpuDeviceLostError} when the context's device has been lost.
 *
 * @param ctx Device context.
 * @param what What was running, for the message.
 * @throws {GpuDeviceLostError} When `ctx.lost`.
 */
export function checkNotLost(ctx: GpuContext, what: string): void {
  if (ctx.lost) throw new GpuDeviceLostError(`GPU device lost while running ${what}`);
}

/**
 * Submits command buffers and counts the submission.
 *
 * @param ctx Device context.
 * @param buffers Finished command buffers.
 */
export function submit(ctx: GpuContext, buffers: GPUCommandBuffer[]): void {
  ctx.device.queue.submit(buffers);
  ctx.submissions++;
}

/**
 * Runs `body` inside a validation + out-of-memory error scope and turns a captured error into an exception, so
 * that a bad dispatch never yields silently wrong numbers.
 *
 * @param ctx Device context.
 * @param what What is running, for the message.
 * @param body Encodes and submits work; its result is returned.
 * @returns The body's result.
 * @throws {Error} When the device reports a validation or out-of-memory error.
 * @throws {GpuDeviceLostError} When the device was lost meanwhile.
 */
export async function withErrorScope<T>(ctx: GpuContext, what: string, body: () => Promise<T>): Promise<T> {
  checkNotLost(ctx, what);
  const { device } = ctx;
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  let result: T | undefined;
  let failure: unknown = null;
  try {
    result = await body();
  } catch (e) {
    failure = e;
  }
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  checkNotLost(ctx, what);
  if (failure !== null) throw failure;
  const err = validation ?? oom;
  if (err) throw new Error(`WebGPU error in ${what}: ${err.message.split("\n")[0]}`);
  return result as T;
}
