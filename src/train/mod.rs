//! The one training loop: seeded shuffling, minibatches, validation, early stopping,
//! learning-rate schedules, per-epoch metrics, NaN/Inf stop, resumable state.

pub mod checkpoint;
pub mod pretrain;
pub mod schedule;

pub use checkpoint::{load_checkpoint, save_checkpoint, CHECKPOINT_FILE};
pub use schedule::Schedule;

use crate::error::{Error, Result};
use crate::linalg::{Cpu, Matrix, Rng};
use crate::model::{Autoencoder, Tensor};
use crate::nn::{Optimizer, OptimizerKind};
use crate::objective::Objective;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Training hyperparameters (separate from the fitted model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Optimizer and its hyperparameters.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub learning_rate: f32,
    /// How the learning rate changes over epochs.
    pub schedule: Schedule,
    /// Seed for shuffling, the validation split and corruption.
    pub seed: u64,
    /// Fraction of the training data held out for validation when no validation set is given.
    pub validation_fraction: f32,
    /// Stop after this many epochs without a better validation loss (and keep the best model).
    pub patience: Option<usize>,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Drop the last partial batch of each epoch.
    pub drop_last: bool,
    /// Corruption and penalties: the objective's parts beyond the likelihood.
    pub objective: Objective,
    /// Resample each example as Bernoulli pixels (`x̃ ~ Bernoulli(x)`) every time it is used
    /// (dynamic binarization, for likelihoods of binarized MNIST).
    pub dynamic_binarization: bool,
    /// Epochs over which the KL weight of a Gaussian code rises linearly from 0 to `β`.
    pub kl_warmup_epochs: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            batch_size: 128,
            optimizer: OptimizerKind::adam(),
            learning_rate: 1e-3,
            schedule: Schedule::Constant,
            seed: 0,
            validation_fraction: 0.1,
            patience: Some(5),
            threads: 0,
            drop_last: false,
            objective: Objective::plain(),
            dynamic_binarization: false,
            kl_warmup_epochs: 0,
        }
    }
}

impl TrainConfig {
    /// Checks values are possible; errors name the key.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::config("train.batch_size", "must be at least 1"));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(Error::config(
                "train.learning_rate",
                "must be a positive number",
            ));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(Error::config(
                "train.validation_fraction",
                "must be in [0, 1)",
            ));
        }
        Ok(())
    }
}

/// Metrics of one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training objective over the epoch's steps.
    pub train_loss: f64,
    /// Likelihood loss per example on the validation set.
    pub validation_loss: Option<f64>,
    /// Squared reconstruction error per example on the validation set.
    pub validation_squared_error: Option<f64>,
    /// Learning rate used this epoch.
    pub learning_rate: f32,
    /// Wall-clock seconds of the epoch's training steps.
    pub seconds: f64,
}

/// Everything needed to continue training exactly where it stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimizer state.
    pub optimizer: Optimizer,
    /// Shuffling and corruption generator.
    pub rng: Rng,
    /// Best validation loss so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// Parameters at the best validation loss (for early stopping).
    pub best_tensors: Option<Vec<Tensor>>,
    /// Metrics so far.
    pub history: Vec<EpochMetrics>,
}

/// Training progress hooks. All methods have empty defaults.
pub trait Observer: Send {
    /// After each step.
    fn batch(&mut self, _epoch: usize, _batch: usize, _batches: usize, _loss: f64) {}
    /// After each epoch, with the model and the state a resume would need.
    fn epoch(
        &mut self,
        _metrics: &EpochMetrics,
        _model: &Autoencoder,
        _state: &TrainState,
    ) -> Result<()> {
        Ok(())
    }
}

/// An observer that does nothing.
pub struct Silent;
impl Observer for Silent {}

/// Why training stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// All epochs ran.
    Completed,
    /// Validation loss stopped improving.
    EarlyStopped,
}

