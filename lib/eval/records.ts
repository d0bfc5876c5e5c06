/**
 * The per-image record log of an evaluation run: one JSON object per line, appended as each image finishes and
 * fsync'd before the next one starts, so a killed run loses at most the image in flight.
 *
 * On reopening, a last line without its newline (a write cut short by a kill) is dropped and the file is
 * truncated back to the last complete line; a complete line that is not valid JSON is an error (the file was
 * damaged some other way). Each line is written with one buffer; the reader never accepts a partial line.
 *
 * @module
 */
import { printable } from "../io/printable.ts";
import type { ImageRowResult } from "./score_image.ts";
import type { ScoringProtocol } from "./methods.ts";

/** One image's line in the log. */
export interface ImageRecord {
  /** Sample id. */
  id: string;
  /** Index of the sample in the dataset's order. */
  index: number;
  /** Results by row key. */
  results: Record<string, ImageRowResult>;
  /** Milliseconds per stage (load, encode, each method, upsample, pamr, match, total). */
  ms: Record<string, number>;
  /** Method facts (AutoSC's α and K, K* …). */
  info?: Record<string, unknown>;
  /** How the results were scored; records written before the field existed were `hungarian`. */
  protocol?: ScoringProtocol;
}

/**
 * Refuses a record scored under another protocol than the run's, so that one table never sums counts of both.
 *
 * @param record A record read back.
 * @param expected The run's protocol.
 * @param where The record file, named in the message.
 * @throws {RangeError} Naming the record, its protocol and the expected one.
 */
export function checkRecordProtocol(record: ImageRecord, expected: ScoringProtocol, where: string): void {
  const got = record.protocol ?? "hungarian";
  if (got !== expected) {
    throw new RangeError(
      `Record '${printable(record.id)}' in '${
        printable(where)
      }' was scored with the ${got} protocol; expected ${expected}, the run's (use another --out)`,
    );
  }
}

/** What {@linkcode openRecordLog} found. */
export interface RecordLog {
  /** Path of the log. */
  path: string;
  /** Records already in the file, by id (first occurrence kept). */
  records: Map<string, ImageRecord>;
  /** Bytes of a cut-off last line that were dropped (0 when the file was clean). */
  droppedBytes: number;
  /** Appends one record durably (one write of the whole line, then fsync). */
  append(record: ImageRecord): Promise<void>;
  /** Closes the file. */
  close(): void;
}

/**
 * Reads the complete records of a log file (missing file: none). A cut-off last line is ignored.
 *
 * @param path Log path.
 * @returns The records in file order and the byte length of the complete lines.
 * @throws {SyntaxError} Naming the file and line when a complete line is not a record.
 */
export async function readRecords(
  path: string,
): Promise<{ records: ImageRecord[]; validBytes: number; size: number }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { records: [], validBytes: 0, size: 0 };
    throw e;
  }
  const lastNewline = bytes.lastIndexOf(10);
  const validBytes = lastNewline + 1;
  const text = new TextDecoder().decode(bytes.subarray(0, validBytes));
  const records: ImageRecord[] = [];
  const lines = text.split("\n");
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k];
    if (line.trim() === "") continue;
    let rec: ImageRecord;
    try {
      rec = JSON.parse(line);
    } catch {
      throw new SyntaxError(
        `Invalid record at ${printable(path)}:${k + 1}: expected one JSON object per line`,
      );
    }
    if (typeof rec?.id !== "string" || typeof rec.results !== "object" || rec.results === null) {
      throw new SyntaxError(
        `Invalid record at ${printable(path)}:${k + 1}: expected an object with "id" and "results"`,
      );
    }
    records.push(rec);
  }
  return { records, validBytes, size: bytes.length };
}

/**
 * Opens (or creates) a record log for appending, dropping a cut-off last line.
 *
 * @param path Log path (its folder must exist).
 * @returns The log with the records already present.
 * @throws {SyntaxError} When a complete line is not a record.
 */
export async function openRecordLog(path: string): Promise<RecordLog> {
  const { records, validBytes, size } = await readRecords(path);
  if (size > validBytes) await Deno.truncate(path, validBytes);
  const file = await Deno.open(path, { append: true, create: true });
  const byId = new Map<string, ImageRecord>();
  for (const r of records) if (!byId.has(r.id)) byId.set(r.id, r);
  return {
    path,
    records: byId,
    droppedBytes: size - validBytes,
    async append(record: ImageRecord) {
      const bytes = new TextEncoder().encode(JSON.stringify(record) + "\n");
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
      byId.set(record.id, record);
    },
    close() {
      try {
        file.close();
      } catch { /* already closed */ }
    },
  };
}
