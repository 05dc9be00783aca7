//! The restricted Boltzmann machine (Smolensky 1986; Hinton 2002; *Deep Learning* §20.2), the
//! building block of Hinton & Salakhutdinov's (2006) deep autoencoder (ch. 14.9).
//!
//! Energy, for visible `v` (`d`) and hidden `h` (`m`), weight `W` (`m × d`), biases `b`, `c`:
//!
//! ```text
//! E(v, h) = −bᵀv − cᵀh − hᵀWv            Bernoulli units (v, h ∈ {0, 1})
//!         + ½‖v‖²                          Gaussian visible units (unit variance)
//!         + ½‖h‖²                          linear (Gaussian) hidden units (unit variance)
//! p(v, h) = exp(−E(v, h)) / Z
//! ```
//!
//! Conditionals factorize: `p(h_j = 1 | v) = σ(c_j + W_j v)` (Bernoulli hidden) or
//! `h_j | v ~ N(c_j + W_j v, 1)` (linear hidden); `p(v_i = 1 | h) = σ(b_i + W_iᵀ h)` or
//! `v_i | h ~ N(b_i + W_iᵀ h, 1)`. The free energy `F(v) = −log Σ_h exp(−E(v, h))` is
//!
//! ```text
//! F(v) = −bᵀv [+ ½‖v‖²] − Σ_j softplus(c_j + W_j v)          Bernoulli hidden
//! F(v) = −bᵀv [+ ½‖v‖²] − Σ_j ½(c_j + W_j v)² − (m/2) log 2π   linear hidden
//! ```
//!
//! so that `log p(v) = −F(v) − log Z`.
//!
//! **Replicated softmax visible units** (`visible_units = "softmax"`; Salakhutdinov & Hinton
//! 2009, "Replicated Softmax: an Undirected Topic Model"): a row `v` holds a document's word
//! counts (`D = Σ_k v_k` words over a vocabulary of `d`), seen as `D` softmax units that share
//! `W` and `b`. Over the document's `D` words in order,
//!
//! ```text
//! E(V, h) = −Σ_k b_k v_k − cᵀh − hᵀWv,      p(word = k | h) = softmax(b + Wᵀh)_k
//! p(h_j = 1 | v) = σ(c_j + W_j v),           F(v) = −bᵀv − Σ_j softplus(c_j + W_j v)
//! Z_D = Σ_h exp(cᵀh) (Σ_k exp(b_k + (Wᵀh)_k))^D
//! log p(counts v | D) = log (D! / Π_k v_k!) − F(v) − log Z_D
//! ```
//!
//! and `E[v | h] = D · softmax(b + Wᵀh)`. S&H scale the hidden bias by `D` (`D c_j`); we keep
//! it unscaled so that the up pass is an ordinary affine layer on the counts, which unrolls into
//! the first layer of a deep autoencoder whose output is the multinomial likelihood
//! (`output = "multinomial"`, the same `softmax(b + Wᵀh)` scaled by the length). For rows that
//! are not whole counts (TF-IDF weights) the chain draws `round(D)` words and scales them to
//! total `D`: a heuristic for pretraining, exact for counts.

pub mod config;
pub mod contrastive_divergence;
pub mod persist;

use crate::error::{Error, Result};
use crate::layers::dense::Dense;
use crate::linalg::{Cpu, Matrix, Rng};
use crate::nn::Activation;
use serde::{Deserialize, Serialize};

/// The distribution of a layer of units given the other layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    /// Binary units, `p(u = 1) = σ(input)`.
    #[default]
    Bernoulli,
    /// Real units, `u ~ N(input, 1)`.
    Gaussian,
    /// Replicated softmax (visible layer only): a row is a document's word counts, `D` draws
    /// from `softmax(input)` (see the module header).
    Softmax,
}

impl Units {
    /// The activation that gives a unit's mean from its total input; for softmax units the
    /// input itself (the row's softmax and length come after, in [`softmax_rows`]).
    pub fn mean_activation(self) -> Activation {
        match self {
            Units::Bernoulli => Activation::Sigmoid,
            Units::Gaussian | Units::Softmax => Activation::Linear,
        }
    }

