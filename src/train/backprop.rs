//! The autoencoder as a [`Learner`]: one backprop step on `L(x, g(f(C(x)))) + Ω`
//! ([`Autoencoder::train_step`]) per minibatch, with dynamic binarization of the batch and the
//! KL warm-up of a Gaussian code.

use super::learner::{Batch, Examples, Learner, Validation};
use super::{warmed_up_beta, TrainConfig};
use crate::error::Result;
use crate::linalg::{Cpu, Rng};
use crate::model::{Autoencoder, Workspace};
use crate::nn::Optimizer;
use crate::objective::{corruption, CodePenalty, Objective};

/// Validation rows per evaluation of an objective with a map term (its affinities are
/// per batch, so the chunks are fixed for comparable epochs).
const VALIDATION_CHUNK: usize = 1000;

/// An autoencoder with the objective it is trained on.
pub struct AutoencoderLearner<'a> {
    model: &'a mut Autoencoder,
    /// The objective of the current epoch (its `beta` follows the warm-up).
    objective: Objective,
    beta: f32,
    kl_warmup_epochs: usize,
    dynamic_binarization: bool,
}

impl<'a> AutoencoderLearner<'a> {
    /// `model` trained on `config`'s objective.
    pub fn new(model: &'a mut Autoencoder, config: &TrainConfig) -> Self {
        AutoencoderLearner {
            model,
            objective: config.objective.clone(),
            beta: config.objective.beta,
            kl_warmup_epochs: config.kl_warmup_epochs,
            dynamic_binarization: config.dynamic_binarization,
        }
    }
}

/// An autoencoder's validation, whatever its rule: the likelihood loss (the selection score)
/// and the squared error of its reconstructions.
pub(crate) fn reconstruction_validation(
    model: &Autoencoder,
    data: &Examples<'_>,
) -> Result<Validation> {
    let e = model.evaluate(data.x)?;
    Ok(Validation {
        score: e.loss_per_example,
        loss: Some(e.loss_per_example),
        squared_error: Some(e.squared_error_per_example),
        ..Validation::default()
    })
}

impl Learner for AutoencoderLearner<'_> {
    type Model = Autoencoder;
    /// The backend is made on the loop's pool, so it sees that pool's threads.
    type Workspace = (Cpu, Workspace);

    fn model(&self) -> &Autoencoder {
        self.model
    }

    fn input_width(&self) -> usize {
        self.model.spec().input_size
    }

    fn workspace(&self, max_rows: usize) -> Result<Self::Workspace> {
        Ok((
            Cpu::new(0),
            self.model
                .workspace_with_samples(max_rows, self.objective.importance_samples),
        ))
    }

    fn parameters(&self) -> Vec<&[f32]> {
        self.model.parameter_slices()
    }

    fn parameters_mut(&mut self) -> Vec<&mut [f32]> {
        self.model.parameter_slices_mut()
    }

    fn begin_epoch(&mut self, epochs_done: usize, _epochs: usize) {
        self.objective.beta = warmed_up_beta(self.beta, epochs_done, self.kl_warmup_epochs);
    }

    fn step(
        &mut self,
        (backend, ws): &mut Self::Workspace,
        batch: &mut Batch<'_>,
        rng: &mut Rng,
        optimizer: &mut Optimizer,
        learning_rate: f32,
    ) -> Result<f64> {
        if self.dynamic_binarization {
            // drawn from the loop's stream before the corruption's draws
            corruption::binarize_in_place(batch.x.as_mut_slice(), rng);
        }
        self.model.train_step(
            backend,
            ws,
            batch.x,
            &self.objective,
            rng,
            Some((optimizer, learning_rate)),
        )
    }

    fn validate(&self, data: &Examples<'_>) -> Result<Validation> {
        let mut v = reconstruction_validation(self.model, data)?;
        let maps = self
            .objective
            .code_penalties
            .iter()
            .any(|p| matches!(p, CodePenalty::Tsne { .. }));
        if maps && data.x.rows() >= 2 {
            // a map term is part of what is learned (with reconstruction_weight = 0, all of
            // it): select and stop early on the whole objective, on fixed chunks of the
            // validation set, without corruption
            let objective = Objective {
                corruption: None,
                ..self.objective.clone()
            };
            let mut model = self.model.clone();
            let (n, mut total) = (data.x.rows(), 0.0f64);
            for start in (0..n).step_by(VALIDATION_CHUNK) {
                let end = (start + VALIDATION_CHUNK).min(n);
                let chunk = data.x.slice_rows(start, end);
                total += model.loss(&chunk, &objective, &mut Rng::new(0))? * (end - start) as f64;
            }
            v.score = total / n as f64;
            // shown as the validation loss too, comparable with the training loss
            v.loss = Some(v.score);
        }
        Ok(v)
    }

    fn divergence_message(&self, epoch: usize, what: &str) -> String {
        format!(
            "training diverged in epoch {epoch} ({what}); kept the model from the start of that epoch. \
             Try a lower learning rate, or check the data range (Bernoulli output needs data in [0, 1])"
        )
    }
}
