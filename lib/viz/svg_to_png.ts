/**
 * SVG → PNG with resvg (the Rust SVG renderer, npm `@resvg/resvg-wasm`), for {@linkcode Chart} files that must
 * be pictures: slides, papers, viewers without SVG.
 *
 * Why these choices:
 * - **Loaded on first use only.** The rasteriser (2.5 MB of WebAssembly) and its fonts (the npm package
 *   `dejavu-fonts-ttf`) are imported through non-literal specifiers, so they are not in Deno's module graph: a
 *   fresh clone running the demo never installs them, and the first PNG downloads them into Deno's npm cache
 *   (offline afterwards). Their integrity is recorded in `tests/deno.lock`, like the optional encoder engines.
 * - **The WebAssembly comes from the package's own file** (`index_bg.wasm`, found with `import.meta.resolve`),
 *   never from a URL, so rendering needs no network.
 * - **Fonts are bundled, not the system's.** resvg in WebAssembly cannot read system fonts; the charts ask for
 *   `system-ui, sans-serif`, which maps to DejaVu Sans here, a font that has every glyph the figures use
 *   (α, τ, −, ·, →, ↑, ✓, ✗, ≤, ≥, ×). The same PNG comes out on every machine.
 *
 * @module
 */

const RESVG = "npm:@resvg/resvg-wasm@2.6.2";
const FONTS = "npm:dejavu-fonts-ttf@2.37.3";
const FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];
const FONT_FAMILY = "DejaVu Sans";

/** The part of resvg-wasm used here, declared locally: a type import would put the package in the graph. */
interface ResvgModule {
  initWasm(module: Uint8Array): Promise<void>;
  Resvg: new (svg: string, options: Record<string, unknown>) => {
    render(): { width: number; height: number; asPng(): Uint8Array; free(): void };
    free(): void;
  };
}

interface Engine {
  resvg: ResvgModule;
  fonts: Uint8Array[];
}

let engine: Promise<Engine> | undefined;

/** A file inside an npm package, read from wherever Deno installed it (node_modules or its npm cache). */
async function packageFile(pkg: string, file: string): Promise<Uint8Array> {
  return await Deno.readFile(new URL(import.meta.resolve(`${pkg}/${file}`)));
}

function loadEngine(): Promise<Engine> {
  engine ??= (async () => {
    const resvg = await import(RESVG) as ResvgModule;
    // Importing a file of the font package is what makes Deno install it (it has no JavaScript entry).
    const fontManifest = `${FONTS}/package.json`;
    await import(fontManifest, { with: { type: "json" } });
    await resvg.initWasm(await packageFile(RESVG, "index_bg.wasm"));
    const fonts = await Promise.all(FONT_FILES.map((f) => packageFile(FONTS, `ttf/${f}`)));
    return { resvg, fonts };
  })().catch((error) => {
    engine = undefined; // a later call may succeed (e.g. once the network is back for the first download)
    throw new Error(
      `PNG export needs the npm packages @resvg/resvg-wasm@2.6.2 and dejavu-fonts-ttf@2.37.3, loaded on first use: ${
        String((error as Error).message ?? error).split("\n")[0]
      }`,
      { cause: error },
    );
  });
  return engine;
}

/** Options of {@linkcode svgToPng}. */
export interface SvgToPngOptions {
  /**
   * Pixels per SVG unit: 2 gives a sharp picture on high-density screens and in print.
   * @default {1}
   */
  scale?: number;
  /**
   * Colour behind the drawing (any CSS colour); `"transparent"` keeps the alpha channel empty there.
   * @default {"white"}
   */
  background?: string;
}

/**
 * Renders standalone SVG text to PNG file bytes (8-bit RGBA).
 *
 * @param svg A standalone SVG document (with `xmlns` and a size).
 * @param options Scale and background.
 * @returns The PNG file, `round(width · scale) × round(height · scale)` pixels.
 * @throws {RangeError} When `scale` is not a positive finite number or at most 16.
 * @throws {Error} When the SVG cannot be parsed or the rasteriser cannot be loaded (one line, the cause attached).
 *
 * @example
 * ```ts ignore
 * import { svgToPng } from "./svg_to_png.ts";
 * const png = await svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="2"/>');
 * ```
 */
export async function svgToPng(svg: string, options: SvgToPngOptions = {}): Promise<Uint8Array> {
  const scale = options.scale ?? 1;
  if (!(Number.isFinite(scale) && scale > 0 && scale <= 16)) {
    throw new RangeError(`Invalid PNG scale ${scale}: expected a number in (0, 16]`);
  }
  const { resvg, fonts } = await loadEngine();
  let renderer;
  try {
    renderer = new resvg.Resvg(svg, {
      background: options.background ?? "white",
      fitTo: { mode: "zoom", value: scale },
      font: {
        fontBuffers: fonts,
        loadSystemFonts: false,
        defaultFontFamily: FONT_FAMILY,
        sansSerifFamily: FONT_FAMILY,
      },
    });
  } catch (error) {
    throw new Error(`Cannot rasterise the SVG: ${String((error as Error).message ?? error).split("\n")[0]}`, {
      cause: error,
    });
  }
  try {
    const image = renderer.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    renderer.free();
  }
}
