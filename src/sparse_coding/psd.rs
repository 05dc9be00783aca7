//! Predictive sparse decomposition (chapter 14.8; Kavukcuoglu, Ranzato & LeCun 2008, "Fast
//! inference in sparse coding algorithms with applications to object recognition", eq. 14.19):
//!
//! ```text
//! L(x) = min_h  ‖x − D h‖² + λ‖h‖₁ + γ‖h − f(x)‖²,      f(x) = g ⊙ tanh(W x + b)
//! ```
//!
//! with a dictionary `D` (`d × m`, columns kept at unit norm) and a predictor `f` (their
//! `G tanh(Wx + b)` with `G` diagonal: a gain per atom). One training step on a batch:
//!
//! 1. `f = f(x)`;
//! 2. `h* = argmin_h …` by FISTA warm-started at `f` ([`super::infer_with_prior`]);
//! 3. with `h*` fixed, gradient steps on `D` (`∂/∂D = −2 (x − D h*) h*ᵀ`) and on the predictor
//!    (`∂/∂f = −2γ (h* − f)`, backpropagated through `g ⊙ tanh(·)`), batch means;
//! 4. `D`'s columns rescaled to unit norm (otherwise `‖h‖₁` shrinks by growing `D`).
//!
//! After training, `f(x)` gives approximate sparse codes with one matrix product.

use super::{infer_with_prior, Inference, InferenceOptions, Solver, SparseCoder};
use crate::error::{Error, Result};
use crate::linalg::gemm::{gemm, View};
use crate::linalg::{Matrix, Rng};
use crate::nn::Optimizer;
use crate::train::{Batch, Examples, Learner, Validation};
use serde::{Deserialize, Serialize};

/// The encoder that predicts the codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Predictor {
    /// Kavukcuoglu et al.'s `g ⊙ tanh(W x + b)` (a learned gain per atom).
    #[default]
    Psd,
    /// `tanh(W x + b)` (the gain fixed at 1).
    Tanh,
    /// No predictor: plain sparse coding / dictionary learning (`γ` is ignored, inference
    /// starts at 0).
    None,
}

/// Sizes and the constants of eq. 14.19.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PsdSpec {
    /// Input width `d`.
    pub inputs: usize,
    /// Dictionary size `m`.
    pub atoms: usize,
    /// `λ` of `‖h‖₁`.
    pub lambda: f32,
    /// `γ` of `‖h − f(x)‖²`.
    pub gamma: f32,
    /// FISTA's iteration cap per step.
    pub fista_iterations: usize,
    /// FISTA's relative-change tolerance.
    pub tolerance: f32,
    /// The predictor.
    #[serde(default)]
    pub predictor: Predictor,
}

impl PsdSpec {
    /// Refuses empty or absurd sizes and negative constants.
    pub fn validate(&self) -> Result<()> {
        let (d, m) = (self.inputs, self.atoms);
        if d == 0 || m == 0 || d.checked_mul(m).is_none_or(|v| v > 1 << 28) {
            return Err(Error::Invalid(format!(
                "a PSD model of {d} inputs × {m} atoms is empty or too large"
            )));
        }
        let non_negative = |v: f32| v >= 0.0 && v.is_finite();
        if !(non_negative(self.lambda) && non_negative(self.gamma)) {
            return Err(Error::Invalid(
                "psd.lambda and psd.gamma must be ≥ 0".into(),
            ));
        }
        Ok(())
    }
}

/// A PSD model: dictionary and predictor.
#[derive(Clone, Debug, PartialEq)]
pub struct Psd {
    spec: PsdSpec,
    /// `d × m` row-major, unit-norm columns.
    pub dictionary: Vec<f32>,
    /// Predictor weight `W`, `m × d`.
    pub weight: Vec<f32>,
    /// Predictor bias `b`, `m`.
    pub bias: Vec<f32>,
    /// Predictor gain `g`, `m`.
    pub gain: Vec<f32>,
}

impl Psd {
    /// A fresh model: Gaussian dictionary columns scaled to unit norm, a small random predictor
    /// (`W ~ N(0, 1/d)`), zero bias, unit gain.
    pub fn new(spec: PsdSpec, seed: u64) -> Result<Psd> {
        spec.validate()?;
        let (d, m) = (spec.inputs, spec.atoms);
        let mut rng = Rng::new(seed);
        let dictionary = (0..d * m).map(|_| rng.normal()).collect();
        let scale = 1.0 / (d as f32).sqrt();
        let weight = (0..m * d).map(|_| scale * rng.normal()).collect();
        let mut psd = Psd {
            spec,
            dictionary,
            weight,
            bias: vec![0.0; m],
            gain: vec![1.0; m],
        };
        psd.normalize_dictionary();
        Ok(psd)
    }

    /// The spec.
    pub fn spec(&self) -> &PsdSpec {
        &self.spec
    }

