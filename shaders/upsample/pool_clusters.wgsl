// Cluster embeddings e_k = weight_k · Σ_{i∈k} f̂_i (MaskPooling), one invocation per (channel quad, cluster).
// Each cluster's members come from a host-built list sorted by (cluster, patch index), so every embedding sums
// in the reference path's order, and each invocation visits only its own cluster's patches (scanning all
// patches with a test per patch made this kernel K times longer).

struct Params {
  n: u32,   // patches
  c4: u32,  // row stride of the unit rows and embeddings (channels rounded up to 4)
  k: u32,   // clusters
}

// Unit patch rows, n·c4 floats read as vec4 (zero-padded).
@group(0) @binding(0) var<storage, read> unit: array<vec4<f32>>;
// Patch indices grouped by cluster, each group in increasing index order.
@group(0) @binding(1) var<storage, read> members: array<u32>;
// Group k is members[offsets[k] .. offsets[k + 1]); k + 1 entries.
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
// Per-cluster float32 weight 1/(|k| + 1e-8), computed on the host.
@group(0) @binding(3) var<storage, read> weight: array<f32>;
// Output embeddings, k·c4 floats as vec4.
@group(0) @binding(4) var<storage, read_write> embeddings: array<vec4<f32>>;
// Sizes.
@group(0) @binding(5) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

@compute @workgroup_size(WORKGROUP_SIZE)
fn pool_clusters(@builtin(global_invocation_id) gid: vec3<u32>) {
  let q = params.c4 / 4u;
  let ch = gid.x;
  let k = gid.y;
  if (ch >= q) {
    return;
  }
  var s = vec4<f32>(0.0);
  for (var m = offsets[k]; m < offsets[k + 1u]; m++) {
    s += unit[members[m] * q + ch];
  }
  embeddings[k * q + ch] = s * weight[k];
}
