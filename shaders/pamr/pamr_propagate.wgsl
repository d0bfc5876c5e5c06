// One PAMR step: M'(x)_k = Σ_l Σ_j w_{8l+j}(x) · M(nb_j^l(x))_k, replicate borders. Masks hold k4 vec4 per
// pixel (labels padded to a multiple of 4 with zeros); one invocation per (pixel, label quad) on a 3-D grid
// (x: column, y: row, z: quad), so each weight load serves four labels. For each dilation the eight terms are
// summed in neighbour order, then added to the total. With ONE_HOT, M is given as the label rank of every pixel (the first
// step from one-hot masks).
//
// The number of dilations and ONE_HOT are override constants so that Mesa unrolls the dilation loop and drops the
// branch; with them and without per-invocation division this kernel runs several times faster on llvmpipe.

struct Params {
  h: u32,  // image rows
  w: u32,  // image columns
  k4: u32,  // label quads per pixel (mask vec4s)
}

// Softmax weights from pamr_affinity, h·w·8l.
@group(0) @binding(0) var<storage, read> weights: array<f32>;
// Dilations.
@group(0) @binding(1) var<storage, read> dilations: array<u32>;
// Input masks, h·w·k4 quads (unused with ONE_HOT).
@group(0) @binding(2) var<storage, read> masks_in: array<vec4<f32>>;
// Label rank per pixel (used when one_hot).
@group(0) @binding(3) var<storage, read> ranks: array<u32>;
// Output masks, h·w·k4 quads.
@group(0) @binding(4) var<storage, read_write> masks_out: array<vec4<f32>>;
// Sizes.
@group(0) @binding(5) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;
// Number of dilations.
override DILATIONS: u32 = 4;
// 1: read `ranks` instead of `masks_in`.
override ONE_HOT: u32 = 0;

// Labels 4·q .. 4·q + 3 of pixel p.
fn value(p: u32, q: u32) -> vec4<f32> {
  if (ONE_HOT != 0u) {
    return select(vec4<f32>(0.0), vec4<f32>(1.0), vec4<u32>(ranks[p]) == 4u * q + vec4<u32>(0u, 1u, 2u, 3u));
  }
  return masks_in[p * params.k4 + q];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn pamr_propagate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  let k = gid.z;  // label quad
  if (x >= params.w) {
    return;
  }
  let i = y * params.w + x;
  let hh = i32(params.h) - 1;
  let ww = i32(params.w) - 1;
  var acc = vec4<f32>(0.0);
  for (var l = 0u; l < DILATIONS; l++) {
    let d = i32(dilations[l]);
    let rm = u32(max(i32(y) - d, 0)) * params.w;
    let r0 = y * params.w;
    let rp = u32(min(i32(y) + d, hh)) * params.w;
    let cm = u32(max(i32(x) - d, 0));
    let cp = u32(min(i32(x) + d, ww));
    let o = i * 8u * DILATIONS + 8u * l;
    let s = weights[o] * value(rm + cm, k) + weights[o + 1u] * value(rm + x, k) +
      weights[o + 2u] * value(rm + cp, k) + weights[o + 3u] * value(r0 + cm, k) +
      weights[o + 4u] * value(r0 + cp, k) + weights[o + 5u] * value(rp + cm, k) +
      weights[o + 6u] * value(rp + x, k) + weights[o + 7u] * value(rp + cp, k);
    acc += s;
  }
  masks_out[i * params.k4 + k] = acc;
}
