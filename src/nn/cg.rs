//! Nonlinear conjugate gradients with Rasmussen's line search (`minimize.m`, C. E. Rasmussen
//! 1999–2006), the optimizer Hinton & Salakhutdinov (2006) fine-tuned their deep autoencoders
//! with: three line searches on each minibatch of 1,000 examples.
//!
//! Directions are Polak–Ribière, `s_{k+1} = −∇f_{k+1} + β s_k` with
//! `β = ∇f_{k+1}ᵀ(∇f_{k+1} − ∇f_k) / ∇f_kᵀ∇f_k`, reset to steepest descent when `s` is not a
//! descent direction. Each line search extrapolates by cubic fits (at most ×`EXT` the last
//! step) until the slope changes sign or the value rises, then interpolates (quadratic or
//! cubic, kept `INT` away from the bracket's ends) until the strong Wolfe conditions hold:
//!
//! - sufficient decrease: `f(x + α s) ≤ f(x) + ρ α ∇fᵀs`, `ρ = σ/2`;
//! - curvature: `|∇f(x + α s)ᵀ s| ≤ −σ ∇fᵀs`, `σ = 0.1`.
//!
//! A failed line search restarts along the steepest descent from the best point seen; two
//! in a row end the minimization. Every evaluation counts against `MAX` per line search.

use crate::error::{Error, Result};

/// Don't reevaluate within `INT` of the bracket's ends.
const INT: f64 = 0.1;
/// Extrapolate at most `EXT` times the current step.
const EXT: f64 = 3.0;
/// At most `MAX` evaluations per line search.
const MAX: usize = 20;
/// At most `RATIO` times the last step as the next search's first trial.
const RATIO: f64 = 10.0;
/// The most line searches per batch a config may ask for.
pub const MAX_LINE_SEARCHES: usize = 1000;
/// The curvature condition's `σ`.
pub const SIG: f64 = 0.1;
/// The sufficient-decrease condition's `ρ`.
pub const RHO: f64 = SIG / 2.0;

/// One line search: where it started and what it accepted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineSearch {
    /// `f` at the start.
    pub f0: f64,
    /// The slope `∇fᵀs` at the start (negative).
    pub d0: f64,
    /// The step taken along `s` (0 when the search failed).
    pub step: f64,
    /// `f` at the accepted point.
    pub f: f64,
    /// The slope `∇fᵀs` at the accepted point.
    pub d: f64,
    /// Whether the Wolfe conditions held (else the best point seen was kept).
    pub succeeded: bool,
}

/// What a [`minimize`] call did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CgReport {
    /// `f` at the starting point.
    pub f_start: f64,
    /// `f` at the returned point.
    pub f_end: f64,
    /// Function-and-gradient evaluations, the first included.
    pub evaluations: usize,
    /// Every line search, in order.
    pub searches: Vec<LineSearch>,
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

fn finite(f: f64, g: &[f32]) -> bool {
    f.is_finite() && g.iter().all(|v| v.is_finite())
}

/// `out = x + a s`.
fn along(out: &mut [f32], x: &[f32], a: f64, s: &[f32]) {
    for ((o, x), s) in out.iter_mut().zip(x).zip(s) {
        *o = (*x as f64 + a * *s as f64) as f32;
    }
}

/// `eval(x, grad)`: `f(x)`, with `∇f(x)` written into `grad`.
pub type Objective<'a> = dyn FnMut(&[f32], &mut [f32]) -> Result<f64> + 'a;