    /// A model from its parts (checked against the spec's sizes; the dictionary's columns are
    /// renormalized).
    pub fn from_parts(
        spec: PsdSpec,
        dictionary: Vec<f32>,
        weight: Vec<f32>,
        bias: Vec<f32>,
        gain: Vec<f32>,
    ) -> Result<Psd> {
        spec.validate()?;
        let (d, m) = (spec.inputs, spec.atoms);
        for (name, got, want) in [
            ("dictionary", dictionary.len(), d * m),
            ("predictor.weight", weight.len(), m * d),
            ("predictor.bias", bias.len(), m),
            ("predictor.gain", gain.len(), m),
        ] {
            if got != want {
                return Err(Error::Shape(format!(
                    "tensor {name} has {got} values, the spec needs {want}"
                )));
            }
        }
        let mut psd = Psd {
            spec,
            dictionary,
            weight,
            bias,
            gain,
        };
        psd.normalize_dictionary();
        Ok(psd)
    }

    /// Rescales every dictionary column to unit norm (a zero column is left as it is).
    pub fn normalize_dictionary(&mut self) {
        let (d, m) = (self.spec.inputs, self.spec.atoms);
        for j in 0..m {
            let norm = (0..d)
                .map(|i| (self.dictionary[i * m + j] as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            if norm > 0.0 {
                (0..d).for_each(|i| self.dictionary[i * m + j] /= norm as f32);
            }
        }
    }

    /// `tanh(x Wᵀ + b)` (`n × m`).
    fn hidden(&self, x: &Matrix) -> Matrix {
        let (d, m) = (self.spec.inputs, self.spec.atoms);
        let mut a = Matrix::zeros(x.rows(), m);
        gemm(
            a.as_mut_slice(),
            false,
            View::new(x.as_slice(), x.rows(), d),
            false,
            View::new(&self.weight, m, d),
            true,
            1.0,
            0,
        );
        for r in 0..x.rows() {
            for (v, b) in a.row_mut(r).iter_mut().zip(&self.bias) {
                *v = (*v + b).tanh();
            }
        }
        a
    }

    /// The predictor's codes `f(x) = g ⊙ tanh(W x + b)`.
    pub fn predict(&self, x: &Matrix) -> Result<Matrix> {
        self.check(x)?;
        let mut a = self.hidden(x);
        for r in 0..a.rows() {
            a.row_mut(r)
                .iter_mut()
                .zip(&self.gain)
                .for_each(|(v, g)| *v *= g);
        }
        Ok(a)
    }

    fn check(&self, x: &Matrix) -> Result<()> {
        if x.cols() != self.spec.inputs {
            return Err(Error::Shape(format!(
                "data has {} columns, the model reads {}",
                x.cols(),
                self.spec.inputs
            )));
        }
        Ok(())
    }

    fn options(&self) -> InferenceOptions {
        InferenceOptions {
            lambda: self.spec.lambda,
            max_iterations: self.spec.fista_iterations,
            tolerance: self.spec.tolerance,
            solver: Solver::Fista,
        }
    }

    /// The optimal codes of eq. 14.19 given the predictor (`h*`), by FISTA from `f(x)`; the
    /// objectives include the `γ` term.
    pub fn infer(&self, x: &Matrix) -> Result<Inference> {
        self.check(x)?;
        let coder = SparseCoder::new(&self.dictionary, self.spec.inputs, self.spec.atoms)?;
        if self.spec.predictor == Predictor::None {
            return infer_with_prior(&coder, x, None, None, &self.options());
        }
        let f = self.predict(x)?;
        infer_with_prior(
            &coder,
            x,
            Some(&f),
            Some((&f, self.spec.gamma)),
            &self.options(),
        )
    }

    /// The lasso codes of the first two terms of eq. 14.19 alone (no predictor term), by
    /// `solver` with this model's λ, cap and tolerance, warm-started at the predictor's codes
    /// when there is a predictor.
    pub fn sparse_codes(&self, x: &Matrix, solver: Solver) -> Result<Inference> {
        self.check(x)?;
        let coder = SparseCoder::new(&self.dictionary, self.spec.inputs, self.spec.atoms)?;
        let start = match self.spec.predictor {
            Predictor::None => None,
            _ => Some(self.predict(x)?),
        };
        let options = InferenceOptions {
            solver,
            ..self.options()
        };
        infer_with_prior(&coder, x, start.as_ref(), None, &options)
    }
}

/// Trains a [`Psd`] on the shared trainer (module header's step).
pub struct PsdLearner<'a> {
    model: &'a mut Psd,
}

impl<'a> PsdLearner<'a> {
    /// A learner that updates `model` in place.
    pub fn new(model: &'a mut Psd) -> Self {
        PsdLearner { model }
    }
}

/// The gradients of one step, in [`Learner::parameters`] order.
pub struct PsdGradients {
    /// `∂/∂D`, `d × m`.
    pub dictionary: Vec<f32>,
    /// `∂/∂W`, `m × d`.
    pub weight: Vec<f32>,
    /// `∂/∂b`.
    pub bias: Vec<f32>,
    /// `∂/∂g`.
    pub gain: Vec<f32>,
}

/// The batch-mean objective `(1/n) Σ ‖x − D h‖² + λ‖h‖₁ + γ‖h − f(x)‖²` at fixed codes `h`, and
/// its gradients with respect to the dictionary and the predictor (the quantities step 3 of
/// the module header follows).
pub fn objective_and_gradients(model: &Psd, x: &Matrix, h: &Matrix) -> Result<(f64, PsdGradients)> {
    model.check(x)?;
    let mut s = model.spec;
    if s.predictor == Predictor::None {
        s.gamma = 0.0;
    }
    let (n, d, m) = (x.rows(), s.inputs, s.atoms);
    let scale = 1.0 / n.max(1) as f32;
    // residual e = x − h Dᵀ (n × d)
    let mut e = x.clone();
    gemm(
        e.as_mut_slice(),
        true,
        View::new(h.as_slice(), n, m),
        false,
        View::new(&model.dictionary, d, m),
        true,
        -1.0,
        0,
    );
    let t = model.hidden(x);
    let mut total = 0.0f64;
    // ∂/∂f = −2γ (h − f) / n, and the objective's terms
    let mut df = Matrix::zeros(n, m);
    for r in 0..n {
        total += e.row(r).iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
        for j in 0..m {
            let f = model.gain[j] * t.row(r)[j];
            let diff = h.row(r)[j] - f;
            total +=
                s.lambda as f64 * h.row(r)[j].abs() as f64 + s.gamma as f64 * (diff as f64).powi(2);
            df.row_mut(r)[j] = -2.0 * s.gamma * diff * scale;
        }
    }
    // ∂/∂D = −2 eᵀ h / n  (d × m)
    let mut g_dict = vec![0.0f32; d * m];
    gemm(
        &mut g_dict,
        false,
        View::new(e.as_slice(), n, d),
        true,
        View::new(h.as_slice(), n, m),
        false,
        -2.0 * scale,
        0,
    );
    // through f = g ⊙ t: ∂g = Σ df ⊙ t, ∂a = df ⊙ g ⊙ (1 − t²)
    let mut g_gain = vec![0.0f32; m];
    let mut da = Matrix::zeros(n, m);
    for r in 0..n {
        for (j, gg) in g_gain.iter_mut().enumerate() {
            let (tj, dfj) = (t.row(r)[j], df.row(r)[j]);
            *gg += dfj * tj;
            da.row_mut(r)[j] = dfj * model.gain[j] * (1.0 - tj * tj);
        }
    }
    let mut g_bias = vec![0.0f32; m];
    for r in 0..n {
        g_bias.iter_mut().zip(da.row(r)).for_each(|(b, v)| *b += v);
    }
    let mut g_weight = vec![0.0f32; m * d];
    gemm(
        &mut g_weight,
        false,
        View::new(da.as_slice(), n, m),
        true,
        View::new(x.as_slice(), n, d),
        false,
        1.0,
        0,
    );
    Ok((
        total / n.max(1) as f64,
        PsdGradients {
            dictionary: g_dict,
            weight: g_weight,
            bias: g_bias,
            gain: g_gain,
        },
    ))
}

impl Learner for PsdLearner<'_> {
    type Model = Psd;
    type Workspace = ();

