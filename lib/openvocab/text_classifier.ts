/**
 * The open-vocabulary text classifier (as the authors' `tools/clip_classifier.py` builds it, after fc-clip): for each
 * class, each synonym is written into every prompt template, the prompts are embedded by the CLIP text encoder, each
 * embedding is L2-normalised, the template embeddings of a synonym are averaged and the mean is L2-normalised again.
 * A class thus keeps one unit vector per synonym; the max over synonyms happens on the logits (`label_segments.ts`).
 *
 * @module
 */

import { promptsOf, VILD_TEMPLATES } from "./prompts.ts";

/** Embeds a batch of prompts: one vector per prompt, all of one length. */
export type TextEmbedder = (prompts: string[]) => Promise<Float32Array[]> | Float32Array[];

/** One unit vector per synonym of every class, classes in order, synonyms of a class contiguous. */
export interface TextClassifier {
  /** The class names as given (synonyms still comma-joined). */
  names: string[];
  /** Synonyms per class; `vectors` holds `sum(synonymCounts)` rows. */
  synonymCounts: number[];
  /** `rows·dim` values, row-major; each row has unit L2 norm (or is zero if its embeddings summed to zero). */
  vectors: Float32Array;
  /** Embedding length. */
  dim: number;
}

/** Scale `v` in place to unit L2 norm (left as is when its norm is 0). Returns `v`. */
export function l2NormaliseInPlace(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  if (n > 0) { for (let i = 0; i < v.length; i++) v[i] /= n; }
  return v;
}

/** The normalised mean of normalised embeddings (the per-synonym template ensemble). */
export function templateEnsemble(embeddings: readonly Float32Array[]): Float32Array {
  if (embeddings.length === 0) throw new Error("no template embeddings");
  const dim = embeddings[0].length;
  const acc = new Float64Array(dim);
  for (const e of embeddings) {
    if (e.length !== dim) throw new Error(`embedding length ${e.length}, expected ${dim}`);
    let s = 0;
    for (let i = 0; i < dim; i++) s += e[i] * e[i];
    const n = Math.sqrt(s);
    if (n > 0) { for (let i = 0; i < dim; i++) acc[i] += e[i] / n; }
  }
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = acc[i] / embeddings.length;
  return l2NormaliseInPlace(out);
}

/** Options of {@link buildTextClassifier}. */
export interface TextClassifierOptions {
  /** Prompt templates (default: the 14 ViLD templates). */
  templates?: readonly string[];
  /** Prompts per call of the embedder (default 128, as the authors batch). */
  batchSize?: number;
}

/** Build the classifier of `classNames` with `embed` (see the module note for the ensembling). */
export async function buildTextClassifier(
  classNames: readonly string[],
  embed: TextEmbedder,
  options: TextClassifierOptions = {},
): Promise<TextClassifier> {
  const templates = options.templates ?? VILD_TEMPLATES;
  const batchSize = options.batchSize ?? 128;
  if (classNames.length === 0) throw new Error("no class names");
  if (templates.length === 0) throw new Error("no templates");
  const perClass = classNames.map((n) => promptsOf(n, templates));
  const prompts = perClass.flat(2);
  const embeddings: Float32Array[] = [];
  for (let i = 0; i < prompts.length; i += batchSize) {
    const batch = prompts.slice(i, i + batchSize);
    const out = await embed(batch);
    if (out.length !== batch.length) {
      throw new Error(`embedder returned ${out.length} vectors for ${batch.length}`);
    }
    embeddings.push(...out);
  }
  const dim = embeddings[0].length;
  const rows = prompts.length / templates.length;
  const vectors = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    vectors.set(
      templateEnsemble(embeddings.slice(r * templates.length, (r + 1) * templates.length)),
      r * dim,
    );
  }
  return { names: [...classNames], synonymCounts: perClass.map((s) => s.length), vectors, dim };
}

/**
 * A cache of classifiers keyed by label list and templates, so a segmenter computes the text side once per list.
 * The embedder is part of the cache's identity: make one cache per text encoder.
 */
export class TextClassifierCache {
  #entries = new Map<string, Promise<TextClassifier>>();
  /**
   * An empty cache.
   *
   * @param embed the text encoder every classifier of this cache uses
   */
  constructor(readonly embed: TextEmbedder) {}
  /** The classifier of `classNames`, built on first request. */
  get(classNames: readonly string[], options: TextClassifierOptions = {}): Promise<TextClassifier> {
    const key = JSON.stringify([classNames, options.templates ?? null]);
    let hit = this.#entries.get(key);
    if (!hit) {
      hit = buildTextClassifier(classNames, this.embed, options);
      hit.catch(() => this.#entries.delete(key));
      this.#entries.set(key, hit);
    }
    return hit;
  }
  /** Number of cached label lists. */
  get size(): number {
    return this.#entries.size;
  }
}
