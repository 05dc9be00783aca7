//! Vectorizable math for the hot elementwise loops, and the runtime SIMD dispatch they use.
//!
//! `exp` and `ln` here are branch-free polynomial versions (Cephes coefficients, ≈1e-7
//! relative error) written in plain arithmetic so that LLVM vectorizes the loops that call them;
//! libm's `expf` cannot be vectorized and, after faer's AVX kernels, runs many times slower (see
//! `clear_upper_state`). No `mul_add`: the AVX2 and baseline paths give bit-identical results.

/// Defines a function whose body is compiled three times, for the baseline target, AVX2+FMA and
/// AVX-512, and picks the widest copy the CPU runs. The copies compute identical results: the
/// bodies use no fused multiply-add and fix their summation order.
macro_rules! simd_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
                if $crate::linalg::fastmath::has_avx512() {
                    // SAFETY: the CPU supports these AVX-512 subsets (checked just above).
                    return unsafe { avx512($($arg),*) };
                }
                if $crate::linalg::fastmath::has_avx2() {
                    // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;

/// Whether this CPU runs the AVX2+FMA copies of the kernels (checked once).
#[inline]
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this CPU runs the AVX-512 copies of the kernels (checked once).
#[inline]
pub fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            has_avx2()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512bw")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Clears the upper halves of the YMM registers. faer's GEMM kernels return with them dirty,
/// which makes every later legacy-SSE instruction (libm, scalar loops) pay a large transition
/// penalty (measured: the sigmoid phase went from 1 ms to 29 ms per step).
#[inline]
pub fn clear_upper_state() {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX is available; vzeroupper has no other effect.
        unsafe { core::arch::x86_64::_mm256_zeroupper() };
    }
}

const LOG2E: f32 = std::f32::consts::LOG2_E;
const ROUND_MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding and subtracting rounds to integer

/// The integer `k` of `shifted = ROUND_MAGIC + k` (`|k| < 2²²`), read from its mantissa bits.
/// Equal to `(shifted − ROUND_MAGIC) as i32`, but that conversion (saturating, NaN → 0) does not
/// vectorize: LLVM made 16 scalar conversions of every AVX-512 vector, the largest cost of the
/// kernels that call `exp`.
#[inline(always)]
fn rounded_integer(shifted: f32) -> i32 {
    shifted.to_bits() as i32 - ROUND_MAGIC.to_bits() as i32
}

/// `e^x`, clamped to the finite f32 range.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_2e-4_f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let poly = p * r * r + r + 1.0;
    let scale = f32::from_bits(((rounded_integer(shifted) + 127) as u32) << 23);
    poly * scale
}

/// Natural logarithm for finite `x > 0`.
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i32;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0))));
    2.0 * s * series + e as f32 * std::f32::consts::LN_2
}

/// The logistic function, stable for large `|x|`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let inv = 1.0 / (1.0 + e);
    if x >= 0.0 {
        inv
    } else {
        e * inv
    }
}

/// `ln(1 + e^x)`, stable for large `|x|`.
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + ln(1.0 + exp(-x.abs()))
}

/// `(sin 2πt, cos 2πt)` for `t ∈ [0, 1)` (one turn), ≈1e-7 absolute error: the turn is cut
/// into quarter turns, and Taylor series of degree 9 and 8 cover the remaining `|r| ≤ π/4`.
/// Branch-free (selects only), so loops calling it vectorize.
#[inline(always)]
pub fn sin_cos_turns(t: f32) -> (f32, f32) {
    let shifted = t * 4.0 + ROUND_MAGIC;
    let quarter = shifted - ROUND_MAGIC; // nearest quarter turn, 0..=4
    let r = (t - quarter * 0.25) * std::f32::consts::TAU;
    let r2 = r * r;
    let s =
        r * (1.0 + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 / 362_880.0))));
    let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 / 40_320.0)));
    // rotate by the quarter turns: (sin, cos) of q·π/2 + r
    let q = rounded_integer(shifted) & 3;
    let (s1, c1) = if q & 1 == 1 { (c, s) } else { (s, c) };
    let sin = if q >= 2 { -s1 } else { s1 };
    let cos = if q == 1 || q == 2 { -c1 } else { c1 };
    (sin, cos)
}

/// Hyperbolic tangent.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let t = exp(-2.0 * x.abs());
    let y = (1.0 - t) / (1.0 + t);
    if x >= 0.0 {
        y
    } else {
        -y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_cos_turns_matches_std_over_the_turn() {
        let mut worst = 0.0f64;
        for i in 0..100_000 {
            let t = i as f32 / 100_000.0;
            let (s, c) = sin_cos_turns(t);
            let angle = std::f64::consts::TAU * t as f64;
            worst = worst
                .max((s as f64 - angle.sin()).abs())
                .max((c as f64 - angle.cos()).abs());
        }
        assert!(worst < 5e-7, "worst error {worst}");
    }

    #[test]
    fn exp_and_ln_match_std_closely() {
        let mut worst_exp = 0.0f64;
        let mut worst_ln = 0.0f64;
        for i in 0..200_000 {
            let x = -80.0 + 160.0 * (i as f32) / 200_000.0;
            let rel = ((exp(x) as f64 - (x as f64).exp()) / (x as f64).exp()).abs();
            worst_exp = worst_exp.max(rel);
            let y = 1e-30f32 * 10f32.powf(60.0 * i as f32 / 200_000.0);
            let abs = (ln(y) as f64 - (y as f64).ln()).abs();
            worst_ln = worst_ln.max(abs / (y as f64).ln().abs().max(1.0));
        }
        assert!(worst_exp < 3e-7, "exp rel err {worst_exp}");
        assert!(worst_ln < 3e-7, "ln err {worst_ln}");
    }

    #[test]
    fn sigmoid_softplus_tanh_match_reference() {
        for i in 0..10_000 {
            let x = -30.0 + 60.0 * i as f32 / 10_000.0;
            let xd = x as f64;
            assert!((sigmoid(x) as f64 - 1.0 / (1.0 + (-xd).exp())).abs() < 1e-6);
            let sp = xd.max(0.0) + (1.0 + (-xd.abs()).exp()).ln();
            assert!((softplus(x) as f64 - sp).abs() < 2e-6 * sp.max(1.0));
            assert!((tanh(x) as f64 - xd.tanh()).abs() < 1e-6);
        }
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!(sigmoid(-1000.0) < 1e-30);
        assert!(softplus(-1000.0) >= 0.0 && softplus(1000.0) == 1000.0);
    }
}
