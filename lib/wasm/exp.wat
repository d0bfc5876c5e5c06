;; exp(x) of float64 values in place, two per f64x2, returning exactly what the engine's Math.exp returns where
;; Math.exp is correctly rounded (lib/wasm/exact_exp.ts checks that before using this, and explains the bounds).
;;
;; Method (Tang's table method): k = nearest(1024·x/ln2) = 1024·K + j with 0 ≤ j < 1024, x = k·ln2/1024 + r with
;; |r| ≤ ln2/2048, and exp(x) = 2^K · 2^(j/1024) · e^r. The table holds 2^(j/1024) as a double-double Th + Tl; with
;; e^r − 1 = rh + (rl + q), q a degree-5 Taylor tail, exp(x)/2^K = s + low where s = Th + Th·rh (Fast2Sum keeps
;; its error) and low gathers the small terms. The rounding of Th·rh (relative 2^-64.5) dominates the error; the
;; bound used is 2^-63·s. Where the rounding of s + low ± 2^-63·s differs (the value lies too close to a rounding
;; boundary to decide: about 1 value in 700), or x lies outside [-708.3, 709] where the result may be subnormal
;; or infinite, the lane calls the imported exp (Math.exp) instead. Below -745.2 the result is +0 (exp(x) <
;; 2^-1075 rounds to zero), with no call.
;;
;; Table layout at $table (bytes): f64 [1024/ln2, C1, C2, 2^-63], then 1024 entries of f64 [Th, Tl].
(module
  (import "env" "memory" (memory 1 32768 shared))
  (import "env" "exp" (func $exp (param f64) (result f64)))

  (func (export "expInPlace") (param $p i32) (param $n i32) (param $table i32)
    (local $end i32) (local $a0 i32) (local $a1 i32)
    (local $x v128) (local $ks v128) (local $kf v128) (local $k v128) (local $rh v128) (local $rl v128) (local $r v128)
    (local $q v128) (local $r2 v128) (local $e0 v128) (local $e1 v128) (local $th v128) (local $tl v128) 
    (local $ph v128)
    (local $s v128) (local $low v128) (local $err v128) (local $res v128) (local $ok v128) (local $zero v128)
    (local $inv v128) (local $c1 v128) (local $c2 v128) (local $rel v128)
    (local.set $inv (v128.load64_splat (local.get $table)))
    (local.set $c1 (v128.load64_splat offset=8 (local.get $table)))
    (local.set $c2 (v128.load64_splat offset=16 (local.get $table)))
    (local.set $rel (v128.load64_splat offset=24 (local.get $table)))
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3))))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $x (v128.load (local.get $p)))
        ;; k = nearest(x·1024/ln2); r = (x − k·C1) − k·C2, the first difference exact (C1 has 32 bits).
        ;; Adding 1.5·2^52 rounds to an integer (to nearest, ties to even, as f64x2.nearest) and leaves k in the
        ;; low bits: k = bits − bits(1.5·2^52) for |k| < 2^51; subtracting it back gives k as a float, exactly.
        (local.set $ks (f64x2.add (f64x2.mul (local.get $x) (local.get $inv)) (f64x2.splat (f64.const 6755399441055744))))
        (local.set $kf (f64x2.sub (local.get $ks) (f64x2.splat (f64.const 6755399441055744))))
        (local.set $k (i64x2.sub (local.get $ks) (i64x2.splat (i64.const 0x4338000000000000))))
        (local.set $rh (f64x2.sub (local.get $x) (f64x2.mul (local.get $kf) (local.get $c1))))
        (local.set $rl (f64x2.neg (f64x2.mul (local.get $kf) (local.get $c2))))
        (local.set $r (f64x2.add (local.get $rh) (local.get $rl)))
        ;; q = r²·(1/2 + r/6 + r²·(1/24 + r/120)), in Estrin's order (a shorter dependency chain).
        (local.set $r2 (f64x2.mul (local.get $r) (local.get $r)))
        (local.set $q
          (f64x2.mul (local.get $r2)
            (f64x2.add
              (f64x2.add (f64x2.splat (f64.const 0.5))
                (f64x2.mul (local.get $r) (f64x2.splat (f64.const 0.16666666666666666))))
              (f64x2.mul (local.get $r2)
                (f64x2.add (f64x2.splat (f64.const 0.041666666666666664))
                  (f64x2.mul (local.get $r) (f64x2.splat (f64.const 0.008333333333333333))))))))
        ;; Table entries of j = k mod 1024 (two's complement: k & 1023), and the scale 2^K, K = k >> 10.
        (local.set $a0 (i32.add (local.get $table)
          (i32.shl (i32.add (i32.and (i32.wrap_i64 (i64x2.extract_lane 0 (local.get $k))) (i32.const 1023))
            (i32.const 2)) (i32.const 4))))
        (local.set $a1 (i32.add (local.get $table)
          (i32.shl (i32.add (i32.and (i32.wrap_i64 (i64x2.extract_lane 1 (local.get $k))) (i32.const 1023))
            (i32.const 2)) (i32.const 4))))
        (local.set $e0 (v128.load (local.get $a0)))
        (local.set $e1 (v128.load (local.get $a1)))
        (local.set $th (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $e0) (local.get $e1)))
        (local.set $tl (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $e0) (local.get $e1)))
        (local.set $ph (f64x2.mul (local.get $th) (local.get $rh)))
        ;; s + low = Th + Th·rh + [Tl + Tl·(r + q) + Th·(rl + q)]; s = Th + ph with its error (Fast2Sum). The terms
        ;; that wait for q come last.
        (local.set $s (f64x2.add (local.get $th) (local.get $ph)))
        (local.set $low
          (f64x2.add
            (f64x2.add
              (f64x2.add
                (f64x2.sub (local.get $ph) (f64x2.sub (local.get $s) (local.get $th)))
                (local.get $tl))
              (f64x2.mul (local.get $tl) (f64x2.add (local.get $r) (local.get $q))))
            (f64x2.mul (local.get $th) (f64x2.add (local.get $rl) (local.get $q)))))
        (local.set $res (f64x2.add (local.get $s) (local.get $low)))
        (local.set $err (f64x2.mul (local.get $s) (local.get $rel)))
        (local.set $ok
          (v128.and
            (v128.and
              (f64x2.ge (local.get $x) (f64x2.splat (f64.const -708.3)))
              (f64x2.le (local.get $x) (f64x2.splat (f64.const 709))))
            (f64x2.eq
              (f64x2.add (local.get $s) (f64x2.add (local.get $low) (local.get $err)))
              (f64x2.add (local.get $s) (f64x2.sub (local.get $low) (local.get $err))))))
        ;; × 2^K, exact: the result is normal in this range.
        (local.set $res
          (f64x2.mul (local.get $res)
            (i64x2.shl
              (i64x2.add (i64x2.shr_s (local.get $k) (i32.const 10)) (i64x2.splat (i64.const 1023)))
              (i32.const 52))))
        (local.set $zero (f64x2.lt (local.get $x) (f64x2.splat (f64.const -745.2))))
        ;; Undecided lanes are NaN-free here (an x out of range fails $ok); zero lanes get +0.
        (local.set $res (v128.andnot (local.get $res) (local.get $zero)))
        (v128.store (local.get $p) (local.get $res))
        (if (i32.ne (i64x2.bitmask (v128.or (local.get $ok) (local.get $zero))) (i32.const 3))
          (then
            (if (i64.eqz (i64x2.extract_lane 0 (v128.or (local.get $ok) (local.get $zero))))
              (then (f64.store (local.get $p) (call $exp (f64x2.extract_lane 0 (local.get $x))))))
            (if (i64.eqz (i64x2.extract_lane 1 (v128.or (local.get $ok) (local.get $zero))))
              (then (f64.store offset=8 (local.get $p) (call $exp (f64x2.extract_lane 1 (local.get $x))))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $pairs)))
    ;; An odd count leaves one value.
    (if (i32.and (local.get $n) (i32.const 1))
      (then (f64.store (local.get $p) (call $exp (f64.load (local.get $p))))))))
