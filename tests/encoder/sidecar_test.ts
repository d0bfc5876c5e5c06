import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSidecar, readSidecar } from "../../lib/encoder/sidecar.ts";

/** A valid sidecar for a local model file; tests break one field at a time. */
function validSidecar(): Record<string, any> {
  return {
    format: 1,
    id: "tiny",
    name: "Tiny",
    description: "A test model",
    licence: "MIT",
    source: { kind: "file" },
    model: "tiny.onnx",
    standIn: false,
    input: {
      name: "image",
      size: 16,
      layout: "NCHW",
      channelOrder: "RGB",
      normalisation: { scale: 255, mean: [1, 2, 3], std: [4, 5, 6] },
    },
    output: { name: "features", layout: "NCHW", channels: 4, grid: 4 },
    defaults: { tau: 0.3, alpha: 5, selfLoops: false, minSegmentSize: 2, maxSegments: 8 },
  };
}

function withField(path: string, value: unknown): Record<string, any> {
  const json = validSidecar();
  const keys = path.split(".");
  let obj = json;
  for (const key of keys.slice(0, -1)) obj = obj[key];
  if (value === undefined) delete obj[keys.at(-1)!];
  else obj[keys.at(-1)!] = value;
  return json;
}

Deno.test("parseSidecar accepts a valid sidecar and fills derived fields", () => {
  const sidecar = parseSidecar(validSidecar(), "tiny.json");
  assert.equal(sidecar.id, "tiny");
  assert.deepEqual(sidecar.source, { kind: "file" });
  assert.equal(sidecar.model, "tiny.onnx");
  assert.deepEqual(sidecar.input.normalisation, { scale: 255, mean: [1, 2, 3], std: [4, 5, 6] });
  assert.deepEqual(sidecar.output, {
    name: "features",
    layout: "NCHW",
    channels: 4,
    grid: 4,
    prefixTokens: 0,
  });
  assert.deepEqual(sidecar.defaults, {
    tau: 0.3,
    alpha: 5,
    selfLoops: false,
    minSegmentSize: 2,
    maxSegments: 8,
    inputSize: 16,
  });
});

Deno.test("parseSidecar names the file and the missing field", () => {
  const cases: [string, RegExp][] = [
    ["id", /^Sidecar 'tiny\.json' is missing field 'id'; expected a non-empty string$/],
    ["licence", /is missing field 'licence'/],
    ["source", /is missing field 'source'; expected an object/],
    ["source.kind", /is missing field 'source\.kind'; expected one of "npm", "url", "file"/],
    ["model", /is missing field 'model'/],
    ["standIn", /is missing field 'standIn'; expected a boolean/],
    ["input.normalisation", /is missing field 'input\.normalisation'/],
    ["input.normalisation.std", /is missing field 'input\.normalisation\.std'; expected an array of 3/],
    ["output.name", /is missing field 'output\.name'/],
    ["output.grid", /is missing field 'output\.grid'; expected a finite number/],
    ["defaults.tau", /is missing field 'defaults\.tau'/],
  ];
  for (const [field, message] of cases) {
    assert.throws(() => parseSidecar(withField(field, undefined), "tiny.json"), (error: Error) => {
      assert.ok(error instanceof TypeError, `${field}: ${error}`);
      assert.match(error.message, message);
      assert.ok(!error.message.endsWith("."), "no trailing period");
      return true;
    });
  }
});

