// Batched Lanczos with full reorthogonalisation (float32) for the Fiedler vectors of every node of one tree
// level (reference: lib/eigensolve/lanczos_gpu.ts `lanczosBatchedReference`, mirroring lib/eigensolve/lanczos.ts).
//
// Each node is a list of "slots" (global patch indices, ascending) into the full n×n affinity W, which is never
// copied: node k owns slots [offset, offset + size). For every node the operator is M = D^-1/2 W_k D^-1/2
// restricted to its slots, with the known top eigenvector u0 = √d/‖√d‖ deflated (it is basis vector 0); the
// iteration runs on −L = M − I (same eigenvectors, θ = −λ), whose products keep float32 accuracy. The host
// records the prologue (`degrees`, `prepare`, `start`, `orthonormalize` with PROLOGUE) once and then K steps of two
// dispatches, the product (`matvec`, or the vec4 form in lanczos_matvec.wgsl) and `orthonormalize`, into one
// command buffer. Each node keeps its own step count on the device, so every dispatch reuses one bind group.
// Convergence of each node is checked every CHECK_EVERY steps inside `orthonormalize` (top Ritz pair of the
// tridiagonal by Sturm bisection + inverse iteration); converged nodes skip all later work. Per-slot kernels run
// one invocation per slot; `orthonormalize` runs one workgroup per node (reductions over its slots are split
// across the workgroup and added in a fixed order).

// The level's parameters: struct TreeParams.
#include "common/tree_params.wgsl"

// The affinity, n·n row-major.
@group(0) @binding(0) var<storage, read> w: array<f32>;
// Per slot: (global index, node) (then the chunk list of lanczos_matvec.wgsl).
@group(0) @binding(1) var<storage, read> slots: array<vec2<u32>>;
// Per node: (offset, size, step limit = min(MAX_STEPS, size − 1), first chunk of lanczos_matvec.wgsl).
@group(0) @binding(2) var<storage, read> nodes: array<vec4<u32>>;
// Per-slot vectors, five sections of `slots` entries: y (Ritz vector D^-1/2 v), d, d^-1/2, x = d^-1/2 q_j, work;
// then at global_base two sections of n entries indexed by patch: x, and the patch's node (f32, −1 outside the
// level; written by the host) for the vec4 product in lanczos_matvec.wgsl.
@group(0) @binding(3) var<storage, read_write> vecs: array<f32>;
// Krylov basis: vector b at [b·slots, (b+1)·slots); b = 0 is u0, b = j+1 is q_j.
@group(0) @binding(4) var<storage, read_write> basis: array<f32>;
// Per node f32 record (node_floats() floats): vol, β_current, θ, residual, 4 spare, projection coefficients (MAX_STEPS+2),
// α (MAX_STEPS), β (MAX_STEPS), Ritz coefficients (MAX_STEPS), scratch (2·MAX_STEPS).
@group(0) @binding(5) var<storage, read_write> node_f: array<f32>;
// [0, 4) unused; node k at 4 + 4k: (done, steps m, breakdown, zero degree).
@group(0) @binding(6) var<storage, read_write> node_u: array<u32>;
// Sizes and tolerances.
@group(0) @binding(7) var<uniform> params: TreeParams;

override WORKGROUP_SIZE: u32 = 64;
override MAX_STEPS: u32 = 64;
// Whether `orthonormalize` treats the start vector (step −1).
override PROLOGUE: bool = false;

// Offsets in a node record (functions: WGSL constants cannot depend on overrides).
const C_OFF: u32 = 8u;
fn node_floats() -> u32 {
  return 8u + (MAX_STEPS + 2u) + 5u * MAX_STEPS;
}
fn alpha_off() -> u32 {
  return C_OFF + MAX_STEPS + 2u;
}
fn beta_off() -> u32 {
  return alpha_off() + MAX_STEPS;
}
fn coef_off() -> u32 {
  return beta_off() + MAX_STEPS;
}
fn scr_off() -> u32 {
  return coef_off() + MAX_STEPS;
}
const Y: u32 = 0u;
const D: u32 = 1u;
const ISD: u32 = 2u;
const X: u32 = 3u;
const WORK: u32 = 4u;
// β below this ends a node's run (invariant subspace: the Krylov space holds the top eigenvector).
const BREAKDOWN: f32 = 1e-6;

fn nf(k: u32, i: u32) -> u32 {
  return k * node_floats() + i;
}

fn done(k: u32) -> bool {
  return node_u[4u + 4u * k] != 0u;
}

fn vec_at(section: u32, s: u32) -> u32 {
  return section * params.slots + s;
}