/// The outcome of [`fit`].
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// Per-epoch metrics.
    pub history: Vec<EpochMetrics>,
    /// Why it stopped.
    pub stop: StopReason,
    /// Final state (for saving a resumable checkpoint).
    pub state: TrainState,
}

/// Splits `data` into (train, validation) by a seeded shuffle; `fraction` of rows validate.
pub fn split_validation(data: &Matrix, fraction: f32, seed: u64) -> (Matrix, Option<Matrix>) {
    let n_val = (data.rows() as f64 * fraction as f64).round() as usize;
    if n_val == 0 || n_val >= data.rows() {
        return (data.clone(), None);
    }
    let mut idx: Vec<usize> = (0..data.rows()).collect();
    Rng::new(seed ^ 0x5EED_5A17).shuffle(&mut idx);
    let (val, train) = idx.split_at(n_val);
    let mut train = train.to_vec();
    train.sort_unstable();
    let mut val = val.to_vec();
    val.sort_unstable();
    (data.select_rows(&train), Some(data.select_rows(&val)))
}

/// A fresh training state for `model`.
pub fn initial_state(model: &Autoencoder, config: &TrainConfig) -> TrainState {
    TrainState {
        epochs_done: 0,
        optimizer: Optimizer::new(config.optimizer, &model.tensor_lengths()),
        rng: Rng::new(config.seed),
        best: None,
        best_tensors: None,
        history: Vec::new(),
    }
}

