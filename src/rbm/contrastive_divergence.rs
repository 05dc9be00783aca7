//! Contrastive divergence (Hinton 2002) and persistent contrastive divergence (Tieleman 2008):
//! an RBM as a [`Learner`] of the one training loop, with no backward pass.
//!
//! The log-likelihood gradient of an RBM is a difference of two expectations,
//!
//! ```text
//! ∂ log p(v) / ∂W = E_{p(h|v)}[h vᵀ] − E_{p(v,h)}[h vᵀ]      (data term − model term)
//! ∂ log p(v) / ∂b = v − E_{p(v)}[v],   ∂ log p(v) / ∂c = E_{p(h|v)}[h] − E_{p(h)}[h]
//! ```
//!
//! CD-k estimates the model term from a Gibbs chain of `k` steps started at the data;
//! PCD keeps one chain per batch row running across updates ("fantasy particles"). Both terms
//! use hidden probabilities `p(h | v)`; the model term's `v` is a sample of the chain (with the
//! mean-field reconstruction instead, the estimate stays biased however long the chain: on a
//! 6-visible, 4-hidden machine CD-200's cosine with the exact gradient was 0.989 with means). The
//! update is the negative of this estimate (plus weight decay), given to the optimizer (SGD
//! with momentum in the guide).

use super::{row_lengths, softmax_rows, Rbm, Units};
use crate::error::{Error, Result};
use crate::linalg::gemm::View;
use crate::linalg::{Backend, Cpu, Matrix, Rng};
use crate::nn::Optimizer;
use crate::objective::weight_decay;
use crate::train::{Batch, Examples, Learner, Validation};

/// How the model term is estimated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CdConfig {
    /// Gibbs steps `k` per update (at least 1).
    pub steps: usize,
    /// Keep the chains between updates (PCD) instead of restarting them at the data (CD).
    pub persistent: bool,
    /// `λ` of weight decay `(λ/2)‖W‖²` (not on biases).
    pub weight_decay: f32,
}

/// An RBM trained by (persistent) contrastive divergence.
pub struct RbmLearner<'a> {
    rbm: &'a mut Rbm,
    config: CdConfig,
}

impl<'a> RbmLearner<'a> {
    /// `rbm` trained with `config`; refuses `steps = 0`.
    pub fn new(rbm: &'a mut Rbm, config: CdConfig) -> Result<Self> {
        if config.steps == 0 {
            return Err(Error::config("train.cd_steps", "must be at least 1"));
        }
        if !(config.weight_decay >= 0.0 && config.weight_decay.is_finite()) {
            return Err(Error::config("weight_decay", "must be ≥ 0"));
        }
        Ok(RbmLearner { rbm, config })
    }
}

/// Buffers of one update (`rows` = the batch size; `d` visible, `m` hidden units).
pub struct CdWorkspace {
    backend: Cpu,
    /// `rows × m`: `p(h | v₀)`, the data term's hidden probabilities.
    h_data: Vec<f32>,
    /// `rows × m`: the chain's hidden state (samples), then the model term's probabilities.
    h_chain: Vec<f32>,
    /// `rows × d`: the chain's visible state.
    v_chain: Vec<f32>,
    /// PCD's fantasy particles (`rows × d`), started at the first batch.
    particles: Option<Vec<f32>>,
    /// PCD: `E[v | p(h | v₀)]`, the monitor's reconstruction (`rows × d`; empty for CD).
    v_recon: Vec<f32>,
    /// Gradients of `W` (`m × d`), `b` (`d`), `c` (`m`).
    grad_w: Vec<f32>,
    grad_b: Vec<f32>,
    grad_c: Vec<f32>,
}

impl CdWorkspace {
    fn new(rbm: &Rbm, rows: usize) -> Self {
        let (d, m) = (rbm.spec().visible, rbm.spec().hidden);
        CdWorkspace {
            backend: Cpu::new(0),
            h_data: vec![0.0; rows * m],
            h_chain: vec![0.0; rows * m],
            v_chain: vec![0.0; rows * d],
            particles: None,
            v_recon: Vec::new(),
            grad_w: vec![0.0; m * d],
            grad_b: vec![0.0; d],
            grad_c: vec![0.0; m],
        }
    }
}