/// Minimizes `f` from `x` (overwritten by the best point found) with `line_searches` line
/// searches. `eval(x, grad)` returns `f(x)` and writes `∇f(x)` into `grad`; a non-finite
/// value or gradient at a trial point makes the search retreat toward the last good one,
/// and one at the start is [`Error::NonFinite`].
pub fn minimize(x: &mut [f32], line_searches: usize, eval: &mut Objective<'_>) -> Result<CgReport> {
    let n = x.len();
    let mut df0 = vec![0.0f32; n];
    let mut f0 = eval(x, &mut df0)?;
    if !finite(f0, &df0) {
        return Err(Error::NonFinite(format!(
            "conjugate gradients: the objective at the start is {f0}"
        )));
    }
    let mut report = CgReport {
        f_start: f0,
        f_end: f0,
        evaluations: 1,
        searches: Vec::with_capacity(line_searches),
    };
    // s: the search direction; x3: the first trial step along it
    let mut s: Vec<f32> = df0.iter().map(|g| -g).collect();
    let mut d0 = -dot(&s, &s);
    let mut x3 = 1.0 / (1.0 - d0);
    let mut df3 = vec![0.0f32; n];
    let mut trial = vec![0.0f32; n];
    // the best point seen in this search, kept if the search fails
    let mut best_x = x.to_vec();
    let mut best_df = df0.clone();
    let mut ls_failed = false;

    for _ in 0..line_searches {
        let (mut best_f, start_f, start_d) = (f0, f0, d0);
        best_x.copy_from_slice(x);
        best_df.copy_from_slice(&df0);
        let mut budget = MAX;
        // extrapolation, as minimize.m does it: every cubic runs through the start (0, f0, d0)
        // and the latest trial, until the slope turns or the value rises too much
        let (mut x2, mut f2, mut d2);
        let (mut f3, mut d3);
        loop {
            (x2, f2, d2) = (0.0, f0, d0);
            let mut ok = false;
            f3 = f0;
            while !ok && budget > 0 {
                budget -= 1;
                along(&mut trial, x, x3, &s);
                f3 = eval(&trial, &mut df3)?;
                report.evaluations += 1;
                ok = finite(f3, &df3);
                if !ok {
                    x3 = (x2 + x3) / 2.0;
                }
            }
            if !ok {
                // no finite trial within the budget: the search fails
                d3 = 0.0;
                f3 = f64::INFINITY;
                break;
            }
            if f3 < best_f {
                along(&mut best_x, x, x3, &s);
                best_f = f3;
                best_df.copy_from_slice(&df3);
            }
            d3 = dot(&df3, &s);
            if d3 > SIG * d0 || f3 > f0 + x3 * RHO * d0 || budget == 0 {
                break;
            }
            let (x1, f1, d1) = (x2, f2, d2);
            (x2, f2, d2) = (x3, f3, d3);
            let a = 6.0 * (f1 - f2) + 3.0 * (d2 + d1) * (x2 - x1);
            let b = 3.0 * (f2 - f1) - (2.0 * d1 + d2) * (x2 - x1);
            let disc = b * b - a * d1 * (x2 - x1);
            let next = x1 - d1 * (x2 - x1).powi(2) / (b + disc.sqrt());
            x3 = if !next.is_finite() || disc < 0.0 || next < 0.0 || next > x2 * EXT {
                x2 * EXT
            } else if next < x2 + INT * (x2 - x1) {
                x2 + INT * (x2 - x1)
            } else {
                next
            };
        }
        // interpolation: (x4, f4, d4) the point past the minimum
        let (mut x4, mut f4, mut d4) = (x3, f3, d3);
        while ((d3.abs() > -SIG * d0) || (f3 > f0 + x3 * RHO * d0)) && budget > 0 {
            if d3 > 0.0 || f3 > f0 + x3 * RHO * d0 {
                (x4, f4, d4) = (x3, f3, d3);
            } else {
                (x2, f2, d2) = (x3, f3, d3);
            }
            let mut next = if f4 > f0 {
                // quadratic through f2, d2 and f4
                x2 - (0.5 * d2 * (x4 - x2).powi(2)) / (f4 - f2 - d2 * (x4 - x2))
            } else {
                let a = 6.0 * (f2 - f4) / (x4 - x2) + 3.0 * (d4 + d2);
                let b = 3.0 * (f4 - f2) - (2.0 * d2 + d4) * (x4 - x2);
                x2 + ((b * b - a * d2 * (x4 - x2).powi(2)).sqrt() - b) / a
            };
            if !next.is_finite() {
                next = (x2 + x4) / 2.0;
            }
            x3 = next.min(x4 - INT * (x4 - x2)).max(x2 + INT * (x4 - x2));
            along(&mut trial, x, x3, &s);
            f3 = eval(&trial, &mut df3)?;
            report.evaluations += 1;
            budget -= 1;
            if !finite(f3, &df3) {
                // treat a non-finite trial as past the minimum
                f3 = f64::INFINITY;
                d3 = f64::INFINITY;
                continue;
            }
            if f3 < best_f {
                along(&mut best_x, x, x3, &s);
                best_f = f3;
                best_df.copy_from_slice(&df3);
            }
            d3 = dot(&df3, &s);
        }
        if d3.abs() < -SIG * d0 && f3 < f0 + x3 * RHO * d0 {
            // success: move, then the Polak–Ribière direction
            along(&mut trial, x, x3, &s);
            x.copy_from_slice(&trial);
            f0 = f3;
            let beta = (dot(&df3, &df3) - dot(&df0, &df3)) / dot(&df0, &df0);
            for (si, g) in s.iter_mut().zip(&df3) {
                *si = (beta * *si as f64 - *g as f64) as f32;
            }
            df0.copy_from_slice(&df3);
            let last_d0 = d0;
            d0 = dot(&df0, &s);
            if d0 > 0.0 {
                for (si, g) in s.iter_mut().zip(&df0) {
                    *si = -g;
                }
                d0 = -dot(&s, &s);
            }
            let taken = x3;
            x3 *= RATIO.min(last_d0 / (d0 - f64::MIN_POSITIVE));
            ls_failed = false;
            report.searches.push(LineSearch {
                f0: start_f,
                d0: start_d,
                step: taken,
                f: f0,
                d: d3,
                succeeded: true,
            });
        } else {
            // failure: back to the best point seen, and steepest descent from there
            x.copy_from_slice(&best_x);
            f0 = best_f;
            df0.copy_from_slice(&best_df);
            report.searches.push(LineSearch {
                f0: start_f,
                d0: start_d,
                step: 0.0,
                f: f0,
                d: d3,
                succeeded: false,
            });
            if ls_failed {
                break;
            }
            for (si, g) in s.iter_mut().zip(&df0) {
                *si = -g;
            }
            d0 = -dot(&s, &s);
            x3 = 1.0 / (1.0 - d0);
            ls_failed = true;
        }
    }
    report.f_end = f0;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    /// `f = ½ xᵀAx − bᵀx` with `A = QᵀDQ`, eigenvalues 1…`cond`.
    fn quadratic(n: usize, cond: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Rng::new(seed);
        let mut m: Vec<f64> = (0..n * n).map(|_| rng.normal() as f64).collect();
        // Gram–Schmidt on the rows of m: an orthogonal Q
        for i in 0..n {
            for j in 0..i {
                let d: f64 = (0..n).map(|k| m[i * n + k] * m[j * n + k]).sum();
                for k in 0..n {
                    m[i * n + k] -= d * m[j * n + k];
                }
            }
            let norm = (0..n).map(|k| m[i * n + k].powi(2)).sum::<f64>().sqrt();
            (0..n).for_each(|k| m[i * n + k] /= norm);
        }
        let eig: Vec<f64> = (0..n)
            .map(|i| cond.powf(i as f64 / (n - 1) as f64))
            .collect();
        let mut a = vec![0.0; n * n];
        for r in 0..n {
            for c in 0..n {
                a[r * n + c] = (0..n).map(|k| m[k * n + r] * eig[k] * m[k * n + c]).sum();
            }
        }
        let b = (0..n).map(|_| rng.normal() as f64).collect();
        (a, b)
    }

    fn quadratic_eval<'a>(
        a: &'a [f64],
        b: &'a [f64],
        evals: &'a mut Vec<(Vec<f32>, f64)>,
    ) -> impl FnMut(&[f32], &mut [f32]) -> Result<f64> + 'a {
        let n = b.len();
        move |x, g| {
            let mut f = 0.0;
            for r in 0..n {
                let ax: f64 = (0..n).map(|c| a[r * n + c] * x[c] as f64).sum();
                g[r] = (ax - b[r]) as f32;
                f += 0.5 * x[r] as f64 * ax - b[r] * x[r] as f64;
            }
            evals.push((x.to_vec(), f));
            Ok(f)
        }
    }

    #[test]
    fn every_accepted_step_satisfies_the_strong_wolfe_conditions_on_a_quadratic() {
        let n = 20;
        let (a, b) = quadratic(n, 100.0, 3);
        let mut evals = Vec::new();
        let mut x = vec![0.0f32; n];
        let report = minimize(&mut x, 60, &mut quadratic_eval(&a, &b, &mut evals)).unwrap();
        assert!(
            report.searches.len() >= 20,
            "{} searches",
            report.searches.len()
        );
        let mut succeeded = 0;
        for s in &report.searches {
            assert!(s.d0 < 0.0, "a search along an ascent direction: {s:?}");
            if s.succeeded {
                succeeded += 1;
                assert!(s.step > 0.0);
                assert!(
                    s.f <= s.f0 + RHO * s.step * s.d0 + 1e-9,
                    "sufficient decrease: {s:?}"
                );
                assert!(s.d.abs() <= -SIG * s.d0 + 1e-9, "curvature: {s:?}");
            }
        }
        assert!(succeeded >= 20, "{succeeded} successful searches");
        // the values only go down, and the minimum A⁻¹b is reached (f* = −½ bᵀA⁻¹b)
        for w in report.searches.windows(2) {
            assert!(w[1].f <= w[0].f + 1e-9);
        }
        let mut g = vec![0.0f32; n];
        let mut unused = Vec::new();
        let f_end = quadratic_eval(&a, &b, &mut unused)(&x, &mut g).unwrap();
        assert!((f_end - report.f_end).abs() < 1e-6 * f_end.abs().max(1.0));
        let gnorm = g.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
        let bnorm = b.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(gnorm < 1e-3 * bnorm, "‖∇f‖ = {gnorm}");
        assert_eq!(report.evaluations, evals.len());
    }

    #[test]
    fn conjugate_directions_beat_steepest_descent_on_an_ill_conditioned_quadratic() {
        // n line searches of CG on an n-D quadratic get much closer than n of steepest descent
        let n = 10;
        let (a, b) = quadratic(n, 1000.0, 5);
        let mut evals = Vec::new();
        let mut x = vec![0.0f32; n];
        let cg = minimize(&mut x, 2 * n, &mut quadratic_eval(&a, &b, &mut evals))
            .unwrap()
            .f_end;
        // steepest descent with exact line searches, 2n of them
        let mut y = vec![0.0f64; n];
        for _ in 0..2 * n {
            let g: Vec<f64> = (0..n)
                .map(|r| (0..n).map(|c| a[r * n + c] * y[c]).sum::<f64>() - b[r])
                .collect();
            let gg: f64 = g.iter().map(|v| v * v).sum();
            let gag: f64 = (0..n)
                .map(|r| g[r] * (0..n).map(|c| a[r * n + c] * g[c]).sum::<f64>())
                .sum();
            (0..n).for_each(|i| y[i] -= gg / gag * g[i]);
        }
        let f = |x: &[f64]| -> f64 {
            (0..n)
                .map(|r| {
                    0.5 * x[r] * (0..n).map(|c| a[r * n + c] * x[c]).sum::<f64>() - b[r] * x[r]
                })
                .sum()
        };
        // f* from many CG searches
        let mut z = vec![0.0f32; n];
        let f_star = minimize(&mut z, 200, &mut quadratic_eval(&a, &b, &mut Vec::new()))
            .unwrap()
            .f_end;
        let (gap_cg, gap_sd) = (cg - f_star, f(&y) - f_star);
        assert!(
            gap_cg < 0.01 * gap_sd,
            "CG gap {gap_cg}, steepest descent gap {gap_sd}"
        );
    }

    #[test]
    fn rosenbrock_reaches_its_minimum() {
        let mut x = vec![-1.2f32, 1.0];
        let report = minimize(&mut x, 200, &mut |x, g| {
            let (a, b) = (x[0] as f64, x[1] as f64);
            g[0] = (-400.0 * a * (b - a * a) - 2.0 * (1.0 - a)) as f32;
            g[1] = (200.0 * (b - a * a)) as f32;
            Ok(100.0 * (b - a * a).powi(2) + (1.0 - a).powi(2))
        })
        .unwrap();
        assert!(report.f_end < 1e-6, "{report:?}");
        assert!(
            (x[0] - 1.0).abs() < 1e-2 && (x[1] - 1.0).abs() < 2e-2,
            "{x:?}"
        );
    }

    #[test]
    fn non_finite_trials_are_retreated_from_and_a_non_finite_start_is_an_error() {
        // f = (x − 10)⁴ but NaN beyond 11: the cubic extrapolation overshoots into it
        let mut x = vec![0.0f32];
        let mut nans = 0;
        let report = minimize(&mut x, 30, &mut |x, g| {
            if x[0] > 11.0 {
                nans += 1;
                g[0] = f32::NAN;
                return Ok(f64::NAN);
            }
            g[0] = 4.0 * (x[0] - 10.0).powi(3);
            Ok(((x[0] - 10.0) as f64).powi(4))
        })
        .unwrap();
        assert!(nans > 0, "no trial reached the NaN region");
        assert!(
            report.f_end.is_finite() && report.f_end < 1e-4,
            "{report:?}"
        );
        let err = minimize(&mut [1.0f32], 3, &mut |_, g| {
            g[0] = 0.0;
            Ok(f64::INFINITY)
        })
        .unwrap_err();
        assert!(matches!(err, Error::NonFinite(_)), "{err}");
    }
}
