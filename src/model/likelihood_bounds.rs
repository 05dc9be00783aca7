//! Likelihood estimates for a Gaussian-code model (chapter 14.4): the ELBO and the
//! importance-sampled estimate of `log p(x)` (Burda et al. 2016), both by Monte Carlo with a
//! seeded generator.

use super::Autoencoder;
use crate::code::{gaussian, CodeDistribution};
use crate::error::{Error, Result};
use crate::linalg::{Cpu, Matrix, Rng};
use rayon::prelude::*;

/// Per-example bounds, in nats (means over examples).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LikelihoodBounds {
    /// Examples evaluated.
    pub examples: usize,
    /// Importance samples per example.
    pub samples: usize,
    /// Monte-Carlo estimate of `−ELBO = E_q[−log p(x|h) − log p(h) + log q(h|x)]`.
    pub negative_elbo_per_example: f64,
    /// `−log (1/K Σ_s w_s)`: the negative IWAE bound with K samples, an estimate of
    /// `−log p(x)` that is an upper bound in expectation and tightens as K grows.
    pub nll_per_example: f64,
}

/// Rows decoded per pass (examples × samples).
const ROWS_PER_PASS: usize = 4096;

impl Autoencoder {
    /// `(−ELBO, −log p̂(x))` of each row of `x`, with `samples` importance samples per example
    /// drawn from `q(h|x)`, seeded by `seed`; row `i` always uses random stream `i`, so the
    /// values do not depend on the thread count.
    pub fn example_likelihood_bounds(
        &self,
        x: &Matrix,
        samples: usize,
        seed: u64,
    ) -> Result<Vec<(f64, f64)>> {
        if self.spec().code_distribution != CodeDistribution::Gaussian {
            return Err(Error::Invalid(
                "likelihood bounds need a model with code_distribution = \"gaussian\"".into(),
            ));
        }
        if samples == 0 {
            return Err(Error::Invalid(
                "importance samples must be at least 1".into(),
            ));
        }
        if x.cols() != self.spec().input_size {
            return Err(Error::Shape(format!(
                "data has {} columns, the model expects {}",
                x.cols(),
                self.spec().input_size
            )));
        }
        let k = self.spec().code_size;
        let stats = self.run_layers(x, 0..self.encoder_len, false);
        let streams = Rng::new(seed);
        // Each example has its own random stream, and the per-example terms are summed in
        // example order afterwards, so the estimate does not depend on the thread count.
        let terms: Vec<(f64, f64)> = (0..x.rows())
            .into_par_iter()
            .map_init(
                || Scratch::new(samples.min(ROWS_PER_PASS), k),
                |scratch, i| {
                    let mut rng = streams.fork(i as u64);
                    self.example_bounds(x.row(i), stats.row(i), samples, &mut rng, scratch)
                },
            )
            .collect();
        Ok(terms)
    }

    /// Estimates `−ELBO` and `−log p(x)` with `samples` importance samples per example drawn
    /// from `q(h|x)`, seeded by `seed`. Examples run in parallel on the current rayon pool,
    /// each on its own random stream, so the result is the same for any thread count.
    pub fn likelihood_bounds(
        &self,
        x: &Matrix,
        samples: usize,
        seed: u64,
    ) -> Result<LikelihoodBounds> {
        let terms = self.example_likelihood_bounds(x, samples, seed)?;
        let (neg_elbo, nll) = terms
            .iter()
            .fold((0.0f64, 0.0f64), |(e, n), (ei, ni)| (e + ei, n + ni));
        let n = x.rows().max(1) as f64;
        Ok(LikelihoodBounds {
            examples: x.rows(),
            samples,
            negative_elbo_per_example: neg_elbo / n,
            nll_per_example: nll / n,
        })
    }

    /// `(−ELBO, −log p̂(x))` of one example from `samples` draws of `q(h|x)`; `stats` is the
    /// encoder's output row, mean then log-variance. Runs on one thread.
    fn example_bounds(
        &self,
        x: &[f32],
        stats: &[f32],
        samples: usize,
        rng: &mut Rng,
        scratch: &mut Scratch,
    ) -> (f64, f64) {
        let k = self.spec().code_size;
        let d = x.len();
        let one_thread = Cpu::new(1);
        let likelihood = self.spec().output;
        let per_pass = scratch.log_ratio.len();
        // streaming log-sum-exp over the example's samples
        let (mut max, mut sum_exp, mut sum_log_w) = (f64::NEG_INFINITY, 0.0f64, 0.0f64);
        let mut done = 0;
        while done < samples {
            let m = per_pass.min(samples - done);
            scratch.codes.resize_rows(m);
            // the same proposal and log-ratio as the IWAE training objective
            gaussian::sample_forward_importance(
                stats,
                k,
                m,
                scratch.codes.as_mut_slice(),
                &mut scratch.eps[..m * k],
                &mut scratch.log_ratio[..m],
                rng,
            );
            let z = self.run_layers_on(
                &one_thread,
                &scratch.codes,
                self.encoder_len..self.layer_count(),
                false,
            );
            // every decoded row is scored against the same x: no repeated target copy
            for (ratio, z_row) in scratch.log_ratio[..m]
                .iter()
                .zip(z.as_slice().chunks_exact(d))
            {
                let lw = *ratio as f64 - likelihood.row_loss(z_row, x) as f64;
                sum_log_w += lw;
                if lw > max {
                    sum_exp = sum_exp * (max - lw).exp() + 1.0;
                    max = lw;
                } else {
                    sum_exp += (lw - max).exp();
                }
            }
            done += m;
        }
        let neg_elbo = -sum_log_w / samples as f64;
        let nll = -(max + sum_exp.ln() - (samples as f64).ln());
        (neg_elbo, nll)
    }
}

/// One worker's buffers for [`Autoencoder::example_bounds`], sized for one pass of samples.
struct Scratch {
    codes: Matrix,
    eps: Vec<f32>,
    log_ratio: Vec<f32>,
}

impl Scratch {
    fn new(rows: usize, code_size: usize) -> Self {
        Scratch {
            codes: Matrix::zeros(rows, code_size),
            eps: vec![0.0; rows * code_size],
            log_ratio: vec![0.0; rows],
        }
    }
}
