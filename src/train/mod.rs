//! The one training loop, for every [`Learner`]: seeded shuffling, minibatches, learning-rate
//! schedules, validation with model selection and early stopping, a running average of the
//! parameters, per-epoch metrics and observers, the NaN/Inf stop that keeps the last good
//! parameters, and resumable state. [`fit`] runs it for an autoencoder trained by backprop
//! ([`backprop`]); the probes' classifiers and the chapter's other learners run it through
//! [`run`].

pub mod backprop;
pub mod checkpoint;
pub mod learner;
pub mod recirculation;
pub mod reducer;
pub mod rule;
pub mod schedule;

pub use checkpoint::{
    load_checkpoint, load_named_checkpoint, save_checkpoint, save_named_checkpoint, CHECKPOINT_FILE,
};
pub use learner::{Batch, Examples, Learner, Validation};
pub use rule::{Rule, RuleName};
pub use schedule::Schedule;

use crate::data::rows::Rows;
use crate::error::{Error, Result};
use crate::linalg::{Matrix, Rng};
use crate::model::Autoencoder;
use crate::nn::{weight_average, Optimizer, OptimizerKind};
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
    /// Shuffle the rows every epoch (false: the rows' order every epoch).
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// Corruption and penalties: the objective's parts beyond the likelihood.
    pub objective: Objective,
    /// Resample each example as Bernoulli pixels (`x̃ ~ Bernoulli(x)`) every time it is used
    /// (dynamic binarization, for likelihoods of binarized MNIST).
    pub dynamic_binarization: bool,
    /// Epochs over which the KL weight of a Gaussian code rises linearly from 0 to `β`.
    pub kl_warmup_epochs: usize,
    /// The learning rule.
    #[serde(default)]
    pub rule: Rule,
}

fn yes() -> bool {
    true
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
            shuffle: true,
            objective: Objective::plain(),
            dynamic_binarization: false,
            kl_warmup_epochs: 0,
            rule: Rule::Backprop,
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

    /// The loop's part of this configuration.
    pub fn loop_config(&self) -> LoopConfig {
        LoopConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            schedule: self.schedule,
            threads: self.threads,
            drop_last: self.drop_last,
            shuffle: if self.shuffle {
                Shuffle::FromIdentity
            } else {
                Shuffle::Never
            },
            selection: SelectionRule {
                window: 1,
                keep_best: self.patience.is_some(),
                patience: self.patience,
            },
            weight_average: 0.0,
        }
    }
}

/// How each epoch's order of examples is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shuffle {
    /// A fresh permutation of `0..n` every epoch (the autoencoders').
    FromIdentity,
    /// The previous epoch's order, shuffled again (the probes' classifiers have always drawn
    /// their orders this way; kept so their results stay the same).
    Continued,
    /// The rows in their order, every epoch (`[train] shuffle = false`: ordered, reproducible
    /// runs, e.g. to compare a data-parallel fit with one process).
    Never,
}

/// How validation picks the parameters a run returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectionRule {
    /// Epochs are compared by the mean validation score of the last `window` epochs up to and
    /// including them (1 = the epoch's own score): a wider window keeps a lucky dip of a noisy
    /// curve from winning. The window spans the epochs of one call of [`run`].
    pub window: usize,
    /// Return the parameters of the best-scoring epoch (the first on ties), not the last.
    pub keep_best: bool,
    /// Stop after this many epochs without a better score.
    pub patience: Option<usize>,
}

/// The loop's settings, whatever the learner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoopConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per step (at most the number of examples).
    pub batch_size: usize,
    /// Base learning rate.
    pub learning_rate: f32,
    /// How the learning rate changes over epochs.
    pub schedule: Schedule,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Drop the last partial batch of each epoch.
    pub drop_last: bool,
    /// How orders are drawn.
    pub shuffle: Shuffle,
    /// How validation selects.
    pub selection: SelectionRule,
    /// Decay `β` of a running average of the parameters, updated after every step
    /// ([`weight_average`]); validation, selection and the result use the average. 0 = off.
    pub weight_average: f32,
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
    /// Classification error rate on the validation set (classifiers; of the averaged
    /// parameters when averaging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_error: Option<f64>,
    /// Mean free energy of the validation set (energy-based models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_free_energy: Option<f64>,
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
    /// Best validation score so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// Parameters at the best validation score, in [`Learner::parameters`] order (kept when
    /// the selection rule keeps the best).
    pub best_parameters: Option<Vec<Vec<f32>>>,
    /// Metrics so far.
    pub history: Vec<EpochMetrics>,
}