    /// Replaces each mean in `values` (rows of `width`) by a sample of the unit's
    /// distribution; softmax rows hold `D · p` and become counts of `round(D)` draws from `p`,
    /// scaled to total `D`.
    pub fn sample_in_place(self, values: &mut [f32], width: usize, rng: &mut Rng) {
        match self {
            Units::Bernoulli => values
                .iter_mut()
                .for_each(|p| *p = if rng.uniform() < *p { 1.0 } else { 0.0 }),
            Units::Gaussian => values.iter_mut().for_each(|m| *m += rng.normal()),
            Units::Softmax => {
                // one cumulative-sum buffer for every row of the batch
                let mut cumulative = Vec::with_capacity(width);
                values
                    .chunks_exact_mut(width.max(1))
                    .for_each(|row| sample_counts(row, &mut cumulative, rng))
            }
        }
    }
}

/// Rows of `z` (`width` wide) become `lengths[r] · softmax(z_r)`: the mean counts of
/// replicated softmax units given their inputs.
pub fn softmax_rows(z: &mut [f32], width: usize, lengths: &[f32]) {
    for (row, &length) in z.chunks_exact_mut(width.max(1)).zip(lengths) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f64;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v as f64;
        }
        let scale = (length as f64 / sum) as f32;
        row.iter_mut().for_each(|v| *v *= scale);
    }
}

/// The total of each row of `v` (`width` wide): a document's length `D`.
pub fn row_lengths(v: &[f32], width: usize) -> Vec<f32> {
    v.chunks_exact(width.max(1))
        .map(|row| row.iter().map(|x| *x as f64).sum::<f64>() as f32)
        .collect()
}

/// `row` holds `D · p` (non-negative, total `D`): replaced by the counts of `round(D)` draws
/// from `p`, scaled by `D / round(D)` so the total stays `D` (weight 1 when `D` is whole).
/// One uniform per draw, found by binary search in the cumulative sums (`cumulative`: a
/// buffer reused across rows).
fn sample_counts(row: &mut [f32], cumulative: &mut Vec<f64>, rng: &mut Rng) {
    cumulative.clear();
    let mut total = 0.0f64;
    for v in row.iter() {
        total += v.max(0.0) as f64;
        cumulative.push(total);
    }
    row.fill(0.0);
    let draws = total.round() as usize;
    if draws == 0 || total <= 0.0 {
        return;
    }
    // whole counts (up to the rounding of the softmax's sum) draw weight-1 words exactly
    let weight = if (total - draws as f64).abs() <= 1e-3 {
        1.0
    } else {
        (total / draws as f64) as f32
    };
    for _ in 0..draws {
        let u = rng.uniform() as f64 * total;
        let k = cumulative.partition_point(|c| *c <= u).min(row.len() - 1);
        row[k] += weight;
    }
}

/// The shape and unit types of an RBM (saved beside its weights).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RbmSpec {
    /// Number of visible units `d`.
    pub visible: usize,
    /// Number of hidden units `m`.
    pub hidden: usize,
    /// Visible unit type.
    pub visible_units: Units,
    /// Hidden unit type.
    pub hidden_units: Units,
}

impl RbmSpec {
    /// Checks the sizes (each at least 1, the weight at most [`crate::limits::MAX_PARAMETERS`]).
    pub fn validate(&self) -> Result<()> {
        if self.visible == 0 {
            return Err(Error::config("model.input_size", "must be at least 1"));
        }
        if self.hidden == 0 {
            return Err(Error::config("model.hidden", "must be at least 1"));
        }
        if self.hidden_units == Units::Softmax {
            return Err(Error::config(
                "model.hidden_units",
                "softmax (replicated softmax) units are for the visible layer: use bernoulli or gaussian",
            ));
        }
        if (self.visible as u128) * (self.hidden as u128) > crate::limits::MAX_PARAMETERS as u128 {
            return Err(Error::config(
                "model.hidden",
                format!(
                    "{} × {} weights is more than {}; check the sizes",
                    self.hidden,
                    self.visible,
                    crate::limits::MAX_PARAMETERS
                ),
            ));
        }
        Ok(())
    }
}

