//! Recirculation (Hinton & McClelland 1988, "Learning representations by recirculation",
//! NIPS; *Deep Learning* ch. 14 intro): an autoencoder trained without a backward pass, by
//! comparing the activations on the original input with those on its reconstruction.
//!
//! For one hidden layer, visible `x(0)` goes round the loop twice:
//!
//! ```text
//! h(0) = σ(W_h x(0) + c)                              the code
//! x(1) = λ x(0) + (1 − λ) g(W_v h(0) + b)             the reconstruction, "regressed" to x(0)
//! h(1) = σ(W_h x(1) + c)                              the code of the reconstruction
//! ΔW_v = ε (x(0) − x(1)) h(0)ᵀ,   Δb = ε (x(0) − x(1))
//! ΔW_h = ε (h(0) − h(1)) x(1)ᵀ,   Δc = ε (h(0) − h(1))
//! ```
//!
//! with `g` the output's mean function (σ for Bernoulli data, the identity for Gaussian) and
//! batch means over rows. The visible update is the delta rule: gradient descent on
//! `½‖x(0) − x(1)‖²` with the hidden activity held fixed (exactly so for a linear `g`, and up to
//! the factor `(1 − λ) g'` otherwise).
//!
//! **Scale.** Since `x(0) − x(1) = (1 − λ)(x(0) − g(·))`, the paper's updates are `(1 − λ)`
//! times the delta rule `(x(0) − g(·)) h(0)ᵀ` — which is exactly backprop's gradient for the
//! decoder of a Bernoulli (cross-entropy) or Gaussian output — and the hidden update shrinks
//! by the same factor. We divide both by `(1 − λ)`, so `learning_rate` means what it means
//! for backprop: with λ = 0.75 the paper's ε is our `learning_rate / 4`. The hidden update is **not** the gradient of any
//! objective in general: it approximates back-propagating the reconstruction error through
//! `W_v` only when the visible and hidden weights are (nearly) symmetric, `W_v ≈ W_hᵀ`, and `λ`
//! is large — the paper's argument, which its simulations and ours support only empirically.
//! One hidden layer only: the rule has no signal for layers the recirculated activity does not
//! reach (train deeper stacks layer by layer instead).

use super::learner::{Batch, Examples, Learner, Validation};
use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::layers::dense::column_sums_add;
use crate::linalg::gemm::View;
use crate::linalg::{Backend, Cpu, Rng};
use crate::model::{Autoencoder, Half};
use crate::nn::{Activation, Optimizer};
use crate::objective::{weight_decay, Objective};

/// A one-hidden-layer autoencoder trained by recirculation.
pub struct RecirculationLearner<'a> {
    model: &'a mut Autoencoder,
    lambda: f32,
    weight_decay: f32,
}

impl<'a> RecirculationLearner<'a> {
    /// `model` trained by recirculation with regression `lambda` ∈ [0, 1) (the paper's 0.75);
    /// refuses what the rule cannot honour, naming the key.
    pub fn new(model: &'a mut Autoencoder, lambda: f32, objective: &Objective) -> Result<Self> {
        model.require_dense("recirculation")?;
        let spec = model.spec();
        if !(0.0..1.0).contains(&lambda) {
            return Err(Error::config(
                "train.recirculation_lambda",
                "must be in [0, 1) (the paper's 0.75)",
            ));
        }
        if !spec.encoder_layers.is_empty()
            || spec.decoder_layers.as_ref().is_some_and(|d| !d.is_empty())
        {
            return Err(Error::config(
                "model.layers",
                "recirculation trains one hidden layer (layers = []); the rule has no signal for deeper layers",
            ));
        }
        if spec.code_distribution != CodeDistribution::Deterministic {
            return Err(Error::config(
                "model.code_distribution",
                "recirculation needs a deterministic code",
            ));
        }
        if spec.output == crate::Likelihood::Multinomial {
            return Err(Error::config(
                "model.output",
                "recirculation reconstructs each feature on its own: use bernoulli or gaussian",
            ));
        }
        if spec.code_activation != Activation::Sigmoid {
            return Err(Error::config(
                "model.code_activation",
                "recirculation's hidden units are logistic: use code_activation = \"sigmoid\"",
            ));
        }
        if spec.tied {
            return Err(Error::config(
                "model.tied",
                "recirculation updates the visible and hidden weights separately: use tied = false",
            ));
        }
        let refuse = |what: &str| {
            Err(Error::config(
                "train.rule",
                format!("recirculation has no gradient to add {what} to; use rule = \"backprop\""),
            ))
        };
        if objective.corruption.is_some() {
            return refuse("a corruption");
        }
        if !objective.code_penalties.is_empty() {
            return refuse("code penalties");
        }
        if let Some(p) = objective
            .parameter_penalties
            .iter()
            .find(|p| !super::Rule::Recirculation { lambda }.applies(p))
        {
            return refuse(p.kind());
        }
        Ok(RecirculationLearner {
            model,
            lambda,
            weight_decay: objective.weight_decay(),
        })
    }
}

