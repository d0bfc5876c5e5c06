// Batched split search (reference: lib/ncut/split_gpu.ts `splitSearchReference`, the float32 twin of
// lib/ncut/split.ts): for every node of one tree level, the reference's sign rule on its Fiedler vector y, the
// candidate thresholds t_i = linspace(0.99·min y, 0.99·max y, T), the exact NCut of every partition S_i = {y > t_i}
// and the first minimum among the thresholds leaving at least `min_side` slots on each side; the node's slots are
// then stably partitioned into its children's index lists ("1" side first).
//
// Without sorting: slot s lies in S_i exactly when i < b_s, b_s = #{i : t_i < y_s} (its "bucket"). Row s adds
// Σ_{u : b_u ≤ i} W[s, u] to cut(S_i) for every i < b_s; these prefix sums come from a per-row histogram of W over
// buckets , so every sum is of non-negative terms (no cancellation in vol − assoc).

// The level's parameters: struct TreeParams.
#include "common/tree_params.wgsl"

// The affinity, n·n row-major.
@group(0) @binding(0) var<storage, read> w: array<f32>;
// Per slot: (global index, node).
@group(0) @binding(1) var<storage, read> slots: array<vec2<u32>>;
// Per node: (offset, size, unused, unused).
@group(0) @binding(2) var<storage, read> nodes: array<vec4<u32>>;
// Per-slot vectors (layout of lanczos_batched.wgsl): y at [0, slots) (sign-normalised here), d at [slots, 2·slots);
// from global_base, per patch: its bucket (f32, written here for split_bins.wgsl), then its node.
@group(0) @binding(3) var<storage, read_write> vecs: array<f32>;
// Per slot, T + 1 floats: the row's bucket histogram, then its partial cuts Σ_{u : b_u ≤ i} W[s, u] for
// i < b_s (0 elsewhere).
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;
// Per node record (OUT floats): sign, start, stop, step, chosen index (−1: none), NCut, threshold, |"1" side|,
// then NCut per threshold (T) and |S_i| per threshold (T).
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
// [0, slots): the children's index lists (global indices, each node's range: "1" side, then the rest);
// [slots, 2·slots): bucket b_s per slot.
@group(0) @binding(6) var<storage, read_write> lists: array<u32>;
// Sizes.
@group(0) @binding(7) var<uniform> params: TreeParams;

override WORKGROUP_SIZE: u32 = 64;
override THRESHOLDS: u32 = 100;
const HEAD: u32 = 8u;

fn out_at(k: u32, i: u32) -> u32 {
  return k * (HEAD + 2u * THRESHOLDS) + i;
}

fn linear(gid: vec3<u32>, groups: vec3<u32>, size: u32) -> u32 {
  return gid.x + gid.y * groups.x * size;
}

fn threshold(k: u32, i: u32) -> f32 {
  if (i + 1u == THRESHOLDS && THRESHOLDS > 1u) {
    return out[out_at(k, 2u)];
  }
  return out[out_at(k, 1u)] + f32(i) * out[out_at(k, 3u)];
}

// Per node: sign so that the largest |y| is positive (first slot wins ties), and the candidate thresholds.
@compute @workgroup_size(WORKGROUP_SIZE)
fn node_range(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let k = linear(gid, groups, WORKGROUP_SIZE);
  if (k >= params.nodes) {
    return;
  }
  let nd = nodes[k];
  var best = nd.x;
  var lo = 3.4e38;
  var hi = -3.4e38;
  for (var s = nd.x; s < nd.x + nd.y; s++) {
    let y = vecs[s];
    if (abs(y) > abs(vecs[best])) {
      best = s;
    }
    lo = min(lo, y);
    hi = max(hi, y);
  }
  var sign = 1.0;
  if (vecs[best] < 0.0) {
    sign = -1.0;
    let t = lo;
    lo = -hi;
    hi = -t;
  }
  let start = 0.99 * lo;
  let stop = 0.99 * hi;
  out[out_at(k, 0u)] = sign;
  out[out_at(k, 1u)] = start;
  out[out_at(k, 2u)] = stop;
  out[out_at(k, 3u)] = select(0.0, (stop - start) / f32(THRESHOLDS - 1u), THRESHOLDS > 1u);
}

