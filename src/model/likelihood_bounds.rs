//! Likelihood estimates for a Gaussian-code model (chapter 14.4): the ELBO and the
//! importance-sampled estimate of `log p(x)` (Burda et al. 2016), both by Monte Carlo with a
//! seeded generator.

use super::Autoencoder;
use crate::error::{Error, Result};
use crate::linalg::{fastmath, Matrix, Rng};
use crate::objective::CodeDistribution;

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
    /// Estimates `−ELBO` and `−log p(x)` with `samples` importance samples per example drawn
    /// from `q(h|x)`, seeded by `seed`.
    pub fn likelihood_bounds(
        &self,
        x: &Matrix,
        samples: usize,
        seed: u64,
    ) -> Result<LikelihoodBounds> {
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
        let d = x.cols();
        let stats = self.run_layers(x, 0..self.encoder_len, false);
        let n_layers = self.layer_count();
        let mut rng = Rng::new(seed);
        let likelihood = self.spec().output;
        let (mut neg_elbo, mut nll) = (0.0f64, 0.0f64);
        let per_pass = samples.min(ROWS_PER_PASS);
        let mut codes = Matrix::zeros(per_pass, k);
        let mut log_ratio = vec![0.0f32; per_pass];
        let mut row_loss = vec![0.0f32; per_pass];
        let mut target = vec![0.0f32; per_pass * d];
        for i in 0..x.rows() {
            let (mu, log_var) = stats.row(i).split_at(k);
            for r in 0..per_pass {
                target[r * d..(r + 1) * d].copy_from_slice(x.row(i));
            }
            // streaming log-sum-exp over the example's samples
            let (mut max, mut sum_exp, mut sum_log_w) = (f64::NEG_INFINITY, 0.0f64, 0.0f64);
            let mut done = 0;
            while done < samples {
                let m = per_pass.min(samples - done);
                codes.resize_rows(m);
                for (r, log_ratio_r) in log_ratio[..m].iter_mut().enumerate() {
                    let h = codes.row_mut(r);
                    let mut ratio = 0.0f32;
                    for j in 0..k {
                        let e = rng.normal();
                        h[j] = mu[j] + fastmath::exp(0.5 * log_var[j]) * e;
                        ratio += -0.5 * h[j] * h[j] + 0.5 * e * e + 0.5 * log_var[j];
                    }
                    *log_ratio_r = ratio;
                }
                let z = self.run_layers(&codes, self.encoder_len..n_layers, false);
                likelihood.row_losses(z.as_slice(), &target[..m * d], &mut row_loss[..m]);
                for (ratio, loss) in log_ratio[..m].iter().zip(&row_loss[..m]) {
                    let lw = *ratio as f64 - *loss as f64;
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
            neg_elbo -= sum_log_w / samples as f64;
            nll -= max + sum_exp.ln() - (samples as f64).ln();
        }
        let n = x.rows().max(1) as f64;
        Ok(LikelihoodBounds {
            examples: x.rows(),
            samples,
            negative_elbo_per_example: neg_elbo / n,
            nll_per_example: nll / n,
        })
    }
}
