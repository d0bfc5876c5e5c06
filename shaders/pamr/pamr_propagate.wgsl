// One PAMR step: M'(x)_k = Σ_l Σ_j w_{8l+j}(x) · M(nb_j^l(x))_k, replicate borders. One invocation per
// (pixel, label); for each dilation the eight terms are summed in neighbour order, then added to the total.
// With `one_hot` set, M is given as the label rank of every pixel (the first step from one-hot masks).

struct Params {
  h: u32,        // image rows
  w: u32,        // image columns
  l: u32,        // number of dilations
  k: u32,        // labels (mask channels)
  one_hot: u32,  // 1: read `ranks` instead of `masks_in`
}

// Softmax weights from pamr_affinity, h·w·8l.
@group(0) @binding(0) var<storage, read> weights: array<f32>;
// Dilations.
@group(0) @binding(1) var<storage, read> dilations: array<u32>;
// Input masks, h·w·k (unused when one_hot).
@group(0) @binding(2) var<storage, read> masks_in: array<f32>;
// Label rank per pixel (used when one_hot).
@group(0) @binding(3) var<storage, read> ranks: array<u32>;
// Output masks, h·w·k.
@group(0) @binding(4) var<storage, read_write> masks_out: array<f32>;
// Sizes.
@group(0) @binding(5) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

fn value(p: u32, k: u32) -> f32 {
  if (params.one_hot != 0u) {
    return select(0.0, 1.0, ranks[p] == k);
  }
  return masks_in[p * params.k + k];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn pamr_propagate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (idx >= params.h * params.w * params.k) {
    return;
  }
  let i = idx / params.k;
  let k = idx - i * params.k;
  let y = i / params.w;
  let x = i - y * params.w;
  let hh = i32(params.h) - 1;
  let ww = i32(params.w) - 1;
  var acc = 0.0;
  for (var l = 0u; l < params.l; l++) {
    let d = i32(dilations[l]);
    let rm = u32(max(i32(y) - d, 0)) * params.w;
    let r0 = y * params.w;
    let rp = u32(min(i32(y) + d, hh)) * params.w;
    let cm = u32(max(i32(x) - d, 0));
    let cp = u32(min(i32(x) + d, ww));
    let q = i * 8u * params.l + 8u * l;
    let s = weights[q] * value(rm + cm, k) + weights[q + 1u] * value(rm + x, k) +
      weights[q + 2u] * value(rm + cp, k) + weights[q + 3u] * value(r0 + cm, k) +
      weights[q + 4u] * value(r0 + cp, k) + weights[q + 5u] * value(rp + cm, k) +
      weights[q + 6u] * value(rp + x, k) + weights[q + 7u] * value(rp + cp, k);
    acc += s;
  }
  masks_out[idx] = acc;
}
