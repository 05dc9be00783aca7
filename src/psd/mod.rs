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
//! 2. `h* = argmin_h …` by FISTA warm-started at `f` ([`crate::sparse_coding::infer_with_prior`]);
//! 3. with `h*` fixed, gradient steps on `D` (`∂/∂D = −2 (x − D h*) h*ᵀ`) and on the predictor
//!    (`∂/∂f = −2γ (h* − f)`, backpropagated through `g ⊙ tanh(·)`), batch means;
//! 4. `D`'s columns rescaled to unit norm (otherwise `‖h‖₁` shrinks by growing `D`).
//!
//! After training, `f(x)` gives approximate sparse codes with one matrix product.
//!
//! **LISTA** (Gregor & LeCun 2010, "Learning fast approximations of sparse coding") is the
//! third predictor: `T` unrolled ISTA steps whose matrices and thresholds are learned,
//!
//! ```text
//! B = x Wᵀ,  Z₀ = S_θ(B),  Z_t = S_θ(B + Z_{t−1} Sᵀ)  (t = 1…T),  f(x) = Z_T
//! ```
//!
//! (`S_θ` the soft threshold with a threshold per atom), trained by the same step 3 through
//! the unrolled steps. Started at ISTA's weights for `E(h) = ‖x − Dh‖² + λ‖h‖₁` with
//! `L = 2σ_max(D)²`, `W = 2Dᵀ/L`, `S = I − 2DᵀD/L`, `θ = λ/L`, it computes exactly `T + 1`
//! ISTA steps from `h = 0`. (The paper writes the `½‖x − Dh‖²` objective, where the factor 2
//! is absent.)

use crate::sparse_coding::{
    infer_with_prior, soft_threshold, Inference, InferenceOptions, Solver, SparseCoder,
};
pub mod config;
pub mod persist;

use crate::error::{Error, Result};
use crate::linalg::fastmath::simd_dispatch;
use crate::linalg::gemm::{gemm, View};
use crate::linalg::{sparse_rows, Matrix, Rng};
use crate::nn::Activation;
use crate::nn::Optimizer;
use crate::train::{Batch, Examples, Learner, Validation};
use rayon::prelude::*;
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
    /// LISTA: `lista_steps` learned ISTA steps (module header).
    Lista,
}