/// A restricted Boltzmann machine.
///
/// Invariant: `weight.len() == hidden · visible` (row-major `hidden × visible`),
/// `visible_bias.len() == visible`, `hidden_bias.len() == hidden`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rbm {
    spec: RbmSpec,
    /// `W`, `hidden × visible`.
    pub weight: Vec<f32>,
    /// `b`, one per visible unit.
    pub visible_bias: Vec<f32>,
    /// `c`, one per hidden unit.
    pub hidden_bias: Vec<f32>,
}

impl Rbm {
    /// Weights `N(0, 0.01²)` and zero biases (Hinton's practical guide).
    pub fn new(spec: RbmSpec, seed: u64) -> Result<Rbm> {
        spec.validate()?;
        let mut rng = Rng::new(seed);
        let mut weight = vec![0.0f32; spec.hidden * spec.visible];
        rng.fill_normal(&mut weight);
        weight.iter_mut().for_each(|w| *w *= 0.01);
        Ok(Rbm {
            visible_bias: vec![0.0; spec.visible],
            hidden_bias: vec![0.0; spec.hidden],
            weight,
            spec,
        })
    }

    /// Builds an RBM from its parts, checking their sizes.
    pub fn from_parts(
        spec: RbmSpec,
        weight: Vec<f32>,
        visible_bias: Vec<f32>,
        hidden_bias: Vec<f32>,
    ) -> Result<Rbm> {
        spec.validate()?;
        if weight.len() != spec.hidden * spec.visible
            || visible_bias.len() != spec.visible
            || hidden_bias.len() != spec.hidden
        {
            return Err(Error::Shape(format!(
                "an RBM of {} visible and {} hidden units needs a {}×{} weight and biases of {} and {}",
                spec.visible, spec.hidden, spec.hidden, spec.visible, spec.visible, spec.hidden
            )));
        }
        Ok(Rbm {
            spec,
            weight,
            visible_bias,
            hidden_bias,
        })
    }

    /// Its shape and unit types.
    pub fn spec(&self) -> &RbmSpec {
        &self.spec
    }