impl TrainState {
    /// A fresh state: no epochs done, a new optimizer for `parameter_lengths`, the stream of
    /// `seed`.
    pub fn new(optimizer: OptimizerKind, parameter_lengths: &[usize], seed: u64) -> Self {
        TrainState {
            epochs_done: 0,
            optimizer: Optimizer::new(optimizer, parameter_lengths),
            rng: Rng::new(seed),
            best: None,
            best_parameters: None,
            history: Vec::new(),
        }
    }
}

/// Training progress hooks. All methods have empty defaults.
pub trait Observer<M: ?Sized = Autoencoder>: Send {
    /// After each step.
    fn batch(&mut self, _epoch: usize, _batch: usize, _batches: usize, _loss: f64) {}
    /// After each epoch, with the model and the state a resume would need.
    fn epoch(&mut self, _metrics: &EpochMetrics, _model: &M, _state: &TrainState) -> Result<()> {
        Ok(())
    }
    /// Asked after each step: `true` stops training, back at the start of the epoch (a
    /// Ctrl-C from Python, between batches).
    fn interrupted(&mut self) -> bool {
        false
    }
    /// Asked after [`Self::epoch`]: `true` ends training after this epoch, as early stopping
    /// does (the best validation epoch's parameters are the result when selection keeps them).
    fn stop_requested(&mut self) -> bool {
        false
    }
}

/// An observer that does nothing.
pub struct Silent;
impl<M: ?Sized> Observer<M> for Silent {}

/// Why training stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// All epochs ran.
    Completed,
    /// Validation loss stopped improving.
    EarlyStopped,
    /// The observer asked to stop (a Python callback returned `True`).
    Requested,
}

/// With averaging and validation data: the selection the same run made among its unaveraged
/// parameters (what it would have returned without averaging, which never changes the
/// trajectory).
#[derive(Clone, Debug, PartialEq)]
pub struct Unaveraged {
    /// Validation score of the unaveraged parameters after each epoch of this run.
    pub validation_scores: Vec<f64>,
    /// The epoch (1-based) whose unaveraged parameters scored best.
    pub selected_epoch: usize,
    /// Those parameters, in [`Learner::parameters`] order.
    pub parameters: Vec<Vec<f32>>,
}

/// The outcome of [`fit`] and [`run`].
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// Per-epoch metrics.
    pub history: Vec<EpochMetrics>,
    /// Why it stopped.
    pub stop: StopReason,
    /// Final state (for saving a resumable checkpoint).
    pub state: TrainState,
    /// Validation score after each epoch of this run (of the averaged parameters when
    /// averaging); empty without validation data.
    pub validation_scores: Vec<f64>,
    /// With averaging and validation data, the unaveraged selection.
    pub unaveraged: Option<Unaveraged>,
}

/// Splits `data` into (train, validation) by a seeded shuffle; `fraction` of rows validate.
pub fn split_validation(data: &Matrix, fraction: f32, seed: u64) -> (Matrix, Option<Matrix>) {
    match split_indices(data.rows(), fraction, seed) {
        Some((train, val)) => (data.select_rows(&train), Some(data.select_rows(&val))),
        None => (data.clone(), None),
    }
}

/// The rows [`split_validation`] puts in (train, validation), each in increasing order;
/// `None` when no row validates (a fraction that rounds to none, or to all).
pub fn split_indices(rows: usize, fraction: f32, seed: u64) -> Option<(Vec<usize>, Vec<usize>)> {
    let n_val = (rows as f64 * fraction as f64).round() as usize;
    if n_val == 0 || n_val >= rows {
        return None;
    }
    let mut idx: Vec<usize> = (0..rows).collect();
    Rng::new(seed ^ 0x5EED_5A17).shuffle(&mut idx);
    let (val, train) = idx.split_at(n_val);
    let mut train = train.to_vec();
    train.sort_unstable();
    let mut val = val.to_vec();
    val.sort_unstable();
    Some((train, val))
}

/// A fresh training state for `model`.
pub fn initial_state(model: &Autoencoder, config: &TrainConfig) -> TrainState {
    TrainState::new(config.optimizer, &model.tensor_lengths(), config.seed)
}

