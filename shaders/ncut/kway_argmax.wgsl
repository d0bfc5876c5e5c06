// K-way NCut, row-wise argmax: for node i in cluster a, the exact change of Σ_c assoc_c/vol_c when i joins
// cluster c (kwayArgmaxReference in lib/ncut/kway_ncut.ts, derivation in its module notes):
//   g_c = (assoc_c + 2 S[i][c] + w_ii)/(vol_c + d_i) − assoc_c/vol_c           (c ≠ a)
//   g_a = assoc_a/vol_a − (assoc_a − 2 S[i][a] + w_ii)/(vol_a − d_i)          (staying)
// with x/v read as 0 when v ≤ 0. Writes the best cluster (staying wins ties, then the lower c) and its gain.

struct Params {
  n: u32,   // nodes
  k: u32,   // clusters
  kp: u32,  // row stride of S
}

// S = W·Y, n rows of kp values.
@group(0) @binding(0) var<storage, read> s: array<f32>;
// vol_0..vol_{K−1}, assoc_0..assoc_{K−1}.
@group(0) @binding(1) var<storage, read> stats: array<f32>;
// Degrees d = W·1.
@group(0) @binding(2) var<storage, read> degrees: array<f32>;
// Self-loops w_ii.
@group(0) @binding(3) var<storage, read> diagonal: array<f32>;
// Cluster of each node.
@group(0) @binding(4) var<storage, read> labels: array<i32>;
// Output: best cluster per node.
@group(0) @binding(5) var<storage, read_write> best: array<i32>;
// Output: gain of the move (0 when the node stays).
@group(0) @binding(6) var<storage, read_write> gain: array<f32>;
// Sizes.
@group(0) @binding(7) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

fn ratio(x: f32, v: f32) -> f32 {
  return select(0.0, x / v, v > 0.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn kway_argmax(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) {
    return;
  }
  let a = u32(labels[i]);
  let di = degrees[i];
  let wii = diagonal[i];
  let row = i * params.kp;
  let vol_a = stats[a];
  let assoc_a = stats[params.k + a];
  let stay = ratio(assoc_a, vol_a) - ratio((assoc_a - 2.0 * s[row + a]) + wii, vol_a - di);
  var top = a;
  var top_score = stay;
  for (var c = 0u; c < params.k; c++) {
    let vol = stats[c];
    let assoc = stats[params.k + c];
    let g = ratio((assoc + 2.0 * s[row + c]) + wii, vol + di) - ratio(assoc, vol);
    let better = c != a && g > top_score;
    top = select(top, c, better);
    top_score = select(top_score, g, better);
  }
  best[i] = i32(top);
  gain[i] = top_score - stay;
}