/// The CD-k (or PCD-k) estimate of the negative log-likelihood gradient on `v0` (`rows × d`),
/// left in `ws.grad_*`; returns the squared reconstruction error summed over the batch: of the
/// chain's first step `E[v | h₁]`, `h₁ ~ p(h | v₀)`, for CD; of the mean-field
/// `E[v | p(h | v₀)]` for PCD, whose chain does not start at the data.
fn cd_gradient(
    rbm: &Rbm,
    v0: &[f32],
    rows: usize,
    config: &CdConfig,
    ws: &mut CdWorkspace,
    rng: &mut Rng,
) -> f64 {
    let spec = rbm.spec().clone();
    let (d, m) = (spec.visible, spec.hidden);
    let (h_act, v_act) = (
        spec.hidden_units.mean_activation(),
        spec.visible_units.mean_activation(),
    );
    let backend: &dyn Backend = &ws.backend;
    let (up, down) = (rbm.up(), rbm.down());
    let h_data = &mut ws.h_data[..rows * m];
    let h_chain = &mut ws.h_chain[..rows * m];
    let v_chain = &mut ws.v_chain[..rows * d];
    // data term: p(h | v₀)
    up.forward(backend, v0, rows, h_act, h_data);
    // the chain: from v₀ (CD) or the particles (PCD)
    let mut recon_error = 0.0f64;
    match (&ws.particles, config.persistent) {
        (Some(p), true) => v_chain.copy_from_slice(&p[..rows * d]),
        _ => v_chain.copy_from_slice(v0),
    }
    // replicated softmax: each chain keeps its document's length (sampling preserves it)
    let softmax = spec.visible_units == Units::Softmax;
    let chain_lengths = if softmax {
        row_lengths(v_chain, d)
    } else {
        Vec::new()
    };
    for t in 0..config.steps {
        if t == 0 && !config.persistent {
            h_chain.copy_from_slice(h_data);
        } else {
            up.forward(backend, v_chain, rows, h_act, h_chain);
        }
        spec.hidden_units.sample_in_place(h_chain, m, rng);
        down.forward(backend, h_chain, rows, v_act, v_chain);
        if softmax {
            softmax_rows(v_chain, d, &chain_lengths);
        }
        if t == 0 && !config.persistent {
            recon_error = v0
                .iter()
                .zip(v_chain.iter())
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum();
        }
        // a sample, also at the last step: the model term E[h vᵀ] is then an average over a
        // real chain state (mean-field visible states bias it, whatever k is)
        spec.visible_units.sample_in_place(v_chain, d, rng);
    }
    if config.persistent {
        ws.particles
            .get_or_insert_with(|| vec![0.0; v_chain.len()])
            .copy_from_slice(v_chain);
        if ws.v_recon.len() < rows * d {
            ws.v_recon.resize(rows * d, 0.0);
        }
        let recon = &mut ws.v_recon[..rows * d];
        down.forward(backend, h_data, rows, v_act, recon);
        if softmax {
            softmax_rows(recon, d, &row_lengths(v0, d));
        }
        recon_error = v0
            .iter()
            .zip(recon.iter())
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum();
    }
    // model term: p(h | v_k)
    up.forward(backend, v_chain, rows, h_act, h_chain);
    // −∂ log p / ∂W = −(h_dataᵀ v₀ − h_chainᵀ v_k) / rows  (+ λ W)
    let scale = 1.0 / rows as f32;
    backend.gemm(
        &mut ws.grad_w,
        false,
        View::new(h_data, rows, m),
        true,
        View::new(v0, rows, d),
        false,
        -scale,
    );
    backend.gemm(
        &mut ws.grad_w,
        true,
        View::new(h_chain, rows, m),
        true,
        View::new(v_chain, rows, d),
        false,
        scale,
    );
    if config.weight_decay > 0.0 {
        weight_decay::add_grad(config.weight_decay, &rbm.weight, &mut ws.grad_w);
    }
    ws.grad_b.fill(0.0);
    for (data, model) in v0.chunks_exact(d).zip(v_chain.chunks_exact(d)) {
        for ((g, a), b) in ws.grad_b.iter_mut().zip(data).zip(model) {
            *g -= scale * (a - b);
        }
    }
    ws.grad_c.fill(0.0);
    for (data, model) in h_data.chunks_exact(m).zip(h_chain.chunks_exact(m)) {
        for ((g, a), b) in ws.grad_c.iter_mut().zip(data).zip(model) {
            *g -= scale * (a - b);
        }
    }
    recon_error
}

