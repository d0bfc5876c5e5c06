/**
 * ONNX model files on disk, with external data: models over 2 GB (a Stable Diffusion UNet) keep their weights in
 * separate files that the model's tensors name by `location`, `offset` and `length`.
 *
 * {@linkcode readOnnxModel} decodes a model file and lists the external-data files it refers to (checking that
 * they exist and are long enough); {@linkcode loadExternalData} reads them for an ONNX Runtime session;
 * {@linkcode writeOnnxModel} writes a (pruned) model with its large weights in one new external-data file beside
 * it, copying only the ranges the model still uses from the source files, so a cut UNet never holds the weights
 * of the layers it dropped. Writes are atomic: temporary files, then renames.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import p from "npm:onnx-proto@8.0.1";
import type { onnx as Onnx } from "npm:onnx-proto@8.0.1";
import type { ExternalDataFile } from "./ort_session.ts";

const { onnx } = p;

/** A decoded model file with the external-data files it uses. */
export interface OnnxModelFile {
  /** Path of the `.onnx` file. */
  path: string;
  /** The decoded model (its tensors still point at the external files). */
  model: Onnx.ModelProto;
  /** Every external-data `location` the model's tensors use, in first-use order. */
  externalLocations: string[];
}

/** Options of {@linkcode writeOnnxModel}. */
export interface WriteOnnxModelOptions {
  /** Folder the source model's external-data `location`s are relative to (needed if it has any). */
  sourceDir?: string;
  /**
   * Tensors with more bytes than this go to the external-data file.
   * @default {1024}
   */
  externalThreshold?: number;
}

/** What {@linkcode writeOnnxModel} wrote. */
export interface WrittenOnnxModel {
  /** The model file. */
  path: string;
  /** The external-data file, if any tensor went there. */
  dataPath?: string;
  /** Bytes of the model file and of the external-data file. */
  bytes: { model: number; data: number };
}

type Tensor = Onnx.ITensorProto;

function entries(tensor: Tensor): Map<string, string> {
  return new Map((tensor.externalData ?? []).map((e) => [e.key ?? "", e.value ?? ""]));
}

function isExternal(tensor: Tensor): boolean {
  return tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
}

/** Every tensor of a graph and its subgraphs, initializers and Constant-node values. */
function* allTensors(graph: Onnx.IGraphProto): Generator<Tensor> {
  for (const init of graph.initializer ?? []) yield init;
  for (const node of graph.node ?? []) {
    for (const attribute of node.attribute ?? []) {
      if (attribute.t) yield attribute.t;
      for (const t of attribute.tensors ?? []) yield t;
      if (attribute.g) yield* allTensors(attribute.g);
      for (const g of attribute.graphs ?? []) yield* allTensors(g);
    }
  }
}

/**
 * Decodes an `.onnx` file and checks its external data.
 *
 * @param path The model file.
 * @returns The decoded model and the external-data locations it uses.
 * @throws {Deno.errors.NotFound} If the model file or one of its external-data files is missing (the message names
 * every missing file).
 * @throws {TypeError} If the file is not an ONNX model, or a tensor's external data lies past the end of its file.
 *
 * @example A missing file is named
 * ```ts
 * import { readOnnxModel } from "./onnx_files.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(readOnnxModel("/nonexistent/unet/model.onnx"), /'\/nonexistent\/unet\/model.onnx' not found/);
 * ```
 */
