// The split search's per-row bucket histograms for affinities whose order n is a multiple of 4 (the `bins` entry
// of split_search.wgsl is the general form and the specification; same bind group layout, W and the per-patch
// tables read through vec4 views). Each row sweeps its node's chunks (the vec4 columns of W holding one of its
// patches, listed by the host after the slot table, see lanczos_matvec.wgsl) instead of gathering W, buckets and
// global indices through the node's slot list; the histogram receives the same terms in the same order (ascending
// patch), so the sums equal those of `bins`. The histogram is built in invocation memory (MAX_BUCKETS floats,
// THRESHOLDS + 1 used) rather than in `partial`: on llvmpipe the scattered adds are much cheaper there.

// The level's parameters: struct TreeParams (n and global_base are multiples of 4 here).
#include "common/tree_params.wgsl"

// The affinity, n·n row-major, as vec4 (n/4 per row).
@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
// Per slot: (global index, node); then from index `slots` the level's chunks, node by node.
@group(0) @binding(1) var<storage, read> slots: array<vec2<u32>>;
// Per node: (offset, size, step limit, first chunk); entry `nodes` holds the end of the last node's chunks.
@group(0) @binding(2) var<storage, read> nodes: array<vec4<u32>>;
// Per-slot vectors as vec4; from global_base, per patch: bucket (f32), then node (f32, −1 outside the level).
@group(0) @binding(3) var<storage, read_write> vecs: array<vec4<f32>>;
// Per slot, T + 1 floats: the row's bucket histogram, then its partial cuts Σ_{u : b_u ≤ i} W[s, u] for i < b_s.
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;
// (unused here) per node records.
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
// [slots, 2·slots): bucket b_s per slot.
@group(0) @binding(6) var<storage, read_write> lists: array<u32>;
// Sizes.
@group(0) @binding(7) var<uniform> params: TreeParams;

override WORKGROUP_SIZE: u32 = 64;
override THRESHOLDS: u32 = 100;
// Size of the per-invocation histogram.
const MAX_BUCKETS: u32 = 128u;

// Per slot: the row's histogram of W over buckets (in place in `partial`), then its partial cuts.
@compute @workgroup_size(WORKGROUP_SIZE)
fn split_bins(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (s >= params.slots) {
    return;
  }
  let h = s * (THRESHOLDS + 1u);
  // The histogram lives in invocation memory while it is built (MAX_BUCKETS ≥ THRESHOLDS + 1, checked by the host).
  var hist: array<f32, MAX_BUCKETS>;
  for (var i = 0u; i <= THRESHOLDS; i++) {
    hist[i] = 0.0;
  }
  let k = slots[s].y;
  let kf = vec4<f32>(f32(k));
  let row = slots[s].x * (params.n / 4u);
  let bg = params.global_base / 4u;
  let ng = bg + params.n / 4u;
  for (var i = nodes[k].w; i < nodes[k + 1u].w; i++) {
    let c = slots[params.slots + i].x;
    let w4 = w[row + c];
    let b4 = vec4<u32>(vecs[bg + c]);
    let m4 = vecs[ng + c] == kf;
    for (var l = 0u; l < 4u; l++) {
      if (m4[l]) {
        hist[b4[l]] += w4[l];
      }
    }
  }
  let bs = lists[params.slots + s];
  var acc = 0.0;
  for (var i = 0u; i < THRESHOLDS; i++) {
    acc += hist[i];
    partial[h + i] = select(0.0, acc, i < bs);
  }
  partial[h + THRESHOLDS] = hist[THRESHOLDS];
}