/// The CD-k estimate of the mean negative log-likelihood gradient of `v` (`rows × d`), as
/// `(∂W, ∂b, ∂c)`, restarting from the data (for tests and analysis).
pub fn cd_estimate(
    rbm: &Rbm,
    v: &Matrix,
    steps: usize,
    rng: &mut Rng,
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    if v.cols() != rbm.spec().visible {
        return Err(Error::Shape(format!(
            "data has {} columns, the RBM expects {}",
            v.cols(),
            rbm.spec().visible
        )));
    }
    let config = CdConfig {
        steps: steps.max(1),
        persistent: false,
        weight_decay: 0.0,
    };
    let mut ws = CdWorkspace::new(rbm, v.rows());
    cd_gradient(rbm, v.as_slice(), v.rows(), &config, &mut ws, rng);
    Ok((ws.grad_w, ws.grad_b, ws.grad_c))
}

impl Learner for RbmLearner<'_> {
    type Model = Rbm;
    type Workspace = CdWorkspace;

    fn model(&self) -> &Rbm {
        self.rbm
    }

    fn input_width(&self) -> usize {
        self.rbm.spec().visible
    }

    fn workspace(&self, max_rows: usize) -> Result<CdWorkspace> {
        Ok(CdWorkspace::new(self.rbm, max_rows))
    }

    fn parameters(&self) -> Vec<&[f32]> {
        vec![
            &self.rbm.weight,
            &self.rbm.visible_bias,
            &self.rbm.hidden_bias,
        ]
    }

    fn parameters_mut(&mut self) -> Vec<&mut [f32]> {
        let rbm = &mut *self.rbm;
        vec![&mut rbm.weight, &mut rbm.visible_bias, &mut rbm.hidden_bias]
    }

    fn step(
        &mut self,
        ws: &mut CdWorkspace,
        batch: &mut Batch<'_>,
        rng: &mut Rng,
        optimizer: &mut Optimizer,
        learning_rate: f32,
    ) -> Result<f64> {
        let rows = batch.x.rows();
        let error = cd_gradient(self.rbm, batch.x.as_slice(), rows, &self.config, ws, rng);
        let threads = ws.backend.threads();
        optimizer.begin_step();
        optimizer.update(0, &mut self.rbm.weight, &ws.grad_w, learning_rate, threads);
        optimizer.update(
            1,
            &mut self.rbm.visible_bias,
            &ws.grad_b,
            learning_rate,
            threads,
        );
        optimizer.update(
            2,
            &mut self.rbm.hidden_bias,
            &ws.grad_c,
            learning_rate,
            threads,
        );
        let per_example = error / rows as f64;
        if !per_example.is_finite() {
            return Err(Error::NonFinite(format!(
                "the reconstruction error became {per_example}"
            )));
        }
        Ok(per_example)
    }

    fn validate(&self, data: &Examples<'_>) -> Result<Validation> {
        let x = data.matrix()?;
        let error = self.rbm.reconstruction_error(&x)?;
        let f = self.rbm.free_energy(&x)?;
        let mean_f = f.iter().sum::<f64>() / f.len().max(1) as f64;
        Ok(Validation {
            score: error,
            squared_error: Some(error),
            free_energy: Some(mean_f),
            ..Validation::default()
        })
    }

    fn divergence_message(&self, epoch: usize, what: &str) -> String {
        format!(
            "RBM training diverged in epoch {epoch} ({what}); kept the weights from the start of that epoch. \
             Try a lower learning rate (Gaussian units need smaller ones, about 0.001)"
        )
    }
}