fn default_lista_steps() -> usize {
    3
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
    /// LISTA's unrolled steps `T` after its first threshold (LISTA only).
    #[serde(default = "default_lista_steps")]
    pub lista_steps: usize,
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
        if self.lista_steps > 100 {
            return Err(Error::Invalid(format!(
                "model.lista_steps = {} unrolls too many steps (at most 100)",
                self.lista_steps
            )));
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
    /// LISTA's lateral matrix `S`, `m × m` (empty for the other predictors).
    pub lateral: Vec<f32>,
    /// LISTA's thresholds `θ`, `m` (empty for the other predictors).
    pub threshold: Vec<f32>,
}

/// LISTA's forward pass, kept for its backward pass: the pre-threshold `C_t` and the codes
/// `Z_t` of every step (each `n × m`), `t = 0…T`.
struct ListaPass {
    pre: Vec<Matrix>,
    codes: Vec<Matrix>,
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
            lateral: Vec::new(),
            threshold: Vec::new(),
        };
        psd.normalize_dictionary();
        if spec.predictor == Predictor::Lista {
            psd.set_ista_weights()?;
        }
        Ok(psd)
    }

    /// Sets LISTA's `W`, `S` and `θ` to ISTA's for the current dictionary (module header), so
    /// the predictor computes `T + 1` ISTA steps from zero.
    pub fn set_ista_weights(&mut self) -> Result<()> {
        let (d, m) = (self.spec.inputs, self.spec.atoms);
        let coder = SparseCoder::new(&self.dictionary, d, m)?;
        let step = 2.0 / coder.lipschitz();
        // W = (2/L) Dᵀ: row j of W is column j of D
        self.weight = (0..m * d)
            .map(|k| step * self.dictionary[(k % d) * m + k / d])
            .collect();
        // S = I − (2/L) DᵀD
        let mut gram = vec![0.0f32; m * m];
        let dv = View::new(&self.dictionary, d, m);
        gemm(&mut gram, false, dv, true, dv, false, 1.0, 0);
        self.lateral = (0..m * m)
            .map(|k| f32::from(k / m == k % m) - step * gram[k])
            .collect();
        self.threshold = vec![self.spec.lambda / coder.lipschitz(); m];
        Ok(())
    }

    /// The spec.
    pub fn spec(&self) -> &PsdSpec {
        &self.spec
    }

    /// A model from its parts (checked against the spec's sizes; the dictionary's columns are
    /// renormalized). `lista` holds LISTA's `(S, θ)`, for a LISTA spec only.
    pub fn from_parts(
        spec: PsdSpec,
        dictionary: Vec<f32>,
        weight: Vec<f32>,
        bias: Vec<f32>,
        gain: Vec<f32>,
        lista: Option<(Vec<f32>, Vec<f32>)>,
    ) -> Result<Psd> {
        spec.validate()?;
        let (d, m) = (spec.inputs, spec.atoms);
        let is_lista = spec.predictor == Predictor::Lista;
        if lista.is_some() != is_lista {
            return Err(Error::Shape(
                "predictor.lateral and predictor.threshold belong to a LISTA predictor, and only to one"
                    .into(),
            ));
        }
        let (lateral, threshold) = lista.unwrap_or_default();
        let (want_s, want_t) = if is_lista { (m * m, m) } else { (0, 0) };
        for (name, got, want) in [
            ("dictionary", dictionary.len(), d * m),
            ("predictor.weight", weight.len(), m * d),
            ("predictor.bias", bias.len(), m),
            ("predictor.gain", gain.len(), m),
            ("predictor.lateral", lateral.len(), want_s),
            ("predictor.threshold", threshold.len(), want_t),
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
            lateral,
            threshold,
        };
        // columns already at unit norm (a saved model's) are kept bit for bit, so a resumed
        // run continues from exactly the parameters it saved
        psd.normalize_columns(1e-5);
        Ok(psd)
    }

    /// Rescales every dictionary column to unit norm (a zero column is left as it is).
    pub fn normalize_dictionary(&mut self) {
        self.normalize_columns(0.0);
    }

    /// Rescales the columns whose norm is off 1 by more than `slack` (and not zero).
    fn normalize_columns(&mut self, slack: f64) {
        let (d, m) = (self.spec.inputs, self.spec.atoms);
        for j in 0..m {
            let norm = (0..d)
                .map(|i| (self.dictionary[i * m + j] as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            if norm > 0.0 && (norm - 1.0).abs() > slack {
                (0..d).for_each(|i| self.dictionary[i * m + j] /= norm as f32);
            }
        }
    }

    /// `x Wᵀ` (`n × m`), skipping the zeros of `x` when it has many (MNIST's pixels), over the
    /// current rayon pool ([`sparse_rows::times_transposed`]).
    fn input_product(&self, x: &Matrix) -> Matrix {
        let (d, m) = (self.spec.inputs, self.spec.atoms);
        let mut a = Matrix::zeros(x.rows(), m);
        sparse_rows::times_transposed(
            a.as_mut_slice(),
            View::new(x.as_slice(), x.rows(), d),
            View::new(&self.weight, m, d),
        );
        a
    }

    /// `tanh(x Wᵀ + b)` (`n × m`).
    fn hidden(&self, x: &Matrix) -> Matrix {
        let mut a = self.input_product(x);
        sparse_rows::for_each_rows(a.as_mut_slice(), self.spec.atoms, |rows| {
            Activation::Tanh.forward_with_bias(rows, &self.bias)
        });
        a
    }

    /// LISTA's forward pass (module header); with `keep_steps`, every step is kept for the
    /// backward pass, otherwise only `Z_T` (in `codes`) and nothing in `pre`.
    fn lista_pass(&self, x: &Matrix, keep_steps: bool) -> ListaPass {
        let m = self.spec.atoms;
        let n = x.rows();
        // B = x Wᵀ  (n × m)
        let b = self.input_product(x);
        let threshold = |c: &mut Matrix| {
            sparse_rows::for_each_rows(c.as_mut_slice(), m, |rows| {
                soft_threshold_rows(rows, &self.threshold)
            });
        };
        let mut pass = ListaPass {
            pre: Vec::new(),
            codes: Vec::new(),
        };
        if keep_steps {
            pass.pre.push(b.clone());
        }
        let steps = self.spec.lista_steps;
        // B itself is needed again only by later steps
        let (b, mut z) = if steps == 0 && !keep_steps {
            (Matrix::zeros(0, m), b)
        } else {
            (b.clone(), b)
        };
        threshold(&mut z);
        // the codes are mostly zeros, so Z Sᵀ skips them like x Wᵀ
        for _ in 0..steps {
            // C_t = B + Z_{t−1} Sᵀ
            let mut c = Matrix::zeros(n, m);
            sparse_rows::times_transposed(
                c.as_mut_slice(),
                View::new(z.as_slice(), n, m),
                View::new(&self.lateral, m, m),
            );
            c.as_mut_slice()
                .par_iter_mut()
                .zip(b.as_slice().par_iter())
                .for_each(|(c, b)| *c += b);
            if keep_steps {
                let mut next = c.clone();
                threshold(&mut next);
                pass.pre.push(c);
                pass.codes.push(std::mem::replace(&mut z, next));
            } else {
                threshold(&mut c);
                z = c;
            }
        }
        pass.codes.push(z);
        pass
    }

    /// The predictor's codes: `f(x) = g ⊙ tanh(W x + b)` (or `tanh(W x + b)`), or LISTA's
    /// `Z_T`. Parallel over the current rayon pool; skips the zeros of sparse inputs.
    pub fn predict(&self, x: &Matrix) -> Result<Matrix> {
        self.check(x)?;
        if self.spec.predictor == Predictor::Lista {
            return Ok(self.lista_pass(x, false).codes.pop().expect("Z_T exists"));
        }
        let mut a = self.input_product(x);
        sparse_rows::for_each_rows(a.as_mut_slice(), self.spec.atoms, |rows| {
            Activation::Tanh.forward_with_bias(rows, &self.bias);
            for row in rows.chunks_exact_mut(self.gain.len()) {
                row.iter_mut().zip(&self.gain).for_each(|(v, g)| *v *= g);
            }
        });
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

simd_dispatch! {
    /// `S_θ` in place on row-major rows, a threshold per column.
    fn soft_threshold_rows(rows: &mut [f32], theta: &[f32]) {
        for row in rows.chunks_exact_mut(theta.len()) {
            for (v, t) in row.iter_mut().zip(theta) {
                *v = soft_threshold(*v, *t);
            }
        }
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
    /// `∂/∂b` (zero for LISTA).
    pub bias: Vec<f32>,
    /// `∂/∂g` (zero for LISTA).
    pub gain: Vec<f32>,
    /// `∂/∂S`, `m × m` (LISTA; else empty).
    pub lateral: Vec<f32>,
    /// `∂/∂θ`, `m` (LISTA; else empty).
    pub threshold: Vec<f32>,
}

/// LISTA's backward pass: from `∂/∂Z_T` (`df`, `n × m`) to `(∂W, ∂S, ∂θ)`.
///
/// ```text
/// ∂C_t = ∂Z_t ⊙ [|C_t| > θ],   ∂θ −= Σ sign(C_t) ⊙ ∂Z_t over the same entries,
/// ∂B += ∂C_t,   ∂S += ∂C_tᵀ Z_{t−1},   ∂Z_{t−1} = ∂C_t S      (t = T…1; t = 0 has no S)
/// ∂W = ∂Bᵀ x
/// ```
fn lista_backward(
    model: &Psd,
    x: &Matrix,
    pass: &ListaPass,
    df: Matrix,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (d, m, n) = (model.spec.inputs, model.spec.atoms, x.rows());
    let mut dz = df;
    let mut db = Matrix::zeros(n, m);
    let mut g_lateral = vec![0.0f32; m * m];
    let mut g_threshold = vec![0.0f32; m];
    for t in (0..pass.pre.len()).rev() {
        let c = &pass.pre[t];
        // through the threshold: dz becomes ∂C_t
        for r in 0..n {
            let parts = dz.row_mut(r).iter_mut().zip(c.row(r));
            for ((g, &cv), (gt, &th)) in parts.zip(g_threshold.iter_mut().zip(&model.threshold)) {
                if cv > th {
                    *gt -= *g;
                } else if cv < -th {
                    *gt += *g;
                } else {
                    *g = 0.0;
                }
            }
        }
        db.as_mut_slice()
            .iter_mut()
            .zip(dz.as_slice())
            .for_each(|(b, g)| *b += g);
        if t > 0 {
            let below = &pass.codes[t - 1];
            // ∂S += ∂Cᵀ Z_{t−1}  (m × m)
            gemm(
                &mut g_lateral,
                true,
                View::new(dz.as_slice(), n, m),
                true,
                View::new(below.as_slice(), n, m),
                false,
                1.0,
                0,
            );
            // ∂Z_{t−1} = ∂C S  (n × m)
            let mut next = Matrix::zeros(n, m);
            gemm(
                next.as_mut_slice(),
                false,
                View::new(dz.as_slice(), n, m),
                false,
                View::new(&model.lateral, m, m),
                false,
                1.0,
                0,
            );
            dz = next;
        }
    }
    let mut g_weight = vec![0.0f32; m * d];
    gemm(
        &mut g_weight,
        false,
        View::new(db.as_slice(), n, m),
        true,
        View::new(x.as_slice(), n, d),
        false,
        1.0,
        0,
    );
    (g_weight, g_lateral, g_threshold)
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
    // the predictor's codes f, and what its backward pass needs
    let (f, lista, t) = if s.predictor == Predictor::Lista {
        let pass = model.lista_pass(x, true);
        let f = pass.codes.last().expect("Z₀ exists").clone();
        (f, Some(pass), None)
    } else {
        let t = model.hidden(x);
        let mut f = t.clone();
        for r in 0..n {
            f.row_mut(r)
                .iter_mut()
                .zip(&model.gain)
                .for_each(|(v, g)| *v *= g);
        }
        (f, None, Some(t))
    };
    let mut total = 0.0f64;
    // ∂/∂f = −2γ (h − f) / n, and the objective's terms
    let mut df = Matrix::zeros(n, m);
    for r in 0..n {
        total += e.row(r).iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
        for j in 0..m {
            let diff = h.row(r)[j] - f.row(r)[j];
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
    let mut g_gain = vec![0.0f32; m];
    let mut g_bias = vec![0.0f32; m];
    let (g_weight, g_lateral, g_threshold) = match (lista, t) {
        (Some(pass), _) => lista_backward(model, x, &pass, df),
        (None, Some(t)) => {
            // through f = g ⊙ t: ∂g = Σ df ⊙ t, ∂a = df ⊙ g ⊙ (1 − t²)
            let mut da = Matrix::zeros(n, m);
            for r in 0..n {
                for (j, gg) in g_gain.iter_mut().enumerate() {
                    let (tj, dfj) = (t.row(r)[j], df.row(r)[j]);
                    *gg += dfj * tj;
                    da.row_mut(r)[j] = dfj * model.gain[j] * (1.0 - tj * tj);
                }
            }
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
            (g_weight, Vec::new(), Vec::new())
        }
        (None, None) => unreachable!("a predictor's pass is kept"),
    };
    Ok((
        total / n.max(1) as f64,
        PsdGradients {
            dictionary: g_dict,
            weight: g_weight,
            bias: g_bias,
            gain: g_gain,
            lateral: g_lateral,
            threshold: g_threshold,
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
            &self.model.lateral,
            &self.model.threshold,
        ]
    }

    fn parameters_mut(&mut self) -> Vec<&mut [f32]> {
        let m = &mut *self.model;
        vec![
            &mut m.dictionary,
            &mut m.weight,
            &mut m.bias,
            &mut m.gain,
            &mut m.lateral,
            &mut m.threshold,
        ]
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
        match m.spec.predictor {
            Predictor::None => {}
            Predictor::Lista => {
                optimizer.update(1, &mut m.weight, &g.weight, learning_rate, threads);
                optimizer.update(4, &mut m.lateral, &g.lateral, learning_rate, threads);
                optimizer.update(5, &mut m.threshold, &g.threshold, learning_rate, threads);
            }
            Predictor::Psd | Predictor::Tanh => {
                optimizer.update(1, &mut m.weight, &g.weight, learning_rate, threads);
                optimizer.update(2, &mut m.bias, &g.bias, learning_rate, threads);
                if m.spec.predictor == Predictor::Psd {
                    optimizer.update(3, &mut m.gain, &g.gain, learning_rate, threads);
                }
            }
        }
        m.normalize_dictionary();
        Ok(loss)
    }

    fn validate(&self, data: &Examples<'_>) -> Result<Validation> {
        let x = data.matrix()?;
        let h = self.model.infer(&x)?.codes;
        let (loss, _) = objective_and_gradients(self.model, &x, &h)?;
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
