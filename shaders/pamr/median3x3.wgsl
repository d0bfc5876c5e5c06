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

fn column(up: u32, row: u32, down: u32, x: u32) -> vec3<u32> {
  return vec3<u32>(labels_in[up + x], labels_in[row + x], labels_in[down + x]);
}

// A 2-D grid (x: column, y: row) and straight-line code: on llvmpipe the earlier loop over a private array of
// column medians, with a division per pixel, ran this kernel several times slower.
@compute @workgroup_size(WORKGROUP_SIZE)
fn median3x3(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  if (x >= params.w) {
    return;
  }
  let up = select(y - 1u, 0u, y == 0u) * params.w;
  let row = y * params.w;
  let down = select(y + 1u, y, y + 1u >= params.h) * params.w;
  let a = column(up, row, down, select(x - 1u, 0u, x == 0u));
  let b = column(up, row, down, x);
  let c = column(up, row, down, select(x + 1u, x, x + 1u >= params.w));
  let lo = max(min(a.x, min(a.y, a.z)), max(min(b.x, min(b.y, b.z)), min(c.x, min(c.y, c.z))));
  let hi = min(max(a.x, max(a.y, a.z)), min(max(b.x, max(b.y, b.z)), max(c.x, max(c.y, c.z))));
  let mid = med3(med3(a.x, a.y, a.z), med3(b.x, b.y, b.z), med3(c.x, c.y, c.z));
  labels_out[row + x] = med3(lo, mid, hi);
}
