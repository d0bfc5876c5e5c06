/**
 * The `openVocab` section of a CLIP registry sidecar (`models/convnext-clip.json`): besides the dense visual trunk
 * (the sidecar's encoder part, checked by `lib/encoder/sidecar.ts`), the visual head that maps a pooled trunk vector
 * to CLIP's joint space, the text encoder, the tokenizer's merges file, and the numbers of the joint space.
 *
 * ```json
 * "openVocab": {
 *   "head": { "model": "visual_head.onnx", "input": "pooled", "output": "embedding" },
 *   "text": { "model": "text.onnx", "input": "input_ids", "output": "text_embedding" },
 *   "tokenizer": "bpe_simple_vocab_16e6.txt.gz",
 *   "embedDim": 768, "contextLength": 77, "logitScale": 100
 * }
 * ```
 *
 * The head takes `[N, channels]` pooled trunk vectors (float32) and returns `[N, embedDim]`; the text encoder takes
 * `[N, contextLength]` int64 token ids (0-padded, as `clip_tokenizer.ts` writes them) and returns the projected
 * end-of-text embedding `[N, embedDim]`. File names are relative to the installed sidecar.
 *
 * @module
 */

/** One ONNX model of the section: its file and its input and output names. */
export interface OpenVocabModel {
  /** File name, relative to the sidecar. */
  model: string;
  /** Input name. */
  input: string;
  /** Output name. */
  output: string;
}

/** The validated `openVocab` section. */
export interface OpenVocabSection {
  /** Visual head: pooled trunk vector → joint embedding. */
  head: OpenVocabModel;
  /** Text encoder: token ids → joint embedding. */
  text: OpenVocabModel;
  /** The tokenizer's merges file (`.txt` or `.txt.gz`). */
  tokenizer: string;
  /** Joint embedding length. */
  embedDim: number;
  /** Token ids per text. */
  contextLength: number;
  /** CLIP's `exp(logit_scale)` (at most 100). */
  logitScale: number;
}

type Json = Record<string, unknown>;

function fail(file: string, field: string, expected: string, got: unknown): never {
  throw new TypeError(
    `Sidecar '${file}': openVocab.${field} must be ${expected}, got ${JSON.stringify(got)}`,
  );
}

function relativeFile(file: string, field: string, value: unknown): string {
  if (
    typeof value !== "string" || value.length === 0 || value.startsWith("/") ||
    value.split(/[\\/]/).includes("..")
  ) {
    fail(file, field, "a file name inside the model folder", value);
  }
  return value;
}

function modelOf(file: string, field: string, value: unknown): OpenVocabModel {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(file, field, "an object", value);
  }
  const v = value as Json;
  for (const k of ["input", "output"]) {
    if (typeof v[k] !== "string" || v[k] === "") fail(file, `${field}.${k}`, "a non-empty string", v[k]);
  }
  return {
    model: relativeFile(file, `${field}.model`, v.model),
    input: v.input as string,
    output: v.output as string,
  };
}

function positiveInt(file: string, field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    fail(file, field, "a positive integer", value);
  }
  return value;
}

/** Validate the `openVocab` section of the sidecar JSON `root` read from `file` (named in errors). */
export function parseOpenVocabSection(root: Json, file: string): OpenVocabSection {
  const s = root.openVocab;
  if (typeof s !== "object" || s === null || Array.isArray(s)) fail(file, "", "an object", s);
  const o = s as Json;
  const logitScale = o.logitScale ?? 100;
  if (typeof logitScale !== "number" || !(logitScale > 0 && logitScale <= 100)) {
    fail(file, "logitScale", "a number in (0, 100]", logitScale);
  }
  return {
    head: modelOf(file, "head", o.head),
    text: modelOf(file, "text", o.text),
    tokenizer: relativeFile(file, "tokenizer", o.tokenizer),
    embedDim: positiveInt(file, "embedDim", o.embedDim),
    contextLength: positiveInt(file, "contextLength", o.contextLength ?? 77),
    logitScale,
  };
}
