/**
 * Loading label maps: 8-bit palette or greyscale PNGs whose stored values are class indices (VOC, Context,
 * COCO-Stuff, Cityscapes and ADE20K annotations), without any colour conversion.
 *
 * @module
 */
import { decode as decodePng } from "npm:fast-png@8.0.0";
import { readRegularFile } from "../io/read_regular_file.ts";
import type { LabelMap } from "../types.ts";
import { readImageHeader } from "./image_header.ts";
import { checkImageLimits } from "./image_limits.ts";
import { DEFAULT_LOAD_IMAGE_OPTIONS } from "./load_image.ts";

/**
 * Reads the stored sample values of a palette or greyscale PNG as labels.
 *
 * @param source File path or PNG bytes.
 * @returns The label map (values 0..255 for 8-bit files, 0..65535 for 16-bit greyscale).
 * @throws {TypeError} When the file is not a single-channel (palette or grey) PNG.
 * @throws {Deno.errors.NotFound} When the file does not exist.
 * @throws {RangeError} When the header promises more than `loadImage`'s default limits allow.
 */
export async function loadLabelMap(source: string | Uint8Array): Promise<LabelMap> {
  const name = typeof source === "string" ? `'${source}'` : "<bytes>";
  let bytes: Uint8Array;
  if (typeof source === "string") {
    // A regular file only, refused from its header and size before the body is read (as images are).
    bytes = await readRegularFile(source, {
      what: "label map",
      checkHead: ({ bytes: head, size }) => {
        let header;
        try {
          header = readImageHeader(head, source);
        } catch {
          return true; // not a PNG: the decoder below names the file and what was expected
        }
        checkImageLimits(header, size, source, DEFAULT_LOAD_IMAGE_OPTIONS);
        return true;
      },
    });
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
