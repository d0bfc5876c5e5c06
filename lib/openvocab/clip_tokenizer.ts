/**
 * CLIP's byte-pair tokenizer (the one open_clip's `SimpleTokenizer` runs for `convnext_large_d_320`), read from the
 * standard merges file — open_clip's `bpe_simple_vocab_16e6.txt(.gz)` or a Hugging Face `merges.txt`, which list the
 * same merges after one header line. The vocabulary is derived as the reference does: the 256 byte symbols, the same
 * with `</w>`, one token per merge, then start and end of text. Texts are cleaned (NFC, whitespace runs to one
 * space, trimmed, lower case), split by CLIP's pattern, byte-encoded, merged by rank and wrapped as
 * `[sot, …, eot]`, truncated to the context length with `eot` kept last and padded with 0.
 *
 * Not reproduced: ftfy's mojibake repair and HTML unescaping, which change nothing for plain class names.
 *
 * @module
 */

/** The merges the reference keeps: 49152 − 256 − 2 (the file holds more). */
export const CLIP_MERGES = 49152 - 256 - 2;
/** CLIP's text context length. */
export const CLIP_CONTEXT_LENGTH = 77;

const PATTERN = /<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/** GPT-2/CLIP's reversible byte → printable-character table (index = byte value). */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  for (const b of printable) table[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCodePoint(256 + n++);
  return table;
}

/** Tokenized texts: `count × contextLength` ids, 0-padded, plus where each row's end-of-text token sits. */
export interface TokenizedTexts {
  /** Row-major ids. */
  ids: Int32Array;
  /** Number of texts. */
  count: number;
  /** Ids per row. */
  contextLength: number;
  /** Index of `eot` in each row (the text encoder reads its output there). */
  eotIndex: number[];
}

/** CLIP's BPE tokenizer built from the merges file's text. */
export class ClipTokenizer {
  /** Token → id. */
  readonly encoder: Map<string, number>;
  /** Id of `<start_of_text>`. */
  readonly sot: number;
  /** Id of `<end_of_text>`. */
  readonly eot: number;
  readonly #ranks: Map<string, number>;
  readonly #byteChars = bytesToUnicode();
  readonly #cache = new Map<string, string[]>();

  /**
   * A tokenizer from the merges file's text.
   *
   * @param mergesText the merges file: a header line, then one `left right` pair per line
   * @param maxMerges how many merges to keep (default {@link CLIP_MERGES}, as the reference)
   */
  constructor(mergesText: string, maxMerges = CLIP_MERGES) {
    const lines = mergesText.split("\n").slice(1, 1 + maxMerges).filter((l) => l.trim().length > 0);
    const merges = lines.map((l, i) => {
      const parts = l.trim().split(/\s+/);
      if (parts.length !== 2) {
        throw new Error(`merges line ${i + 2}: expected two symbols, got ${JSON.stringify(l)}`);
      }
      return parts as [string, string];
    });
    // The reference lists byte symbols in its table's insertion order: printable bytes, then the rest (code order).
    const symbols = [...this.#byteChars].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    const vocab = [...symbols, ...symbols.map((c) => c + "</w>"), ...merges.map(([a, b]) => a + b)];
    vocab.push("<start_of_text>", "<end_of_text>");
    this.encoder = new Map(vocab.map((t, i) => [t, i]));
    this.sot = vocab.length - 2;
    this.eot = vocab.length - 1;
    this.#ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  }

  /** Vocabulary size (49408 for the real file). */
  get vocabSize(): number {
    return this.eot + 1;
  }

  /** Read a merges file (`.gz` is decompressed). */
  static async fromFile(path: string, maxMerges = CLIP_MERGES): Promise<ClipTokenizer> {
    let bytes: Uint8Array = await Deno.readFile(path);
    if (path.endsWith(".gz")) {
      const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      );
      bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    }
    return new ClipTokenizer(new TextDecoder().decode(bytes), maxMerges);
  }

  /** The BPE symbols of one byte-encoded word (last symbol marked `</w>`). */
  bpe(word: string): string[] {
    const hit = this.#cache.get(word);
    if (hit) return hit;
    const chars = [...word];
    let parts = [...chars.slice(0, -1), chars[chars.length - 1] + "</w>"];
    while (parts.length > 1) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.#ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      const [a, b] = [parts[best], parts[best + 1]];
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(parts[i]);
      }
      parts = next;
    }
    this.#cache.set(word, parts);
    return parts;
  }

  /** The ids of one text, without start/end tokens. */
  encode(text: string): number[] {
    const clean = text.normalize("NFC").replace(/\s+/g, " ").trim().toLowerCase();
    const ids: number[] = [];
    for (const m of clean.matchAll(PATTERN)) {
      const word = [...new TextEncoder().encode(m[0])].map((b) => this.#byteChars[b]).join("");
      for (const sym of this.bpe(word)) {
        const id = this.encoder.get(sym);
        if (id === undefined) throw new Error(`token ${JSON.stringify(sym)} is not in the vocabulary`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** Tokenize texts as the reference's `tokenize(texts, context_length)`. */
  tokenize(texts: readonly string[], contextLength = CLIP_CONTEXT_LENGTH): TokenizedTexts {
    if (contextLength < 2) throw new Error("context length must be at least 2");
    const ids = new Int32Array(texts.length * contextLength);
    const eotIndex: number[] = [];
    texts.forEach((t, r) => {
      const row = [this.sot, ...this.encode(t), this.eot];
      if (row.length > contextLength) {
        row.length = contextLength;
        row[contextLength - 1] = this.eot;
      }
      ids.set(row, r * contextLength);
      eotIndex.push(row.length - 1);
    });
    return { ids, count: texts.length, contextLength, eotIndex };
  }
}
