import assert from "node:assert/strict";
import { fillTemplate, promptsOf, synonymsOf, VILD_TEMPLATES } from "../../lib/openvocab/prompts.ts";
import { maskPool } from "../../lib/openvocab/mask_pool.ts";
import { resizeLabelsNearestExact } from "../../lib/image/resize.ts";
import {
  buildTextClassifier,
  templateEnsemble,
  TextClassifierCache,
} from "../../lib/openvocab/text_classifier.ts";
import { classLogits, labelSegments } from "../../lib/openvocab/label_segments.ts";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, eps = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < eps, `[${i}] ${a[i]} vs ${b[i]}`);
};

Deno.test("openvocab prompts: 14 ViLD templates, synonyms split on commas", () => {
  assert.equal(VILD_TEMPLATES.length, 14);
  assert.equal(VILD_TEMPLATES[0], "a photo of a {}.");
  assert.equal(VILD_TEMPLATES[13], "There is a large {} in the scene.");
  assert.deepEqual(synonymsOf("sofa, couch,settee"), ["sofa", "couch", "settee"]);
  assert.deepEqual(synonymsOf(" cat "), ["cat"]);
  assert.throws(() => synonymsOf(" , "));
  assert.equal(fillTemplate("There is a {} in the scene", "dog"), "There is a dog in the scene");
  assert.deepEqual(promptsOf("sofa, couch", ["a {}", "the {}."]), [["a sofa", "the sofa."], [
    "a couch",
    "the couch.",
  ]]);
  assert.equal(promptsOf("a,b").flat().length, 28);
});

Deno.test("openvocab maskPool: nearest-exact resize to the grid, mean per segment, vanished segment is zero", () => {
  // 4×4 labels: 0 left half, 1 top-right, 2 bottom-right, 5 only at pixel (0,0) (not sampled at 2×2).
  const labels = {
    height: 4,
    width: 4,
    data: Int32Array.from([5, 0, 1, 1, 0, 0, 1, 1, 0, 0, 2, 2, 0, 0, 2, 2]),
  };
  assert.deepEqual([...resizeLabelsNearestExact(labels, 2, 2).data], [0, 1, 0, 2]);
  const features = { height: 2, width: 2, channels: 2, data: Float32Array.from([1, 0, 0, 2, 3, 0, 4, 4]) };
  const pooled = maskPool(features, labels);
  assert.deepEqual(pooled.labels, [0, 1, 2, 5]);
  assert.deepEqual(pooled.cells, [2, 1, 1, 0]);
  assert.equal(pooled.rows, 4);
  close(pooled.data, [2, 0, 0, 2, 4, 4, 0, 0]);
  // Same size: no resize.
  const same = maskPool(features, { height: 2, width: 2, data: Int32Array.from([7, 7, 3, 7]) });
  assert.deepEqual(same.labels, [3, 7]);
  close(same.data, [3, 0, 5 / 3, 2]);
});

Deno.test("openvocab templateEnsemble: normalise, average, normalise", () => {
  close(templateEnsemble([Float32Array.from([3, 4]), Float32Array.from([0, 2])]), [
    0.3 / Math.sqrt(0.9),
    0.9 / Math.sqrt(0.9),
  ]);
});

/** Hand-made text embeddings: two templates, classes "cat" and "sofa, couch". */
const TABLE: Record<string, number[]> = {
  "a cat": [1, 0, 0],
  "the cat": [2, 0, 0],
  "a sofa": [0, 3, 4],
  "the sofa": [0, 3, 4],
  "a couch": [0, 0, 1],
  "the couch": [0, 1, 0],
};
const TEMPLATES = ["a {}", "the {}"];
function tableEmbedder(calls: string[][]) {
  return (prompts: string[]) => {
    calls.push(prompts);
    return prompts.map((p) => Float32Array.from(TABLE[p]));
  };
}

Deno.test("openvocab buildTextClassifier: one unit vector per synonym (templates averaged), batched", async () => {
  const calls: string[][] = [];
  const clf = await buildTextClassifier(["cat", "sofa, couch"], tableEmbedder(calls), {
    templates: TEMPLATES,
    batchSize: 4,
  });
  assert.deepEqual(calls, [["a cat", "the cat", "a sofa", "the sofa"], ["a couch", "the couch"]]);
  assert.deepEqual(clf.synonymCounts, [1, 2]);
  assert.equal(clf.dim, 3);
  const h = Math.SQRT1_2;
  close(clf.vectors, [1, 0, 0, 0, 0.6, 0.8, 0, h, h]);
});

Deno.test("openvocab labelSegments: cosine × scale, max over synonyms, argmax, softmax score, void", async () => {
  const clf = await buildTextClassifier(["cat", "sofa, couch"], tableEmbedder([]), { templates: TEMPLATES });
  const h = Math.SQRT1_2;
  // Rows: pure cat; along "couch"'s third axis; between cat and the synonyms; zero (a vanished segment).
  const pooled = Float32Array.from([2, 0, 0, 0, 0, 5, 1, 1, 0, 0, 0, 0]);
  // Row 1: sofa 0.8, couch 0.7071 → 0.8. Row 2: cat 0.7071; sofa 0.6·0.7071, couch 0.5 → 0.5.
  close(classLogits(pooled, 4, clf, { logitScale: 10 }), [10, 0, 0, 8, 10 * h, 5, 0, 0]);
  close(classLogits(pooled, 4, clf, { logitScale: 1000 }).subarray(0, 2), [100, 0]); // clamped at 100
  const labels = labelSegments(pooled, 4, clf, { logitScale: 10 });
  assert.deepEqual(labels.map((l) => [l.label, l.name]), [[0, "cat"], [1, "sofa, couch"], [0, "cat"], [
    0,
    "cat",
  ]]);
  close(labels.map((l) => l.score), [1 / (1 + Math.exp(-10)), 1 / (1 + Math.exp(-8)), 0.888058, 0.5]);
  close(labels.map((l) => l.logit), [10, 8, 10 * h, 0]);
  // A void vector along the third axis wins row 1 (cosine 1 > 0.8), not row 0.
  const withVoid = labelSegments(pooled, 4, clf, {
    logitScale: 10,
    voidEmbedding: Float32Array.from([0, 0, 2]),
  });
  assert.deepEqual(withVoid.map((l) => l.label), [0, -1, 0, 0]);
  assert.equal(withVoid[1].name, "void");
  close([withVoid[1].score], [1 / (1 + Math.exp(-10) + Math.exp(-2))]);
  assert.throws(() => labelSegments(new Float32Array(5), 2, clf));
});

Deno.test("openvocab TextClassifierCache: one build per label list", async () => {
  const calls: string[][] = [];
  const cache = new TextClassifierCache(tableEmbedder(calls));
  const a = await cache.get(["cat"], { templates: TEMPLATES });
  const b = await cache.get(["cat"], { templates: TEMPLATES });
  assert.equal(a, b);
  assert.equal(calls.length, 1);
  await cache.get(["cat", "sofa"], { templates: TEMPLATES });
  assert.equal(cache.size, 2);
  await assert.rejects(cache.get(["dog"], { templates: TEMPLATES })); // not in the table: the build fails
  await Promise.resolve();
  assert.equal(cache.size, 2); // a failed build is not kept
});