/// Trains `model` by its rule (backprop on its objective, [`backprop::AutoencoderLearner`], or
/// recirculation, [`recirculation::RecirculationLearner`]) on `train`
/// (validating on `validation` when given), continuing from `state` (from [`initial_state`]
/// or a checkpoint). On a non-finite loss or parameter the model is restored to its
/// parameters at the start of that epoch and an error is returned.
pub fn fit(
    model: &mut Autoencoder,
    train: &Matrix,
    validation: Option<&Matrix>,
    config: &TrainConfig,
    state: TrainState,
    observer: &mut dyn Observer,
) -> Result<TrainReport> {
    fit_rows(
        model,
        train,
        validation.map(|v| v as &dyn Rows),
        config,
        state,
        observer,
    )
}

/// [`fit`] on rows read as batches ask for them ([`crate::data::rows`]: a `.npy` file on disk,
/// a sparse corpus, a borrowed buffer): the same model as on the same rows in memory. A UMAP
/// term still reads the training rows whole, for its neighbour graph.
pub fn fit_rows(
    model: &mut Autoencoder,
    train: &dyn Rows,
    validation: Option<&dyn Rows>,
    config: &TrainConfig,
    state: TrainState,
    observer: &mut dyn Observer,
) -> Result<TrainReport> {
    fit_rows_reduced(model, train, validation, config, state, observer, None)
}

/// [`fit_rows`] as one worker of a data-parallel fit ([`reducer`]): `train` (and
/// `validation`) are this worker's rows. Backprop only: other rules refuse a reducer.
pub fn fit_rows_reduced(
    model: &mut Autoencoder,
    train: &dyn Rows,
    validation: Option<&dyn Rows>,
    config: &TrainConfig,
    state: TrainState,
    observer: &mut dyn Observer,
    reducer: Option<&dyn reducer::Reducer>,
) -> Result<TrainReport> {
    config.validate()?;
    let (train, validation) = (
        Examples::unlabelled(train),
        validation.map(Examples::unlabelled),
    );
    let loop_config = config.loop_config();
    match config.rule {
        Rule::Backprop => {
            let mut learner =
                backprop::AutoencoderLearner::new(model, config).with_reducer(reducer);
            if config
                .objective
                .code_penalties
                .iter()
                .any(|p| matches!(p, crate::objective::CodePenalty::Umap { .. }))
            {
                // on the run's own threads, like its steps
                crate::limits::check_threads("threads", config.threads)?;
                rayon::ThreadPoolBuilder::new()
                    .num_threads(config.threads)
                    .build()
                    .map_err(|e| Error::Invalid(format!("cannot start worker threads: {e}")))?
                    .install(|| {
                        let v = validation.map(|v| v.matrix()).transpose()?;
                        learner.prepare_map_graphs(&*train.matrix()?, v.as_deref())
                    })?;
            }
            run_reduced(
                &mut learner,
                train,
                validation,
                &loop_config,
                state,
                observer,
                reducer,
            )
        }
        Rule::Recirculation { .. } if reducer.is_some() => Err(Error::config(
            "train.rule",
            "recirculation cannot be trained data-parallel yet: use backprop with a reducer",
        )),
        Rule::Recirculation { lambda } => {
            if config.dynamic_binarization || config.kl_warmup_epochs > 0 {
                return Err(Error::config(
                    "train.rule",
                    "recirculation takes neither binarize = \"dynamic\" nor a KL warm-up",
                ));
            }
            let mut learner =
                recirculation::RecirculationLearner::new(model, lambda, &config.objective)?;
            run(
                &mut learner,
                train,
                validation,
                &loop_config,
                state,
                observer,
            )
        }
    }
}

/// Runs the loop for `learner` on `train` (validating on `validation` when given) from
/// `state`, on a pool of `config.threads` workers.
pub fn run<L: Learner + Send>(
    learner: &mut L,
    train: Examples<'_>,
    validation: Option<Examples<'_>>,
    config: &LoopConfig,
    state: TrainState,
    observer: &mut dyn Observer<L::Model>,
) -> Result<TrainReport> {
    run_reduced(learner, train, validation, config, state, observer, None)
}

