// The batched Lanczos product −L q for affinities whose order n is a multiple of 4 (the `matvec` entry of
// lanczos_batched.wgsl is the general form and the specification; same bind group layout, read through vec4
// views). Instead of gathering W[g_s, g_u] through the node's index list, every invocation sweeps 8 slots' rows of
// W with vec4 loads over the node's chunks, masked by the level's node-of-patch table:
//
//   work_s = −d_s^-1/2 Σ_{g : node(g) = node(s)} W[g_s, g] (x_s − x_g),
//
// with x and node(·) indexed by global patch (written by `normalize` and the host). The difference form keeps
// float32 accurate next to M's eigenvalue 1, as in `matvec`; each row keeps four partial sums (g mod 4) added
// pairwise at the end. Only the summation order differs from `matvec`. The sweep visits only the node's chunks
// (vec4 columns of W holding one of its patches, listed by the host or next_level.wgsl), so a level costs about Σ m_k·m_k/4 vec4
// loads. On llvmpipe this is ~3× faster than the gathers of `matvec` at level 0.

// The level's parameters: struct TreeParams (n and global_base are multiples of 4 here).
#include "common/tree_params.wgsl"

// The affinity, n·n row-major, as vec4 (n/4 per row).
@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
// Per slot: (global index, node); then from index `slots` the level's chunks, node by node (see chunk()).
@group(0) @binding(1) var<storage, read> slots: array<vec2<u32>>;
// Per node: (offset, size, step limit, first chunk); entry `nodes` holds the end of the last node's chunks.
@group(0) @binding(2) var<storage, read> nodes: array<vec4<u32>>;
// vecs of lanczos_batched.wgsl as vec4: slot sections y, d, d^-1/2, x, work, then at global_base two global
// sections of n floats: x by patch, node by patch (f32, −1 outside the level).
@group(0) @binding(3) var<storage, read_write> vecs: array<vec4<f32>>;
// (unused here) Krylov basis.
@group(0) @binding(4) var<storage, read_write> basis: array<f32>;
// (unused here) per node f32 records.
@group(0) @binding(5) var<storage, read_write> node_f: array<f32>;
// Step counter, then per node (done, steps, breakdown, zero degree) at 4 + 4k.
@group(0) @binding(6) var<storage, read_write> node_u: array<u32>;
// Sizes.
@group(0) @binding(7) var<uniform> params: TreeParams;

override WORKGROUP_SIZE: u32 = 64;

const D: u32 = 1u;
const ISD: u32 = 2u;
const WORK: u32 = 4u;

fn scalar(i: u32) -> f32 {
  return vecs[i >> 2u][i & 3u];
}

// Chunk i of the level (a vec4 column of W holding at least one patch of its node): slots[params.slots + i].x.
fn chunk(i: u32) -> u32 {
  return slots[params.slots + i].x;
}

// One row's four partial sums over its node's chunks [first, last).
fn row_sum(row: u32, xs: f32, kf: f32, first: u32, last: u32, xg: u32, ng: u32) -> vec4<f32> {
  var a = vec4<f32>(0.0);
  for (var i = first; i < last; i++) {
    let c = chunk(i);
    a += w[row + c] * select(vec4<f32>(0.0), vec4<f32>(xs) - vecs[xg + c], vecs[ng + c] == vec4<f32>(kf));
  }
  return a;
}

