/**
 * Open-vocabulary labels for segments (the paper's Table 4): prompt templates, mask pooling, the text classifier
 * and the labelling of pooled vectors.
 *
 * @module
 */

export { fillTemplate, promptsOf, synonymsOf, VILD_TEMPLATES } from "./prompts.ts";
export { maskPool, type PooledFeatures } from "./mask_pool.ts";
export {
  buildTextClassifier,
  l2NormaliseInPlace,
  templateEnsemble,
  type TextClassifier,
  TextClassifierCache,
  type TextClassifierOptions,
  type TextEmbedder,
} from "./text_classifier.ts";
export {
  classLogits,
  type LabelOptions,
  labelSegments,
  MAX_LOGIT_SCALE,
  type SegmentLabel,
} from "./label_segments.ts";
export {
  bytesToUnicode,
  CLIP_CONTEXT_LENGTH,
  CLIP_MERGES,
  ClipTokenizer,
  type TokenizedTexts,
} from "./clip_tokenizer.ts";
export { type OpenVocabModel, type OpenVocabSection, parseOpenVocabSection } from "./clip_sidecar.ts";
export { ClipLabeller, type ClipLabelOptions, type LabelledSegment } from "./clip_labeller.ts";
export { DEFAULT_OPEN_VOCAB_MODEL, loadOpenVocab, type OpenVocab } from "./open_vocab.ts";
export { parseClassFile, parseClassList } from "./class_list.ts";
export { checkClipSize, type ClipInputFacts, readClipInput } from "./clip_size.ts";