// Per slot: apply the sign; bucket b_s = #{i : t_i < y_s}.
@compute @workgroup_size(WORKGROUP_SIZE)
fn buckets(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = linear(gid, groups, WORKGROUP_SIZE);
  if (s >= params.slots) {
    return;
  }
  let k = slots[s].y;
  let y = vecs[s] * out[out_at(k, 0u)];
  vecs[s] = y;
  var b = 0u;
  for (var i = 0u; i < THRESHOLDS; i++) {
    if (y > threshold(k, i)) {
      b++;
    }
  }
  lists[params.slots + s] = b;
  vecs[params.global_base + slots[s].x] = f32(b);
}

// Per slot: the row's histogram of W over buckets (in place in `partial`), then its partial cuts.
@compute @workgroup_size(WORKGROUP_SIZE)
fn bins(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = linear(gid, groups, WORKGROUP_SIZE);
  if (s >= params.slots) {
    return;
  }
  let h = s * (THRESHOLDS + 1u);
  for (var i = 0u; i <= THRESHOLDS; i++) {
    partial[h + i] = 0.0;
  }
  let nd = nodes[slots[s].y];
  let row = slots[s].x * params.n;
  for (var u = nd.x; u < nd.x + nd.y; u++) {
    let b = lists[params.slots + u];
    partial[h + b] += w[row + slots[u].x];
  }
  let bs = lists[params.slots + s];
  var acc = 0.0;
  for (var i = 0u; i < THRESHOLDS; i++) {
    acc += partial[h + i];
    partial[h + i] = select(0.0, acc, i < bs);
  }
}

// Per (node, threshold i): cut, volumes and NCut of S_i (sums in slot order).
@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  let i = gid.y;
  if (k >= params.nodes || i >= THRESHOLDS) {
    return;
  }
  let nd = nodes[k];
  var cut = 0.0;
  var vol_in = 0.0;
  var vol_out = 0.0;
  var size = 0u;
  for (var s = nd.x; s < nd.x + nd.y; s++) {
    let d = vecs[params.slots + s];
    if (lists[params.slots + s] > i) {
      cut += partial[s * (THRESHOLDS + 1u) + i];
      vol_in += d;
      size++;
    } else {
      vol_out += d;
    }
  }
  var ncut = 0.0;
  if (size > 0u && size < nd.y) {
    ncut = cut / vol_in + cut / vol_out;
  }
  out[out_at(k, HEAD + i)] = ncut;
  out[out_at(k, HEAD + THRESHOLDS + i)] = f32(size);
}

// Per node: first minimum among admissible thresholds; children's index lists ("1" side first, slot order kept).
@compute @workgroup_size(WORKGROUP_SIZE)
fn choose(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let k = linear(gid, groups, WORKGROUP_SIZE);
  if (k >= params.nodes) {
    return;
  }
  let nd = nodes[k];
  var index = -1;
  var best = 0.0;
  for (var i = 0u; i < THRESHOLDS; i++) {
    let size = u32(out[out_at(k, HEAD + THRESHOLDS + i)]);
    if (size == 0u || size == nd.y || size < params.min_side || nd.y - size < params.min_side) {
      continue;
    }
    let v = out[out_at(k, HEAD + i)];
    if (index < 0 || v < best) {
      index = i32(i);
      best = v;
    }
  }
  out[out_at(k, 4u)] = f32(index);
  if (index < 0) {
    out[out_at(k, 5u)] = 0.0;
    out[out_at(k, 6u)] = 0.0;
    out[out_at(k, 7u)] = 0.0;
    for (var s = nd.x; s < nd.x + nd.y; s++) {
      lists[s] = slots[s].x;
    }
    return;
  }
  let chosen = u32(index);
  out[out_at(k, 5u)] = best;
  out[out_at(k, 6u)] = threshold(k, chosen);
  var ones = 0u;
  for (var s = nd.x; s < nd.x + nd.y; s++) {
    if (lists[params.slots + s] > chosen) {
      ones++;
    }
  }
  out[out_at(k, 7u)] = f32(ones);
  var a = nd.x;
  var b = nd.x + ones;
  for (var s = nd.x; s < nd.x + nd.y; s++) {
    if (lists[params.slots + s] > chosen) {
      lists[a] = slots[s].x;
      a++;
    } else {
      lists[b] = slots[s].x;
      b++;
    }
  }
}
