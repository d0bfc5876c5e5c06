/**
 * Resumable, verified downloads of model files.
 *
 * {@linkcode downloadFile} streams a URL into `<dest>.part`, hashing as it goes. A `.part` left by an interrupted
 * download is resumed with an HTTP `Range` request (a server that ignores it sends the whole file, which is then
 * written from the start). The file is renamed to `dest` only when it has every byte the server announced and its
 * SHA-256 matches: the pinned hash if the registry has one, else the hash the hub announces for the file
 * (`X-Linked-ETag`/`ETag` holding 64 hex digits, as Git-LFS files get). A short download keeps its `.part` (run the
 * same command again to resume); a hash mismatch deletes it.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { basename, dirname } from "node:path";

/** The server could not be reached (offline, DNS, refused, or a host the process may not contact). */
export class DownloadUnreachableError extends Error {
  /** The host that could not be reached. */
  readonly host: string;
  /**
   * @param host The host.
   * @param message The message.
   * @param options The underlying error as `cause`.
   */
  constructor(host: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DownloadUnreachableError";
    this.host = host;
  }
}

/** Options of {@linkcode downloadFile}. */
export interface DownloadOptions {
  /** Expected SHA-256 (hex); wins over the hash the server announces. */
  sha256?: string;
  /** Expected size in bytes, if known. */
  bytes?: number;
  /** Called as bytes arrive: bytes so far (resumed ones included) and the total, if known. */
  onProgress?: (done: number, total: number | undefined) => void;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** What {@linkcode downloadFile} got. */
export interface DownloadResult {
  /** The file written. */
  path: string;
  /** Its SHA-256 (hex). */
  sha256: string;
  /** Its size in bytes. */
  bytes: number;
  /** Bytes taken from an earlier `.part` file. */
  resumedFrom: number;
  /** Where the expected hash came from. */
  verifiedBy: "pinned" | "server" | "none";
}

function announcedSha256(headers: Headers): string | undefined {
  for (const name of ["x-linked-etag", "etag"]) {
    const value = headers.get(name)?.replace(/^W\//, "").replace(/"/g, "").trim();
    if (value && /^[0-9a-f]{64}$/i.test(value)) return value.toLowerCase();
  }
  return undefined;
}

async function hashExisting(path: string, hash: Hash): Promise<number> {
  let size = 0;
  try {
    using file = await Deno.open(path, { read: true });
    const buffer = new Uint8Array(1 << 22);
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) break;
      hash.update(buffer.subarray(0, n));
      size += n;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return size;
}

/**
 * Downloads `url` to `dest`, resuming a `.part` file, checking the size and SHA-256.
 *
 * @param url The file's URL.
 * @param dest Where the file goes (its folder is created).
 * @param options Expected hash and size, progress callback.
 * @returns The path, hash, size, resumed bytes and the source of the expected hash.
 * @throws {DownloadUnreachableError} If the server cannot be reached, or the process may not contact its host.
 * @throws {Error} If the server answers with an HTTP error.
 * @throws {RangeError} If the download stops short (the `.part` file is kept for resuming) or its SHA-256 or size
 * differs from the expected one (the `.part` file is deleted).
 *
 * @example
 * ```ts ignore
 * import { downloadFile } from "./download.ts";
 * await downloadFile("https://huggingface.co/Xenova/dinov2-large/resolve/main/onnx/model.onnx", "/tmp/diffcut/dinov2-large/onnx/model.onnx");
 * ```
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const host = new URL(url).host;
  const part = `${dest}.part`;
  await Deno.mkdir(dirname(dest), { recursive: true });
  const hash = createHash("sha256");
  let offset = await hashExisting(part, hash);
  const headers: Record<string, string> = { ...options.headers };
  if (offset > 0) headers.range = `bytes=${offset}-`;
  let response: Response;
  try {
    response = await fetch(url, { headers, redirect: "follow" });
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0];
    const notAllowed = error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied;
    throw new DownloadUnreachableError(
      host,
      notAllowed
        ? `cannot reach ${host}: this process may not contact it (${reason})`
        : `cannot reach ${host} (${reason})`,
      { cause: error },
    );
  }
  if (response.status === 416 && offset > 0) {
    // The .part may already be complete; check it below without a body.
    await response.body?.cancel();
  } else if (!response.ok) {
    await response.body?.cancel();
    throw new Error(
      `Download of ${url} failed: HTTP ${response.status} ${response.statusText}; expected the file`,
    );
  }
  let total: number | undefined = options.bytes;
  if (response.status === 200 && offset > 0) {
    // The server ignored the Range header: start again.
    offset = 0;
    hash.destroy();
    return await downloadFresh(url, dest, response, options, host);
  }
  if (response.status === 206 || response.status === 200) {
    const length = Number(response.headers.get("content-length") ?? NaN);
    const range = /\/(\d+)$/.exec(response.headers.get("content-range") ?? "");
    const announced = range ? Number(range[1]) : Number.isFinite(length) ? offset + length : undefined;
    total ??= announced;
  }
  const expectedSha = options.sha256?.toLowerCase() ?? announcedSha256(response.headers);
  let done = offset;
  if (response.body && response.status !== 416) {
    using file = await Deno.open(part, { write: true, create: true, append: true });
    done = await appendBody(response.body, file, { hash, done, total, url, onProgress: options.onProgress });
  }
  return await finish({
    url,
    dest,
    part,
    sha256: hash.digest("hex"),
    bytes: done,
    total,
    resumedFrom: offset,
    expectedSha,
    pinned: options.sha256,
  });
}

async function downloadFresh(
  url: string,
  dest: string,
  response: Response,
  options: DownloadOptions,
  _host: string,
): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const hash = createHash("sha256");
  const length = Number(response.headers.get("content-length") ?? NaN);
  const total = options.bytes ?? (Number.isFinite(length) ? length : undefined);
  const expectedSha = options.sha256?.toLowerCase() ?? announcedSha256(response.headers);
  using file = await Deno.open(part, { write: true, create: true, truncate: true });
  const done = await appendBody(response.body!, file, {
    hash,
    done: 0,
    total,
    url,
    onProgress: options.onProgress,
  });
  return await finish({
    url,
    dest,
    part,
    sha256: hash.digest("hex"),
    bytes: done,
    total,
    resumedFrom: 0,
    expectedSha,
    pinned: options.sha256,
  });
}

/**
 * Writes a response body to the end of an open file, hashing it and reporting progress.
 *
 * @returns The byte count reached (`done` plus the body's length).
 * @throws {RangeError} When the transfer breaks off; the message says how far it got and that the same command
 * resumes.
 */
async function appendBody(
  body: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
  t: {
    hash: Hash;
    done: number;
    total: number | undefined;
    url: string;
    onProgress?: (done: number, total: number | undefined) => void;
  },
): Promise<number> {
  let done = t.done;
  try {
    for await (const chunk of body) {
      t.hash.update(chunk);
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
      done += chunk.length;
      t.onProgress?.(done, t.total);
    }
  } catch (error) {
    throw new RangeError(
      `Download of ${t.url} stopped after ${done}${t.total ? ` of ${t.total}` : ""} bytes (${
        (error as Error).message.split("\n")[0]
      }); run the same command again to resume`,
      { cause: error },
    );
  }
  return done;
}

/** A finished transfer, as {@linkcode finish} checks it. */
interface FinishedTransfer {
  /** Where it came from. */
  url: string;
  /** Final path. */
  dest: string;
  /** The partial file written so far. */
  part: string;
  /** SHA-256 of the whole file. */
  sha256: string;
  /** Bytes in the whole file. */
  bytes: number;
  /** Size the server announced, if any. */
  total: number | undefined;
  /** Bytes kept from an earlier, interrupted download. */
  resumedFrom: number;
  /** The hash to match: the pin, else the server's. */
  expectedSha: string | undefined;
  /** The registry's pin, if any. */
  pinned: string | undefined;
}

/** Checks a finished transfer's size and hash and renames the partial file into place. */
async function finish(t: FinishedTransfer): Promise<DownloadResult> {
  const { url, dest, part, sha256, bytes, total, resumedFrom, expectedSha, pinned } = t;
  if (total !== undefined && bytes < total) {
    throw new RangeError(
      `Download of ${url} stopped after ${bytes} of ${total} bytes; run the same command again to resume`,
    );
  }
  if ((total !== undefined && bytes > total) || (expectedSha !== undefined && sha256 !== expectedSha)) {
    await Deno.remove(part).catch(() => undefined);
    throw new RangeError(
      `File ${basename(dest)} from ${url} has ${
        expectedSha !== undefined && sha256 !== expectedSha
          ? `SHA-256 ${sha256}, expected ${expectedSha}`
          : `${bytes} bytes, expected ${total}`
      }; the download was deleted, run the command again`,
    );
  }
  await Deno.rename(part, dest);
  return {
    path: dest,
    sha256,
    bytes,
    resumedFrom,
    verifiedBy: pinned ? "pinned" : expectedSha ? "server" : "none",
  };
}
