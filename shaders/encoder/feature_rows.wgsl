// Encoder output → float32 patch rows [n, c], channels last, one invocation per patch: reads element
// offset + p·p_stride + k·c_stride of the source (NCHW: 0, 1, n; NHWC: 0, c, 1; tokens: prefix·c, c, 1), decodes
// float32 or float16 bit patterns exactly (integer arithmetic, so no device flushes subnormals), and records per
// patch 0 (fine), 1 (all channels ±0) or 2 + k (channel k is the first NaN/±Inf). Reference: feature_rows.ts.

struct Params {
  n: u32,         // patches (rows)
  c: u32,         // channels
  offset: u32,    // element index of patch 0, channel 0
  p_stride: u32,  // elements between consecutive patches
  c_stride: u32,  // elements between consecutive channels
  half: u32,      // 1: the source holds float16 values (two per word, low half first), 0: float32
}

// The encoder output, raw words (ONNX Runtime's buffer; never written).
@group(0) @binding(0) var<storage, read> source: array<u32>;
// Output rows, n·c float32 bit patterns.
@group(0) @binding(1) var<storage, read_write> rows: array<u32>;
// Output per-patch status (see above).
@group(0) @binding(2) var<storage, read_write> status: array<u32>;
// Sizes and layout.
@group(0) @binding(3) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

// float16 bits (low 16 bits of h) → float32 bits, exactly (subnormals normalised, NaN payloads kept).
fn half_to_float_bits(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0x1fu) {
    return sign | 0x7f800000u | (m << 13u);
  }
  if (e != 0u) {
    return sign | ((e + 112u) << 23u) | (m << 13u);
  }
  if (m == 0u) {
    return sign;
  }
  let top = 31u - countLeadingZeros(m); // value = m · 2^-24, leading bit at 2^(top - 24)
  return sign | ((top + 103u) << 23u) | ((m << (23u - top)) & 0x7fffffu);
}

fn element_bits(e: u32) -> u32 {
  if (params.half == 0u) {
    return source[e];
  }
  let word = source[e >> 1u];
  return half_to_float_bits(select(word & 0xffffu, word >> 16u, (e & 1u) == 1u));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn feature_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x;
  if (p >= params.n) {
    return;
  }
  let src = params.offset + p * params.p_stride;
  let dst = p * params.c;
  var state = 1u;
  for (var k = 0u; k < params.c; k++) {
    let bits = element_bits(src + k * params.c_stride);
    rows[dst + k] = bits;
    if ((bits & 0x7f800000u) == 0x7f800000u) {
      if (state < 2u) {
        state = 2u + k;
      }
    } else if (state == 1u && (bits & 0x7fffffffu) != 0u) {
      state = 0u;
    }
  }
  status[p] = state;
}
