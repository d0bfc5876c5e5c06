import assert from "node:assert/strict";
import { createOnnxEncoder } from "../../lib/encoder/onnx_encoder.ts";
import { type EncoderSidecar, parseSidecar } from "../../lib/encoder/sidecar.ts";
import { resizeBilinear } from "../../lib/image/resize.ts";
import type { ImageRGB } from "../../lib/types.ts";
import { cellConvModel, floatTensor, int64Tensor, ints, modelBytes, valueInfo } from "../_onnx_models.ts";

const WEIGHTS = [[1 / 16, 0, 0], [0, 1 / 16, 0], [0, 0, 1 / 16], [1 / 16, -1 / 16, 0]];
const BIAS = [0, 0, 0, 0.5];
const NORM = { scale: 255, mean: [10, 20, 30], std: [2, 4, 8] };

function sidecarFor(overrides: { input?: object; output?: object } = {}): EncoderSidecar {
  return parseSidecar({
    id: "tiny",
    name: "Tiny",
    description: "4x4 cell conv",
    licence: "MIT",
    source: { kind: "file" },
    model: "tiny.onnx",
    standIn: false,
    input: {
      name: "image",
      size: 16,
      layout: "NCHW",
      channelOrder: "RGB",
      normalisation: NORM,
      ...overrides.input,
    },
    output: { name: "features", layout: "NCHW", channels: 4, grid: 4, ...overrides.output },
    defaults: { tau: 0.25, alpha: 7, maxSegments: 5 },
  }, "tiny.json");
}

/** A size×size image with distinct values per pixel and channel. */
function rampImage(size: number): ImageRGB {
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      data.set([y / (size - 1), x / (size - 1), ((x * 7 + y * 3) % 11) / 10], (y * size + x) * 3);
    }
  }
  return { data, height: size, width: size };
}