/// Buffers of one update (`rows` examples, `d` visible, `m` hidden units).
pub struct RecirculationWorkspace {
    backend: Cpu,
    /// `rows × m`: `h(0)`, `h(1)` and `h(0) − h(1)`.
    h0: Vec<f32>,
    h1: Vec<f32>,
    dh: Vec<f32>,
    /// `rows × d`: `g(W_v h(0) + b)`, then `x(1)`.
    x1: Vec<f32>,
    /// `rows × d`: `x(0) − x(1)`.
    dx: Vec<f32>,
    /// Descent directions of `W_h` (`m × d`), `c`, `W_v` (`d × m`), `b`.
    grad_wh: Vec<f32>,
    grad_c: Vec<f32>,
    grad_wv: Vec<f32>,
    grad_b: Vec<f32>,
    /// Tensor indices of `W_h`, `c`, `W_v`, `b` in the model.
    tensors: [usize; 4],
}

impl Learner for RecirculationLearner<'_> {
    type Model = Autoencoder;
    type Workspace = RecirculationWorkspace;

    fn model(&self) -> &Autoencoder {
        self.model
    }

    fn input_width(&self) -> usize {
        self.model.spec().input_size
    }

    fn workspace(&self, rows: usize) -> Result<RecirculationWorkspace> {
        let (d, m) = (self.model.spec().input_size, self.model.spec().code_size);
        let (wh, c) = self
            .model
            .tensor_indices(Half::Encoder, 0)
            .expect("one encoder layer");
        let (wv, b) = self
            .model
            .tensor_indices(Half::Decoder, 0)
            .expect("one decoder layer");
        Ok(RecirculationWorkspace {
            backend: Cpu::new(0),
            h0: vec![0.0; rows * m],
            h1: vec![0.0; rows * m],
            dh: vec![0.0; rows * m],
            x1: vec![0.0; rows * d],
            dx: vec![0.0; rows * d],
            grad_wh: vec![0.0; m * d],
            grad_c: vec![0.0; m],
            grad_wv: vec![0.0; d * m],
            grad_b: vec![0.0; d],
            tensors: [wh, c, wv, b],
        })
    }

    fn parameters(&self) -> Vec<&[f32]> {
        self.model.parameter_slices()
    }

    fn parameters_mut(&mut self) -> Vec<&mut [f32]> {
        self.model.parameter_slices_mut()
    }

    fn step(
        &mut self,
        ws: &mut RecirculationWorkspace,
        batch: &mut Batch<'_>,
        _rng: &mut Rng,
        optimizer: &mut Optimizer,
        learning_rate: f32,
    ) -> Result<f64> {
        let rows = batch.x.rows();
        let (d, m) = (self.model.spec().input_size, self.model.spec().code_size);
        let x0 = batch.x.as_slice();
        let backend: &dyn Backend = &ws.backend;
        let output_mean = self.model.spec().output.mean_activation();
        let (h0, h1) = (&mut ws.h0[..rows * m], &mut ws.h1[..rows * m]);
        let (x1, dx) = (&mut ws.x1[..rows * d], &mut ws.dx[..rows * d]);
        let loss;
        {
            let enc = self
                .model
                .encoder_layer(0)
                .expect("one encoder layer")
                .dense();
            let dec = self
                .model
                .decoder_layer(0)
                .expect("one decoder layer")
                .dense();
            enc.forward(backend, x0, rows, Activation::Sigmoid, h0);
            dec.forward(backend, h0, rows, output_mean, x1);
            // the reconstruction's squared error, before the regression towards x(0)
            loss = x0
                .iter()
                .zip(x1.iter())
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                / rows as f64;
            let lambda = self.lambda;
            for ((r, x), e) in x1.iter_mut().zip(x0).zip(dx.iter_mut()) {
                *r = lambda * x + (1.0 - lambda) * *r;
                *e = x - *r;
            }
            enc.forward(backend, x1, rows, Activation::Sigmoid, h1);
        }
        let dh = &mut ws.dh[..rows * m];
        for ((e, a), b) in dh.iter_mut().zip(h0.iter()).zip(h1.iter()) {
            *e = a - b;
        }
        let dh = &ws.dh[..rows * m];
        // descent directions: the negatives of the rule's updates, as batch means, on backprop's
        // scale (divided by 1 − λ: see the module's doc)
        let scale = -1.0 / ((1.0 - self.lambda) * rows as f32);
        backend.gemm(
            &mut ws.grad_wh,
            false,
            View::new(dh, rows, m),
            true,
            View::new(&ws.x1[..rows * d], rows, d),
            false,
            scale,
        );
        backend.gemm(
            &mut ws.grad_wv,
            false,
            View::new(&ws.dx[..rows * d], rows, d),
            true,
            View::new(&ws.h0[..rows * m], rows, m),
            false,
            scale,
        );
        column_means(dh, scale, &mut ws.grad_c);
        column_means(&ws.dx[..rows * d], scale, &mut ws.grad_b);
        let [wh, c, wv, b] = ws.tensors;
        if self.weight_decay != 0.0 {
            let tensors = self.model.tensors();
            weight_decay::add_grad(self.weight_decay, &tensors[wh].data, &mut ws.grad_wh);
            weight_decay::add_grad(self.weight_decay, &tensors[wv].data, &mut ws.grad_wv);
        }
        let threads = ws.backend.threads();
        optimizer.begin_step();
        let tensors = self.model.tensors_mut();
        optimizer.update(
            wh,
            &mut tensors[wh].data,
            &ws.grad_wh,
            learning_rate,
            threads,
        );
        optimizer.update(c, &mut tensors[c].data, &ws.grad_c, learning_rate, threads);
        optimizer.update(
            wv,
            &mut tensors[wv].data,
            &ws.grad_wv,
            learning_rate,
            threads,
        );
        optimizer.update(b, &mut tensors[b].data, &ws.grad_b, learning_rate, threads);
        if !loss.is_finite() {
            return Err(Error::NonFinite(format!(
                "the reconstruction error became {loss}"
            )));
        }
        Ok(loss)
    }

    fn validate(&self, data: &Examples<'_>) -> Result<Validation> {
        super::backprop::reconstruction_validation(self.model, data)
    }

    fn divergence_message(&self, epoch: usize, what: &str) -> String {
        format!(
            "recirculation diverged in epoch {epoch} ({what}); kept the model from the start of that epoch. Try a lower learning rate"
        )
    }
}

/// `out[j] = scale · Σ_r rows[r, j]` (`out.len()` columns).
fn column_means(rows: &[f32], scale: f32, out: &mut [f32]) {
    out.fill(0.0);
    column_sums_add(rows, out);
    out.iter_mut().for_each(|o| *o *= scale);
}
