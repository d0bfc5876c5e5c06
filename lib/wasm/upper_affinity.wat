;; The element-wise half of the affinity on the upper triangle (diagonal included) of a float32 n×n Gram matrix
;; in place, as lib/affinity/gram_onnx.ts's affinityFromUpperGram computes it in TypeScript:
;;   upperMinMax: the smallest and largest entry (the TypeScript scan's `v < lo`, `v > hi` per lane, so NaN is
;;                skipped as there; the caller rescans where a zero of either sign could have tied);
;;   upperPower:  t = (v − lo) / range in float32, then t^α for an integer α by the same square-and-multiply
;;                sequence as powInt, in float64, rounded to float32;
;;   mirrorUpper: the strict upper triangle copied onto the lower one (4×4 blocks transposed in registers, in
;;                tiles of 32×32 entries so the written rows stay in cache; edges entry by entry).
;; The lanes of an f32x4 or f64x2 operation are independent IEEE operations, and float32 − and ÷ equal the
;; TypeScript's Math.fround of the float64 results, so every entry gets the TypeScript's bits. Row i covers
;; columns [i, n): a scalar head up to a 16-byte boundary, four entries per step, a scalar tail.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Writes f32 [lo, hi] at $out.
  (func (export "upperMinMax") (param $g i32) (param $n i32) (param $out i32)
    (call $minMaxRows (local.get $g) (local.get $n) (local.get $out) (i32.const 0) (local.get $n)))

  ;; upperMinMax over rows [$i0, $i1) (a thread's share; the caller folds the threads' pairs).
  (func (export "upperMinMaxRows") (param $g i32) (param $n i32) (param $out i32) (param $i0 i32) (param $i1 i32)
    (call $minMaxRows (local.get $g) (local.get $n) (local.get $out) (local.get $i0) (local.get $i1)))

  (func $minMaxRows (param $g i32) (param $n i32) (param $out i32) (param $i0 i32) (param $i1 i32)
    (local $i i32) (local $p i32) (local $end i32) (local $body i32)
    (local $lo f32) (local $hi f32) (local $v f32) (local $lo4 v128) (local $hi4 v128) (local $v4 v128)
    (local.set $lo (f32.const inf))
    (local.set $hi (f32.const -inf))
    (local.set $lo4 (f32x4.splat (f32.const inf)))
    (local.set $hi4 (f32x4.splat (f32.const -inf)))
    (local.set $i (local.get $i0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $i1)))
        (local.set $p (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $i)) (i32.const 2))))
        (local.set $end (i32.add (local.get $g) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $n)) (i32.const 2))))
        (local.set $body (i32.and (i32.add (local.get $p) (i32.const 15)) (i32.const -16)))
        (local.set $body (select (local.get $end) (local.get $body) (i32.gt_u (local.get $body) (local.get $end))))
        (block $headDone
          (loop $head
            (br_if $headDone (i32.ge_u (local.get $p) (local.get $body)))
            (local.set $v (f32.load (local.get $p)))
            (if (f32.lt (local.get $v) (local.get $lo)) (then (local.set $lo (local.get $v))))
            (if (f32.gt (local.get $v) (local.get $hi)) (then (local.set $hi (local.get $v))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $head)))
        (block $bodyDone
          (loop $quads
            (br_if $bodyDone (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
            (local.set $v4 (v128.load (local.get $p)))
            (local.set $lo4 (v128.bitselect (local.get $v4) (local.get $lo4) (f32x4.lt (local.get $v4) (local.get $lo4))))
            (local.set $hi4 (v128.bitselect (local.get $v4) (local.get $hi4) (f32x4.gt (local.get $v4) (local.get $hi4))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $quads)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $v (f32.load (local.get $p)))
            (if (f32.lt (local.get $v) (local.get $lo)) (then (local.set $lo (local.get $v))))
            (if (f32.gt (local.get $v) (local.get $hi)) (then (local.set $hi (local.get $v))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $tail)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (call $fold (local.get $lo) (f32x4.extract_lane 0 (local.get $lo4)) (i32.const 1)) (local.set $lo)
    (call $fold (local.get $lo) (f32x4.extract_lane 1 (local.get $lo4)) (i32.const 1)) (local.set $lo)
    (call $fold (local.get $lo) (f32x4.extract_lane 2 (local.get $lo4)) (i32.const 1)) (local.set $lo)
    (call $fold (local.get $lo) (f32x4.extract_lane 3 (local.get $lo4)) (i32.const 1)) (local.set $lo)
    (call $fold (local.get $hi) (f32x4.extract_lane 0 (local.get $hi4)) (i32.const 0)) (local.set $hi)
    (call $fold (local.get $hi) (f32x4.extract_lane 1 (local.get $hi4)) (i32.const 0)) (local.set $hi)
    (call $fold (local.get $hi) (f32x4.extract_lane 2 (local.get $hi4)) (i32.const 0)) (local.set $hi)
    (call $fold (local.get $hi) (f32x4.extract_lane 3 (local.get $hi4)) (i32.const 0)) (local.set $hi)
    (f32.store (local.get $out) (local.get $lo))
    (f32.store offset=4 (local.get $out) (local.get $hi)))

  ;; $v replaces $acc when smaller ($min) or larger (otherwise).
  (func $fold (param $acc f32) (param $v f32) (param $min i32) (result f32)
    (if (result f32) (local.get $min)
      (then (select (local.get $v) (local.get $acc) (f32.lt (local.get $v) (local.get $acc))))
      (else (select (local.get $v) (local.get $acc) (f32.gt (local.get $v) (local.get $acc))))))

  ;; t^α in float64 by powInt's steps: r = 1, b = t; while e > 0 { if e odd: r = r·b; b = b·b; e >>= 1 }.
  (func $pow2 (param $t v128) (param $alpha i32) (result v128)
    (local $r v128)
    (local.set $r (f64x2.splat (f64.const 1)))
    (block $done
      (loop $bits
        (br_if $done (i32.le_s (local.get $alpha) (i32.const 0)))
        (if (i32.and (local.get $alpha) (i32.const 1))
          (then (local.set $r (f64x2.mul (local.get $r) (local.get $t)))))
        (local.set $t (f64x2.mul (local.get $t) (local.get $t)))
        (local.set $alpha (i32.shr_s (local.get $alpha) (i32.const 1)))
        (br $bits)))
    (local.get $r))

  (func $pow1 (param $t f64) (param $alpha i32) (result f64)
    (local $r f64)
    (local.set $r (f64.const 1))
    (block $done
      (loop $bits
        (br_if $done (i32.le_s (local.get $alpha) (i32.const 0)))
        (if (i32.and (local.get $alpha) (i32.const 1))
          (then (local.set $r (f64.mul (local.get $r) (local.get $t)))))
        (local.set $t (f64.mul (local.get $t) (local.get $t)))
        (local.set $alpha (i32.shr_s (local.get $alpha) (i32.const 1)))
        (br $bits)))
    (local.get $r))

  ;; One entry at $p, scalar.
  (func $entry (param $p i32) (param $lo f32) (param $range f32) (param $alpha i32)
    (f32.store (local.get $p)
      (f32.demote_f64
        (call $pow1
          (f64.promote_f32 (f32.div (f32.sub (f32.load (local.get $p)) (local.get $lo)) (local.get $range)))
          (local.get $alpha)))))

  (func (export "upperPower") (param $g i32) (param $n i32) (param $lo f32) (param $range f32) (param $alpha i32)
    (call $powerRows (local.get $g) (local.get $n) (local.get $lo) (local.get $range) (local.get $alpha)
      (i32.const 0) (local.get $n)))

  ;; upperPower over rows [$i0, $i1).
  (func (export "upperPowerRows")
    (param $g i32) (param $n i32) (param $lo f32) (param $range f32) (param $alpha i32) (param $i0 i32) (param $i1 i32)
    (call $powerRows (local.get $g) (local.get $n) (local.get $lo) (local.get $range) (local.get $alpha)
      (local.get $i0) (local.get $i1)))

  (func $powerRows
    (param $g i32) (param $n i32) (param $lo f32) (param $range f32) (param $alpha i32) (param $i0 i32) (param $i1 i32)
    (local $i i32) (local $p i32) (local $end i32) (local $body i32)
    (local $lo4 v128) (local $range4 v128) (local $t v128)
    (local.set $lo4 (f32x4.splat (local.get $lo)))
    (local.set $range4 (f32x4.splat (local.get $range)))
    (local.set $i (local.get $i0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $i1)))
        (local.set $p (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $i)) (i32.const 2))))
        (local.set $end (i32.add (local.get $g) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $n)) (i32.const 2))))
        (local.set $body (i32.and (i32.add (local.get $p) (i32.const 15)) (i32.const -16)))
        (local.set $body (select (local.get $end) (local.get $body) (i32.gt_u (local.get $body) (local.get $end))))
        (block $headDone
          (loop $head
            (br_if $headDone (i32.ge_u (local.get $p) (local.get $body)))
            (call $entry (local.get $p) (local.get $lo) (local.get $range) (local.get $alpha))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $head)))
        (block $bodyDone
          (loop $quads
            (br_if $bodyDone (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
            (local.set $t (f32x4.div (f32x4.sub (v128.load (local.get $p)) (local.get $lo4)) (local.get $range4)))
            (v128.store (local.get $p)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                (f32x4.demote_f64x2_zero (call $pow2 (f64x2.promote_low_f32x4 (local.get $t)) (local.get $alpha)))
                (f32x4.demote_f64x2_zero
                  (call $pow2
                    (f64x2.promote_low_f32x4
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $t) (local.get $t)))
                    (local.get $alpha)))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br $quads)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $p) (local.get $end)))
            (call $entry (local.get $p) (local.get $lo) (local.get $range) (local.get $alpha))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $tail)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
  ;; g[j][i] = g[i][j] for i < j.
  (func (export "mirrorUpper") (param $g i32) (param $n i32)
    (call $mirrorUnits (local.get $g) (local.get $n) (i32.const 0) (i32.shr_u (i32.add (local.get $n) (i32.const 31)) (i32.const 5))))

  ;; mirrorUpper for source rows [32·$u0, 32·$u1): those rows' tiles, then their edge entries. Each source row i
  ;; writes column i of the lower triangle only, so threads may take disjoint unit ranges.
  (func (export "mirrorUnits") (param $g i32) (param $n i32) (param $u0 i32) (param $u1 i32)
    (call $mirrorUnits (local.get $g) (local.get $n) (local.get $u0) (local.get $u1)))

  (func $mirrorUnits (param $g i32) (param $n i32) (param $u0 i32) (param $u1 i32)
    (local $n4 i32) (local $tiEnd i32) (local $eEnd i32) (local $ti i32) (local $tj i32) (local $i i32) (local $j i32) (local $iEnd i32) (local $jEnd i32)
    (local $row i32) (local $a i32) (local $b i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $row (i32.shl (local.get $n) (i32.const 2)))
    (local.set $tiEnd (i32.shl (local.get $u1) (i32.const 5)))
    (local.set $eEnd (select (local.get $n) (local.get $tiEnd) (i32.gt_u (local.get $tiEnd) (local.get $n))))
    (local.set $tiEnd (select (local.get $n4) (local.get $tiEnd) (i32.gt_u (local.get $tiEnd) (local.get $n4))))
    ;; 4×4 blocks strictly above the diagonal inside [0, n4)², tile by tile, tile rows from 32·u0.
    (local.set $ti (i32.shl (local.get $u0) (i32.const 5)))
    (block $tiDone
      (loop $tiles_i
        (br_if $tiDone (i32.ge_u (local.get $ti) (local.get $tiEnd)))
        (local.set $iEnd (select (local.get $n4) (i32.add (local.get $ti) (i32.const 32))
          (i32.gt_u (i32.add (local.get $ti) (i32.const 32)) (local.get $n4))))
        (local.set $tj (local.get $ti))
        (block $tjDone
          (loop $tiles_j
            (br_if $tjDone (i32.ge_u (local.get $tj) (local.get $n4)))
            (local.set $jEnd (select (local.get $n4) (i32.add (local.get $tj) (i32.const 32))
              (i32.gt_u (i32.add (local.get $tj) (i32.const 32)) (local.get $n4))))
            (local.set $i (local.get $ti))
            (block $iDone
              (loop $blocks_i
                (br_if $iDone (i32.ge_u (local.get $i) (local.get $iEnd)))
                ;; blocks with j ≥ i + 4 only (the diagonal blocks go entry by entry below)
                (local.set $j (select (i32.add (local.get $i) (i32.const 4)) (local.get $tj)
                  (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $tj))))
                (block $jDone
                  (loop $blocks_j
                    (br_if $jDone (i32.ge_u (local.get $j) (local.get $jEnd)))
                    (local.set $a (i32.add (local.get $g)
                      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))))
                    (local.set $r0 (v128.load (local.get $a)))
                    (local.set $r1 (v128.load (i32.add (local.get $a) (local.get $row))))
                    (local.set $r2 (v128.load (i32.add (local.get $a) (i32.shl (local.get $row) (i32.const 1)))))
                    (local.set $r3 (v128.load (i32.add (local.get $a) (i32.mul (local.get $row) (i32.const 3)))))
                    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
                    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
                    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
                    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
                    (local.set $b (i32.add (local.get $g)
                      (i32.shl (i32.add (i32.mul (local.get $j) (local.get $n)) (local.get $i)) (i32.const 2))))
                    (v128.store (local.get $b)
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
                    (v128.store (i32.add (local.get $b) (local.get $row))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                    (v128.store (i32.add (local.get $b) (i32.shl (local.get $row) (i32.const 1)))
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
                    (v128.store (i32.add (local.get $b) (i32.mul (local.get $row) (i32.const 3)))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4)))
                    (br $blocks_j)))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $blocks_i)))
            (local.set $tj (i32.add (local.get $tj) (i32.const 32)))
            (br $tiles_j)))
        (local.set $ti (i32.add (local.get $ti) (i32.const 32)))
        (br $tiles_i)))
    ;; The diagonal 4×4 blocks, and every column from n4 on, entry by entry, for rows [32·u0, min(n, 32·u1)).
    (local.set $i (i32.shl (local.get $u0) (i32.const 5)))
    (block $edgeDone
      (loop $edge
        (br_if $edgeDone (i32.ge_u (local.get $i) (local.get $eEnd)))
        (local.set $j (i32.add (local.get $i) (i32.const 1)))
        (local.set $jEnd (select (local.get $n)
          (i32.add (i32.and (local.get $i) (i32.const -4)) (i32.const 4))
          (i32.ge_u (local.get $i) (local.get $n4))))
        (call $copyRun (local.get $g) (local.get $n) (local.get $i) (local.get $j) (local.get $jEnd))
        (if (i32.lt_u (local.get $i) (local.get $n4))
          (then (call $copyRun (local.get $g) (local.get $n) (local.get $i) (local.get $n4) (local.get $n))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $edge))))

  ;; g[j][i] = g[i][j] for j in [$from, $to).
  (func $copyRun (param $g i32) (param $n i32) (param $i i32) (param $from i32) (param $to i32)
    (local $j i32)
    (local.set $j (local.get $from))
    (block $done
      (loop $cols
        (br_if $done (i32.ge_u (local.get $j) (local.get $to)))
        (f32.store
          (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $n)) (local.get $i)) (i32.const 2)))
          (f32.load
            (i32.add (local.get $g) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $cols))))
)