// Per 8 consecutive slots: work = −L q_j restricted to each slot's node (rows of done nodes are left alone). In
// the usual case the 8 rows share one node, so each chunk's index, x and node loads serve 8 rows of W (with 4
// rows the tree ran ~12% slower on llvmpipe, where every load in a loop is emulated lane by lane).
@compute @workgroup_size(WORKGROUP_SIZE)
fn lanczos_matvec(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s0 = 8u * (gid.x + gid.y * groups.x * WORKGROUP_SIZE);
  if (s0 >= params.slots) {
    return;
  }
  let q = params.n / 4u;
  let xg = params.global_base / 4u;
  let ng = xg + q;
  var row: array<u32, 8>;
  var first: array<u32, 8>;
  var last: array<u32, 8>;
  var xs: array<f32, 8>;
  // Node of each row as f32; −2 (matches no patch) for rows past the level or of done nodes.
  var kf: array<f32, 8>;
  for (var r = 0u; r < 8u; r++) {
    let s = min(s0 + r, params.slots - 1u);
    let k = slots[s].y;
    let g = slots[s].x;
    row[r] = g * q;
    xs[r] = vecs[xg + g / 4u][g & 3u];
    first[r] = 0u;
    last[r] = 0u;
    kf[r] = -2.0;
    if (s0 + r < params.slots && node_u[4u + 4u * k] == 0u) {
      kf[r] = f32(k);
      first[r] = nodes[k].w;
      last[r] = nodes[k + 1u].w;
    }
  }
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0);
  var a5 = vec4<f32>(0.0);
  var a6 = vec4<f32>(0.0);
  var a7 = vec4<f32>(0.0);
  let same = kf[1] == kf[0] && kf[2] == kf[0] && kf[3] == kf[0] && kf[4] == kf[0] && kf[5] == kf[0] &&
    kf[6] == kf[0] && kf[7] == kf[0];
  if (same) {
    // The usual case: eight rows of one node share the chunk, x and node loads.
    let zero = vec4<f32>(0.0);
    let k4 = vec4<f32>(kf[0]);
    for (var i = first[0]; i < last[0]; i++) {
      let c = chunk(i);
      let x4 = vecs[xg + c];
      let m = vecs[ng + c] == k4;
      a0 += w[row[0] + c] * select(zero, vec4<f32>(xs[0]) - x4, m);
      a1 += w[row[1] + c] * select(zero, vec4<f32>(xs[1]) - x4, m);
      a2 += w[row[2] + c] * select(zero, vec4<f32>(xs[2]) - x4, m);
      a3 += w[row[3] + c] * select(zero, vec4<f32>(xs[3]) - x4, m);
      a4 += w[row[4] + c] * select(zero, vec4<f32>(xs[4]) - x4, m);
      a5 += w[row[5] + c] * select(zero, vec4<f32>(xs[5]) - x4, m);
      a6 += w[row[6] + c] * select(zero, vec4<f32>(xs[6]) - x4, m);
      a7 += w[row[7] + c] * select(zero, vec4<f32>(xs[7]) - x4, m);
    }
  } else {
    a0 = row_sum(row[0], xs[0], kf[0], first[0], last[0], xg, ng);
    a1 = row_sum(row[1], xs[1], kf[1], first[1], last[1], xg, ng);
    a2 = row_sum(row[2], xs[2], kf[2], first[2], last[2], xg, ng);
    a3 = row_sum(row[3], xs[3], kf[3], first[3], last[3], xg, ng);
    a4 = row_sum(row[4], xs[4], kf[4], first[4], last[4], xg, ng);
    a5 = row_sum(row[5], xs[5], kf[5], first[5], last[5], xg, ng);
    a6 = row_sum(row[6], xs[6], kf[6], first[6], last[6], xg, ng);
    a7 = row_sum(row[7], xs[7], kf[7], first[7], last[7], xg, ng);
  }
  // Four partial sums per row (one per vec4 lane), added pairwise.
  var acc = array<f32, 8>(
    (a0.x + a0.y) + (a0.z + a0.w),
    (a1.x + a1.y) + (a1.z + a1.w),
    (a2.x + a2.y) + (a2.z + a2.w),
    (a3.x + a3.y) + (a3.z + a3.w),
    (a4.x + a4.y) + (a4.z + a4.w),
    (a5.x + a5.y) + (a5.z + a5.w),
    (a6.x + a6.y) + (a6.z + a6.w),
    (a7.x + a7.y) + (a7.z + a7.w),
  );
  for (var r = 0u; r < 8u; r++) {
    if (kf[r] >= 0.0) {
      let s = s0 + r;
      let o = WORK * params.slots + s;
      vecs[o >> 2u][o & 3u] = -acc[r] * scalar(ISD * params.slots + s);
    }
  }
}

// One row's four partial degree sums over its node's chunks [first, last).
fn row_degree(row: u32, kf: f32, first: u32, last: u32, ng: u32) -> vec4<f32> {
  var a = vec4<f32>(0.0);
  for (var i = first; i < last; i++) {
    let c = chunk(i);
    a += select(vec4<f32>(0.0), w[row + c], vecs[ng + c] == vec4<f32>(kf));
  }
  return a;
}

// Per 4 consecutive slots: d_s = Σ_{g : node(g) = node(s)} W[g_s, g] (the vec4 form of `degrees` in
// lanczos_batched.wgsl; each row sums in `lanczos_matvec`'s order). Four rows, not eight: it runs once per level.
@compute @workgroup_size(WORKGROUP_SIZE)
fn lanczos_degrees(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s0 = 4u * (gid.x + gid.y * groups.x * WORKGROUP_SIZE);
  if (s0 >= params.slots) {
    return;
  }
  let q = params.n / 4u;
  let ng = params.global_base / 4u + q;
  var row: array<u32, 4>;
  var first: array<u32, 4>;
  var last: array<u32, 4>;
  var kf = vec4<f32>(-2.0);
  for (var r = 0u; r < 4u; r++) {
    let s = min(s0 + r, params.slots - 1u);
    let k = slots[s].y;
    row[r] = slots[s].x * q;
    first[r] = 0u;
    last[r] = 0u;
    if (s0 + r < params.slots) {
      kf[r] = f32(k);
      first[r] = nodes[k].w;
      last[r] = nodes[k + 1u].w;
    }
  }
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  if (all(kf == vec4<f32>(kf.x))) {
    let zero = vec4<f32>(0.0);
    for (var i = first[0]; i < last[0]; i++) {
      let c = chunk(i);
      let m = vecs[ng + c] == vec4<f32>(kf.x);
      a0 += select(zero, w[row[0] + c], m);
      a1 += select(zero, w[row[1] + c], m);
      a2 += select(zero, w[row[2] + c], m);
      a3 += select(zero, w[row[3] + c], m);
    }
  } else {
    a0 = row_degree(row[0], kf.x, first[0], last[0], ng);
    a1 = row_degree(row[1], kf.y, first[1], last[1], ng);
    a2 = row_degree(row[2], kf.z, first[2], last[2], ng);
    a3 = row_degree(row[3], kf.w, first[3], last[3], ng);
  }
  let acc = vec4<f32>(
    (a0.x + a0.y) + (a0.z + a0.w),
    (a1.x + a1.y) + (a1.z + a1.w),
    (a2.x + a2.y) + (a2.z + a2.w),
    (a3.x + a3.y) + (a3.z + a3.w),
  );
  for (var r = 0u; r < 4u; r++) {
    if (kf[r] >= 0.0) {
      let o = D * params.slots + s0 + r;
      vecs[o >> 2u][o & 3u] = acc[r];
    }
  }
}
