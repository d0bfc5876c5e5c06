/**
 * The plotting and display helpers alone (`@diffcut/diffcut/viz`): Observable Plot charts on a linkedom document,
 * segment overlays and palettes, image and segmentation views that display themselves in a Jupyter notebook on
 * the Deno kernel, and {@linkcode saveFigure} to write a chart as SVG and/or PNG (or a view as PNG) from a
 * script. The main entry (`mod.ts`) exports the same functions; this entry does not load the encoders or ONNX
 * Runtime, and the PNG rasteriser loads only when a PNG is asked for.
 *
 * @example
 * ```ts
 * import { segmentColor } from "./mod.ts";
 * const [r, g, b] = segmentColor(0);
 * if (![r, g, b].every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) throw new Error("not an RGB colour");
 * ```
 *
 * @module
 */
export { type OverlayOptions, overlaySegments } from "./overlay.ts";
export { segmentColor, segmentPalette } from "./palette.ts";
export {
  Chart,
  chartGrid,
  type FigureLayout,
  type PlotElement,
  type PlotOptions,
  renderPlot,
  toStandaloneSvg,
} from "./chart.ts";
export { type Displayable, displayBundle, JUPYTER_DISPLAY, type MimeBundle } from "./jupyter_display.ts";
export { heatmapChart, type HeatmapOptions } from "./heatmap_chart.ts";
export {
  heatmapOverlayChart,
  type HeatmapOverlayOptions,
  labelledImageGrid,
  type LabelledImageGridOptions,
} from "./heatmap_overlay.ts";
export { lineChart, type LineChartOptions, type LineSeries } from "./line_chart.ts";
export { intervalChart, type IntervalChartOptions, type IntervalPoint } from "./interval_chart.ts";
export { treeChart, type TreeChartOptions, treeLayout, type TreeLayoutNode } from "./tree_chart.ts";
export { type RocCurve, rocCurve } from "./roc.ts";
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
} from "./patch_alignment.ts";
export { ImageView, imageView } from "./image_view.ts";
export {
  featureMapView,
  ImageGrid,
  imageGrid,
  SegmentationView,
  segmentationView,
  type SegmentationViewOptions,
  type SegmentRow,
} from "./segmentation_view.ts";
export { featurePcaImage, principalComponents } from "./feature_pca.ts";
export { colormapImage, type ColormapOptions, viridis } from "./colormap.ts";
export { figuresDir, saveCsv, saveFigure, type SaveFigureOptions } from "./save_figure.ts";
export { svgToPng, type SvgToPngOptions } from "./svg_to_png.ts";
export { plural } from "./plural.ts";
