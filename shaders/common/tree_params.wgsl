// The parameters of one tree level, bound at @binding(7) by every kernel of the tree's shared bind group: the
// batched Lanczos (eigensolve/lanczos_batched.wgsl, lanczos_matvec.wgsl), the split search (ncut/split_search.wgsl,
// split_bins.wgsl) and the next-level builder (ncut/next_level.wgsl). A kernel includes this file with the line
// `#include "common/tree_params.wgsl"` (lib/gpu/kernel.ts replaces it with this text). The host packs it from
// TREE_PARAMS in lib/gpu/uniforms.ts (names, types, byte offsets); tests/gpu/uniforms_test.ts checks that table
// against this struct. Every kernel sees every field; the comments say which stage reads it.
struct TreeParams {
  n: u32,            // order of W (patches)
  slots: u32,        // slots of this level (sum of node sizes)
  nodes: u32,        // nodes of this level
  check_every: u32,  // (Lanczos) convergence check period (steps)
  tol: f32,          // (Lanczos) residual tolerance |β_k s_k|
  thresholds: u32,   // (split search) candidate thresholds per node (equal to the THRESHOLDS override)
  min_side: u32,     // (split search) smallest admissible side
  global_base: u32,  // start of the per-patch sections of `vecs` (a multiple of 4)
}

// Words (u32) in a TreeParams.
const TREE_PARAMS_WORDS: u32 = 8u;

// The parameters as words, in field order (next_level.wgsl writes the next level's with it).
fn tree_params_words(p: TreeParams) -> array<u32, 8> {
  return array<u32, 8>(
    p.n,
    p.slots,
    p.nodes,
    p.check_every,
    bitcast<u32>(p.tol),
    p.thresholds,
    p.min_side,
    p.global_base,
  );
}
