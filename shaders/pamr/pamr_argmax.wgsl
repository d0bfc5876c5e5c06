// Per pixel, the index of the largest mask channel (the lowest index wins ties), as torch.argmax.

struct Params {
  n: u32,       // pixels
  k: u32,       // channels
  stride: u32,  // floats per pixel (k rounded up to a multiple of 4)
}

// Masks, n·stride.
@group(0) @binding(0) var<storage, read> masks: array<f32>;
// Output channel index per pixel.
@group(0) @binding(1) var<storage, read_write> labels: array<u32>;
// Sizes.
@group(0) @binding(2) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;

// Selects instead of a branch in the loop (a data-dependent branch ran this kernel several times slower on
// llvmpipe).
@compute @workgroup_size(WORKGROUP_SIZE)
fn pamr_argmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= params.n) {
    return;
  }
  let o = i * params.stride;
  var best = 0u;
  var top = masks[o];
  for (var k = 1u; k < params.k; k++) {
    let v = masks[o + k];
    let better = v > top;
    best = select(best, k, better);
    top = select(top, v, better);
  }
  labels[i] = best;
}
