// K-way NCut: cluster volumes vol_c = Σ_{i in c} d_i and associations assoc_c = Σ_{i in c} S[i][c], one invocation
// per cluster, float32 sums in ascending i (kwayStatsReference in lib/ncut/kway_ncut.ts). n·K work: negligible
// beside the product, and one dispatch between it and the row-wise argmax.

struct Params {
  n: u32,   // nodes
  k: u32,   // clusters
  kp: u32,  // row stride of S (K rounded up to a multiple of 4)
}

// S = W·Y, n rows of kp values.
@group(0) @binding(0) var<storage, read> s: array<f32>;
// Degrees d = W·1.
@group(0) @binding(1) var<storage, read> degrees: array<f32>;
// Cluster of each node.
@group(0) @binding(2) var<storage, read> labels: array<i32>;
// Output: vol_0..vol_{K−1}, then assoc_0..assoc_{K−1}.
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
// Sizes.
@group(0) @binding(4) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

@compute @workgroup_size(WORKGROUP_SIZE)
fn kway_stats(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= params.k) {
    return;
  }
  var vol = 0.0;
  var assoc = 0.0;
  for (var i = 0u; i < params.n; i++) {
    let hit = labels[i] == i32(c);
    vol = vol + select(0.0, degrees[i], hit);
    assoc = assoc + select(0.0, s[i * params.kp + c], hit);
  }
  stats[c] = vol;
  stats[params.k + c] = assoc;
}
