//! The training objective, written as the chapter writes it:
//! `L(x, g(f(C(x)))) + Ω(h, x)`.
//!
//! - [`corruption`]: `C(x̃ | x)`, applied before the encoder;
//! - [`likelihood`]: `L = −log p_decoder(x | r)`, fused with its gradient;
//! - [`sparsity`]: code penalties, which add gradient at `h`;
//! - [`parametric_tsne`]: a code term that keeps the batch's t-SNE neighbourhoods, `Ω(h, x)`;
//! - [`parametric_umap`]: a code term that keeps the training set's UMAP graph, on batches of
//!   its edges;
//! - [`weight_decay`]: parameter penalties, which add gradient to parameters.
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
    /// `λ` of weight decay on all weight matrices; 0 disables it.
    pub weight_decay: f32,
    /// Weight `β` of the KL term of a Gaussian code (1 = the ELBO).
    pub beta: f32,
    /// `λ` of the contractive penalty `λ‖∂h/∂x‖²_F`; 0 disables it.
    pub contractive: f32,
    /// How the contractive penalty is computed: 0 = exactly, in closed form, where that exists
    /// (one-layer sigmoid or tanh encoder), else along one random direction; `m > 0` = the
    /// unbiased estimate along `m` random directions per example, for any encoder.
    #[serde(default)]
    pub contractive_directions: usize,
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
            weight_decay: 0.0,
            beta: 1.0,
            contractive: 0.0,
            contractive_directions: 0,
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
    /// Whether any term adds gradient directly to parameters (so the backward pass must add to,
    /// not overwrite, the gradient buffers it starts from).
    pub fn has_parameter_penalties(&self) -> bool {
        self.weight_decay != 0.0 || self.contractive != 0.0
    }
}