/// [`run`] as one worker of a data-parallel fit ([`reducer`]): the learner averages its
/// gradients through `reducer` (it must have been given it), and the loop agrees with the other
/// workers on batches per epoch (the smallest shard's), validation scores and stopping.
pub fn run_reduced<L: Learner + Send>(
    learner: &mut L,
    train: Examples<'_>,
    validation: Option<Examples<'_>>,
    config: &LoopConfig,
    state: TrainState,
    observer: &mut dyn Observer<L::Model>,
    reducer: Option<&dyn reducer::Reducer>,
) -> Result<TrainReport> {
    if train.x.cols() != learner.input_width() {
        return Err(Error::Shape(format!(
            "training data has {} columns, the model expects {}",
            train.x.cols(),
            learner.input_width()
        )));
    }
    if train.x.rows() == 0 {
        return Err(Error::Invalid("no training examples".into()));
    }
    if let Some(t) = train.targets {
        if t.len() != train.x.rows() {
            return Err(Error::Shape(format!(
                "{} rows but {} labels",
                train.x.rows(),
                t.len()
            )));
        }
    }
    weight_average::check_decay("weight_average", config.weight_average)?;
    crate::limits::check_threads("threads", config.threads)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start worker threads: {e}")))?;
    if reducer.is_some() && config.weight_average > 0.0 {
        return Err(Error::Invalid(
            "weight averaging is not supported in a data-parallel fit".into(),
        ));
    }
    pool.install(|| run_on_pool(learner, train, validation, config, state, observer, reducer))
}

/// The validation scores averaged over the workers, weighted by their validation rows.
fn averaged_validation(
    reducer: &dyn reducer::Reducer,
    v: Validation,
    rows: usize,
) -> Result<Validation> {
    let n = rows as f64;
    let parts = [
        Some(v.score),
        v.loss,
        v.squared_error,
        v.error_rate,
        v.free_energy,
    ];
    let mut sums: Vec<f64> = parts.iter().map(|p| p.unwrap_or(0.0) * n).collect();
    sums.push(n);
    reducer.all_reduce_f64(&mut sums, reducer::ReduceOp::Sum)?;
    let total = sums[5].max(1.0);
    let mean = |i: usize| parts[i].map(|_| sums[i] / total);
    Ok(Validation {
        score: sums[0] / total,
        loss: mean(1),
        squared_error: mean(2),
        error_rate: mean(3),
        free_energy: mean(4),
    })
}

/// Stops every worker when their parameters differ.
fn check_same(reducer: &dyn reducer::Reducer, same: bool, when: &str) -> Result<()> {
    if same {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "rank {}: the workers' parameters differ {when}; start every worker with the same \
         config, seed and model (and the same library version)",
        reducer.rank()
    )))
}

/// Model selection on a curve of validation scores (see [`SelectionRule`]).
struct Selection {
    window: usize,
    curve: Vec<f64>,
}

impl Selection {
    /// Adds `score`; returns the windowed score when it is finite and beats `best`.
    fn improves(&mut self, score: f64, best: Option<(f64, usize)>) -> Option<f64> {
        self.curve.push(score);
        let recent = &self.curve[self.curve.len().saturating_sub(self.window.max(1))..];
        let windowed = recent.iter().sum::<f64>() / recent.len() as f64;
        // A non-finite score never counts as the best (NaN compares false).
        (windowed.is_finite() && best.is_none_or(|(b, _)| windowed < b)).then_some(windowed)
    }
}

/// The unaveraged parameters' own selection, beside the averaged one.
struct UnaveragedTrack {
    selection: Selection,
    best: Option<(f64, usize)>,
    parameters: Vec<Vec<f32>>,
}

fn snapshot<L: Learner>(learner: &L) -> Vec<Vec<f32>> {
    learner.parameters().iter().map(|p| p.to_vec()).collect()
}

fn restore<L: Learner>(learner: &mut L, from: &[Vec<f32>]) {
    for (p, s) in learner.parameters_mut().into_iter().zip(from) {
        p.copy_from_slice(s);
    }
}

/// Swaps the learner's parameters with `other` (same shapes).
fn swap_parameters<L: Learner>(learner: &mut L, other: &mut [Vec<f32>]) {
    for (p, o) in learner.parameters_mut().into_iter().zip(other.iter_mut()) {
        p.swap_with_slice(o);
    }
}

