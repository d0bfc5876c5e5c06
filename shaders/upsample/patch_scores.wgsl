// Patch scores S = F̂ Eᵀ (n × k): one invocation per (patch, cluster), vec4 dot products over the channels.

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
  let idx = gid.x;
  if (idx >= params.n * params.k) {
    return;
  }
  let i = idx / params.k;
  let k = idx - i * params.k;
  let q = params.c4 / 4u;
  var acc = vec4<f32>(0.0);
  for (var c = 0u; c < q; c++) {
    acc += unit[i * q + c] * embeddings[k * q + c];
  }
  scores[idx] = (acc.x + acc.y) + (acc.z + acc.w);
}
