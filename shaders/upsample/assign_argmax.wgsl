// Bilinear interpolation (PyTorch align_corners=False, axis tables from the host) of the patch scores at every
// output pixel, then the argmax over clusters (first index wins ties). The upsampled features are never built:
// interpolating the k scores equals scoring the interpolated features (both are linear).

struct Params {
  in_w: u32,   // patch grid width
  out_h: u32,  // output rows
  out_w: u32,  // output columns
  k: u32,      // clusters
}

// Patch scores, (in_h·in_w)·k.
@group(0) @binding(0) var<storage, read> scores: array<f32>;
// Row table: per output row (i0, i1) source rows.
@group(0) @binding(1) var<storage, read> rows: array<vec2<u32>>;
// Row weights (w0, w1).
@group(0) @binding(2) var<storage, read> row_w: array<vec2<f32>>;
// Column table: per output column (i0, i1) source columns.
@group(0) @binding(3) var<storage, read> cols: array<vec2<u32>>;
// Column weights (w0, w1).
@group(0) @binding(4) var<storage, read> col_w: array<vec2<f32>>;
// Output: winning cluster index per pixel.
@group(0) @binding(5) var<storage, read_write> best: array<u32>;
// Sizes.
@group(0) @binding(6) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

// A 2-D grid (x: column, y: row) and selects: per-pixel division and a data-dependent branch each slowed this
// kernel several times on llvmpipe.
@compute @workgroup_size(WORKGROUP_SIZE)
fn assign_argmax(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  if (x >= params.out_w) {
    return;
  }
  let r = rows[y];
  let rw = row_w[y];
  let c = cols[x];
  let cw = col_w[x];
  let k = params.k;
  let a = (r.x * params.in_w + c.x) * k;
  let b = (r.x * params.in_w + c.y) * k;
  let d = (r.y * params.in_w + c.x) * k;
  let e = (r.y * params.in_w + c.y) * k;
  var top = 0u;
  var top_score = 0.0;
  for (var j = 0u; j < k; j++) {
    // Vertical blend first (as the reference path's row buffer), then horizontal.
    let s0 = rw.x * scores[a + j] + rw.y * scores[d + j];
    let s1 = rw.x * scores[b + j] + rw.y * scores[e + j];
    let s = cw.x * s0 + cw.y * s1;
    let better = j == 0u || s > top_score;
    top_score = select(top_score, s, better);
    top = select(top, j, better);
  }
  best[y * params.out_w + x] = top;
}
