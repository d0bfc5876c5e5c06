// Patch scores S = F̂ Eᵀ (n × k): one invocation per (patch, cluster quad) on a 2-D grid (x: patch, y: quad),
// vec4 dot products over the channels. One patch load serves four clusters (scores of clusters past k are not
// written); each score sums in the same order as with one invocation per score.

struct Params {
  n: u32,   // patches
  c4: u32,  // row stride in floats (multiple of 4)
  k: u32,   // clusters
}

// Unit patch rows, n·c4 floats read as vec4.
@group(0) @binding(0) var<storage, read> unit: array<vec4<f32>>;
// Embeddings, k·c4 floats read as vec4.
@group(0) @binding(1) var<storage, read> embeddings: array<vec4<f32>>;
// Output scores, n·k, patch-major.
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
// Sizes.
@group(0) @binding(3) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

@compute @workgroup_size(WORKGROUP_SIZE)
fn patch_scores(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) {
    return;
  }
  let k0 = 4u * gid.y;
  let q = params.c4 / 4u;
  let last = params.k - 1u;
  let e0 = min(k0, last) * q;
  let e1 = min(k0 + 1u, last) * q;
  let e2 = min(k0 + 2u, last) * q;
  let e3 = min(k0 + 3u, last) * q;
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var c = 0u; c < q; c++) {
    let u = unit[i * q + c];
    a0 += u * embeddings[e0 + c];
    a1 += u * embeddings[e1 + c];
    a2 += u * embeddings[e2 + c];
    a3 += u * embeddings[e3 + c];
  }
  let o = i * params.k + k0;
  scores[o] = (a0.x + a0.y) + (a0.z + a0.w);
  if (k0 + 1u < params.k) {
    scores[o + 1u] = (a1.x + a1.y) + (a1.z + a1.w);
  }
  if (k0 + 2u < params.k) {
    scores[o + 2u] = (a2.x + a2.y) + (a2.z + a2.w);
  }
  if (k0 + 3u < params.k) {
    scores[o + 3u] = (a3.x + a3.y) + (a3.z + a3.w);
  }
}