export async function readOnnxModel(path: string): Promise<OnnxModelFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`ONNX model '${path}' not found; expected an .onnx file`);
    }
    throw error;
  }
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new TypeError(`File '${path}' is not an ONNX model: ${(error as Error).message}`, { cause: error });
  }
  if (!model.graph) throw new TypeError(`File '${path}' is not an ONNX model: it has no graph`);
  const locations: string[] = [];
  const ends = new Map<string, { end: number; tensor: string }>();
  for (const tensor of allTensors(model.graph)) {
    if (!isExternal(tensor)) continue;
    const e = entries(tensor);
    const location = e.get("location");
    if (!location) {
      throw new TypeError(`Tensor '${tensor.name}' of '${path}' has external data with no location`);
    }
    if (!locations.includes(location)) locations.push(location);
    const end = Number(e.get("offset") ?? 0) + Number(e.get("length") ?? 0);
    if (end > (ends.get(location)?.end ?? 0)) ends.set(location, { end, tensor: tensor.name ?? "" });
  }
  const missing: string[] = [];
  for (const location of locations) {
    const file = resolve(dirname(path), location);
    try {
      const { size } = await Deno.stat(file);
      const need = ends.get(location);
      if (need && size < need.end) {
        throw new TypeError(
          `External data '${file}' of '${path}' has ${size} bytes, expected at least ${need.end} (tensor '${need.tensor}'); the file is truncated`,
        );
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) missing.push(file);
      else throw error;
    }
  }
  if (missing.length > 0) {
    throw new Deno.errors.NotFound(
      `External data of '${path}' not found: ${
        missing.map((m) => `'${m}'`).join(", ")
      }; expected beside the model`,
    );
  }
  return { path, model, externalLocations: locations };
}

/**
 * Reads the external-data files of a model, keyed by the `location` written in the model, for
 * `createOrtSession(bytes, { externalData })`.
 *
 * @param modelPath The model file the locations are relative to.
 * @param locations The locations (see {@linkcode readOnnxModel}).
 * @returns One entry per location.
 * @throws {Deno.errors.NotFound} If a file is missing.
 *
 * @example No locations, nothing read
 * ```ts
 * import { loadExternalData } from "./onnx_files.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await loadExternalData("model.onnx", []), []);
 * ```
 */
export async function loadExternalData(
  modelPath: string,
  locations: readonly string[],
): Promise<ExternalDataFile[]> {
  const out: ExternalDataFile[] = [];
  for (const location of locations) {
    const file = resolve(dirname(modelPath), location);
    try {
      out.push({ path: location, data: await Deno.readFile(file) });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Deno.errors.NotFound(`External data '${file}' of model '${modelPath}' not found`);
      }
      throw error;
    }
  }
  return out;
}

/**
 * Lists the external-data locations a serialised model uses.
 *
 * @param modelBytes The serialised model.
 * @returns The locations in first-use order.
 *
 * @example
 * ```ts
 * import { externalLocationsOf } from "./onnx_files.ts";
 * import p from "npm:onnx-proto@8.0.1";
 * import assert from "node:assert/strict";
 * const bytes = p.onnx.ModelProto.encode({ graph: { name: "g" } }).finish();
 * assert.deepEqual(externalLocationsOf(bytes), []);
 * ```
 */
export function externalLocationsOf(modelBytes: Uint8Array): string[] {
  const model = onnx.ModelProto.decode(modelBytes);
  const locations: string[] = [];
  for (const tensor of allTensors(model.graph ?? {})) {
    const location = isExternal(tensor) ? entries(tensor).get("location") : undefined;
    if (location && !locations.includes(location)) locations.push(location);
  }
  return locations;
}

async function copyRange(
  source: Deno.FsFile,
  offset: number,
  length: number,
  into: Deno.FsFile,
): Promise<void> {
  await source.seek(offset, Deno.SeekMode.Start);
  const buffer = new Uint8Array(Math.min(length, 1 << 22));
  let left = length;
  while (left > 0) {
    const n = await source.read(buffer.subarray(0, Math.min(left, buffer.length)));
    if (n === null || n === 0) throw new RangeError(`External data ended ${left} bytes early`);
    let written = 0;
    while (written < n) written += await into.write(buffer.subarray(written, n));
    left -= n;
  }
}