/// Trains `model` on `train` (validating on `validation` when given), continuing from `state`
/// (from [`initial_state`] or a checkpoint). On a non-finite loss or parameter the model is
/// restored to its parameters at the start of that epoch and an error is returned.
pub fn fit(
    model: &mut Autoencoder,
    train: &Matrix,
    validation: Option<&Matrix>,
    config: &TrainConfig,
    state: TrainState,
    observer: &mut dyn Observer,
) -> Result<TrainReport> {
    config.validate()?;
    if train.cols() != model.spec().input_size {
        return Err(Error::Shape(format!(
            "training data has {} columns, the model expects {}",
            train.cols(),
            model.spec().input_size
        )));
    }
    if train.rows() == 0 {
        return Err(Error::Invalid("no training examples".into()));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start worker threads: {e}")))?;
    pool.install(|| fit_on_pool(model, train, validation, config, state, observer))
}

fn fit_on_pool(
    model: &mut Autoencoder,
    train: &Matrix,
    validation: Option<&Matrix>,
    config: &TrainConfig,
    mut state: TrainState,
    observer: &mut dyn Observer,
) -> Result<TrainReport> {
    let backend = Cpu::new(0);
    let n = train.rows();
    let batch_size = config.batch_size.min(n);
    let mut ws = model.workspace_with_samples(batch_size, config.objective.importance_samples);
    let mut objective = config.objective.clone();
    let mut batch = Matrix::zeros(batch_size, train.cols());
    let mut order: Vec<usize> = (0..n).collect();
    let mut stop = StopReason::Completed;
    while state.epochs_done < config.epochs {
        let epoch = state.epochs_done + 1;
        let lr =
            config
                .schedule
                .learning_rate(config.learning_rate, state.epochs_done, config.epochs);
        objective.beta = warmed_up_beta(
            config.objective.beta,
            state.epochs_done,
            config.kl_warmup_epochs,
        );
        let last_good = model.tensors().to_vec();
        let start = Instant::now();
        order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
        state.rng.shuffle(&mut order);
        let batches = if config.drop_last {
            n / batch_size
        } else {
            n.div_ceil(batch_size)
        };
        let mut total = 0.0f64;
        for b in 0..batches {
            let rows = &order[b * batch_size..((b + 1) * batch_size).min(n)];
            batch.resize_rows(rows.len());
            for (dst, &src) in rows.iter().enumerate() {
                batch.row_mut(dst).copy_from_slice(train.row(src));
            }
            if config.dynamic_binarization {
                for v in batch.as_mut_slice() {
                    *v = if state.rng.uniform() < *v { 1.0 } else { 0.0 };
                }
            }
            let step = model.train_step(
                &backend,
                &mut ws,
                &batch,
                &objective,
                &mut state.rng,
                Some((&mut state.optimizer, lr)),
            );
            let loss = match step {
                Ok(l) => l,
                Err(Error::NonFinite(msg)) => {
                    return Err(non_finite(model, last_good, epoch, &msg))
                }
                Err(e) => return Err(e),
            };
            total += loss;
            observer.batch(epoch, b + 1, batches, loss);
        }
        let seconds = start.elapsed().as_secs_f64();
        if model
            .tensors()
            .iter()
            .any(|t| t.data.iter().any(|v| !v.is_finite()))
        {
            return Err(non_finite(
                model,
                last_good,
                epoch,
                "a parameter became non-finite",
            ));
        }
        let (validation_loss, validation_squared_error) = match validation {
            Some(v) => {
                let e = model.evaluate(v)?;
                (Some(e.loss_per_example), Some(e.squared_error_per_example))
            }
            None => (None, None),
        };
        let metrics = EpochMetrics {
            epoch,
            train_loss: total / batches.max(1) as f64,
            validation_loss,
            validation_squared_error,
            learning_rate: lr,
            seconds,
        };
        state.epochs_done = epoch;
        state.history.push(metrics.clone());
        let mut stop_now = false;
        if let Some(vl) = validation_loss {
            // A non-finite validation loss never counts as the best (NaN compares false).
            if vl.is_finite() && state.best.is_none_or(|(b, _)| vl < b) {
                state.best = Some((vl, epoch));
                if config.patience.is_some() {
                    state.best_tensors = Some(model.tensors().to_vec());
                }
            } else if let (Some(p), Some((_, best_epoch))) = (config.patience, state.best) {
                stop_now = epoch - best_epoch >= p;
            }
        }
        observer.epoch(&metrics, model, &state)?;
        if stop_now {
            stop = StopReason::EarlyStopped;
            break;
        }
    }
    // With early stopping on, the best validation epoch's model is the result, whether the
    // patience ran out or the epochs did.
    if let Some(best) = &state.best_tensors {
        for (t, b) in model.tensors_mut().iter_mut().zip(best) {
            t.data.copy_from_slice(&b.data);
        }
    }
    Ok(TrainReport {
        history: state.history.clone(),
        stop,
        state,
    })
}

/// The KL weight for the epoch after `epochs_done`: it rises linearly from 0 to `beta` over
/// the first `warmup_epochs` epochs (Bowman et al. 2016; Sønderby et al. 2016), then stays.
fn warmed_up_beta(beta: f32, epochs_done: usize, warmup_epochs: usize) -> f32 {
    if warmup_epochs == 0 {
        return beta;
    }
    beta * (epochs_done as f32 / warmup_epochs as f32).min(1.0)
}

fn non_finite(model: &mut Autoencoder, last_good: Vec<Tensor>, epoch: usize, what: &str) -> Error {
    for (t, g) in model.tensors_mut().iter_mut().zip(last_good) {
        t.data = g.data;
    }
    Error::NonFinite(format!(
        "training diverged in epoch {epoch} ({what}); kept the model from the start of that epoch. \
         Try a lower learning rate, or check the data range (Bernoulli output needs data in [0, 1])"
    ))
}

#[cfg(test)]
mod tests {
    use super::warmed_up_beta;

    #[test]
    fn kl_warm_up_ramps_linearly_then_holds() {
        let betas: Vec<f32> = (0..6).map(|e| warmed_up_beta(2.0, e, 4)).collect();
        assert_eq!(betas, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]);
        assert_eq!(warmed_up_beta(0.7, 0, 0), 0.7);
    }
}
