// Cluster embeddings e_k = weight_k · Σ_{i∈k} f̂_i (MaskPooling), one invocation per (cluster, channel).
// Patches are visited in index order, so every embedding sums in the same order as the reference path.

struct Params {
  n: u32,   // patches
  c4: u32,  // row stride of the unit rows and embeddings (channels rounded up to 4)
  k: u32,   // clusters
}

// Unit patch rows, n·c4 (zero-padded).
@group(0) @binding(0) var<storage, read> unit: array<f32>;
// Cluster index of every patch (0..k−1).
@group(0) @binding(1) var<storage, read> cluster: array<u32>;
// Per-cluster float32 weight 1/(|k| + 1e-8), computed on the host.
@group(0) @binding(2) var<storage, read> weight: array<f32>;
// Output embeddings, k·c4.
@group(0) @binding(3) var<storage, read_write> embeddings: array<f32>;
// Sizes.
@group(0) @binding(4) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

@compute @workgroup_size(WORKGROUP_SIZE)
fn pool_clusters(@builtin(global_invocation_id) gid: vec3<u32>) {
  let ch = gid.x;
  let k = gid.y;
  if (ch >= params.c4 || k >= params.k) {
    return;
  }
  var s = 0.0;
  for (var i = 0u; i < params.n; i++) {
    if (cluster[i] == k) {
      s += unit[i * params.c4 + ch];
    }
  }
  embeddings[k * params.c4 + ch] = s * weight[k];
}
