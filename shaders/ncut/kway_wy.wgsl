// K-way NCut, one product per sweep: S = W·Y for one-hot labels Y (n×K), S[i][c] = Σ_{j: labels[j] = c} W[j][i].
// One invocation per (node i, group of four clusters); each sums in float32 in ascending j, as the reference
// kwayProductReference (lib/ncut/kway_ncut.ts) does. W is symmetric: W[j][i] is read so that neighbouring
// invocations read neighbouring words. Four clusters per load of W (vec4 select) keep llvmpipe's per-load cost low.

struct Params {
  n: u32,   // nodes
  k4: u32,  // clusters rounded up to a multiple of 4, divided by 4 (vec4 columns of S)
}

// Affinity W, n·n values, row-major.
@group(0) @binding(0) var<storage, read> w: array<f32>;
// Cluster of each node, 0..K−1.
@group(0) @binding(1) var<storage, read> labels: array<i32>;
// Output S, n rows of k4 vec4s (clusters K..4·k4−1 are zero).
@group(0) @binding(2) var<storage, read_write> s: array<vec4<f32>>;
// Sizes.
@group(0) @binding(3) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

@compute @workgroup_size(WORKGROUP_SIZE)
fn kway_wy(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let q = gid.y;
  if (i >= params.n || q >= params.k4) {
    return;
  }
  let first = i32(4u * q);
  let columns = vec4<i32>(first, first + 1, first + 2, first + 3);
  var acc = vec4<f32>(0.0);
  for (var j = 0u; j < params.n; j++) {
    let v = w[j * params.n + i];
    acc = acc + select(vec4<f32>(0.0), vec4<f32>(v), vec4<i32>(labels[j]) == columns);
  }
  s[i * params.k4 + q] = acc;
}
