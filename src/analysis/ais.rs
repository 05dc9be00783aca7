//! Annealed importance sampling of an RBM's partition function (Neal 2001; Salakhutdinov &
//! Murray 2008, "On the quantitative analysis of deep belief networks", ICML).
//!
//! The base-rate model `A` has no weights and the visible biases `b_A = logit(mean of the
//! data)`, so `Z_A = 2^m Π_i (1 + e^{b_A,i})` is exact. The intermediate models interpolate
//! between `A` (β = 0) and the RBM `B` (β = 1); with the hidden units summed out,
//!
//! ```text
//! log p*_β(v) = (1 − β) b_Aᵀv + β b_Bᵀv + Σ_j softplus(β (W_j v + c_j))
//! ```
//!
//! Each run starts at `v₀ ~ A`, and at each `β_k` adds `log p*_{β_k}(v) − log p*_{β_{k−1}}(v)`
//! to its log weight, then moves `v` by one Gibbs step that leaves `p_{β_k}` invariant:
//! `h ~ σ(β_k (W v + c))`, `v ~ σ((1 − β_k) b_A + β_k (Wᵀh + b_B))`. Then
//! `Z_B / Z_A ≈ mean of the weights`, and `log Z_B ≈ log Z_A + log mean(w)`; its standard error
//! comes from the spread of the weights (delta method). Bernoulli units only.
//!
//! The runs move together as the rows of one matrix, each with its own random stream, so the
//! estimate depends on the seed (and, through GEMM's sums, the thread count) only.

use crate::error::{Error, Result};
use crate::linalg::backend::Cpu;
use crate::linalg::{fastmath, Matrix, Rng};
use crate::nn::Activation;
use crate::rbm::{Rbm, Units};
use rayon::prelude::*;

/// An AIS estimate of `log Z`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogPartition {
    /// The estimate of `log Z`.
    pub log_partition: f64,
    /// Its standard error (delta method over runs).
    pub stderr: f64,
    /// Runs and intermediate distributions used.
    pub runs: usize,
    pub betas: usize,
}