fn linear(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

// Row sums of W restricted to each node: d_s = Σ_{u ∈ node} W[g_s, g_u] (float32, in slot order).
@compute @workgroup_size(WORKGROUP_SIZE)
fn degrees(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = linear(gid, groups);
  if (s >= params.slots) {
    return;
  }
  let nd = nodes[slots[s].y];
  let row = slots[s].x * params.n;
  var acc = 0.0;
  for (var u = nd.x; u < nd.x + nd.y; u++) {
    acc += w[row + slots[u].x];
  }
  vecs[vec_at(D, s)] = acc;
}

// Per node: volume, reset flags and step count.
@compute @workgroup_size(WORKGROUP_SIZE)
fn prepare(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let k = linear(gid, groups);
  if (k >= params.nodes) {
    return;
  }
  let nd = nodes[k];
  var vol = 0.0;
  var zero = 0u;
  for (var s = nd.x; s < nd.x + nd.y; s++) {
    let d = vecs[vec_at(D, s)];
    vol += d;
    if (d <= 0.0) {
      zero = 1u;
    }
  }
  node_f[nf(k, 0u)] = vol;
  node_u[4u + 4u * k] = zero; // a node with an isolated slot is not solved (the host falls back)
  node_u[4u + 4u * k + 1u] = 0u;
  node_u[4u + 4u * k + 2u] = 0u;
  node_u[4u + 4u * k + 3u] = zero;
}

// A deterministic start value per patch (PCG hash of the global index), in (−0.5, 0.5).
fn start_value(g: u32) -> f32 {
  var h = g * 747796405u + 2891336453u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  return f32(h >> 8u) / 16777216.0 - 0.5;
}

// Per slot: d^-1/2, u0 = √(d / vol) (basis vector 0) and the raw start vector in `work`.
@compute @workgroup_size(WORKGROUP_SIZE)
fn start(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = linear(gid, groups);
  if (s >= params.slots) {
    return;
  }
  let k = slots[s].y;
  let d = vecs[vec_at(D, s)];
  vecs[vec_at(ISD, s)] = select(0.0, 1.0 / sqrt(d), d > 0.0);
  basis[s] = sqrt(max(d, 0.0) / node_f[nf(k, 0u)]);
  vecs[vec_at(WORK, s)] = start_value(slots[s].x);
}

// Per slot: work = −L q_j with L = D^-1/2 (D − W) D^-1/2 (x already holds d^-1/2 q_j), computed as
// −d_s^-1/2 Σ_u W[s, u] (x_s − x_u): the differences keep float32 accurate relative to L's small eigenvalues
// (forming M q = D^-1/2 W D^-1/2 q would lose them next to M's eigenvalue 1).
@compute @workgroup_size(WORKGROUP_SIZE)
fn matvec(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = linear(gid, groups);
  if (s >= params.slots) {
    return;
  }
  let k = slots[s].y;
  if (done(k)) {
    return;
  }
  let nd = nodes[k];
  let row = slots[s].x * params.n;
  let xs = vecs[vec_at(X, s)];
  var acc = 0.0;
  for (var u = nd.x; u < nd.x + nd.y; u++) {
    acc += w[row + slots[u].x] * (xs - vecs[vec_at(X, u)]);
  }
  vecs[vec_at(WORK, s)] = -acc * vecs[vec_at(ISD, s)];
}

// Number of eigenvalues of the tridiagonal T_m (α, β of node k) below x (Sturm sequence).
fn sturm_below(k: u32, m: u32, x: f32) -> u32 {
  var count = 0u;
  var q = 1.0;
  for (var i = 0u; i < m; i++) {
    var b2 = 0.0;
    if (i > 0u) {
      let b = node_f[nf(k, beta_off() + i - 1u)];
      b2 = b * b;
    }
    q = node_f[nf(k, alpha_off() + i)] - x - b2 / q;
    if (q == 0.0) {
      q = -1e-30;
    }
    if (q < 0.0) {
      count++;
    }
  }
  return count;
}

// Top eigenpair of T_m (written to the node's Ritz coefficients); returns θ.
fn top_ritz(k: u32, m: u32) -> f32 {
  var lo = 3.4e38;
  var hi = -3.4e38;
  for (var i = 0u; i < m; i++) {
    var r = 0.0;
    if (i > 0u) {
      r += abs(node_f[nf(k, beta_off() + i - 1u)]);
    }
    if (i + 1u < m) {
      r += abs(node_f[nf(k, beta_off() + i)]);
    }
    let a = node_f[nf(k, alpha_off() + i)];
    lo = min(lo, a - r);
    hi = max(hi, a + r);
  }
  hi += 1e-6 * max(1.0, abs(hi));
  // The shift of the inverse iteration below: far above the bisection's float32 error, far below the gaps.
  let shift = 1e-6 * max(abs(lo), abs(hi));
  for (var it = 0u; it < 80u; it++) {
    let mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) {
      break;
    }
    if (sturm_below(k, m, mid) == m) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  let theta = hi;
  // Inverse iteration with σ = θ + δ: σI − T is positive definite, so LDLᵀ needs no pivoting.
  let sigma = theta + shift;
  let piv = scr_off();
  let mul = scr_off() + MAX_STEPS;
  node_f[nf(k, piv)] = sigma - node_f[nf(k, alpha_off())];
  for (var i = 1u; i < m; i++) {
    let f = -node_f[nf(k, beta_off() + i - 1u)];
    let l = f / node_f[nf(k, piv + i - 1u)];
    node_f[nf(k, mul + i)] = l;
    node_f[nf(k, piv + i)] = max(sigma - node_f[nf(k, alpha_off() + i)] - l * f, 1e-30);
  }
  node_f[nf(k, piv)] = max(node_f[nf(k, piv)], 1e-30);
  for (var i = 0u; i < m; i++) {
    node_f[nf(k, coef_off() + i)] = 1.0;
  }
  for (var it = 0u; it < 4u; it++) {
    // Forward (L), diagonal, backward (Lᵀ), then normalise.
    for (var i = 1u; i < m; i++) {
      node_f[nf(k, coef_off() + i)] -= node_f[nf(k, mul + i)] * node_f[nf(k, coef_off() + i - 1u)];
    }
    for (var i = 0u; i < m; i++) {
      node_f[nf(k, coef_off() + i)] /= node_f[nf(k, piv + i)];
    }
    for (var i = m - 1u; i > 0u; i--) {
      node_f[nf(k, coef_off() + i - 1u)] -= node_f[nf(k, mul + i)] * node_f[nf(k, coef_off() + i)];
    }
    var ss = 0.0;
    for (var i = 0u; i < m; i++) {
      let c = node_f[nf(k, coef_off() + i)];
      ss += c * c;
    }
    let inv = 1.0 / sqrt(ss);
    for (var i = 0u; i < m; i++) {
      node_f[nf(k, coef_off() + i)] *= inv;
    }
  }
  return theta;
}

// Workgroup scratch of `orthonormalize`: one partial sum per invocation.
var<workgroup> red: array<f32, WORKGROUP_SIZE>;
// (done, steps) of the workgroup's node, and β_j, read back as uniform values.
var<workgroup> head: vec4<u32>;
var<workgroup> beta_shared: f32;

// c_b = basis_b · v over the node's slots [off, off + m) for b ≤ nb − 1, into the node record (C_OFF + b).
// The WORKGROUP_SIZE invocations are split into groups of `parts` per basis vector (parts = ⌊WG / nb⌋, at least 1;
// rounds of ⌊WG / parts⌋ vectors): each sums one contiguous part of the slots, then the first invocation of the
// round adds its vector's parts in order, so the result does not depend on timing.
fn project(k: u32, off: u32, m: u32, nb: u32, t: u32, src: u32) {
  let parts = max(1u, WORKGROUP_SIZE / nb);
  let per_round = WORKGROUP_SIZE / parts;
  let len = (m + parts - 1u) / parts;
  for (var b0 = 0u; b0 < nb; b0 += per_round) {
    let b = b0 + t / parts;
    let part = t % parts;
    var acc = 0.0;
    if (t < per_round * parts && b < nb) {
      let base = b * params.slots;
      let end = min(off + (part + 1u) * len, off + m);
      for (var s = off + part * len; s < end; s++) {
        acc += basis[base + s] * vecs[vec_at(src, s)];
      }
    }
    red[t] = acc;
    workgroupBarrier();
    if (t < per_round && b0 + t < nb) {
      var c = 0.0;
      for (var i = 0u; i < parts; i++) {
        c += red[t * parts + i];
      }
      node_f[nf(k, C_OFF + b0 + t)] = c;
    }
    workgroupBarrier();
  }
  storageBarrier();
}

// work = src − Σ_{b < nb} c_b basis_b over the node's slots (invocation t takes slots off + t, off + t + WG, …).
fn subtract(k: u32, off: u32, m: u32, nb: u32, t: u32, src: u32) {
  for (var s = off + t; s < off + m; s += WORKGROUP_SIZE) {
    var v = vecs[vec_at(src, s)];
    for (var b = 0u; b < nb; b++) {
      v -= node_f[nf(k, C_OFF + b)] * basis[b * params.slots + s];
    }
    vecs[vec_at(WORK, s)] = v;
  }
  storageBarrier();
}

// One workgroup per node (skipped once the node is done), after `matvec` left −L q_j in `work`:
// two classical Gram–Schmidt passes against u0, q_0 … q_j ("twice is enough"; the first records α_j = q_j · work),
// β_j = ‖work‖ (strided partial sums added in order), q_{j+1} = work / β_j with x = d^-1/2 q_{j+1} (per slot and per
// patch), then the convergence check: every CHECK_EVERY steps, at the step limit, or on breakdown, the top Ritz pair
// of T_{j+1} and its residual |β_j s_j|; the node is done when it is below tol (or no step is left). The node's
// step count m = j + 1 is kept in its record, so no host-side step index is needed. With PROLOGUE the start vector
// is orthonormalised against u0 (j = −1: nothing recorded, no check).
@compute @workgroup_size(WORKGROUP_SIZE)
fn orthonormalize(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) t: u32,
  @builtin(num_workgroups) groups: vec3<u32>,
) {
  let k = wid.x + wid.y * groups.x;
  if (k >= params.nodes) {
    return;
  }
  if (t == 0u) {
    head = vec4<u32>(node_u[4u + 4u * k], node_u[4u + 4u * k + 1u], node_u[4u + 4u * k + 2u], 0u);
  }
  let h = workgroupUniformLoad(&head);
  if (h.x != 0u) {
    return;
  }
  var j = i32(h.y);
  if (PROLOGUE) {
    j = -1;
  }
  let nd = nodes[k];
  let nb = u32(j + 2);
  project(k, nd.x, nd.y, nb, t, WORK);
  if (t == 0u && j >= 0) {
    node_f[nf(k, alpha_off() + u32(j))] = node_f[nf(k, C_OFF + nb - 1u)];
  }
  subtract(k, nd.x, nd.y, nb, t, WORK);
  project(k, nd.x, nd.y, nb, t, WORK);
  subtract(k, nd.x, nd.y, nb, t, WORK);
  // β_j.
  var acc = 0.0;
  for (var s = nd.x + t; s < nd.x + nd.y; s += WORKGROUP_SIZE) {
    let v = vecs[vec_at(WORK, s)];
    acc += v * v;
  }
  red[t] = acc;
  workgroupBarrier();
  if (t == 0u) {
    var ss = 0.0;
    for (var i = 0u; i < WORKGROUP_SIZE; i++) {
      ss += red[i];
    }
    let beta = sqrt(ss);
    node_f[nf(k, 1u)] = beta;
    if (j >= 0) {
      node_f[nf(k, beta_off() + u32(j))] = beta;
    }
    if (beta < BREAKDOWN) {
      node_u[4u + 4u * k + 2u] = 1u;
    }
    beta_shared = beta;
  }
  let beta = workgroupUniformLoad(&beta_shared);
  let breakdown = h.z != 0u || beta < BREAKDOWN;
  if (!breakdown) {
    for (var s = nd.x + t; s < nd.x + nd.y; s += WORKGROUP_SIZE) {
      let q = vecs[vec_at(WORK, s)] / beta;
      basis[u32(j + 2) * params.slots + s] = q;
      let x = q * vecs[vec_at(ISD, s)];
      vecs[vec_at(X, s)] = x;
      vecs[params.global_base + slots[s].x] = x;
    }
  }
  if (PROLOGUE || t != 0u) {
    return;
  }
  let m = u32(j + 1);
  let last = m >= nd.z;
  node_u[4u + 4u * k + 1u] = m;
  if (!(breakdown || last || m % params.check_every == 0u)) {
    return;
  }
  let theta = top_ritz(k, m);
  var residual = abs(beta * node_f[nf(k, coef_off() + m - 1u)]);
  if (breakdown) {
    residual = 0.0;
  }
  node_f[nf(k, 2u)] = theta;
  node_f[nf(k, 3u)] = residual;
  if (residual <= params.tol || breakdown || last) {
    node_u[4u + 4u * k] = 1u;
  }
}

// Per slot: y = d^-1/2 Σ_i s_i q_i (the generalised eigenvector, before the sign rule).
@compute @workgroup_size(WORKGROUP_SIZE)
fn ritz(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let s = linear(gid, groups);
  if (s >= params.slots) {
    return;
  }
  let k = slots[s].y;
  let m = node_u[4u + 4u * k + 1u];
  var v = 0.0;
  for (var i = 0u; i < m; i++) {
    v += node_f[nf(k, coef_off() + i)] * basis[(i + 1u) * params.slots + s];
  }
  vecs[vec_at(Y, s)] = v * vecs[vec_at(ISD, s)];
}
