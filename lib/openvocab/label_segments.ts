/**
 * Logits and labels of pooled segment embeddings against a text classifier (the authors'
 * `get_classification_logits` and `associate_label`): each pooled vector — already through CLIP's visual head — is
 * L2-normalised, its cosine with every synonym vector is scaled by CLIP's logit scale (`exp(logit_scale)`, clamped
 * at 100), a class's logit is the max over its synonyms, and the label is the argmax over classes.
 *
 * Void: the authors' code appends a last "void" column and leaves it out of the argmax (in their set-up that column
 * is a copy of the last synonym, so it never decides anything). Here a void vector is optional: without one every
 * segment gets a class, as in the paper's evaluation; with one, its logit competes and a segment it wins is labelled
 * void (`label` -1). Names such as "background" can instead be given as ordinary classes, as the authors do.
 *
 * @module
 */

import type { TextClassifier } from "./text_classifier.ts";

/** CLIP's trained `exp(logit_scale)` ceiling, used as the default scale. */
export const MAX_LOGIT_SCALE = 100;

/** The label of one segment. */
export interface SegmentLabel {
  /** Class index into `classifier.names`, or -1 for void. */
  label: number;
  /** The class name as given (`"void"` for void). */
  name: string;
  /** Softmax probability of the chosen column among the class columns (and void when it is used). */
  score: number;
  /** The chosen column's logit. */
  logit: number;
}

/** Options of {@link classLogits} and {@link labelSegments}. */
export interface LabelOptions {
  /** The multiplier of cosine similarities: CLIP's `exp(logit_scale)`; clamped at 100 (default 100). */
  logitScale?: number;
  /** A void embedding (length `classifier.dim`); normalised here. Without it, no segment is void. */
  voidEmbedding?: Float32Array;
}

/**
 * Class logits of `rows` pooled vectors (`rows·dim` values): `rows × (classes [+ 1 void])`, the void column last
 * when `voidEmbedding` is given.
 */
export function classLogits(
  pooled: Float32Array,
  rows: number,
  classifier: TextClassifier,
  options: LabelOptions = {},
): Float32Array {
  const { dim, vectors, synonymCounts } = classifier;
  if (pooled.length !== rows * dim) {
    throw new Error(`pooled has ${pooled.length} values, expected ${rows}×${dim}`);
  }
  const scale = Math.min(options.logitScale ?? MAX_LOGIT_SCALE, MAX_LOGIT_SCALE);
  let voidVec: Float32Array | undefined;
  if (options.voidEmbedding) {
    if (options.voidEmbedding.length !== dim) throw new Error("void embedding length mismatch");
    const v = Float32Array.from(options.voidEmbedding);
    let s = 0;
    for (const x of v) s += x * x;
    if (s > 0) { for (let i = 0; i < dim; i++) v[i] /= Math.sqrt(s); }
    voidVec = v;
  }
  const cols = synonymCounts.length + (voidVec ? 1 : 0);
  const out = new Float32Array(rows * cols);
  const x = new Float64Array(dim);
  const dot = (v: Float32Array, off: number) => {
    let s = 0;
    for (let i = 0; i < dim; i++) s += x[i] * v[off + i];
    return s;
  };
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += pooled[r * dim + i] ** 2;
    const n = Math.max(Math.sqrt(s), 1e-12); // F.normalize's eps
    for (let i = 0; i < dim; i++) x[i] = pooled[r * dim + i] / n;
    let row = 0;
    for (let c = 0; c < synonymCounts.length; c++) {
      let best = -Infinity;
      for (let k = 0; k < synonymCounts[c]; k++, row++) best = Math.max(best, dot(vectors, row * dim));
      out[r * cols + c] = scale * best;
    }
    if (voidVec) out[r * cols + cols - 1] = scale * dot(voidVec, 0);
  }
  return out;
}

/** The label, name and score of each pooled vector (`rows·dim` values). */
export function labelSegments(
  pooled: Float32Array,
  rows: number,
  classifier: TextClassifier,
  options: LabelOptions = {},
): SegmentLabel[] {
  const logits = classLogits(pooled, rows, classifier, options);
  const cols = logits.length / Math.max(rows, 1);
  const classes = classifier.synonymCounts.length;
  const out: SegmentLabel[] = [];
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * cols, (r + 1) * cols);
    let best = 0;
    for (let c = 1; c < cols; c++) if (row[c] > row[best]) best = c;
    let z = 0;
    for (let c = 0; c < cols; c++) z += Math.exp(row[c] - row[best]);
    const isVoid = best >= classes;
    out.push({
      label: isVoid ? -1 : best,
      name: isVoid ? "void" : classifier.names[best],
      score: 1 / z,
      logit: row[best],
    });
  }
  return out;
}
