// Row L2-normalisation of a feature matrix, like F.normalize(dim=channels, eps=1e-12), one invocation per row.
// Output rows are padded with zeros to a multiple of 4 channels (stride c4) so that the Gram kernel reads vec4s.

struct Params {
  n: u32,   // rows (patches)
  c: u32,   // channels of the input rows
  c4: u32,  // output row stride (c rounded up to a multiple of 4)
}

// Input features, n·c values, row-major.
@group(0) @binding(0) var<storage, read> features: array<f32>;
// Output unit rows, n·c4 values, zero-padded.
@group(0) @binding(1) var<storage, read_write> unit: array<f32>;
// Sizes.
@group(0) @binding(2) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

@compute @workgroup_size(WORKGROUP_SIZE)
fn normalize_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) {
    return;
  }
  let src = i * params.c;
  let dst = i * params.c4;
  var s = 0.0;
  for (var k = 0u; k < params.c; k++) {
    let v = features[src + k];
    s = fma(v, v, s);
  }
  let inv = 1.0 / max(sqrt(s), 1e-12);
  for (var k = 0u; k < params.c; k++) {
    unit[dst + k] = features[src + k] * inv;
  }
  for (var k = params.c; k < params.c4; k++) {
    unit[dst + k] = 0.0;
  }
}
