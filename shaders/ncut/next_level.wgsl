// Builds the next tree level on the device from this level's split results, so that several levels run in one
// submission (lib/ncut/partition_tree_gpu.ts; the host replays the same rules and checks the result). It writes
// the tables `upload` of lib/eigensolve/lanczos_gpu.ts writes from the host: the parameters, the node table
// (offset, size, step limit, first chunk), the slots (global index, node) followed by each node's chunks (the vec4
// columns of W holding one of its patches), and the node-of-patch section of `vecs`.
//
// A node splits when its chosen threshold exists and its NCut is below τ (`tau` is the smallest float32 ≥ τ, so
// the float32 comparison equals the host's float64 one); its children are the two ranges `choose` left in `lists`
// ("1" side first, each ascending), less the excluded patches (compat "reference": rows holding an exact zero,
// which only the root solves), kept when at least 2 slots remain (smaller ones are leaves). One invocation does it
// all in order (O(n + slots) steps): the tables must come out exactly as the host builds them.

// The level's parameters: struct TreeParams.
#include "common/tree_params.wgsl"

// This level's slots: (global index, node).
@group(0) @binding(0) var<storage, read> slots: array<vec2<u32>>;
// This level's nodes: (offset, size, step limit, first chunk).
@group(0) @binding(1) var<storage, read> nodes: array<vec4<u32>>;
// Split results per node (split_search.wgsl): index at 4, NCut at 5, |"1" side| at 7.
@group(0) @binding(2) var<storage, read> out: array<f32>;
// [0, slots): the children's index lists written by `choose`.
@group(0) @binding(3) var<storage, read_write> lists: array<u32>;
// Per-slot and per-patch vectors; the node-of-patch section starts at global_base + n_padded.
@group(0) @binding(4) var<storage, read_write> vecs: array<f32>;
// The next level's tables: [0, TREE_PARAMS_WORDS) parameters, then node_capacity + 1 node entries (4 u32 each),
// then the slot entries (2 u32 each: slots, then chunks). The host copies them over the workspace's tables.
@group(0) @binding(5) var<storage, read_write> next: array<u32>;
// [τ as float32 bits, node capacity, n_padded, 1 to drop excluded patches], then per patch its exclusion flag.
@group(0) @binding(6) var<storage, read_write> chain: array<u32>;
// This level's sizes.
@group(0) @binding(7) var<uniform> params: TreeParams;

override MAX_STEPS: u32 = 64;
override THRESHOLDS: u32 = 100;
const HEAD: u32 = 8u;

fn excluded(g: u32) -> bool {
  return chain[3] != 0u && chain[4u + g] != 0u;
}

@compute @workgroup_size(1)
fn next_level() {
  let tau = bitcast<f32>(chain[0]);
  let nodes_base = TREE_PARAMS_WORDS;
  let slots_base = nodes_base + 4u * (chain[1] + 1u);
  let node_of = params.global_base + chain[2];
  for (var g = 0u; g < params.n; g++) {
    vecs[node_of + g] = -1.0;
  }
  var total = 0u;
  var count = 0u;
  for (var k = 0u; k < params.nodes; k++) {
    let r = k * (HEAD + 2u * THRESHOLDS);
    if (!(out[r + 4u] >= 0.0 && out[r + 5u] < tau)) {
      continue;
    }
    let nd = nodes[k];
    let ones = u32(out[r + 7u]);
    for (var side = 0u; side < 2u; side++) {
      let src = select(nd.x + ones, nd.x, side == 0u);
      let range = select(nd.y - ones, ones, side == 0u);
      var size = 0u;
      for (var i = 0u; i < range; i++) {
        if (!excluded(lists[src + i])) {
          size++;
        }
      }
      if (size < 2u) {
        continue;
      }
      let o = nodes_base + 4u * count;
      next[o] = total;
      next[o + 1u] = size;
      next[o + 2u] = min(MAX_STEPS, size - 1u);
      var at = total;
      for (var i = 0u; i < range; i++) {
        let g = lists[src + i];
        if (excluded(g)) {
          continue;
        }
        next[slots_base + 2u * at] = g;
        next[slots_base + 2u * at + 1u] = count;
        vecs[node_of + g] = f32(count);
        at++;
      }
      total += size;
      count++;
    }
  }
  // Each node's chunks, after all slots: the distinct g / 4 of its slots, in order.
  var chunks = 0u;
  for (var k = 0u; k < count; k++) {
    let o = nodes_base + 4u * k;
    next[o + 3u] = chunks;
    var last = 0xffffffffu;
    for (var s = next[o]; s < next[o] + next[o + 1u]; s++) {
      let c = next[slots_base + 2u * s] >> 2u;
      if (c != last) {
        last = c;
        next[slots_base + 2u * (total + chunks)] = c;
        next[slots_base + 2u * (total + chunks) + 1u] = 0u;
        chunks++;
      }
    }
  }
  next[nodes_base + 4u * count + 3u] = chunks;
  var p = params;
  p.slots = total;
  p.nodes = count;
  let head = tree_params_words(p);
  for (var i = 0u; i < TREE_PARAMS_WORDS; i++) {
    next[i] = head[i];
  }
}