    fn model(&self) -> &Psd {
        self.model
    }

    fn input_width(&self) -> usize {
        self.model.spec.inputs
    }

    fn workspace(&self, _max_rows: usize) -> Result<()> {
        Ok(())
    }

    fn parameters(&self) -> Vec<&[f32]> {
        vec![
            &self.model.dictionary,
            &self.model.weight,
            &self.model.bias,
            &self.model.gain,
        ]
    }

    fn parameters_mut(&mut self) -> Vec<&mut [f32]> {
        let m = &mut *self.model;
        vec![&mut m.dictionary, &mut m.weight, &mut m.bias, &mut m.gain]
    }

    fn step(
        &mut self,
        _ws: &mut (),
        batch: &mut Batch<'_>,
        _rng: &mut Rng,
        optimizer: &mut Optimizer,
        learning_rate: f32,
    ) -> Result<f64> {
        let x: &Matrix = batch.x;
        let h = self.model.infer(x)?.codes;
        let (loss, g) = objective_and_gradients(self.model, x, &h)?;
        let threads = rayon::current_num_threads();
        let m = &mut *self.model;
        optimizer.update(0, &mut m.dictionary, &g.dictionary, learning_rate, threads);
        if m.spec.predictor != Predictor::None {
            optimizer.update(1, &mut m.weight, &g.weight, learning_rate, threads);
            optimizer.update(2, &mut m.bias, &g.bias, learning_rate, threads);
        }
        if m.spec.predictor == Predictor::Psd {
            optimizer.update(3, &mut m.gain, &g.gain, learning_rate, threads);
        }
        m.normalize_dictionary();
        Ok(loss)
    }

    fn validate(&self, data: &Examples<'_>) -> Result<Validation> {
        let h = self.model.infer(data.x)?.codes;
        let (loss, _) = objective_and_gradients(self.model, data.x, &h)?;
        Ok(Validation {
            score: loss,
            loss: Some(loss),
            ..Validation::default()
        })
    }

    fn divergence_message(&self, epoch: usize, what: &str) -> String {
        format!(
            "PSD diverged in epoch {epoch} ({what}); kept the model from the start of that epoch. Try a lower learning rate"
        )
    }
}
