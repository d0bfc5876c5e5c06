;; out = A·x for a symmetric m×m float32 matrix A (row-major) and float64 vectors, accumulated in float64.
;;
;; Because A is symmetric, row i of A equals column i, so out[i] = Σ_j A[j][i]·x[j]: the kernel streams the
;; rows of A and adds x[j]·(row j) to the outputs, j = 0, 1, …, m−1 in order. Each out[i] therefore sees
;; exactly the products and the order of the row-by-row dot product (lib/eigensolve/matvec.ts), bit for bit,
;; while four consecutive outputs share one 128-bit load of A (two f64x2 lanes each). Four rows of A are
;; added per pass so that each output is loaded and stored once per four rows. An output's value does not depend
;; on which other outputs are computed with it, so threads may each take a range of outputs (columns).
(module
  ;; The caller sizes the memory: A, then x and out. Shared, so that helper threads read the same A.
  (import "env" "memory" (memory 1 65536 shared))

  ;; out[i] += x[j]·A[j][i] for one row j (base address $p), i in [$c0, $c4) four at a time, then [$c4, $c1).
  (func $addRow (param $p i32) (param $xj f64) (param $c0 i32) (param $c4 i32) (param $c1 i32) (param $out i32)
    (local $i i32) (local $o i32) (local $v v128) (local $xs v128)
    (local.set $xs (f64x2.splat (local.get $xj)))
    (local.set $i (local.get $c0))
    (block $done
      (loop $simd
        (br_if $done (i32.ge_u (local.get $i) (local.get $c4)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $v (v128.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))))
        (v128.store (local.get $o)
          (f64x2.add (v128.load (local.get $o))
            (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $xs))))
        (v128.store offset=16 (local.get $o)
          (f64x2.add (v128.load offset=16 (local.get $o))
            (f64x2.mul
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
              (local.get $xs))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $simd)))
    (call $addTail (local.get $p) (local.get $xj) (local.get $c4) (local.get $c1) (local.get $out)))

  ;; out = A·x. $a, $x and $out are byte addresses of A (m·m float32), x (m float64) and out (m float64).
  (func (export "symmetricMatVec") (param $a i32) (param $m i32) (param $x i32) (param $out i32)
    (call $columns (local.get $a) (local.get $m) (local.get $x) (local.get $out) (i32.const 0) (local.get $m)))

  ;; Outputs [$c0, $c1) of out = A·x, the others untouched ($c0 a multiple of 4, or $c1).
  (func (export "symmetricMatVecColumns")
    (param $a i32) (param $m i32) (param $x i32) (param $out i32) (param $c0 i32) (param $c1 i32)
    (call $columns (local.get $a) (local.get $m) (local.get $x) (local.get $out) (local.get $c0) (local.get $c1)))

  (func $columns (param $a i32) (param $m i32) (param $x i32) (param $out i32) (param $c0 i32) (param $c1 i32)
    (local $i i32) (local $j i32) (local $o i32) (local $q i32) (local $stride i32) (local $c4 i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $lo v128) (local $hi v128) (local $v v128)
    (memory.fill (i32.add (local.get $out) (i32.shl (local.get $c0) (i32.const 3))) (i32.const 0)
      (i32.shl (i32.sub (local.get $c1) (local.get $c0)) (i32.const 3)))
    (local.set $stride (i32.shl (local.get $m) (i32.const 2)))
    (local.set $c4 (i32.add (local.get $c0) (i32.and (i32.sub (local.get $c1) (local.get $c0)) (i32.const -4))))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $m)))
        (local.set $q (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3))))
        (local.set $x0 (f64x2.splat (f64.load (local.get $q))))
        (local.set $x1 (f64x2.splat (f64.load offset=8 (local.get $q))))
        (local.set $x2 (f64x2.splat (f64.load offset=16 (local.get $q))))
        (local.set $x3 (f64x2.splat (f64.load offset=24 (local.get $q))))
        (local.set $p0 (i32.add (local.get $a) (i32.mul (local.get $j) (local.get $stride))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $stride)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $stride)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $stride)))
        (local.set $i (local.get $c0))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $i) (local.get $c4)))
            (local.set $o (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))))
            (local.set $q (i32.shl (local.get $i) (i32.const 2)))
            (local.set $lo (v128.load (local.get $o)))
            (local.set $hi (v128.load offset=16 (local.get $o)))
            ;; rows j, j+1, j+2, j+3 in order
            (local.set $v (v128.load (i32.add (local.get $p0) (local.get $q))))
            (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $x0))))
            (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $x0))))
            (local.set $v (v128.load (i32.add (local.get $p1) (local.get $q))))
            (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $x1))))
            (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $x1))))
            (local.set $v (v128.load (i32.add (local.get $p2) (local.get $q))))
            (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $x2))))
            (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $x2))))
            (local.set $v (v128.load (i32.add (local.get $p3) (local.get $q))))
            (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $x3))))
            (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $x3))))
            (v128.store (local.get $o) (local.get $lo))
            (v128.store offset=16 (local.get $o) (local.get $hi))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $cols)))
        ;; the last (c1 − c0) mod 4 outputs, one row after the other (the same order j, j+1, j+2, j+3 per output)
        (if (i32.lt_u (local.get $c4) (local.get $c1))
          (then
            (call $addTail (local.get $p0) (f64x2.extract_lane 0 (local.get $x0)) (local.get $c4) (local.get $c1) (local.get $out))
            (call $addTail (local.get $p1) (f64x2.extract_lane 0 (local.get $x1)) (local.get $c4) (local.get $c1) (local.get $out))
            (call $addTail (local.get $p2) (f64x2.extract_lane 0 (local.get $x2)) (local.get $c4) (local.get $c1) (local.get $out))
            (call $addTail (local.get $p3) (f64x2.extract_lane 0 (local.get $x3)) (local.get $c4) (local.get $c1) (local.get $out))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $rows)))
    ;; the last m mod 4 rows, one at a time
    (block $done
      (loop $last
        (br_if $done (i32.ge_u (local.get $j) (local.get $m)))
        (call $addRow
          (i32.add (local.get $a) (i32.mul (local.get $j) (local.get $stride)))
          (f64.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3))))
          (local.get $c0) (local.get $c4) (local.get $c1) (local.get $out))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $last))))

  ;; out[i] += x[j]·A[j][i] for i = $from..$to−1 (the scalar tail of one row).
  (func $addTail (param $p i32) (param $xj f64) (param $from i32) (param $to i32) (param $out i32)
    (local $i i32) (local $o i32)
    (local.set $i (local.get $from))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))))
        (f64.store (local.get $o)
          (f64.add (f64.load (local.get $o))
            (f64.mul
              (f64.promote_f32 (f32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))))
              (local.get $xj))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))))
