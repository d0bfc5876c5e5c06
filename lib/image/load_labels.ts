/**
 * Loading label maps: 8-bit palette or greyscale PNGs whose stored values are class indices (VOC, Context,
 * COCO-Stuff, Cityscapes and ADE20K annotations), without any colour conversion.
 *
 * @module
 */
import { decode as decodePng } from "fast-png";
import type { LabelMap } from "../types.ts";

/**
 * Reads the stored sample values of a palette or greyscale PNG as labels.
 *
 * @param source File path or PNG bytes.
 * @returns The label map (values 0..255 for 8-bit files, 0..65535 for 16-bit greyscale).
 * @throws {TypeError} When the file is not a single-channel (palette or grey) PNG.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 */
export async function loadLabelMap(source: string | Uint8Array): Promise<LabelMap> {
  const name = typeof source === "string" ? `'${source}'` : "<bytes>";
  let bytes: Uint8Array;
  if (typeof source === "string") {
    try {
      bytes = await Deno.readFile(source);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Deno.errors.NotFound(`Cannot load label map ${name}: no such file`);
      }
      throw e;
    }
  } else bytes = source;
  let png;
  try {
    png = decodePng(bytes, { checkCrc: true });
  } catch (e) {
    throw new TypeError(
      `Cannot decode label map ${name}: ${(e as Error).message.split("\n")[0]}; expected a PNG file`,
    );
  }
  if (png.channels !== 1 || png.depth < 8) {
    throw new TypeError(
      `Invalid label map ${name}: ${png.channels} channel(s) at ${png.depth} bits; expected an 8- or 16-bit palette or greyscale PNG`,
    );
  }
  return { data: Int32Array.from(png.data as ArrayLike<number>), height: png.height, width: png.width };
}
