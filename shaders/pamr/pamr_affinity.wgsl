// PAMR affinities: per pixel, the local standard deviation of each colour channel over the 9·L taps of the 3×3
// windows at every dilation (unbiased, replicate borders), the logits −|I(x) − I(nb)| / (1e-8 + 0.1·σ) averaged
// over channels, and their softmax over the 8·L neighbours. One invocation per pixel on a 2-D grid (x: column,
// y: row); three passes over the neighbours (max, sum, write) so no per-pixel array is needed. The number of
// dilations is an override constant so that Mesa unrolls every loop (with the 2-D grid, 4× faster on llvmpipe).

struct Params {
  h: u32,  // image rows
  w: u32,  // image columns
}

// RGB image, h·w·3, pixel-major.
@group(0) @binding(0) var<storage, read> image: array<f32>;
// Dilations, l values.
@group(0) @binding(1) var<storage, read> dilations: array<u32>;
// Output weights, h·w·8l, pixel-major, neighbour p = 8·dilation_index + j.
@group(0) @binding(2) var<storage, read_write> weights: array<f32>;
// Sizes.
@group(0) @binding(3) var<uniform> params: Params;

override WORKGROUP_SIZE: u32 = 64;
// Number of dilations.
override DILATIONS: u32 = 4;

fn rgb(i: u32) -> vec3<f32> {
  return vec3<f32>(image[3u * i], image[3u * i + 1u], image[3u * i + 2u]);
}

// Pixel index of tap (dy, dx) ∈ {−1, 0, 1}² at dilation d from (y, x), replicate borders.
fn tap(y: u32, x: u32, dy: i32, dx: i32, d: u32) -> u32 {
  let yy = clamp(i32(y) + dy * i32(d), 0, i32(params.h) - 1);
  let xx = clamp(i32(x) + dx * i32(d), 0, i32(params.w) - 1);
  return u32(yy) * params.w + u32(xx);
}

// Neighbour j (0..7) in the order (−1,−1), (−1,0), (−1,1), (0,−1), (0,1), (1,−1), (1,0), (1,1).
fn neighbour(y: u32, x: u32, j: u32, d: u32) -> u32 {
  let k = select(j, j + 1u, j >= 4u);
  return tap(y, x, i32(k / 3u) - 1, i32(k % 3u) - 1, d);
}

fn logit(centre: vec3<f32>, den: vec3<f32>, nb: u32) -> f32 {
  let a = -abs(centre - rgb(nb)) / den;
  return ((a.x + a.y) + a.z) / 3.0;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn pamr_affinity(@builtin(global_invocation_id) gid: vec3<u32>) {
  let x = gid.x;
  let y = gid.y;
  if (x >= params.w) {
    return;
  }
  let i = y * params.w + x;
  let centre = rgb(i);
  // Standard deviation, one pass over values shifted by the centre pixel.
  var s1 = vec3<f32>(0.0);
  var s2 = vec3<f32>(0.0);
  for (var l = 0u; l < DILATIONS; l++) {
    let d = dilations[l];
    for (var dy = -1; dy <= 1; dy++) {
      for (var dx = -1; dx <= 1; dx++) {
        let v = rgb(tap(y, x, dy, dx, d)) - centre;
        s1 += v;
        s2 += v * v;
      }
    }
  }
  let count = f32(9u * DILATIONS);
  let sd = sqrt(max(s2 - s1 * s1 / count, vec3<f32>(0.0)) / (count - 1.0));
  let den = 1e-8 + 0.1 * sd;
  var top = -3.4e38;
  for (var l = 0u; l < DILATIONS; l++) {
    for (var j = 0u; j < 8u; j++) {
      top = max(top, logit(centre, den, neighbour(y, x, j, dilations[l])));
    }
  }
  var sum = 0.0;
  for (var l = 0u; l < DILATIONS; l++) {
    for (var j = 0u; j < 8u; j++) {
      sum += exp(logit(centre, den, neighbour(y, x, j, dilations[l])) - top);
    }
  }
  let o = i * 8u * DILATIONS;
  for (var l = 0u; l < DILATIONS; l++) {
    for (var j = 0u; j < 8u; j++) {
      weights[o + 8u * l + j] = exp(logit(centre, den, neighbour(y, x, j, dilations[l])) - top) / sum;
    }
  }
}