/** Expected cell-conv features (HWC, grid 4) of a 16×16 RGB array, computed in float64. */
function expectedFeatures(rgb16: Float32Array, order: number[] = [0, 1, 2]): number[] {
  const out: number[] = [];
  for (let gy = 0; gy < 4; gy++) {
    for (let gx = 0; gx < 4; gx++) {
      const mean = [0, 0, 0]; // mean normalised value of each model channel over the cell
      for (let y = gy * 4; y < gy * 4 + 4; y++) {
        for (let x = gx * 4; x < gx * 4 + 4; x++) {
          for (let c = 0; c < 3; c++) {
            mean[c] += ((rgb16[(y * 16 + x) * 3 + order[c]] * 255 - NORM.mean[c]) / NORM.std[c]) / 16;
          }
        }
      }
      for (let k = 0; k < 4; k++) out.push(BIAS[k] + 16 * WEIGHTS[k].reduce((s, w, c) => s + w * mean[c], 0));
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-4): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= atol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

Deno.test("createOnnxEncoder: normalises, runs and returns the HWC feature map with known values", async () => {
  const encoder = await createOnnxEncoder(sidecarFor(), cellConvModel(WEIGHTS, BIAS));
  try {
    assert.equal(encoder.id, "tiny");
    assert.deepEqual(encoder.defaults, { tau: 0.25, alpha: 7, maxSegments: 5, inputSize: 16 });
    assert.ok(Object.isFrozen(encoder.defaults));
    assert.equal(encoder.sidecar.output.name, "features");
    const image = rampImage(16);
    const map = await encoder.encode(image);
    assert.deepEqual([map.height, map.width, map.channels], [4, 4, 4]);
    assert.ok(map.data instanceof Float32Array);
    assertClose(map.data, expectedFeatures(image.data));
    // Spot check by hand: cell (0, 0), channel 0 = mean over rows 0..3 of (255 * y / 15 - 10) / 2 = 20.5.
    assertClose([map.data[0]], [(255 * 1.5 / 15 - 10) / 2]);
  } finally {
    await encoder.dispose();
  }
});

Deno.test("createOnnxEncoder: other sizes are stretched with PyTorch bilinear resizing; BGR order is honoured", async () => {
  const encoder = await createOnnxEncoder(
    sidecarFor({ input: { channelOrder: "BGR" } }),
    cellConvModel(WEIGHTS, BIAS),
  );
  try {
    const image = rampImage(7);
    const resized = resizeBilinear(image.data, 7, 7, 3, 16, 16);
    const map = await encoder.encode(image);
    assertClose(map.data, expectedFeatures(resized, [2, 1, 0]));
    const wide: ImageRGB = { data: new Float32Array(5 * 40 * 3).fill(0.2), height: 5, width: 40 };
    const flat = await encoder.encode(wide);
    // Model channel 0 reads blue: (0.2 * 255 - 10) / 2 on every cell.
    for (let p = 0; p < 16; p++) assertClose([flat.data[p * 4]], [(0.2 * 255 - 10) / 2]);
  } finally {
    await encoder.dispose();
  }
});

Deno.test("createOnnxEncoder: an output of the wrong shape is named with both shapes", async () => {
  const encoder = await createOnnxEncoder(
    sidecarFor({ output: { channels: 5 } }),
    cellConvModel(WEIGHTS, BIAS),
  );
  await assert.rejects(
    encoder.encode(rampImage(16)),
    /^TypeError: Model output 'features' of encoder 'tiny' has shape \[1,4,4,4\], expected \[1,5,4,4\]$/,
  );
  await encoder.dispose();
  const grid = await createOnnxEncoder(sidecarFor({ output: { grid: 8 } }), cellConvModel(WEIGHTS, BIAS));
  await assert.rejects(grid.encode(rampImage(16)), /has shape \[1,4,4,4\], expected \[1,4,8,8\]/);
  await grid.dispose();
});

Deno.test("createOnnxEncoder: missing input or output names and extra inputs are rejected", async () => {
  await assert.rejects(
    createOnnxEncoder(sidecarFor({ input: { name: "pixels" } }), cellConvModel(WEIGHTS, BIAS)),
    /^TypeError: Model of encoder 'tiny' has no input 'pixels'; expected one of \[image\]$/,
  );
  await assert.rejects(
    createOnnxEncoder(sidecarFor({ output: { name: "input.740" } }), cellConvModel(WEIGHTS, BIAS)),
    /^TypeError: Model of encoder 'tiny' has no output 'input\.740'; expected one of \[features\]$/,
  );
  const twoInputs = modelBytes({
    node: [{ opType: "Add", input: ["image", "noise"], output: ["features"] }],
    input: [valueInfo("image", [1, 3, 16, 16]), valueInfo("noise", [1, 3, 16, 16])],
    output: [valueInfo("features")],
  });
  await assert.rejects(
    createOnnxEncoder(sidecarFor(), twoInputs),
    /^TypeError: Model of encoder 'tiny' needs inputs \[noise\] besides 'image'; expected only the image input$/,
  );
});

Deno.test("createOnnxEncoder: NaN or infinite features are rejected", async () => {
  // features = Log(AveragePool(image)): negative normalised inputs give NaN.
  const bytes = modelBytes({
    node: [
      {
        opType: "AveragePool",
        input: ["image"],
        output: ["pooled"],
        attribute: [ints("kernel_shape", [4, 4]), ints("strides", [4, 4])],
      },
      { opType: "Log", input: ["pooled"], output: ["features"] },
    ],
    input: [valueInfo("image", [1, 3, 16, 16])],
    output: [valueInfo("features", [1, 3, 4, 4])],
  });
  const encoder = await createOnnxEncoder(sidecarFor({ output: { channels: 3 } }), bytes);
  const dark: ImageRGB = { data: new Float32Array(16 * 16 * 3), height: 16, width: 16 };
  await assert.rejects(
    encoder.encode(dark),
    /^RangeError: Model output 'features' of encoder 'tiny' has NaN at index 0; expected finite features$/,
  );
  const zeroMean = await createOnnxEncoder(
    sidecarFor({
      input: { normalisation: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } },
      output: { channels: 3 },
    }),
    bytes,
  );
  await assert.rejects(zeroMean.encode(dark), /has -Infinity at index 0; expected finite features/);
  await zeroMean.dispose();
  await assert.rejects(
    encoder.encode({ data: new Float32Array(10), height: 2, width: 2 }),
    /^TypeError: Image data has 10 values, expected 2x2x3 = 12$/,
  );
  await assert.rejects(
    encoder.encode({ data: new Float32Array(0), height: 0, width: 2 }),
    /^RangeError: Image height/,
  );
  await encoder.dispose();
});

Deno.test("createOnnxEncoder: NHWC input, NHWC output and token outputs with prefix tokens", async () => {
  const pool = { opType: "AveragePool", attribute: [ints("kernel_shape", [4, 4]), ints("strides", [4, 4])] };
  const image = rampImage(16);
  const reference = await createOnnxEncoder(
    sidecarFor({ output: { channels: 3 } }),
    modelBytes({
      node: [{ ...pool, input: ["image"], output: ["features"] }],
      input: [valueInfo("image", [1, 3, 16, 16])],
      output: [valueInfo("features", [1, 3, 4, 4])],
    }),
  );
  const expected = await reference.encode(image);
  await reference.dispose();

  // Input NHWC: transpose to NCHW inside the model; output NHWC: transpose back.
  const nhwc = await createOnnxEncoder(
    sidecarFor({ input: { layout: "NHWC" }, output: { channels: 3, layout: "NHWC" } }),
    modelBytes({
      node: [
        { opType: "Transpose", input: ["image"], output: ["nchw"], attribute: [ints("perm", [0, 3, 1, 2])] },
        { ...pool, input: ["nchw"], output: ["pooled"] },
        {
          opType: "Transpose",
          input: ["pooled"],
          output: ["features"],
          attribute: [ints("perm", [0, 2, 3, 1])],
        },
      ],
      input: [valueInfo("image", [1, 16, 16, 3])],
      output: [valueInfo("features", [1, 4, 4, 3])],
    }),
  );
  assert.deepEqual(Array.from((await nhwc.encode(image)).data), Array.from(expected.data));
  await nhwc.dispose();

  // Tokens: [1, 2 prefix + 16 patches, 3]; the prefix tokens are 99s and must be dropped.
  const tokens = await createOnnxEncoder(
    sidecarFor({ output: { channels: 3, layout: "tokens", prefixTokens: 2 } }),
    modelBytes({
      node: [
        { ...pool, input: ["image"], output: ["pooled"] },
        { opType: "Reshape", input: ["pooled", "shape"], output: ["flat"] },
        { opType: "Transpose", input: ["flat"], output: ["patches"], attribute: [ints("perm", [0, 2, 1])] },
        {
          opType: "Concat",
          input: ["prefix", "patches"],
          output: ["features"],
          attribute: [{ name: "axis", i: 1, type: 2 }],
        },
      ],
      initializer: [
        int64Tensor("shape", [3], [1, 3, 16]),
        floatTensor("prefix", [1, 2, 3], new Array(6).fill(99)),
      ],
      input: [valueInfo("image", [1, 3, 16, 16])],
      output: [valueInfo("features", [1, 18, 3])],
    }),
  );
  const fromTokens = await tokens.encode(image);
  assert.deepEqual([fromTokens.height, fromTokens.width, fromTokens.channels], [4, 4, 3]);
  assert.deepEqual(Array.from(fromTokens.data), Array.from(expected.data));
  await tokens.dispose();
});