/// Estimates `log Z` of `rbm` by `runs` AIS runs over `betas` intermediate distributions,
/// spaced as Salakhutdinov & Murray's 14,500 are (500 : 4,000 : 10,000 uniformly over
/// [0, 0.5], [0.5, 0.9], [0.9, 1]: the bias of a short schedule comes from the end near the
/// RBM), with the base-rate model fit to `data` (rows in [0, 1]).
pub fn log_partition(
    rbm: &Rbm,
    data: &Matrix,
    runs: usize,
    betas: usize,
    seed: u64,
) -> Result<LogPartition> {
    let spec = rbm.spec();
    if spec.visible_units != Units::Bernoulli || spec.hidden_units != Units::Bernoulli {
        return Err(Error::Invalid(
            "AIS here anneals Bernoulli–Bernoulli RBMs only".into(),
        ));
    }
    if runs == 0 || betas < 2 {
        return Err(Error::Invalid(
            "AIS needs at least 1 run and 2 intermediate distributions".into(),
        ));
    }
    if data.cols() != spec.visible || data.rows() == 0 {
        return Err(Error::Shape(format!(
            "the base-rate model needs data of {} columns, got {} × {}",
            spec.visible,
            data.rows(),
            data.cols()
        )));
    }
    let (d, m) = (spec.visible, spec.hidden);
    // base rates, smoothed so that no pixel's probability is exactly 0 or 1
    let n = data.rows() as f64;
    let base: Vec<f64> = (0..d)
        .map(|i| {
            let p =
                ((0..data.rows()).map(|r| data.row(r)[i] as f64).sum::<f64>() + 0.05) / (n + 0.1);
            (p / (1.0 - p)).ln()
        })
        .collect();
    let log_za = m as f64 * std::f64::consts::LN_2 + base.iter().map(|b| softplus(*b)).sum::<f64>();
    // All runs advance together, one row each, so each step's two products with W are GEMMs
    // (`R × d` by `d × m` and back): the scalar loop per run this replaced needed minutes per
    // run for a 784-500 RBM. The state is f32 (binary visible and hidden states, f32 totals);
    // the log weights and the softplus differences that make them are f64, since they sum
    // over up to 10⁴ steps.
    let cpu = Cpu::new(0);
    let (up, down) = (rbm.up(), rbm.down());
    let bias_step: Vec<f64> = rbm
        .visible_bias
        .iter()
        .zip(&base)
        .map(|(b, a)| *b as f64 - a)
        .collect();
    let base32: Vec<f32> = base.iter().map(|b| *b as f32).collect();
    let streams = Rng::new(seed);
    let mut rngs: Vec<Rng> = (0..runs).map(|r| streams.fork(r as u64)).collect();
    // v: R × d visible states; totals: R × m, W v + c; h: R × m; down_in: R × d, h W + b_B
    let mut v = Matrix::zeros(runs, d);
    v.as_mut_slice()
        .par_chunks_mut(d)
        .zip(rngs.par_iter_mut())
        .for_each(|(row, rng)| {
            for (x, b) in row.iter_mut().zip(&base) {
                *x = f32::from(u8::from((rng.uniform() as f64) < sigmoid(*b)));
            }
        });
    let mut totals = Matrix::zeros(runs, m);
    let mut h = Matrix::zeros(runs, m);
    let mut down_in = Matrix::zeros(runs, d);
    let mut log_weights = vec![0.0f64; runs];
    let schedule = beta_schedule(betas);
    for k in 1..betas {
        let (prev, beta) = (schedule[k - 1], schedule[k]);
        // totals = W v + c of the current states (the start, or after the last Gibbs step)
        up.forward(
            &cpu,
            v.as_slice(),
            runs,
            Activation::Linear,
            totals.as_mut_slice(),
        );
        // log p*_β(v) − log p*_β'(v) = (β − β')(b_B − b_A)ᵀv + Σ_j softplus(β t_j) − softplus(β' t_j)
        log_weights
            .par_iter_mut()
            .zip(v.as_slice().par_chunks(d))
            .zip(totals.as_slice().par_chunks(m))
            .for_each(|((log_w, vr), tr)| {
                let linear: f64 = vr.iter().zip(&bias_step).map(|(x, b)| *x as f64 * b).sum();
                let hidden: f64 = tr
                    .iter()
                    .map(|t| softplus(beta * *t as f64) - softplus(prev * *t as f64))
                    .sum();
                *log_w += (beta - prev) * linear + hidden;
            });
        if k + 1 == betas {
            break;
        }
        // one Gibbs step that leaves p_β invariant
        let beta32 = beta as f32;
        h.as_mut_slice()
            .par_chunks_mut(m)
            .zip(totals.as_slice().par_chunks(m))
            .zip(rngs.par_iter_mut())
            .for_each(|((hr, tr), rng)| {
                for (hj, t) in hr.iter_mut().zip(tr) {
                    *hj = f32::from(u8::from(rng.uniform() < fastmath::sigmoid(beta32 * t)));
                }
            });
        down.forward(
            &cpu,
            h.as_slice(),
            runs,
            Activation::Linear,
            down_in.as_mut_slice(),
        );
        v.as_mut_slice()
            .par_chunks_mut(d)
            .zip(down_in.as_slice().par_chunks(d))
            .zip(rngs.par_iter_mut())
            .for_each(|((vr, ar), rng)| {
                for ((x, a), b) in vr.iter_mut().zip(ar).zip(&base32) {
                    let total = (1.0 - beta32) * b + beta32 * a;
                    *x = f32::from(u8::from(rng.uniform() < fastmath::sigmoid(total)));
                }
            });
    }
    let max = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let scaled: Vec<f64> = log_weights.iter().map(|l| (l - max).exp()).collect();
    let mean = scaled.iter().sum::<f64>() / runs as f64;
    let var = scaled.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (runs.max(2) - 1) as f64;
    Ok(LogPartition {
        log_partition: log_za + max + mean.ln(),
        // d log(mean) = d mean / mean
        stderr: (var / runs as f64).sqrt() / mean,
        runs,
        betas,
    })
}

/// `n ≥ 2` inverse temperatures from 0 to 1 in Salakhutdinov & Murray's proportions.
fn beta_schedule(n: usize) -> Vec<f64> {
    let steps = n - 1;
    let first = (steps * 500 / 14_500).max(1);
    let second = (steps * 4_000 / 14_500).max(1);
    let third = steps.saturating_sub(first + second).max(1);
    let mut out = vec![0.0f64];
    for (count, from, to) in [(first, 0.0, 0.5), (second, 0.5, 0.9), (third, 0.9, 1.0)] {
        for i in 1..=count {
            out.push(from + (to - from) * i as f64 / count as f64);
        }
    }
    // short schedules: keep exactly n points, ending at 1
    while out.len() > n {
        out.remove(out.len() - 2);
    }
    out
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}
