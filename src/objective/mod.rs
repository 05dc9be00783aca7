//! The training objective, written as the chapter writes it:
//! `L(x, g(f(C(x)))) + Ω(h, x)`.
//!
//! - [`corruption`]: `C(x̃ | x)`, applied before the encoder;
//! - [`likelihood`]: `L = −log p_decoder(x | r)`, fused with its gradient;
//! - [`sparsity`]: code penalties, which add gradient at `h`;
//! - [`parametric_tsne`]: a code term that keeps the batch's t-SNE neighbourhoods, `Ω(h, x)`;
//! - [`parametric_umap`]: a code term that keeps the training set's UMAP graph, on batches of
//!   its edges;
//! - parameter penalties ([`ParameterPenalty`]: [`weight_decay`], [`contractive`]), which add
//!   gradient to parameters; every learning rule applies each of them or refuses it, naming
//!   the key ([`ParameterPenalty::kind`]).
//!
//! A variant of the autoencoder is a combination of these parts, not another training loop.

pub mod contractive;
pub mod corruption;
pub mod likelihood;
pub mod parametric_tsne;
pub mod parametric_umap;
pub mod regularizer;
pub mod sparsity;
pub mod weight_decay;

pub use corruption::Corruption;
pub use likelihood::Likelihood;
pub use regularizer::RegularizerConfig;
pub use sparsity::CodePenalty;

use serde::{Deserialize, Serialize};

/// The parts of the objective beyond the likelihood (which the model's spec fixes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// `C(x̃ | x)`; `None` trains on clean inputs.
    pub corruption: Option<Corruption>,
    /// Penalties on the code `h`.
    pub code_penalties: Vec<CodePenalty>,
    /// Penalties on the parameters, in the order they are added to the loss (one of each
    /// kind: [`Objective::add_parameter_penalty`] merges a second into the first).
    #[serde(default)]
    pub parameter_penalties: Vec<ParameterPenalty>,
    /// Weight `β` of the KL term of a Gaussian code (1 = the ELBO).
    pub beta: f32,
    /// Importance samples `k` per example for a Gaussian code: 1 = the ELBO with analytic KL,
    /// `k > 1` = the IWAE bound (β is then 1).
    pub importance_samples: usize,
    /// Weight of the likelihood term `L` (1 = the chapter's objective; 0 trains the encoder by
    /// its code terms alone, as a parametric map).
    #[serde(default = "one")]
    pub reconstruction_weight: f32,
}

fn one() -> f32 {
    1.0
}

impl Default for Objective {
    fn default() -> Self {
        Objective {
            corruption: None,
            code_penalties: Vec::new(),
            parameter_penalties: Vec::new(),
            beta: 1.0,
            importance_samples: 1,
            reconstruction_weight: 1.0,
        }
    }
}

impl Objective {
    /// The plain reconstruction objective.
    pub fn plain() -> Self {
        Objective::default()
    }

    /// Adds a parameter penalty; one of a kind already there takes the sum of both weights
    /// (and the later one's other settings), so two `weight_decay` entries are one term.
    pub fn add_parameter_penalty(&mut self, penalty: ParameterPenalty) {
        match self
            .parameter_penalties
            .iter_mut()
            .find(|p| p.kind() == penalty.kind())
        {
            Some(p) => {
                let weight = p.weight() + penalty.weight();
                *p = penalty;
                p.set_weight(weight);
            }
            None => self.parameter_penalties.push(penalty),
        }
    }

    /// Adds `term`'s parameter penalty, if it is one.
    pub(crate) fn parameter_penalties_from(&mut self, term: &dyn regularizer::RegularizerTerm) {
        if let Some(p) = term.parameter_penalty() {
            self.add_parameter_penalty(p);
        }
    }

    /// `λ` of weight decay (0 without it), for rules that apply it in their own update.
    pub fn weight_decay(&self) -> f32 {
        self.parameter_penalties
            .iter()
            .map(|p| match p {
                ParameterPenalty::WeightDecay { weight } => *weight,
                ParameterPenalty::Contractive { .. } => 0.0,
            })
            .sum()
    }
}

/// A term of Ω attached to the parameters rather than to the code: it adds its value to the
/// loss and its gradient to the parameters' gradients. A learning rule applies each kind or
/// refuses it (`Rule::applies` in `train`, and the RBM's and PSD's checks), naming
/// `regularizer[i].kind`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParameterPenalty {
    /// `(λ/2) Σ ‖W‖²` over every weight matrix, a tied one once ([`weight_decay`]).
    WeightDecay {
        /// `λ`.
        weight: f32,
    },
    /// `λ‖∂h/∂x‖²_F` ([`contractive`]).
    Contractive {
        /// `λ`.
        weight: f32,
        /// 0 = exactly, in closed form, where that exists (one-layer sigmoid or tanh encoder),
        /// else along one random direction; `m > 0` = the unbiased estimate along `m` random
        /// directions per example, for any encoder.
        directions: usize,
        /// CAE+H's Hessian term, if any (exact with the closed form, else estimated).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hessian: Option<contractive::Hessian>,
    },
}

impl ParameterPenalty {
    /// The `[[regularizer]] kind` that configures it.
    pub fn kind(&self) -> &'static str {
        match self {
            ParameterPenalty::WeightDecay { .. } => "weight_decay",
            ParameterPenalty::Contractive { .. } => "contractive",
        }
    }

    /// `λ`.
    pub fn weight(&self) -> f32 {
        match *self {
            ParameterPenalty::WeightDecay { weight }
            | ParameterPenalty::Contractive { weight, .. } => weight,
        }
    }

    fn set_weight(&mut self, w: f32) {
        match self {
            ParameterPenalty::WeightDecay { weight }
            | ParameterPenalty::Contractive { weight, .. } => *weight = w,
        }
    }
}
