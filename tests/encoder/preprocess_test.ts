/**
 * lib/encoder/preprocess.ts against its definition: PyTorch-exact bilinear resize (resizeBilinear), then
 * `(x · scale − mean[c]) / std[c]` in the sidecar's channel order and layout; the values must match bit for bit
 * (the encoder's input is computed row by row, without a resized copy of the image).
 */
import assert from "node:assert/strict";
import { preprocessImage } from "../../lib/encoder/preprocess.ts";
import { resizeBilinear } from "../../lib/image/resize.ts";
import type { SidecarInput } from "../../lib/encoder/sidecar.ts";
import { seededRandom } from "../../lib/random.ts";

function definition(data: Float32Array, h: number, w: number, input: SidecarInput): Float32Array {
  const size = input.size;
  const rgb = h === size && w === size ? data : resizeBilinear(data, h, w, 3, size, size);
  const order = input.channelOrder === "RGB" ? [0, 1, 2] : [2, 1, 0];
  const { scale, mean, std } = input.normalisation;
  const out = new Float32Array(3 * size * size);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) {
      const v = (rgb[3 * i + order[c]] * scale - mean[c]) / std[c];
      out[input.layout === "NCHW" ? c * size * size + i : 3 * i + c] = v;
    }
  }
  return out;
}

Deno.test("the input tensor equals resize-then-normalise bit for bit, in every layout and channel order", () => {
  const rnd = seededRandom(0x7e57);
  for (const [h, w, size] of [[37, 53, 32], [20, 20, 20], [7, 300, 64], [90, 11, 17]]) {
    const data = Float32Array.from({ length: h * w * 3 }, () => rnd());
    for (const layout of ["NCHW", "NHWC"] as const) {
      for (const channelOrder of ["RGB", "BGR"] as const) {
        const input = {
          name: "x",
          size,
          layout,
          channelOrder,
          normalisation: { scale: 255, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
        } as SidecarInput;
        const tensor = preprocessImage({ data, height: h, width: w }, input);
        assert.deepEqual(tensor.dims, layout === "NCHW" ? [1, 3, size, size] : [1, size, size, 3]);
        const expected = definition(data, h, w, input);
        for (let i = 0; i < expected.length; i++) {
          if (!Object.is(tensor.data[i], expected[i])) {
            assert.fail(
              `${h}×${w} → ${size} ${layout} ${channelOrder}: [${i}] ${tensor.data[i]} != ${expected[i]}`,
            );
          }
        }
      }
    }
  }
});
