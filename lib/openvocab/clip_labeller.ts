/**
 * Labels the segments of one image with CLIP (the authors' `associate_label`): the dense trunk features (the
 * sidecar's encoder part, run by the usual encoder loader) are mask-pooled per segment, the pooled vectors go through
 * the visual head, and their logits against the templated text classifier of the class names give each segment a
 * label and a score. The text classifier is computed once per label list (cached per labeller).
 *
 * @module
 */

import { join } from "node:path";
import { createOrtSession, type OrtRunnerChoice, type OrtSession } from "../onnx/ort_session.ts";
import type { FeatureMap, LabelMap } from "../types.ts";
import type { OpenVocabSection } from "./clip_sidecar.ts";
import { ClipTokenizer } from "./clip_tokenizer.ts";
import { type LabelOptions, labelSegments, type SegmentLabel } from "./label_segments.ts";
import { maskPool } from "./mask_pool.ts";
import { type TextClassifier, TextClassifierCache, type TextClassifierOptions } from "./text_classifier.ts";

/** One labelled segment. */
export interface LabelledSegment extends SegmentLabel {
  /** The segment's id in the label map. */
  segment: number;
  /** Feature-grid cells the segment covers (0: it vanished at the trunk's resolution; its score is uninformative). */
  cells: number;
}

/** Options of {@link ClipLabeller.label}. */
export interface ClipLabelOptions extends TextClassifierOptions {
  /** An optional void embedding (see `label_segments.ts`). */
  voidEmbedding?: Float32Array;
}

/** The visual head, text encoder and tokenizer of a CLIP sidecar's `openVocab` section. */
export class ClipLabeller {
  readonly #cache: TextClassifierCache;
  readonly #head: OrtSession;
  readonly #text: OrtSession;
  /** The CLIP tokenizer. */
  readonly tokenizer: ClipTokenizer;
  /** The sidecar section naming inputs and outputs. */
  readonly section: OpenVocabSection;

  /**
   * A labeller over open sessions (it owns them: `dispose()` frees them).
   *
   * @param head visual head session (pooled trunk vectors → joint embeddings)
   * @param text text encoder session (token ids → joint embeddings)
   * @param tokenizer the CLIP tokenizer
   * @param section the sidecar section naming inputs and outputs
   */
  constructor(head: OrtSession, text: OrtSession, tokenizer: ClipTokenizer, section: OpenVocabSection) {
    this.#head = head;
    this.#text = text;
    this.tokenizer = tokenizer;
    this.section = section;
    this.#cache = new TextClassifierCache((prompts) => this.embedTexts(prompts));
  }

  /** Load the section's models and merges file from the installed model folder `dir`. */
  static async load(dir: string, section: OpenVocabSection, runner?: OrtRunnerChoice): Promise<ClipLabeller> {
    const session = async (file: string, label: string) =>
      await createOrtSession(await Deno.readFile(join(dir, file)), { label, runner });
    const head = await session(section.head.model, "CLIP visual head");
    try {
      const text = await session(section.text.model, "CLIP text encoder");
      return new ClipLabeller(
        head,
        text,
        await ClipTokenizer.fromFile(join(dir, section.tokenizer)),
        section,
      );
    } catch (e) {
      await head.dispose();
      throw e;
    }
  }

  /** Joint embeddings of texts (unnormalised, as the text encoder returns them). */
  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    const { input, output } = this.section.text;
    const tok = this.tokenizer.tokenize(texts, this.section.contextLength);
    const out =
      (await this.#text.run({ [input]: { data: tok.ids, dims: [tok.count, tok.contextLength] } }, [output]))[
        output
      ];
    return rowsOf(out.data, texts.length, this.section.embedDim, "text encoder");
  }

  /** Joint embeddings of `rows` pooled trunk vectors (`rows·channels` values). */
  async embedPooled(pooled: Float32Array, rows: number, channels: number): Promise<Float32Array> {
    const { input, output } = this.section.head;
    const out =
      (await this.#head.run({ [input]: { data: pooled, dims: [rows, channels] } }, [output]))[output];
    if (out.data.length !== rows * this.section.embedDim) {
      throw new RangeError(
        `visual head returned ${out.data.length} values, expected ${rows}×${this.section.embedDim}`,
      );
    }
    return out.data;
  }

  /** The cached text classifier of `classNames`. */
  classifier(classNames: readonly string[], options: TextClassifierOptions = {}): Promise<TextClassifier> {
    return this.#cache.get(classNames, options);
  }

  /** Label every segment of `labels` from the trunk's dense `features`. */
  async label(
    features: FeatureMap,
    labels: LabelMap,
    classNames: readonly string[],
    options: ClipLabelOptions = {},
  ): Promise<LabelledSegment[]> {
    const classifier = await this.classifier(classNames, options);
    const pooled = maskPool(features, labels);
    const embedded = await this.embedPooled(pooled.data, pooled.rows, pooled.channels);
    const labelOptions: LabelOptions = {
      logitScale: this.section.logitScale,
      ...(options.voidEmbedding ? { voidEmbedding: options.voidEmbedding } : {}),
    };
    return labelSegments(embedded, pooled.rows, classifier, labelOptions).map((l, k) => ({
      ...l,
      segment: pooled.labels[k],
      cells: pooled.cells[k],
    }));
  }

  /** Frees both sessions. */
  async dispose(): Promise<void> {
    await Promise.all([this.#head.dispose(), this.#text.dispose()]);
  }
}

function rowsOf(data: Float32Array, rows: number, dim: number, what: string): Float32Array[] {
  if (data.length !== rows * dim) {
    throw new RangeError(`${what} returned ${data.length} values, expected ${rows}×${dim}`);
  }
  return Array.from({ length: rows }, (_, r) => data.slice(r * dim, (r + 1) * dim));
}
