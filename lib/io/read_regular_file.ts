/**
 * Reading a user's file without trusting it: only regular files (or symlinks to them) are opened, so a FIFO, a
 * device such as `/dev/zero` or a folder never blocks or floods the process, and the caller sees the first bytes
 * and the file's size before the body is read, so that a header check can refuse a file before it costs memory.
 *
 * @module
 */

/** What {@linkcode readRegularFile} hands to the caller's check before it reads the body. */
export interface FileHead {
  /** The first bytes of the file (all of it when the file is short). */
  bytes: Uint8Array;
  /** The file's size in bytes, from `fstat`. */
  size: number;
  /** Whether `bytes` is the longest head this read will offer (the check must decide now). */
  last: boolean;
}

/** Options of {@linkcode readRegularFile}. */
export interface ReadRegularFileOptions {
  /** How to call the file in messages, e.g. `"image"` → `Cannot load image "x.png": …`. */
  what: string;
  /**
   * Looks at the head and either returns `true` (read the body), returns `false` (offer a longer head, up to
   * {@linkcode MAX_HEAD_BYTES}) or throws to refuse the file. Without it the whole file is read.
   */
  checkHead?: (head: FileHead) => boolean;
}

/** The first head offered to `checkHead`. */
export const FIRST_HEAD_BYTES = 64 * 1024;
/** The longest head offered to `checkHead` (a JPEG may carry megabytes of metadata before its frame header). */
export const MAX_HEAD_BYTES = 16 * 1024 * 1024;

/** What a non-regular file is, for messages. */
function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a folder";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/** The error for a file that cannot be opened, keeping Deno's error class for callers that test it. */
function openError(error: unknown, what: string, quoted: string): Error {
  const where = `Cannot load ${what} ${quoted}`;
  if (error instanceof Deno.errors.NotFound) {
    return new Deno.errors.NotFound(`${where}: no such file`, { cause: error });
  }
  if (error instanceof Deno.errors.FilesystemLoop || /os error 40\b/.test(String(error))) {
    return new Deno.errors.FilesystemLoop(`${where}: symbolic link loop, expected a link to a regular file`, {
      cause: error,
    });
  }
  const text = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  if (error instanceof Error) {
    const Kind = error.constructor as new (message: string, options?: ErrorOptions) => Error;
    try {
      return new Kind(`${where}: ${text}`, { cause: error });
    } catch {
      // A class whose constructor wants other arguments: a plain Error below.
    }
  }
  return new Error(`${where}: ${text}`, { cause: error });
}

/** Fills `buffer` from `from` on until it is full or the file ends; returns how far it got. */
async function readInto(file: Deno.FsFile, buffer: Uint8Array, from: number, fail: (e: unknown) => Error) {
  let filled = from;
  try {
    while (filled < buffer.length) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
  } catch (error) {
    throw fail(error);
  }
  return filled;
}

/**
 * Reads a regular file (or what a symlink points to), letting `checkHead` refuse it from its first bytes and size
 * before the body is read.
 *
 * @example Refuse a file from its head
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRegularFile } from "./read_regular_file.ts";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello");
 * assert.equal(new TextDecoder().decode(await readRegularFile(path, { what: "note" })), "hello");
 * await assert.rejects(
 *   readRegularFile(path, { what: "note", checkHead: ({ size }) => { throw new RangeError(`${size} bytes`); } }),
 *   /5 bytes/,
 * );
 * await assert.rejects(readRegularFile("/dev/null", { what: "note" }), /a character device, expected a regular file/);
 * await Deno.remove(path);
 * ```
 *
 * @param path The file.
 * @param options How to name it and how to check its head.
 * @returns The file's bytes (as many as it held when read, at most its size at open).
 * @throws {Deno.errors.NotFound} If it does not exist.
 * @throws {Deno.errors.FilesystemLoop} If it is a symbolic link loop.
 * @throws {TypeError} If it is not a regular file (folder, FIFO, device, socket).
 * @throws {Error} Whatever `checkHead` throws, or Deno's error for an unreadable file (its class kept).
 */
export async function readRegularFile(path: string, options: ReadRegularFileOptions): Promise<Uint8Array> {
  const quoted = JSON.stringify(path);
  const expected = (info: Deno.FileInfo) =>
    new TypeError(`Cannot load ${options.what} ${quoted}: it is ${kindOf(info)}, expected a regular file`);
  let info: Deno.FileInfo;
  try {
    // stat before open: opening a FIFO for reading blocks until a writer appears.
    info = await Deno.stat(path);
  } catch (error) {
    throw openError(error, options.what, quoted);
  }
  if (!info.isFile) throw expected(info);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw openError(error, options.what, quoted);
  }
  const fail = (error: unknown) => openError(error, options.what, quoted);
  try {
    const opened = await file.stat(); // the file that was opened, not what the path names now
    if (!opened.isFile) throw expected(opened);
    const size = opened.size;
    let head = new Uint8Array(0);
    if (options.checkHead) {
      for (let want = FIRST_HEAD_BYTES;; want *= 4) {
        const length = Math.min(size, want, MAX_HEAD_BYTES);
        const next = new Uint8Array(length);
        next.set(head);
        head = next.subarray(0, await readInto(file, next, head.length, fail));
        const last = head.length >= size || length >= MAX_HEAD_BYTES || head.length < length;
        if (options.checkHead({ bytes: head, size, last }) || last) break;
      }
    }
    const all = new Uint8Array(size);
    all.set(head);
    const filled = head.length < size ? await readInto(file, all, head.length, fail) : head.length;
    return filled === size ? all : all.subarray(0, filled);
  } finally {
    file.close();
  }
}
