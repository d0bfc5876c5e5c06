// Register-tiled cosine Gram matrix G = X Xᵀ of n unit rows (stride c4, vec4 loads), fused with the global
// min/max reduction. Every invocation computes a ROWS×4 block of outputs (ROWS is 4 or 8); a workgroup of
// TILE×TILE invocations covers a (ROWS·TILE)×(4·TILE) tile. Only tiles on or above the block diagonal run; each
// value is also written to its mirror position. Every output is the same float32 sum over k in either shape. No
// workgroup barriers (fast on llvmpipe); the tile shape is set by the TILE and ROWS overrides (8×4 blocks run
// ~25% faster than 4×4 on llvmpipe: 8 row loads share the 4 column loads).

struct Params {
  n: u32,   // rows
  c4: u32,  // row stride in floats (multiple of 4)
}

// Unit rows, n·c4 floats read as vec4.
@group(0) @binding(0) var<storage, read> unit: array<vec4<f32>>;
// Output Gram matrix, n·n floats, row-major.
@group(0) @binding(1) var<storage, read_write> gram: array<f32>;
// Global [min, max] as order-preserving u32 keys (see key()); initialised to [0xffffffff, 0].
@group(0) @binding(2) var<storage, read_write> minmax: array<atomic<u32>, 2>;
// Sizes.
@group(0) @binding(3) var<uniform> params: Params;

override TILE: u32 = 8;
override ROWS: u32 = 8;

// Maps a float to a u32 whose unsigned order is the float order (negative floats flipped entirely).
fn key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

@compute @workgroup_size(TILE, TILE)
fn cosine_gram(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = params.n;
  // Tiles wholly below the diagonal (last column before the first row) do nothing.
  if ((wid.x + 1u) * 4u <= wid.y * ROWS) {
    return;
  }
  let row0 = wid.y * ROWS * TILE + ROWS * lid.y;
  let col0 = wid.x * 4u * TILE + 4u * lid.x;
  if (row0 >= n || col0 >= n) {
    return;
  }
  let q = params.c4 / 4u;
  var r: array<u32, 8>;
  var cidx: array<u32, 4>;
  for (var t = 0u; t < 8u; t++) {
    r[t] = min(row0 + t, n - 1u) * q;
  }
  for (var t = 0u; t < 4u; t++) {
    cidx[t] = min(col0 + t, n - 1u) * q;
  }
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var acc4 = vec4<f32>(0.0);
  var acc5 = vec4<f32>(0.0);
  var acc6 = vec4<f32>(0.0);
  var acc7 = vec4<f32>(0.0);
  for (var k = 0u; k < q; k++) {
    let b0 = unit[cidx[0] + k];
    let b1 = unit[cidx[1] + k];
    let b2 = unit[cidx[2] + k];
    let b3 = unit[cidx[3] + k];
    let a0 = unit[r[0] + k];
    acc0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    let a1 = unit[r[1] + k];
    acc1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    let a2 = unit[r[2] + k];
    acc2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    let a3 = unit[r[3] + k];
    acc3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
    if (ROWS == 8u) {
      let a4 = unit[r[4] + k];
      acc4 += vec4<f32>(dot(a4, b0), dot(a4, b1), dot(a4, b2), dot(a4, b3));
      let a5 = unit[r[5] + k];
      acc5 += vec4<f32>(dot(a5, b0), dot(a5, b1), dot(a5, b2), dot(a5, b3));
      let a6 = unit[r[6] + k];
      acc6 += vec4<f32>(dot(a6, b0), dot(a6, b1), dot(a6, b2), dot(a6, b3));
      let a7 = unit[r[7] + k];
      acc7 += vec4<f32>(dot(a7, b0), dot(a7, b1), dot(a7, b2), dot(a7, b3));
    }
  }
  var lo = 3.4e38;
  var hi = -3.4e38;
  var acc = array<vec4<f32>, 8>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
  for (var a = 0u; a < ROWS; a++) {
    let i = row0 + a;
    if (i >= n) {
      break;
    }
    for (var b = 0u; b < 4u; b++) {
      let j = col0 + b;
      if (j >= n) {
        break;
      }
      // The lower triangle of a diagonal tile is written by its mirror, so each symmetric pair has one value.
      if (j < i) {
        continue;
      }
      let v = acc[a][b];
      gram[i * n + j] = v;
      gram[j * n + i] = v;
      lo = min(lo, v);
      hi = max(hi, v);
    }
  }
  if (lo <= hi) {
    atomicMin(&minmax[0], key(lo));
    atomicMax(&minmax[1], key(hi));
  }
}
