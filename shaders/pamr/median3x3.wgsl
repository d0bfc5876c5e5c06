// 3×3 median of a label map with scipy `reflect` borders (a tap one step past an edge reads the edge pixel):
// median of (largest column minimum, median of column medians, smallest column maximum), exact on integers.

struct Params {
  h: u32,  // rows
  w: u32,  // columns
}

// Input labels, h·w.
@group(0) @binding(0) var<storage, read> labels_in: array<u32>;
// Output labels, h·w.
@group(0) @binding(1) var<storage, read_write> labels_out: array<u32>;
// Sizes.
@group(0) @binding(2) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

fn med3(a: u32, b: u32, c: u32) -> u32 {
  return max(min(a, b), min(max(a, b), c));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn median3x3(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.h * params.w) {
    return;
  }
  let y = i / params.w;
  let x = i - y * params.w;
  let up = select(y - 1u, 0u, y == 0u) * params.w;
  let row = y * params.w;
  let down = select(y + 1u, y, y + 1u >= params.h) * params.w;
  var cols = array<u32, 3>(select(x - 1u, 0u, x == 0u), x, select(x + 1u, x, x + 1u >= params.w));
  var lo = 0u;
  var mid = array<u32, 3>(0u, 0u, 0u);
  var hi = 0xffffffffu;
  for (var t = 0u; t < 3u; t++) {
    let a = labels_in[up + cols[t]];
    let b = labels_in[row + cols[t]];
    let c = labels_in[down + cols[t]];
    lo = max(lo, min(a, min(b, c)));
    hi = min(hi, max(a, max(b, c)));
    mid[t] = med3(a, b, c);
  }
  labels_out[i] = med3(lo, med3(mid[0], mid[1], mid[2]), hi);
}