/**
 * Writes a model to `path`, with every tensor over the threshold (whether inline or external in the source) in one
 * external-data file `<basename>_data` beside it, aligned to 64 bytes. Source external data is copied range by
 * range, never loaded whole. Both files appear atomically (temporary files, then renames); on failure neither is
 * left behind.
 *
 * @param path Where the model goes (its folder must exist).
 * @param model The model to write; its tensors are rewritten to point at the new data file.
 * @param options The folder of the source's external data, the size threshold.
 * @returns The paths and byte counts written.
 * @throws {TypeError} If the model has external tensors but no `sourceDir` was given.
 *
 * @example Small tensors stay inline
 * ```ts
 * import { writeOnnxModel } from "./onnx_files.ts";
 * import p from "npm:onnx-proto@8.0.1";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const model = p.onnx.ModelProto.create({ graph: { name: "g", initializer: [{ name: "w", dims: [1], dataType: 1, rawData: new Uint8Array(4) }] } });
 * const written = await writeOnnxModel(`${dir}/m.onnx`, model);
 * assert.equal(written.dataPath, undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeOnnxModel(
  path: string,
  model: Onnx.ModelProto,
  options: WriteOnnxModelOptions = {},
): Promise<WrittenOnnxModel> {
  const threshold = options.externalThreshold ?? 1024;
  const dataName = `${basename(path)}_data`;
  const dataPath = join(dirname(path), dataName);
  const suffix = `.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  const tempModel = join(dirname(path), `.${basename(path)}${suffix}`);
  const tempData = join(dirname(path), `.${dataName}${suffix}`);
  const sources = new Map<string, Deno.FsFile>();
  let data: Deno.FsFile | undefined;
  let offset = 0;
  try {
    for (const tensor of allTensors(model.graph ?? {})) {
      let length: number;
      let copy: (into: Deno.FsFile) => Promise<void>;
      if (isExternal(tensor)) {
        const e = entries(tensor);
        if (!options.sourceDir) {
          throw new TypeError(
            `Tensor '${tensor.name}' has external data; expected a sourceDir to copy it from`,
          );
        }
        const file = resolve(options.sourceDir, e.get("location")!);
        let source = sources.get(file);
        if (!source) sources.set(file, source = await Deno.open(file, { read: true }));
        const from = Number(e.get("offset") ?? 0);
        length = Number(e.get("length") ?? 0);
        if (length <= threshold) {
          // Small tensors go inline: ONNX Runtime's shape inference must read shapes and axes directly.
          const raw = new Uint8Array(length);
          await source.seek(from, Deno.SeekMode.Start);
          let got = 0;
          while (got < length) {
            const n = await source.read(raw.subarray(got));
            if (n === null || n === 0) {
              throw new RangeError(`External data of tensor '${tensor.name}' ended early`);
            }
            got += n;
          }
          tensor.rawData = raw;
          tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
          tensor.externalData = [];
          continue;
        }
        copy = (into) => copyRange(source!, from, length, into);
      } else if (tensor.rawData && tensor.rawData.length > threshold) {
        const raw = tensor.rawData;
        length = raw.length;
        copy = async (into) => {
          let written = 0;
          while (written < raw.length) written += await into.write(raw.subarray(written));
        };
      } else continue;
      data ??= await Deno.open(tempData, { write: true, createNew: true });
      const aligned = Math.ceil(offset / 64) * 64;
      if (aligned > offset) await data.write(new Uint8Array(aligned - offset));
      await copy(data);
      tensor.rawData = new Uint8Array();
      tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      tensor.externalData = [
        { key: "location", value: dataName },
        { key: "offset", value: String(aligned) },
        { key: "length", value: String(length) },
      ];
      offset = aligned + length;
    }
    data?.close();
    data = undefined;
    const bytes = onnx.ModelProto.encode(model).finish();
    await Deno.writeFile(tempModel, bytes);
    if (offset > 0) await Deno.rename(tempData, dataPath);
    else await Deno.remove(dataPath).catch(() => undefined);
    await Deno.rename(tempModel, path);
    return {
      path,
      ...(offset > 0 ? { dataPath } : {}),
      bytes: { model: bytes.length, data: offset },
    };
  } catch (error) {
    try {
      data?.close();
    } catch { /* already closed */ }
    await Deno.remove(tempData).catch(() => undefined);
    await Deno.remove(tempModel).catch(() => undefined);
    throw error;
  } finally {
    for (const source of sources.values()) source.close();
  }
}