Deno.test("parseSidecar rejects wrong types with TypeError and the value received", () => {
  const cases: [string, unknown, RegExp][] = [
    ["input.size", "1024", /field 'input\.size' must be a finite number, got "1024"/],
    ["input.layout", "NCWH", /field 'input\.layout' must be one of "NCHW", "NHWC", got "NCWH"/],
    ["input.channelOrder", "rgb", /field 'input\.channelOrder' must be one of "RGB", "BGR", got "rgb"/],
    [
      "input.normalisation.mean",
      [1, 2],
      /field 'input\.normalisation\.mean' must be an array of 3 finite numbers/,
    ],
    ["output.layout", "tokens2", /field 'output\.layout' must be one of/],
    ["standIn", "yes", /field 'standIn' must be a boolean, got "yes"/],
    ["defaults.selfLoops", 1, /field 'defaults\.selfLoops' must be a boolean, got number 1/],
    ["defaults", [], /field 'defaults' must be an object, got an array of 0/],
    ["id", "", /field 'id' must be a non-empty string/],
  ];
  for (const [field, value, message] of cases) {
    assert.throws(() => parseSidecar(withField(field, value), "dir/tiny.json"), (error: Error) => {
      assert.ok(error instanceof TypeError, `${field}: ${error}`);
      assert.match(error.message, /^Sidecar 'dir\/tiny\.json' field /);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("parseSidecar rejects impossible values with RangeError", () => {
  const cases: [string, unknown, RegExp][] = [
    ["input.size", 0, /field 'input\.size' must be positive, got number 0/],
    ["input.size", 10.5, /field 'input\.size' must be an integer, got number 10\.5/],
    ["input.normalisation.std", [1, 0, 1], /must be 3 positive numbers/],
    ["output.channels", -1, /field 'output\.channels' must be positive/],
    ["defaults.alpha", 0, /field 'defaults\.alpha' must be positive/],
    ["defaults.tau", -0.1, /field 'defaults\.tau' must be at least 0/],
    ["defaults.maxSegments", 0, /field 'defaults\.maxSegments' must be positive/],
    ["output.prefixTokens", 1, /field 'output\.prefixTokens' must be 0 for layout NCHW/],
    ["sha256", "abc", /field 'sha256' must be 64 hex digits/],
    ["format", 2, /field 'format' must be 1, got number 2/],
    ["id", "a b", /field 'id' must be letters, digits/],
  ];
  for (const [field, value, message] of cases) {
    assert.throws(() => parseSidecar(withField(field, value), "tiny.json"), (error: Error) => {
      assert.ok(error instanceof RangeError, `${field}: ${error}`);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("parseSidecar: stand-ins need a label, url sources a model file, npm sources a package", () => {
  assert.throws(
    () => parseSidecar(withField("standIn", true), "s.json"),
    /Sidecar 's\.json' is missing field 'standInLabel'/,
  );
  const labelled = parseSidecar({ ...withField("standIn", true), standInLabel: "stand-in" }, "s.json");
  assert.equal(labelled.standInLabel, "stand-in");

  const url = { ...validSidecar(), source: { kind: "url", url: "https://example.org/m.onnx" } };
  assert.equal(parseSidecar(url, "s.json").source.kind, "url");
  delete (url as Record<string, unknown>).model;
  assert.throws(() => parseSidecar(url, "s.json"), /is missing field 'model'/);

  const npm = { ...validSidecar(), source: { kind: "npm", package: "p", version: "1.0.0" } };
  assert.throws(() => parseSidecar(npm, "s.json"), /is missing field 'source\.resource'/);
  delete (npm as Record<string, unknown>).model;
  npm.source = { kind: "npm", package: "p", version: "1.0.0", resource: "/models/x" } as never;
  assert.equal(parseSidecar(npm, "s.json").model, undefined);

  // An npm source may pin the built model's SHA-256: 64 lowercase hex digits.
  const pin = "0123456789abcdef".repeat(4);
  npm.source = { kind: "npm", package: "p", version: "1.0.0", resource: "/models/x", sha256: pin } as never;
  assert.deepEqual(parseSidecar(npm, "s.json").source, {
    kind: "npm",
    package: "p",
    version: "1.0.0",
    resource: "/models/x",
    sha256: pin,
  });
  for (const bad of [pin.toUpperCase(), pin.slice(1), `${pin}0`, pin.replace("a", "g")]) {
    (npm.source as Record<string, unknown>).sha256 = bad;
    assert.throws(() => parseSidecar(npm, "s.json"), (error: Error) => {
      assert.ok(error instanceof RangeError, String(error));
      assert.equal(
        error.message,
        `Sidecar 's.json' field 'source.sha256' must be 64 lowercase hex digits, got ${
          JSON.stringify(bad.slice(0, 40) + "…")
        }`,
      );
      return true;
    });
  }

  const tokens = withField("output", { name: "t", layout: "tokens", channels: 8, grid: 2, prefixTokens: 5 });
  assert.equal(parseSidecar(tokens, "s.json").output.prefixTokens, 5);
  assert.throws(() => parseSidecar([], "s.json"), /^TypeError: Sidecar 's\.json' must hold a JSON object/);
});

Deno.test("readSidecar: the built-in ISNet sidecar is valid and labelled as a stand-in", async () => {
  const path = fileURLToPath(new URL("../../models/isnet.json", import.meta.url));
  const sidecar = await readSidecar(path);
  assert.equal(sidecar.id, "isnet");
  assert.equal(sidecar.standIn, true);
  assert.match(sidecar.standInLabel!, /not diffusion features/);
  assert.deepEqual(sidecar.source, {
    kind: "npm",
    package: "@imgly/background-removal-data",
    version: "1.4.5",
    resource: "/models/medium",
    homepage: "https://github.com/xuebinqin/DIS",
    // The built model's SHA-256: tests/encoder/isnet_test.ts checks it against a model built there.
    sha256: JSON.parse(await Deno.readTextFile(path)).source.sha256,
  });
  assert.match((sidecar.source as { sha256: string }).sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(sidecar.input.normalisation, { scale: 255, mean: [128, 128, 128], std: [256, 256, 256] });
  assert.deepEqual(
    [sidecar.input.name, sidecar.input.size, sidecar.input.layout, sidecar.input.channelOrder],
    ["input", 1024, "NCHW", "RGB"],
  );
  assert.deepEqual(sidecar.output, {
    name: "input.740",
    layout: "NCHW",
    channels: 512,
    grid: 32,
    prefixTokens: 0,
  });
  assert.equal(typeof sidecar.defaults.tau, "number");
  assert.equal(typeof sidecar.defaults.alpha, "number");
  assert.equal(sidecar.defaults.inputSize, 1024);
});

Deno.test("readSidecar: missing file and invalid JSON name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      readSidecar(join(dir, "none.json")),
      (error: Error) =>
        error instanceof Deno.errors.NotFound && /Sidecar '.*none\.json' not found/.test(error.message),
    );
    await Deno.writeTextFile(join(dir, "bad.json"), "{ id: 1 ");
    await assert.rejects(
      readSidecar(join(dir, "bad.json")),
      /^SyntaxError: Sidecar '.*bad\.json' is not valid JSON/,
    );
    await Deno.writeTextFile(join(dir, "partial.json"), JSON.stringify({ id: "x", name: "X" }));
    await assert.rejects(
      readSidecar(join(dir, "partial.json")),
      /Sidecar '.*partial\.json' is missing field 'description'/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('parseSidecar: installed files may say "pinned": false, and nothing else', () => {
  const file = { path: "m.onnx", sha256: "ab".repeat(32), bytes: 3 };
  const installed = { ...validSidecar(), files: [file, { ...file, path: "n.onnx", pinned: false }] };
  assert.deepEqual(parseSidecar(installed, "encoder.json").files, [file, {
    ...file,
    path: "n.onnx",
    pinned: false,
  }]);
  (installed.files[1] as Record<string, unknown>).pinned = true;
  assert.throws(
    () => parseSidecar(installed, "encoder.json"),
    /^TypeError: Sidecar 'encoder\.json' field 'files\[1\]\.pinned' must be false or absent, got boolean true$/,
  );
});
