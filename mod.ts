/**
 * DiffCut for Deno: zero-shot image segmentation with an encoder's patch features and recursive normalized cut
 * (Couairon et al., "DiffCut: Catalyzing Zero-Shot Semantic Segmentation with Diffusion Features and Recursive
 * Normalized Cut", NeurIPS 2024, arXiv:2406.02842).
 *
 * Pipeline: features `[h, w, c]` → affinity `minmax(cos)^α` → partition tree of recursive 2-way NCut → cut at τ
 * → concept assignment at pixel resolution → PAMR refinement.
 *
 * @example
 * ```ts
 * import { cutTree, buildPartitionTree } from "./mod.ts";
 * // A 4×4 grid whose left and right halves carry different features.
 * const data = new Float32Array(16 * 3);
 * for (let i = 0; i < 16; i++) data.set(i % 4 < 2 ? [1, 0.2, 0] : [0, 0.2, 1], i * 3);
 * const tree = await buildPartitionTree({ height: 4, width: 4, channels: 3, data }, { tauMax: 0.5 });
 * const labels = cutTree(tree, 0.5);
 * if (labels[0] === labels[3]) throw new Error("left and right halves should differ");
 * ```
 *
 * @module
 */
export type {
  Backend,
  DeviceFeatures,
  Encoder,
  EncoderDefaults,
  FeatureMap,
  ImageRGB,
  LabelMap,
} from "./lib/types.ts";
export type { AffinityOptions } from "./lib/affinity/affinity.ts";
export {
  affinityMatrix,
  assignConcepts,
  buildPartitionTree,
  kwayNcut,
  partitionNcut,
  refinePamr,
} from "./lib/stages.ts";
export type { KwayInit, KwayNcutOptions, KwayNcutResult, KwaySolveOptions } from "./lib/ncut/kway_ncut.ts";
export { ConstantAffinityError } from "./lib/affinity/constant_affinity_error.ts";
export type { PartitionNode, PartitionTree, PartitionTreeOptions } from "./lib/ncut/partition_tree.ts";
export { cutTree, cutTreeDetailed, type TreeCut } from "./lib/ncut/cut_tree.ts";
export { cutTreeAtSegments, type SegmentsCut } from "./lib/ncut/cut_segments.ts";
export { effectiveTau, STOP_RULES, type StopRule } from "./lib/ncut/stop_rule.ts";
export { adjustedRandIndex, type BorderStripOptions, thinBorderStrips } from "./lib/eval/partition_checks.ts";
export { recursiveNcut, type RecursiveNcutOptions } from "./lib/ncut/recursive_ncut.ts";
export { type FiedlerResult, fiedlerVector } from "./lib/eigensolve/fiedler.ts";
export type { LanczosOptions } from "./lib/eigensolve/lanczos.ts";
export { bestThresholdSplit, candidateThresholds, type SplitChoice } from "./lib/ncut/split.ts";
export type { AssignConceptsOptions } from "./lib/upsample/assign.ts";
export type { PamrOptions } from "./lib/pamr/pamr.ts";
export { medianFilter3x3 } from "./lib/pamr/median_filter.ts";
export {
  linearSumAssignment,
  type LinearSumAssignmentOptions,
  type LinearSumAssignmentResult,
} from "./lib/eval/linear_sum_assignment.ts";
export {
  type ClassClusterHistogram,
  fastHist,
  type HungarianMatch,
  hungarianMatch,
  perImageMiou,
  SegmentationScore,
  type SegmentationScoreJson,
} from "./lib/eval/matching.ts";
export { loadImage, type LoadImageOptions } from "./lib/image/load_image.ts";
export { encodeLabelPng, encodeRgbPng } from "./lib/image/encode_png.ts";
export {
  resizeBilinear,
  resizeImage,
  resizeLabelsNearest,
  resizeLabelsNearestExact,
} from "./lib/image/resize.ts";
export { centerCropImage, centerCropLabels, type CropBox, evalCropBox } from "./lib/image/crop.ts";
export { loadEncoder, type LoadEncoderOptions } from "./lib/encoder/load_encoder.ts";
export type { DiffusionEncoderOptions } from "./lib/encoder/diffusion_encoder.ts";
export {
  addNoise,
  alphasCumprod,
  type BetaSchedule,
  type NoiseCoefficients,
  noiseCoefficients,
  SCALED_LINEAR_SCHEDULE,
  seededGaussian,
} from "./lib/encoder/diffusion_noise.ts";
export {
  type EncoderStatus,
  encoderStatus,
  type EncoderStatusOptions,
} from "./lib/install/encoder_status.ts";
export { ORT_RUNNERS, type OrtRunner, type OrtRunnerChoice } from "./lib/onnx/ort_session.ts";
export {
  createSegmenter,
  type ResolvedSegmenterOptions,
  type SegmentationResult,
  type Segmenter,
  type SegmenterOptions,
  type SegmentTimings,
} from "./lib/segmenter.ts";
export {
  buildTextClassifier,
  type ClipLabeller,
  type ClipLabelOptions,
  ClipTokenizer,
  DEFAULT_OPEN_VOCAB_MODEL,
  type LabelledSegment,
  type LabelOptions,
  labelSegments,
  loadOpenVocab,
  maskPool,
  type OpenVocab,
  type OpenVocabModel,
  type OpenVocabSection,
  type PooledFeatures,
  type SegmentLabel,
  type TextClassifier,
  TextClassifierCache,
  type TextClassifierOptions,
  type TextEmbedder,
  type TokenizedTexts,
  VILD_TEMPLATES,
} from "./lib/openvocab/mod.ts";
export type { GpuStage, StageRun } from "./lib/gpu/backend.ts";
export { type OverlayOptions, overlaySegments } from "./lib/viz/overlay.ts";
export { loadLabelMap } from "./lib/image/load_labels.ts";
export { type EvalSample, prepareEvalSample } from "./lib/eval/protocol.ts";
export {
  bootstrapImages,
  type BootstrapInterval,
  bootstrapMean,
  type BootstrapOptions,
} from "./lib/eval/bootstrap.ts";
export {
  crossValidate,
  type CrossValidation,
  type HeldOutFold,
  type LeaveOneGroupOut,
  leaveOneGroupOut,
  type ScoredSetting,
} from "./lib/eval/cross_validate.ts";
export { ncutPerThreshold } from "./lib/ncut/split.ts";
export { BUILTIN_ENCODERS } from "./lib/encoder/load_encoder.ts";
export {
  createMobileNetEncoder,
  MOBILENET_LAYERS,
  type MobileNetEncoderOptions,
} from "./lib/encoder/mobilenet_encoder.ts";
export { type ColorEncoderOptions, createColorEncoder } from "./lib/encoder/color_encoder.ts";
export { segmentColor, segmentPalette } from "./lib/viz/palette.ts";
export {
  Chart,
  chartGrid,
  type FigureLayout,
  type PlotElement,
  type PlotOptions,
  renderPlot,
  toStandaloneSvg,
} from "./lib/viz/chart.ts";
export {
  type Displayable,
  displayBundle,
  JUPYTER_DISPLAY,
  type MimeBundle,
} from "./lib/viz/jupyter_display.ts";
export { heatmapChart, type HeatmapOptions } from "./lib/viz/heatmap_chart.ts";
export {
  heatmapOverlayChart,
  type HeatmapOverlayOptions,
  labelledImageGrid,
  type LabelledImageGridOptions,
} from "./lib/viz/heatmap_overlay.ts";
export { lineChart, type LineChartOptions, type LineSeries } from "./lib/viz/line_chart.ts";
export { intervalChart, type IntervalChartOptions, type IntervalPoint } from "./lib/viz/interval_chart.ts";
export { treeChart, type TreeChartOptions, treeLayout, type TreeLayoutNode } from "./lib/viz/tree_chart.ts";
export { type RocCurve, rocCurve } from "./lib/viz/roc.ts";
export {
  bootstrapPatchAuc,
  cosineMap,
  type LabelledFeatures,
  type PatchAucBootstrapOptions,
  type PatchAucInterval,
  type PatchLabelOptions,
  patchLabels,
  type PatchPairOptions,
  type PatchPairs,
  samplePatchPairs,
} from "./lib/viz/patch_alignment.ts";
export { seededRandom } from "./lib/random.ts";
export { ImageView, imageView } from "./lib/viz/image_view.ts";
export {
  featureMapView,
  ImageGrid,
  imageGrid,
  SegmentationView,
  segmentationView,
  type SegmentationViewOptions,
  type SegmentRow,
} from "./lib/viz/segmentation_view.ts";
export { featurePcaImage, principalComponents } from "./lib/viz/feature_pca.ts";
export { colormapImage, type ColormapOptions, viridis } from "./lib/viz/colormap.ts";
export { figuresDir, saveCsv, saveFigure, type SaveFigureOptions } from "./lib/viz/save_figure.ts";
export { svgToPng, type SvgToPngOptions } from "./lib/viz/svg_to_png.ts";
export { plural } from "./lib/viz/plural.ts";
