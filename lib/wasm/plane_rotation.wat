;; One Givens rotation of two float64 rows, in place: for each k, with f = B[k],
;;   B[k] = s·A[k] + c·f,   A[k] = c·A[k] − s·f,
;; the update the tridiagonal QL iteration (lib/eigensolve/tridiagonal.ts) applies to its eigenvector rows. Each
;; element is independent, so two per f64x2 give the scalar loop's bits exactly.
(module
  (import "env" "memory" (memory 1))

  ;; $a, $b: byte addresses of the two rows; $n: their length.
  (func (export "rotate") (param $a i32) (param $b i32) (param $n i32) (param $s f64) (param $c f64)
    (local $end i32) (local $ss v128) (local $cc v128) (local $x v128) (local $f v128) (local $fs f64)
    (local.set $ss (f64x2.splat (local.get $s)))
    (local.set $cc (f64x2.splat (local.get $c)))
    (local.set $end (i32.add (local.get $a) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3))))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $x (v128.load (local.get $a)))
        (local.set $f (v128.load (local.get $b)))
        (v128.store (local.get $b)
          (f64x2.add (f64x2.mul (local.get $ss) (local.get $x)) (f64x2.mul (local.get $cc) (local.get $f))))
        (v128.store (local.get $a)
          (f64x2.sub (f64x2.mul (local.get $cc) (local.get $x)) (f64x2.mul (local.get $ss) (local.get $f))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (br $pairs)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (local.set $fs (f64.load (local.get $b)))
        (f64.store (local.get $b)
          (f64.add (f64.mul (local.get $s) (f64.load (local.get $a))) (f64.mul (local.get $c) (local.get $fs))))
        (f64.store (local.get $a)
          (f64.sub (f64.mul (local.get $c) (f64.load (local.get $a))) (f64.mul (local.get $s) (local.get $fs))))))))
