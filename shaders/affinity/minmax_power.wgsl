// Min-max normalisation and power α of the Gram matrix, in place, with the reference's exact-zero rule:
// t = (w − lo) / (hi − lo) in f32; entries with t ≤ zero_below (the largest f32 t whose IEEE float32 power
// rounds to 0, computed on the host) become exactly 0 and flag their row; every other entry stays non-zero even
// where the device flushes a subnormal result (it then stores the smallest subnormal, bit pattern 1).

struct Params {
  n: u32,           // matrix order
  alpha_int: u32,   // α when it is an integer (power by squaring), else 0
  alpha: f32,       // α (used with pow() when alpha_int is 0)
  zero_below: f32,  // largest t whose power is exactly 0 in IEEE float32
  self_loops: u32,  // 0: zero the diagonal (not counted as an exact zero of the row)
}

// The Gram matrix on input, the affinity on output (f32 bit patterns), n·n.
@group(0) @binding(0) var<storage, read_write> w: array<u32>;
// Global [min, max] keys from the Gram kernel.
@group(0) @binding(1) var<storage, read> minmax: array<u32, 2>;
// Per-row flag: 1 when the row holds an exact zero off the (dropped) diagonal.
@group(0) @binding(2) var<storage, read_write> zero_rows: array<atomic<u32>>;
// Sizes and exponent.
@group(0) @binding(3) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 256;

fn unkey(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

fn pow_int(t: f32, e0: u32) -> f32 {
  var r = 1.0;
  var b = t;
  var e = e0;
  loop {
    if ((e & 1u) != 0u) {
      r *= b;
    }
    e >>= 1u;
    if (e == 0u) {
      break;
    }
    b *= b;
  }
  return r;
}

// One invocation per entry: x is the column, y the row (a 2-D grid, so no integer division per entry, which
// llvmpipe scalarises).
@compute @workgroup_size(WORKGROUP_SIZE)
fn minmax_power(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = params.n;
  let i = gid.y;
  let j = gid.x;
  if (j >= n) {
    return;
  }
  let idx = i * n + j;
  if (i == j && params.self_loops == 0u) {
    w[idx] = 0u;
    return;
  }
  let lo = unkey(minmax[0]);
  let hi = unkey(minmax[1]);
  let range = hi - lo;
  let t = (bitcast<f32>(w[idx]) - lo) / range;
  if (t <= params.zero_below) {
    w[idx] = 0u;
    atomicOr(&zero_rows[i], 1u);
    return;
  }
  var r: f32;
  if (params.alpha_int != 0u) {
    r = pow_int(t, params.alpha_int);
  } else {
    r = pow(t, params.alpha);
  }
  var bits = bitcast<u32>(r);
  if (bits == 0u) {
    bits = 1u;
  }
  w[idx] = bits;
}