    /// The up pass as a dense layer: `E[h | v] = act(v Wᵀ + c)`.
    pub(crate) fn up(&self) -> Dense<'_> {
        Dense {
            weight: &self.weight,
            bias: &self.hidden_bias,
            inputs: self.spec.visible,
            outputs: self.spec.hidden,
            transposed_weight: false,
        }
    }

    /// The down pass as a dense layer: `E[v | h] = act(h W + b)` (`W` read transposed).
    pub(crate) fn down(&self) -> Dense<'_> {
        Dense {
            weight: &self.weight,
            bias: &self.visible_bias,
            inputs: self.spec.hidden,
            outputs: self.spec.visible,
            transposed_weight: true,
        }
    }

    fn check_width(&self, x: &Matrix, want: usize, what: &str) -> Result<()> {
        if x.cols() != want {
            return Err(Error::Shape(format!(
                "{what} has {} columns, the RBM expects {want}",
                x.cols()
            )));
        }
        Ok(())
    }

    /// `E[h | v]` of each row of `v` (hidden probabilities, or means of linear units).
    pub fn hidden_means(&self, v: &Matrix) -> Result<Matrix> {
        self.check_width(v, self.spec.visible, "data")?;
        let mut h = Matrix::zeros(v.rows(), self.spec.hidden);
        let act = self.spec.hidden_units.mean_activation();
        self.up()
            .forward(&Cpu::new(0), v.as_slice(), v.rows(), act, h.as_mut_slice());
        Ok(h)
    }

    /// `E[v | h]` of each row of `h`; for softmax units the word probabilities (a document
    /// of length 1: see [`Rbm::visible_means_of_length`]).
    pub fn visible_means(&self, h: &Matrix) -> Result<Matrix> {
        self.visible_means_of_length(h, &vec![1.0; h.rows()])
    }

    /// `E[v | h]` of each row of `h`, for softmax units of documents of `lengths` words (one
    /// per row; ignored by Bernoulli and Gaussian units).
    pub fn visible_means_of_length(&self, h: &Matrix, lengths: &[f32]) -> Result<Matrix> {
        self.check_width(h, self.spec.hidden, "hidden states")?;
        if lengths.len() != h.rows() {
            return Err(Error::Shape(format!(
                "{} document lengths for {} rows of hidden states",
                lengths.len(),
                h.rows()
            )));
        }
        let mut v = Matrix::zeros(h.rows(), self.spec.visible);
        let act = self.spec.visible_units.mean_activation();
        self.down()
            .forward(&Cpu::new(0), h.as_slice(), h.rows(), act, v.as_mut_slice());
        if self.spec.visible_units == Units::Softmax {
            softmax_rows(v.as_mut_slice(), self.spec.visible, lengths);
        }
        Ok(v)
    }

    /// The free energy `F(v)` of each row (see the module header).
    pub fn free_energy(&self, v: &Matrix) -> Result<Vec<f64>> {
        self.check_width(v, self.spec.visible, "data")?;
        let mut z = Matrix::zeros(v.rows(), self.spec.hidden);
        self.up().forward(
            &Cpu::new(0),
            v.as_slice(),
            v.rows(),
            Activation::Linear,
            z.as_mut_slice(),
        );
        let m = self.spec.hidden as f64;
        Ok((0..v.rows())
            .map(|r| {
                let row = v.row(r);
                let mut f: f64 = -row
                    .iter()
                    .zip(&self.visible_bias)
                    .map(|(v, b)| *v as f64 * *b as f64)
                    .sum::<f64>();
                if self.spec.visible_units == Units::Gaussian {
                    f += 0.5 * row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
                }
                // (softmax hidden units are refused by `RbmSpec::validate`)
                f -= match self.spec.hidden_units {
                    Units::Bernoulli | Units::Softmax => {
                        z.row(r).iter().map(|z| softplus64(*z as f64)).sum()
                    }
                    Units::Gaussian => {
                        0.5 * z.row(r).iter().map(|z| (*z as f64).powi(2)).sum::<f64>()
                            + 0.5 * m * (2.0 * std::f64::consts::PI).ln()
                    }
                };
                f
            })
            .collect())
    }

    /// `log Z` exactly, by summing over every configuration of the Bernoulli layer with fewer
    /// units (at most 20 of them): `Z = Σ_h exp(−F_h(h))` with the visible units summed out,
    /// or `Σ_v exp(−F(v))`.
    pub fn exact_log_partition(&self) -> Result<f64> {
        let (d, m) = (self.spec.visible, self.spec.hidden);
        if self.spec.visible_units == Units::Softmax {
            return Err(Error::Invalid(
                "replicated softmax units have one partition function per document length: use exact_log_partition_of_length".into(),
            ));
        }
        let enumerate_hidden = self.spec.hidden_units == Units::Bernoulli
            && (m <= d || self.spec.visible_units == Units::Gaussian);
        let units = if enumerate_hidden { m } else { d };
        let layer_units = if enumerate_hidden {
            self.spec.hidden_units
        } else {
            self.spec.visible_units
        };
        if layer_units != Units::Bernoulli || units > 20 {
            return Err(Error::Invalid(format!(
                "exact log Z sums over a Bernoulli layer of at most 20 units; this RBM has {d} visible ({:?}) and {m} hidden ({:?})",
                self.spec.visible_units, self.spec.hidden_units
            )));
        }
        let terms: Vec<f64> = (0..1u64 << units)
            .map(|bits| {
                let s: Vec<f32> = (0..units).map(|i| ((bits >> i) & 1) as f32).collect();
                if enumerate_hidden {
                    -self.hidden_free_energy(&s)
                } else {
                    -self
                        .free_energy(&Matrix::from_vec(1, d, s))
                        .expect("a row of visible width")[0]
                }
            })
            .collect();
        Ok(log_sum_exp(&terms))
    }

    /// `log Z_D` of replicated softmax units for documents of `length` words, exactly, by
    /// summing over the hidden configurations (Bernoulli, at most 20 units): see the header.
    pub fn exact_log_partition_of_length(&self, length: usize) -> Result<f64> {
        let m = self.spec.hidden;
        if self.spec.visible_units != Units::Softmax
            || self.spec.hidden_units != Units::Bernoulli
            || m > 20
        {
            return Err(Error::Invalid(format!(
                "exact log Z_D needs softmax visible units and at most 20 Bernoulli hidden units; this RBM has {:?} visible and {m} {:?} hidden",
                self.spec.visible_units, self.spec.hidden_units
            )));
        }
        let terms: Vec<f64> = (0..1u64 << m)
            .map(|bits| {
                let h: Vec<f32> = (0..m).map(|i| ((bits >> i) & 1) as f32).collect();
                -self.hidden_free_energy_of_length(&h, length as f64)
            })
            .collect();
        Ok(log_sum_exp(&terms))
    }

    /// `F_h(h) = −log Σ_v exp(−E(v, h))` for one hidden configuration.
    fn hidden_free_energy(&self, h: &[f32]) -> f64 {
        self.hidden_free_energy_of_length(h, 1.0)
    }

    /// As [`Rbm::hidden_free_energy`], the visible sum over documents of `length` words for
    /// softmax units (`−cᵀh − D log Σ_k exp(b_k + (Wᵀh)_k)`).
    fn hidden_free_energy_of_length(&self, h: &[f32], length: f64) -> f64 {
        let (d, m) = (self.spec.visible, self.spec.hidden);
        let mut f: f64 = -h
            .iter()
            .zip(&self.hidden_bias)
            .map(|(h, c)| *h as f64 * *c as f64)
            .sum::<f64>();
        if self.spec.hidden_units == Units::Gaussian {
            f += 0.5 * h.iter().map(|h| (*h as f64).powi(2)).sum::<f64>();
        }
        let inputs: Vec<f64> = (0..d)
            .map(|i| {
                self.visible_bias[i] as f64
                    + (0..m)
                        .map(|j| self.weight[j * d + i] as f64 * h[j] as f64)
                        .sum::<f64>()
            })
            .collect();
        f - match self.spec.visible_units {
            Units::Bernoulli => inputs.iter().map(|a| softplus64(*a)).sum::<f64>(),
            Units::Gaussian => inputs
                .iter()
                .map(|a| 0.5 * a * a + 0.5 * (2.0 * std::f64::consts::PI).ln())
                .sum::<f64>(),
            Units::Softmax => length * log_sum_exp(&inputs),
        }
    }

    /// Runs `steps` steps of block Gibbs sampling `h ~ p(h | v)`, `v ~ p(v | h)` from each row
    /// of `v`; returns the last visible means (the usual picture of a chain's state).
    /// Softmax units keep each row's document length.
    pub fn gibbs(&self, v: &Matrix, steps: usize, rng: &mut Rng) -> Result<Matrix> {
        let (d, m) = (self.spec.visible, self.spec.hidden);
        let lengths = row_lengths(v.as_slice(), d);
        let mut v = v.clone();
        let mut means = v.clone();
        for _ in 0..steps {
            let mut h = self.hidden_means(&v)?;
            self.spec
                .hidden_units
                .sample_in_place(h.as_mut_slice(), m, rng);
            means = self.visible_means_of_length(&h, &lengths)?;
            v = means.clone();
            self.spec
                .visible_units
                .sample_in_place(v.as_mut_slice(), d, rng);
        }
        Ok(means)
    }

    /// Mean over rows of `‖v − E[v | E[h | v]]‖²`: the one-step reconstruction error, the
    /// usual (rough) monitor of RBM training.
    pub fn reconstruction_error(&self, v: &Matrix) -> Result<f64> {
        let lengths = row_lengths(v.as_slice(), self.spec.visible);
        let r = self.visible_means_of_length(&self.hidden_means(v)?, &lengths)?;
        let total: f64 = v
            .as_slice()
            .iter()
            .zip(r.as_slice())
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum();
        Ok(total / v.rows().max(1) as f64)
    }
}

fn softplus64(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

/// `log Σ exp(terms)`, stably.
pub(crate) fn log_sum_exp(terms: &[f64]) -> f64 {
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
}