fn run_on_pool<L: Learner>(
    learner: &mut L,
    train: Examples<'_>,
    validation: Option<Examples<'_>>,
    config: &LoopConfig,
    mut state: TrainState,
    observer: &mut dyn Observer<L::Model>,
    reducer: Option<&dyn reducer::Reducer>,
) -> Result<TrainReport> {
    if let Some(r) = reducer {
        // every worker validates, or none does (the collectives must match)
        let mut validating = [validation.is_some() as u8 as f64];
        let same = reducer::same_everywhere(r, &learner.parameters(), &mut validating)?;
        check_same(r, same, "at the start")?;
        if validating[0] != 0.0 && validating[0] != r.world_size() as f64 {
            return Err(Error::Invalid(format!(
                "rank {}: some workers have validation rows and others none",
                r.rank()
            )));
        }
    }
    let mut steps_done = 0usize;
    let n = train.x.rows();
    let batch_size = config.batch_size.clamp(1, n);
    let mut ws = learner.workspace(batch_size)?;
    let mut batch = Matrix::zeros(batch_size, train.x.cols());
    let mut batch_targets = vec![
        0usize;
        if train.targets.is_some() {
            batch_size
        } else {
            0
        }
    ];
    let mut order: Vec<usize> = (0..n).collect();
    let mut stop = StopReason::Completed;
    let mut selection = Selection {
        window: config.selection.window,
        curve: Vec::new(),
    };
    // Starts at the initial parameters (a pretrained encoder and a trained probe head are a
    // sensible point to shrink towards, so no bias correction).
    let mut average = (config.weight_average > 0.0).then(|| snapshot(learner));
    let mut unaveraged = average.as_ref().map(|_| UnaveragedTrack {
        selection: Selection {
            window: config.selection.window,
            curve: Vec::new(),
        },
        best: None,
        parameters: Vec::new(),
    });
    while state.epochs_done < config.epochs {
        let epoch = state.epochs_done + 1;
        let lr =
            config
                .schedule
                .learning_rate(config.learning_rate, state.epochs_done, config.epochs);
        learner.begin_epoch(state.epochs_done, config.epochs);
        let last_good = snapshot(learner);
        let start = Instant::now();
        // a worker's epoch draws from its own stream, seeded from one draw of the shared one
        let shared_rng = reducer.map(|r| {
            let draw = state.rng.next_u64();
            std::mem::replace(
                &mut state.rng,
                Rng::new(reducer::epoch_seed(draw, r.rank())),
            )
        });
        if !learner.draw_order(n, &mut state.rng, &mut order) {
            if config.shuffle != Shuffle::Continued || order.len() != n {
                order.clear();
                order.extend(0..n);
            }
            if config.shuffle != Shuffle::Never {
                state.rng.shuffle(&mut order);
            }
        }
        let m = order.len();
        let batches = if config.drop_last {
            m / batch_size
        } else {
            m.div_ceil(batch_size)
        };
        // every worker takes as many steps as the one with the fewest
        let batches = match reducer {
            Some(r) => {
                let mut fewest = [-(batches as f64)];
                r.all_reduce_f64(&mut fewest, reducer::ReduceOp::Max)?;
                (-fewest[0]) as usize
            }
            None => batches,
        };
        let mut total = 0.0f64;
        for b in 0..batches {
            let rows = &order[b * batch_size..((b + 1) * batch_size).min(m)];
            batch.resize_rows(rows.len());
            train.x.gather(rows, batch.as_mut_slice())?;
            if let Some(targets) = train.targets {
                for (dst, &src) in rows.iter().enumerate() {
                    batch_targets[dst] = targets[src];
                }
            }
            let n_targets = if train.targets.is_some() {
                rows.len()
            } else {
                0
            };
            let mut view = Batch {
                x: &mut batch,
                targets: &batch_targets[..n_targets],
            };
            let step = learner.step(&mut ws, &mut view, &mut state.rng, &mut state.optimizer, lr);
            let loss = match step {
                Ok(l) => l,
                Err(Error::NonFinite(msg)) => {
                    restore(learner, &last_good);
                    return Err(Error::NonFinite(learner.divergence_message(epoch, &msg)));
                }
                Err(e) => return Err(e),
            };
            if let Some(average) = average.as_mut() {
                for (a, p) in average.iter_mut().zip(learner.parameters()) {
                    weight_average::update(a, p, config.weight_average);
                }
            }
            total += loss;
            steps_done += 1;
            if let Some(r) = reducer.filter(|_| steps_done.is_multiple_of(reducer::CHECK_EVERY)) {
                let same = reducer::same_everywhere(r, &learner.parameters(), &mut [])?;
                check_same(r, same, &format!("in epoch {epoch}"))?;
            }
            observer.batch(epoch, b + 1, batches, loss);
            if observer.interrupted() {
                restore(learner, &last_good);
                return Err(Error::Interrupted {
                    epochs_done: state.epochs_done,
                });
            }
        }
        if let Some(shared) = shared_rng {
            state.rng = shared;
        }
        if let Some(r) = reducer {
            // running statistics are each worker's own: their mean on every worker, before
            // validation scores (and selection keeps) them
            for i in learner.buffers() {
                r.all_reduce_mean(learner.parameters_mut()[i])?;
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        if learner
            .parameters()
            .iter()
            .any(|p| p.iter().any(|v| !v.is_finite()))
        {
            restore(learner, &last_good);
            return Err(Error::NonFinite(
                learner.divergence_message(epoch, "a parameter became non-finite"),
            ));
        }
        let checked = match (validation.as_ref(), average.as_mut()) {
            (Some(v), Some(average)) => {
                swap_parameters(learner, average);
                let averaged = learner.validate(v);
                swap_parameters(learner, average);
                let raw = learner.validate(v)?;
                if let Some(track) = unaveraged.as_mut() {
                    if let Some(score) = track.selection.improves(raw.score, track.best) {
                        track.best = Some((score, epoch));
                        track.parameters = snapshot(learner);
                    }
                }
                Some(averaged?)
            }
            (Some(v), None) => Some(learner.validate(v)?),
            (None, _) => None,
        };
        let checked = match (checked, reducer, validation.as_ref()) {
            (Some(c), Some(r), Some(v)) => Some(averaged_validation(r, c, v.x.rows())?),
            (c, _, _) => c,
        };
        let metrics = EpochMetrics {
            epoch,
            train_loss: total / batches.max(1) as f64,
            validation_loss: checked.and_then(|c| c.loss),
            validation_squared_error: checked.and_then(|c| c.squared_error),
            validation_error: checked.and_then(|c| c.error_rate),
            validation_free_energy: checked.and_then(|c| c.free_energy),
            learning_rate: lr,
            seconds,
        };
        state.epochs_done = epoch;
        state.history.push(metrics.clone());
        let mut stop_now = false;
        if let Some(c) = checked {
            if let Some(score) = selection.improves(c.score, state.best) {
                state.best = Some((score, epoch));
                if config.selection.keep_best {
                    state.best_parameters = Some(match &average {
                        Some(average) => average.clone(),
                        None => snapshot(learner),
                    });
                }
            } else if let (Some(p), Some((_, best_epoch))) = (config.selection.patience, state.best)
            {
                stop_now = epoch - best_epoch >= p;
            }
        }
        observer.epoch(&metrics, learner.model(), &state)?;
        // a callback's stop counts once any worker's asks
        let mut requested = observer.stop_requested();
        if let Some(r) = reducer {
            let mut asked = [requested as u8 as f64];
            let same = reducer::same_everywhere(r, &learner.parameters(), &mut asked)?;
            check_same(r, same, &format!("after epoch {epoch}"))?;
            requested = asked[0] > 0.0;
        }
        if stop_now {
            stop = StopReason::EarlyStopped;
            break;
        }
        if requested {
            stop = StopReason::Requested;
            break;
        }
    }
    // With selection on, the best validation epoch's parameters are the result, whether the
    // patience ran out or the epochs did; else, with averaging, the average.
    if let Some(best) = &state.best_parameters {
        restore(learner, best);
    } else if let Some(average) = &average {
        restore(learner, average);
    }
    let unaveraged = unaveraged.and_then(|track| {
        track.best.map(|(_, selected_epoch)| Unaveraged {
            validation_scores: track.selection.curve,
            selected_epoch,
            parameters: track.parameters,
        })
    });
    Ok(TrainReport {
        history: state.history.clone(),
        stop,
        state,
        validation_scores: selection.curve,
        unaveraged,
    })
}

/// The KL weight for the epoch after `epochs_done`: it rises linearly from 0 to `beta` over
/// the first `warmup_epochs` epochs (Bowman et al. 2016; Sønderby et al. 2016), then stays.
pub(crate) fn warmed_up_beta(beta: f32, epochs_done: usize, warmup_epochs: usize) -> f32 {
    if warmup_epochs == 0 {
        return beta;
    }
    beta * (epochs_done as f32 / warmup_epochs as f32).min(1.0)
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
