;; PAMR kernels (lib/pamr/pamr_simd.ts drives them): the affinity row by row, and one propagation step of one
;; mask-plane row. Each performs the float operations of the TypeScript reference (lib/pamr/pamr.ts: localStd,
;; affinityUnchecked, propagate), in the same order, on several pixels side by side: the lanes of a float64x2 or
;; float32x4 operation are independent IEEE operations, so every pixel gets the reference's bits. float32 steps
;; are f32x4 operations (the reference rounds each float64 +, −, ×, ÷ of float32 values with Math.fround, which
;; is the same single rounding); float64 steps are f64x2 operations. WebAssembly has no exp: the softmax's exp is
;; applied by the caller between logitRow and normalizeRow, with the bits of JavaScript's Math.exp, the very
;; function the reference calls (lib/wasm/exp.wat, or Math.exp itself).
;;
;; Image layout: three channel planes (R, G, B) of float32, each padded by replicating its border, so that a tap
;; at a fixed offset from the centre needs no clamping. Addresses and offsets are in bytes. The memory is shared
;; (lib/wasm/row_team.ts): helper threads run the same kernels on other rows of the same problem.
(module
  (import "env" "memory" (memory 1 32768 shared))

  ;; The denominators 1e-8 + 0.1·σ_c of one image row, σ_c the unbiased standard deviation of channel c over the
  ;; taps. Two pixels per f64x2: in each lane, the reference's float64 one-pass sums of u and u² with u the tap
  ;; minus the centre, tap by tap in order, then sqrt(max(Σu² − (Σu)²/n, 0)/(n − 1)) rounded to float32, then
  ;; the float32 product and sum.
  ;; $c: centre of pixel 0 of the row in the R plane; $plane: bytes from one channel plane to the next;
  ;; $taps: n i32 tap offsets; $den: three rows (R, G, B) of $stride bytes, float32.
  (func (export "denominatorRow")
    (param $c i32) (param $plane i32) (param $w i32) (param $taps i32) (param $n i32)
    (param $den i32) (param $stride i32)
    (local $x i32) (local $j i32) (local $p i32) (local $t i32) (local $q i32) (local $o i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $u v128)
    (local $a1 v128) (local $a2 v128) (local $b1 v128) (local $b2 v128) (local $e1 v128) (local $e2 v128)
    (local $nn v128) (local $nm1 v128)
    (local.set $nn (f64x2.splat (f64.convert_i32_s (local.get $n))))
    (local.set $nm1 (f64x2.splat (f64.convert_i32_s (i32.sub (local.get $n) (i32.const 1)))))
    (block $rowDone
      (loop $pixels
        (br_if $rowDone (i32.ge_s (local.get $x) (local.get $w)))
        (local.set $p (i32.add (local.get $c) (i32.shl (local.get $x) (i32.const 2))))
        (local.set $c0 (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))))
        (local.set $c1 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p) (local.get $plane)))))
        (local.set $c2 (f64x2.promote_low_f32x4
          (v128.load64_zero (i32.add (local.get $p) (i32.shl (local.get $plane) (i32.const 1))))))
        (local.set $a1 (v128.const i64x2 0 0)) (local.set $a2 (v128.const i64x2 0 0))
        (local.set $b1 (v128.const i64x2 0 0)) (local.set $b2 (v128.const i64x2 0 0))
        (local.set $e1 (v128.const i64x2 0 0)) (local.set $e2 (v128.const i64x2 0 0))
        (local.set $j (i32.const 0))
        (block $tapsDone
          (loop $tap
            (br_if $tapsDone (i32.ge_s (local.get $j) (local.get $n)))
            (local.set $t (i32.add (local.get $p) (i32.load (i32.add (local.get $taps) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $u (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t))) (local.get $c0)))
            (local.set $a1 (f64x2.add (local.get $a1) (local.get $u)))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $u) (local.get $u))))
            (local.set $t (i32.add (local.get $t) (local.get $plane)))
            (local.set $u (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t))) (local.get $c1)))
            (local.set $b1 (f64x2.add (local.get $b1) (local.get $u)))
            (local.set $b2 (f64x2.add (local.get $b2) (f64x2.mul (local.get $u) (local.get $u))))
            (local.set $t (i32.add (local.get $t) (local.get $plane)))
            (local.set $u (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t))) (local.get $c2)))
            (local.set $e1 (f64x2.add (local.get $e1) (local.get $u)))
            (local.set $e2 (f64x2.add (local.get $e2) (f64x2.mul (local.get $u) (local.get $u))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tap)))
        ;; Two lanes are stored even for the last pixel of an odd row: $stride leaves room for them.
        (local.set $o (i32.add (local.get $den) (i32.shl (local.get $x) (i32.const 2))))
        (v128.store64_lane 0 (local.get $o)
          (call $denominator (local.get $a1) (local.get $a2) (local.get $nn) (local.get $nm1)))
        (v128.store64_lane 0 (i32.add (local.get $o) (local.get $stride))
          (call $denominator (local.get $b1) (local.get $b2) (local.get $nn) (local.get $nm1)))
        (v128.store64_lane 0 (i32.add (local.get $o) (i32.shl (local.get $stride) (i32.const 1)))
          (call $denominator (local.get $e1) (local.get $e2) (local.get $nn) (local.get $nm1)))
        (local.set $x (i32.add (local.get $x) (i32.const 2)))
        (br $pixels))))

  ;; float32 1e-8 + 0.1·σ in lanes 0 and 1, σ = fround(sqrt(max(s2 − s1·s1/n, 0)/(n − 1))).
  (func $denominator (param $s1 v128) (param $s2 v128) (param $nn v128) (param $nm1 v128) (result v128)
    (f32x4.add (v128.const i32x4 0x322bcc77 0x322bcc77 0x322bcc77 0x322bcc77) ;; float32 1e-8
      (f32x4.mul (v128.const i32x4 0x3dcccccd 0x3dcccccd 0x3dcccccd 0x3dcccccd) ;; float32 0.1
        (f32x4.demote_f64x2_zero
          (f64x2.sqrt
            (f64x2.div
              (f64x2.max
                (f64x2.sub (local.get $s2) (f64x2.div (f64x2.mul (local.get $s1) (local.get $s1)) (local.get $nn)))
                (v128.const i64x2 0 0))
              (local.get $nm1)))))))

  ;; The float32 logits mean_c(−|I_c(x) − I_c(nb_p)| / den_c(x)) of one row, four pixels per f32x4, neighbour p
  ;; at $nbs[p] bytes from the centre, into row p of $logits (rows of $stride bytes); per pixel their maximum,
  ;; kept like the reference's `if (v > max) max = v` from −∞ (compare and select: a NaN never wins); then
  ;; each logit minus the maximum in float64 (the argument of the reference's exp) into row p of $shifted (rows
  ;; of 2·$stride bytes). Lanes past the row's end compute unused values from the padding.
  (func (export "logitRow")
    (param $c i32) (param $plane i32) (param $w i32) (param $nbs i32) (param $np i32)
    (param $den i32) (param $logits i32) (param $stride i32) (param $shifted i32)
    (local $x4 i32) (local $p i32) (local $t i32) (local $q i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $d0 v128) (local $d1 v128) (local $d2 v128)
    (local $v v128) (local $m v128) (local $mlo v128) (local $mhi v128)
    (block $rowDone
      (loop $pixels
        (br_if $rowDone (i32.ge_s (local.get $x4) (i32.shl (local.get $w) (i32.const 2))))
        (local.set $q (i32.add (local.get $c) (local.get $x4)))
        (local.set $v0 (v128.load (local.get $q)))
        (local.set $v1 (v128.load (i32.add (local.get $q) (local.get $plane))))
        (local.set $v2 (v128.load (i32.add (local.get $q) (i32.shl (local.get $plane) (i32.const 1)))))
        (local.set $t (i32.add (local.get $den) (local.get $x4)))
        (local.set $d0 (v128.load (local.get $t)))
        (local.set $d1 (v128.load (i32.add (local.get $t) (local.get $stride))))
        (local.set $d2 (v128.load (i32.add (local.get $t) (i32.shl (local.get $stride) (i32.const 1)))))
        (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $p (i32.const 0))
        (block $nbDone
          (loop $nb
            (br_if $nbDone (i32.ge_s (local.get $p) (local.get $np)))
            (local.set $t (i32.add (local.get $q) (i32.load (i32.add (local.get $nbs) (i32.shl (local.get $p) (i32.const 2))))))
            (local.set $v
              (f32x4.div
                (f32x4.add
                  (f32x4.add
                    (f32x4.div (f32x4.neg (f32x4.abs (f32x4.sub (local.get $v0) (v128.load (local.get $t))))) (local.get $d0))
                    (f32x4.div
                      (f32x4.neg (f32x4.abs (f32x4.sub (local.get $v1) (v128.load (i32.add (local.get $t) (local.get $plane))))))
                      (local.get $d1)))
                  (f32x4.div
                    (f32x4.neg (f32x4.abs (f32x4.sub (local.get $v2)
                      (v128.load (i32.add (local.get $t) (i32.shl (local.get $plane) (i32.const 1)))))))
                    (local.get $d2)))
                (v128.const f32x4 3 3 3 3)))
            (v128.store
              (i32.add (i32.add (local.get $logits) (i32.mul (local.get $p) (local.get $stride))) (local.get $x4))
              (local.get $v))
            (local.set $m (v128.bitselect (local.get $v) (local.get $m) (f32x4.gt (local.get $v) (local.get $m))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $nb)))
        (local.set $mlo (f64x2.promote_low_f32x4 (local.get $m)))
        (local.set $mhi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $m) (local.get $m))))
        (local.set $p (i32.const 0))
        (block $shiftDone
          (loop $shift
            (br_if $shiftDone (i32.ge_s (local.get $p) (local.get $np)))
            (local.set $v (v128.load
              (i32.add (i32.add (local.get $logits) (i32.mul (local.get $p) (local.get $stride))) (local.get $x4))))
            (local.set $t (i32.add (i32.add (local.get $shifted) (i32.shl (i32.mul (local.get $p) (local.get $stride)) (i32.const 1)))
              (i32.shl (local.get $x4) (i32.const 1))))
            (v128.store (local.get $t) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mlo)))
            (v128.store offset=16 (local.get $t)
              (f64x2.sub
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
                (local.get $mhi)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $shift)))
        (local.set $x4 (i32.add (local.get $x4) (i32.const 16)))
        (br $pixels))))

  ;; The softmax weights of one row from e_p = exp(logit_p − max) (float64, computed by the caller with
  ;; JavaScript's Math.exp in place of logitRow's shifted values; $np rows of $estride bytes, lanes past $w unused):
  ;; per pixel the sum of e_p in neighbour order (row by row into $sums, each pixel's additions still in order
  ;; p = 0, 1, …), then each weight e_p / sum rounded to float32 into row p of the neighbour-major weight planes
  ;; ($out at the row's first pixel, planes $plane bytes apart). Returns 1 when a sum is NaN (then that pixel's
  ;; weights are NaN), else 0.
  (func (export "normalizeRow")
    (param $exps i32) (param $estride i32) (param $w i32) (param $np i32) (param $sums i32) (param $out i32)
    (param $plane i32) (result i32)
    (local $x8 i32) (local $p i32) (local $e i32) (local $o i32) (local $w8 i32) (local $nan i32)
    (local.set $w8 (i32.shl (local.get $w) (i32.const 3)))
    (memory.fill (local.get $sums) (i32.const 0) (local.get $estride))
    (block $sumDone
      (loop $sumRows
        (br_if $sumDone (i32.ge_s (local.get $p) (local.get $np)))
        (local.set $e (i32.add (local.get $exps) (i32.mul (local.get $p) (local.get $estride))))
        (local.set $x8 (i32.const 0))
        (block $rowDone
          (loop $cols
            (br_if $rowDone (i32.ge_s (local.get $x8) (local.get $w8)))
            (v128.store (i32.add (local.get $sums) (local.get $x8))
              (f64x2.add (v128.load (i32.add (local.get $sums) (local.get $x8)))
                (v128.load (i32.add (local.get $e) (local.get $x8)))))
            (local.set $x8 (i32.add (local.get $x8) (i32.const 16)))
            (br $cols)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $sumRows)))
    (local.set $x8 (i32.const 0))
    (block $checkDone
      (loop $check
        (br_if $checkDone (i32.ge_s (local.get $x8) (local.get $w8)))
        (local.set $nan (i32.or (local.get $nan)
          (f64.ne (f64.load (i32.add (local.get $sums) (local.get $x8)))
            (f64.load (i32.add (local.get $sums) (local.get $x8))))))
        (local.set $x8 (i32.add (local.get $x8) (i32.const 8)))
        (br $check)))
    (local.set $p (i32.const 0))
    (block $divDone
      (loop $divRows
        (br_if $divDone (i32.ge_s (local.get $p) (local.get $np)))
        (local.set $e (i32.add (local.get $exps) (i32.mul (local.get $p) (local.get $estride))))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $p) (local.get $plane))))
        (local.set $x8 (i32.const 0))
        ;; four weights per store while four fit in the row, then one at a time
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.gt_s (i32.add (local.get $x8) (i32.const 32)) (local.get $w8)))
            (v128.store (i32.add (local.get $o) (i32.shr_u (local.get $x8) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                (f32x4.demote_f64x2_zero (f64x2.div (v128.load (i32.add (local.get $e) (local.get $x8)))
                  (v128.load (i32.add (local.get $sums) (local.get $x8)))))
                (f32x4.demote_f64x2_zero (f64x2.div (v128.load offset=16 (i32.add (local.get $e) (local.get $x8)))
                  (v128.load offset=16 (i32.add (local.get $sums) (local.get $x8)))))))
            (local.set $x8 (i32.add (local.get $x8) (i32.const 32)))
            (br $quads)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_s (local.get $x8) (local.get $w8)))
            (f32.store (i32.add (local.get $o) (i32.shr_u (local.get $x8) (i32.const 1)))
              (f32.demote_f64 (f64.div (f64.load (i32.add (local.get $e) (local.get $x8)))
                (f64.load (i32.add (local.get $sums) (local.get $x8))))))
            (local.set $x8 (i32.add (local.get $x8) (i32.const 8)))
            (br $tail)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $divRows)))
    (local.get $nan))

  ;; The index of the largest of $k planes of $n float32 values at every position, into $out (i32), the first
  ;; of equal values winning: plane 0 is the start and a later plane replaces it only where `v > best` (so a NaN
  ;; never wins and +0 does not beat −0), as in the reference's loop. $best: $n float32 of scratch.
  (func (export "argmaxPlanes")
    (param $planes i32) (param $k i32) (param $n i32) (param $best i32) (param $out i32)
    (local $kk i32) (local $i4 i32) (local $n4 i32) (local $p i32) (local $v v128) (local $b v128) (local $m v128)
    (local $kv v128) (local $x f32)
    (local.set $n4 (i32.shl (local.get $n) (i32.const 2)))
    (memory.copy (local.get $best) (local.get $planes) (local.get $n4))
    (memory.fill (local.get $out) (i32.const 0) (local.get $n4))
    (local.set $kk (i32.const 1))
    (block $planesDone
      (loop $planesLoop
        (br_if $planesDone (i32.ge_s (local.get $kk) (local.get $k)))
        (local.set $p (i32.add (local.get $planes) (i32.mul (local.get $kk) (local.get $n4))))
        (local.set $kv (i32x4.splat (local.get $kk)))
        (local.set $i4 (i32.const 0))
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.gt_s (i32.add (local.get $i4) (i32.const 16)) (local.get $n4)))
            (local.set $v (v128.load (i32.add (local.get $p) (local.get $i4))))
            (local.set $b (v128.load (i32.add (local.get $best) (local.get $i4))))
            (local.set $m (f32x4.gt (local.get $v) (local.get $b)))
            (v128.store (i32.add (local.get $best) (local.get $i4)) (v128.bitselect (local.get $v) (local.get $b) (local.get $m)))
            (v128.store (i32.add (local.get $out) (local.get $i4))
              (v128.bitselect (local.get $kv) (v128.load (i32.add (local.get $out) (local.get $i4))) (local.get $m)))
            (local.set $i4 (i32.add (local.get $i4) (i32.const 16)))
            (br $quads)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_s (local.get $i4) (local.get $n4)))
            (local.set $x (f32.load (i32.add (local.get $p) (local.get $i4))))
            (if (f32.gt (local.get $x) (f32.load (i32.add (local.get $best) (local.get $i4))))
              (then
                (f32.store (i32.add (local.get $best) (local.get $i4)) (local.get $x))
                (i32.store (i32.add (local.get $out) (local.get $i4)) (local.get $kk))))
            (local.set $i4 (i32.add (local.get $i4) (i32.const 4)))
            (br $tail)))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $planesLoop))))

  ;; Per row of each of $k mask planes ($a, $h rows of $w float32), the columns [from, to) that hold every non-zero
  ;; value (from = $w, to = 0 for a row of zeros; −0 counts as zero, NaN as non-zero), into the i32 arrays $from
  ;; and $to (row r of plane k at index k·$h + r): the reference's first zero-skipping ranges.
  (func (export "planeRanges")
    (param $a i32) (param $k i32) (param $h i32) (param $w i32) (param $from i32) (param $to i32)
    (local $r i32) (local $rows i32) (local $o i32) (local $lo i32) (local $hi i32)
    (local.set $rows (i32.mul (local.get $k) (local.get $h)))
    (block $done
      (loop $row
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $o (i32.add (local.get $a) (i32.mul (local.get $r) (i32.shl (local.get $w) (i32.const 2)))))
        (local.set $lo (i32.const 0))
        (block $loDone
          (loop $scanLo
            (br_if $loDone (i32.ge_s (local.get $lo) (local.get $w)))
            (br_if $loDone (f32.ne (f32.load (i32.add (local.get $o) (i32.shl (local.get $lo) (i32.const 2)))) (f32.const 0)))
            (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
            (br $scanLo)))
        (local.set $hi (local.get $w))
        (block $hiDone
          (loop $scanHi
            (br_if $hiDone (i32.le_s (local.get $hi) (local.get $lo)))
            (br_if $hiDone (f32.ne (f32.load (i32.add (local.get $o) (i32.shl (i32.sub (local.get $hi) (i32.const 1)) (i32.const 2))))
              (f32.const 0)))
            (local.set $hi (i32.sub (local.get $hi) (i32.const 1)))
            (br $scanHi)))
        (i32.store (i32.add (local.get $from) (i32.shl (local.get $r) (i32.const 2))) (local.get $lo))
        (i32.store (i32.add (local.get $to) (i32.shl (local.get $r) (i32.const 2))) (local.get $hi))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; One propagation step of rows [$y0, $y1) of all $k planes, $a into $b, with the reference's zero-skipping: a
  ;; row of a plane is computed only on the columns its neighbours' rows can reach, [min(from) − d, max(to) + d)
  ;; over each dilation d's three rows, clipped to the row, and is all zeros when no neighbour row has a non-zero
  ;; value; those columns become the row's range for the next step ($nextFrom, $nextTo; the ranges as in
  ;; planeRanges). Rows go outermost, the planes of a row together, so that its 8L weight rows stay in cache (a
  ;; step reads only $a: the order is free, and threads may take disjoint row ranges of one step).
  (func (export "propagateStep")
    (param $a i32) (param $b i32) (param $wts i32) (param $plane i32) (param $acc i32) (param $dil i32)
    (param $nl i32) (param $h i32) (param $w i32) (param $k i32)
    (param $from i32) (param $to i32) (param $nextFrom i32) (param $nextTo i32) (param $y0 i32) (param $y1 i32)
    (local $y i32) (local $kk i32) (local $l i32) (local $d i32) (local $i i32) (local $r i32) (local $kh i32)
    (local $lo i32) (local $hi i32) (local $f i32) (local $t i32) (local $idx i32)
    (local.set $y (local.get $y0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_s (local.get $y) (local.get $y1)))
        (local.set $kk (i32.const 0))
        (block $planesDone
          (loop $planes
            (br_if $planesDone (i32.ge_s (local.get $kk) (local.get $k)))
            (local.set $kh (i32.mul (local.get $kk) (local.get $h)))
            (local.set $lo (local.get $w))
            (local.set $hi (i32.const 0))
            (local.set $l (i32.const 0))
            (block $dilDone
              (loop $dilations
                (br_if $dilDone (i32.ge_s (local.get $l) (local.get $nl)))
                (local.set $d (i32.load (i32.add (local.get $dil) (i32.shl (local.get $l) (i32.const 2)))))
                ;; rows y − d (clamped), y, y + d (clamped)
                (local.set $i (i32.const 0))
                (block $threeDone
                  (loop $three
                    (br_if $threeDone (i32.ge_s (local.get $i) (i32.const 3)))
                    (local.set $r (i32.add (local.get $y) (i32.mul (i32.sub (local.get $i) (i32.const 1)) (local.get $d))))
                    (local.set $r (select (i32.const 0) (local.get $r) (i32.lt_s (local.get $r) (i32.const 0))))
                    (local.set $r (select (i32.sub (local.get $h) (i32.const 1)) (local.get $r) (i32.ge_s (local.get $r) (local.get $h))))
                    (local.set $idx (i32.shl (i32.add (local.get $kh) (local.get $r)) (i32.const 2)))
                    (local.set $f (i32.load (i32.add (local.get $from) (local.get $idx))))
                    (local.set $t (i32.load (i32.add (local.get $to) (local.get $idx))))
                    (if (i32.lt_s (local.get $f) (local.get $t))
                      (then
                        (local.set $f (i32.sub (local.get $f) (local.get $d)))
                        (local.set $t (i32.add (local.get $t) (local.get $d)))
                        (local.set $lo (select (local.get $f) (local.get $lo) (i32.lt_s (local.get $f) (local.get $lo))))
                        (local.set $hi (select (local.get $t) (local.get $hi) (i32.gt_s (local.get $t) (local.get $hi))))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $three)))
                (local.set $l (i32.add (local.get $l) (i32.const 1)))
                (br $dilations)))
            (local.set $lo (select (i32.const 0) (local.get $lo) (i32.lt_s (local.get $lo) (i32.const 0))))
            (local.set $hi (select (local.get $w) (local.get $hi) (i32.gt_s (local.get $hi) (local.get $w))))
            (local.set $idx (i32.shl (i32.add (local.get $kh) (local.get $y)) (i32.const 2)))
            (if (i32.ge_s (local.get $lo) (local.get $hi))
              (then
                (memory.fill
                  (i32.add (i32.add (local.get $b) (i32.mul (local.get $kk) (local.get $plane)))
                    (i32.mul (local.get $y) (i32.shl (local.get $w) (i32.const 2))))
                  (i32.const 0) (i32.shl (local.get $w) (i32.const 2)))
                (i32.store (i32.add (local.get $nextFrom) (local.get $idx)) (local.get $w))
                (i32.store (i32.add (local.get $nextTo) (local.get $idx)) (i32.const 0)))
              (else
                (i32.store (i32.add (local.get $nextFrom) (local.get $idx)) (local.get $lo))
                (i32.store (i32.add (local.get $nextTo) (local.get $idx)) (local.get $hi))
                (call $propagateRow
                  (i32.add (local.get $a) (i32.mul (local.get $kk) (local.get $plane)))
                  (i32.add (local.get $b) (i32.mul (local.get $kk) (local.get $plane)))
                  (local.get $wts) (local.get $plane) (local.get $acc) (local.get $dil) (local.get $nl)
                  (local.get $h) (local.get $w) (local.get $y) (local.get $lo) (local.get $hi))))
            (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
            (br $planes)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))

  ;; One propagation step of one row y of one mask plane, columns [$lo, $hi) (the reference's wantLo, wantHi):
  ;; acc = 0, then for each dilation d the eight float64 products w_j·M(nb_j) summed in neighbour order and added
  ;; to acc; the row of $b is acc rounded to float32 in [$lo, $hi) and 0 elsewhere. $a, $b: the plane's first
  ;; pixel; $wts: the first weight plane (8L planes of $plane bytes); $dil: L i32 dilations; $acc: W float64.
  ;; Border columns clamp (replicate padding); interior columns go four, then two, pixels per step.
  (func $propagateRow
    (param $a i32) (param $b i32) (param $wts i32) (param $plane i32) (param $acc i32) (param $dil i32)
    (param $nl i32) (param $h i32) (param $w i32) (param $y i32) (param $lo i32) (param $hi i32)
    (local $l i32) (local $d i32) (local $row i32) (local $rm i32) (local $r0 i32) (local $rp i32) (local $q i32)
    (local $from i32) (local $to i32) (local $x i32) (local $o i32)
    (local.set $row (i32.shl (local.get $w) (i32.const 2)))
    (memory.fill (i32.add (local.get $acc) (i32.shl (local.get $lo) (i32.const 3))) (i32.const 0)
      (i32.shl (i32.sub (local.get $hi) (local.get $lo)) (i32.const 3)))
    (block $dilDone
      (loop $dilations
        (br_if $dilDone (i32.ge_s (local.get $l) (local.get $nl)))
        (local.set $d (i32.load (i32.add (local.get $dil) (i32.shl (local.get $l) (i32.const 2)))))
        (local.set $r0 (i32.add (local.get $a) (i32.mul (local.get $y) (local.get $row))))
        (local.set $rm (i32.add (local.get $a) (i32.mul
          (select (i32.const 0) (i32.sub (local.get $y) (local.get $d)) (i32.lt_s (i32.sub (local.get $y) (local.get $d)) (i32.const 0)))
          (local.get $row))))
        (local.set $rp (i32.add (local.get $a) (i32.mul
          (select (i32.sub (local.get $h) (i32.const 1)) (i32.add (local.get $y) (local.get $d))
            (i32.ge_s (i32.add (local.get $y) (local.get $d)) (local.get $h)))
          (local.get $row))))
        (local.set $q (i32.add (i32.add (local.get $wts) (i32.mul (i32.shl (local.get $l) (i32.const 3)) (local.get $plane)))
          (i32.mul (local.get $y) (local.get $row))))
        ;; interior [from, to): lo ≤ from ≤ to ≤ hi, no column clamps there (the reference's lo and hi)
        (local.set $from
          (select (local.get $lo) (select (local.get $d) (local.get $hi) (i32.lt_s (local.get $d) (local.get $hi)))
            (i32.lt_s (local.get $d) (local.get $lo))))
        (local.set $to (i32.sub (local.get $w) (local.get $d)))
        (local.set $to
          (select (local.get $hi) (select (local.get $to) (local.get $from) (i32.gt_s (local.get $to) (local.get $from)))
            (i32.gt_s (local.get $to) (local.get $hi))))
        (call $borderRange (local.get $lo) (local.get $from) (local.get $d) (local.get $w)
          (local.get $rm) (local.get $r0) (local.get $rp) (local.get $q) (local.get $plane) (local.get $acc))
        (local.set $x (call $interiorPairs (local.get $from) (local.get $to) (local.get $d)
          (local.get $rm) (local.get $r0) (local.get $rp) (local.get $q) (local.get $plane) (local.get $acc)))
        (if (i32.lt_s (local.get $x) (local.get $to))
          (then
            (call $pixel (local.get $x) (i32.sub (local.get $x) (local.get $d)) (i32.add (local.get $x) (local.get $d))
              (local.get $rm) (local.get $r0) (local.get $rp) (local.get $q) (local.get $plane) (local.get $acc))))
        (call $borderRange (local.get $to) (local.get $hi) (local.get $d) (local.get $w)
          (local.get $rm) (local.get $r0) (local.get $rp) (local.get $q) (local.get $plane) (local.get $acc))
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (br $dilations)))
    ;; the new row: zeros, acc rounded to float32, zeros
    (local.set $o (i32.add (local.get $b) (i32.mul (local.get $y) (local.get $row))))
    (memory.fill (local.get $o) (i32.const 0) (i32.shl (local.get $lo) (i32.const 2)))
    (local.set $x (local.get $lo))
    (block $storeDone
      (loop $store
        (br_if $storeDone (i32.ge_s (local.get $x) (local.get $hi)))
        (f32.store (i32.add (local.get $o) (i32.shl (local.get $x) (i32.const 2)))
          (f32.demote_f64 (f64.load (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $store)))
    (memory.fill (i32.add (local.get $o) (i32.shl (local.get $hi) (i32.const 2))) (i32.const 0)
      (i32.shl (i32.sub (local.get $w) (local.get $hi)) (i32.const 2))))

  ;; Columns [$from, $to) with clamped neighbour columns.
  (func $borderRange
    (param $from i32) (param $to i32) (param $d i32) (param $w i32)
    (param $rm i32) (param $r0 i32) (param $rp i32) (param $q i32) (param $plane i32) (param $acc i32)
    (local $x i32) (local $xm i32) (local $xp i32)
    (local.set $x (local.get $from))
    (block $done
      (loop $cols
        (br_if $done (i32.ge_s (local.get $x) (local.get $to)))
        (local.set $xm (i32.sub (local.get $x) (local.get $d)))
        (local.set $xp (i32.add (local.get $x) (local.get $d)))
        (call $pixel (local.get $x)
          (select (i32.const 0) (local.get $xm) (i32.lt_s (local.get $xm) (i32.const 0)))
          (select (i32.sub (local.get $w) (i32.const 1)) (local.get $xp) (i32.ge_s (local.get $xp) (local.get $w)))
          (local.get $rm) (local.get $r0) (local.get $rp) (local.get $q) (local.get $plane) (local.get $acc))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $cols))))

  ;; acc[x] += w0·M(rm, xm) + w1·M(rm, x) + w2·M(rm, xp) + w3·M(r0, xm) + w4·M(r0, xp) + w5·M(rp, xm)
  ;;   + w6·M(rp, x) + w7·M(rp, xp), left to right in float64 (w_j at $q + j·$plane, column x).
  (func $pixel
    (param $x i32) (param $xm i32) (param $xp i32)
    (param $rm i32) (param $r0 i32) (param $rp i32) (param $q i32) (param $plane i32) (param $acc i32)
    (local $w i32) (local $o i32)
    (local.set $w (i32.add (local.get $q) (i32.shl (local.get $x) (i32.const 2))))
    (local.set $x (i32.shl (local.get $x) (i32.const 2)))
    (local.set $xm (i32.shl (local.get $xm) (i32.const 2)))
    (local.set $xp (i32.shl (local.get $xp) (i32.const 2)))
    (local.set $o (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 1))))
    (f64.store (local.get $o)
      (f64.add (f64.load (local.get $o))
        (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add
          (call $term (local.get $w) (i32.add (local.get $rm) (local.get $xm)))
          (call $term (i32.add (local.get $w) (local.get $plane)) (i32.add (local.get $rm) (local.get $x))))
          (call $term (i32.add (local.get $w) (i32.mul (local.get $plane) (i32.const 2))) (i32.add (local.get $rm) (local.get $xp))))
          (call $term (i32.add (local.get $w) (i32.mul (local.get $plane) (i32.const 3))) (i32.add (local.get $r0) (local.get $xm))))
          (call $term (i32.add (local.get $w) (i32.mul (local.get $plane) (i32.const 4))) (i32.add (local.get $r0) (local.get $xp))))
          (call $term (i32.add (local.get $w) (i32.mul (local.get $plane) (i32.const 5))) (i32.add (local.get $rp) (local.get $xm))))
          (call $term (i32.add (local.get $w) (i32.mul (local.get $plane) (i32.const 6))) (i32.add (local.get $rp) (local.get $x))))
          (call $term (i32.add (local.get $w) (i32.mul (local.get $plane) (i32.const 7))) (i32.add (local.get $rp) (local.get $xp)))))))

  ;; The float64 product of the float32 values at $w and $m.
  (func $term (param $w i32) (param $m i32) (result f64)
    (f64.mul (f64.promote_f32 (f32.load (local.get $w))) (f64.promote_f32 (f32.load (local.get $m)))))

  ;; Interior columns from $from while a whole group is before $to: four per step (two f64x2, the second pair at
  ;; byte offset 8 of the same addresses), then at most one step of two; each lane performs $pixel's sum, the
  ;; first product then the others added in order. Addresses are formed as they are used (one weight pointer
  ;; stepping by $plane), which keeps few values live: with the sixteen addresses held in locals the loop spilled
  ;; registers and ran 1.6× slower. Returns the first column not done.
  (func $interiorPairs
    (param $from i32) (param $to i32) (param $d i32)
    (param $rm i32) (param $r0 i32) (param $rp i32) (param $q i32) (param $plane i32) (param $acc i32)
    (result i32)
    (local $x i32) (local $x4 i32) (local $d4 i32) (local $o i32) (local $t i32) (local $u i32)
    (local $lo v128) (local $hi v128)
    (local.set $d4 (i32.shl (local.get $d) (i32.const 2)))
    (local.set $x (local.get $from))
    (block $done
      (loop $quads
        (br_if $done (i32.gt_s (i32.add (local.get $x) (i32.const 4)) (local.get $to)))
        (local.set $x4 (i32.shl (local.get $x) (i32.const 2)))
        (local.set $t (i32.add (local.get $q) (local.get $x4)))
        (local.set $u (i32.sub (i32.add (local.get $rm) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u)))))
        (local.set $hi (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $u)))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (local.get $rm) (local.get $x4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (i32.add (local.get $rm) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.sub (i32.add (local.get $r0) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (i32.add (local.get $r0) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.sub (i32.add (local.get $rp) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (local.get $rp) (local.get $x4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (i32.add (local.get $rp) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $u))))))
        (local.set $o (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3))))
        (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o)) (local.get $lo)))
        (v128.store offset=16 (local.get $o) (f64x2.add (v128.load offset=16 (local.get $o)) (local.get $hi)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $quads)))
    (if (i32.le_s (i32.add (local.get $x) (i32.const 2)) (local.get $to))
      (then
        (local.set $x4 (i32.shl (local.get $x) (i32.const 2)))
        (local.set $t (i32.add (local.get $q) (local.get $x4)))
        (local.set $u (i32.sub (i32.add (local.get $rm) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u)))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (local.get $rm) (local.get $x4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (i32.add (local.get $rm) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.sub (i32.add (local.get $r0) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (i32.add (local.get $r0) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.sub (i32.add (local.get $rp) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (local.get $rp) (local.get $x4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $t (i32.add (local.get $t) (local.get $plane)))
        (local.set $u (i32.add (i32.add (local.get $rp) (local.get $x4)) (local.get $d4)))
        (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $t)))
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $u))))))
        (local.set $o (i32.add (local.get $acc) (i32.shl (local.get $x) (i32.const 3))))
        (v128.store (local.get $o) (f64x2.add (v128.load (local.get $o)) (local.get $lo)))
        (local.set $x (i32.add (local.get $x) (i32.const 2)))))
    (local.get $x))
)
