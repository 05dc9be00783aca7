//! What the one training loop drives: a [`Learner`] takes a step on a minibatch, reports its
//! objective and evaluates itself. Backprop on `L + Ω` (the autoencoder, the probes'
//! classifiers) is one kind of learner; contrastive divergence, recirculation and predictive
//! sparse decomposition are others. Shuffling, batches, schedules, selection and early
//! stopping, NaN/Inf stops, averaging, checkpoints and observers belong to the loop
//! ([`super::run`]), once.

use crate::data::rows::Rows;
use crate::error::Result;
use crate::linalg::{Matrix, Rng};
use crate::nn::Optimizer;
use std::borrow::Cow;

/// A data set as the loop sees it: rows of features (in memory, or read as batches ask for
/// them), and for supervised learners one class index per row.
#[derive(Clone, Copy)]
pub struct Examples<'a> {
    /// `rows × features`.
    pub x: &'a dyn Rows,
    /// Class index of each row (supervised learners only).
    pub targets: Option<&'a [usize]>,
}

impl<'a> Examples<'a> {
    /// Unlabelled rows.
    pub fn unlabelled(x: &'a dyn Rows) -> Self {
        Examples { x, targets: None }
    }
    /// Rows with their class indices.
    pub fn labelled(x: &'a dyn Rows, targets: &'a [usize]) -> Self {
        Examples {
            x,
            targets: Some(targets),
        }
    }
    /// The rows as one matrix (read whole when streamed), for evaluations that need them all.
    pub fn matrix(&self) -> Result<Cow<'a, Matrix>> {
        crate::data::rows::to_matrix(self.x)
    }
}

/// One minibatch, gathered by the loop into buffers it owns (so a step allocates nothing).
/// A learner may change `x` in place (dynamic binarization, input dropout).
#[derive(Debug)]
pub struct Batch<'a> {
    /// `rows × features`.
    pub x: &'a mut Matrix,
    /// Class index of each row; empty for unsupervised data.
    pub targets: &'a [usize],
}

/// What a learner reports about itself on held-out data after an epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Validation {
    /// What model selection and early stopping minimize.
    pub score: f64,
    /// The objective's likelihood part per example (reconstruction learners).
    pub loss: Option<f64>,
    /// Squared reconstruction error per example (reconstruction learners).
    pub squared_error: Option<f64>,
    /// Classification error rate (classifiers).
    pub error_rate: Option<f64>,
    /// Mean free energy `F(v)` (energy-based models: the gap between training and validation
    /// data is the overfitting signal of Hinton's practical guide).
    pub free_energy: Option<f64>,
}

/// A model together with the rule that trains it.
///
/// Invariant: [`Learner::parameters`] and [`Learner::parameters_mut`] list the same buffers in
/// the same order every call; the optimizer's slots follow that order.
pub trait Learner {
    /// What observers and checkpoints are shown.
    type Model;
    /// Buffers for batches of up to a fixed number of rows, made once per fit.
    type Workspace;

    /// The model being trained.
    fn model(&self) -> &Self::Model;
    /// Width of the rows it trains on.
    fn input_width(&self) -> usize;
    /// Buffers for batches of up to `max_rows` rows.
    fn workspace(&self, max_rows: usize) -> Result<Self::Workspace>;
    /// The trainable buffers, in a fixed order.
    fn parameters(&self) -> Vec<&[f32]>;
    /// The same buffers, mutable (restoring a snapshot, averaging).
    fn parameters_mut(&mut self) -> Vec<&mut [f32]>;
    /// Indices into [`Self::parameters`] of buffers that no gradient trains (running
    /// statistics): a data-parallel fit averages them across workers after each epoch.
    fn buffers(&self) -> Vec<usize> {
        Vec::new()
    }
    /// Called before each epoch (`epochs_done` of `epochs` done): per-epoch knobs such as a
    /// KL warm-up.
    fn begin_epoch(&mut self, _epochs_done: usize, _epochs: usize) {}
    /// The epoch's order of training rows, for a learner that draws its own (a map term that
    /// trains on edges of a neighbour graph lays rows out in pairs): fills `order` from `rng`
    /// and returns `true`. The default, `false`, leaves the order to the loop's shuffle.
    fn draw_order(&mut self, _examples: usize, _rng: &mut Rng, _order: &mut Vec<usize>) -> bool {
        false
    }
    /// One update on `batch`; returns the batch's objective. `rng` is the loop's stream (the
    /// one that shuffles); a learner may draw its noise from it. A non-finite objective is
    /// [`crate::Error::NonFinite`].
    fn step(
        &mut self,
        ws: &mut Self::Workspace,
        batch: &mut Batch<'_>,
        rng: &mut Rng,
        optimizer: &mut Optimizer,
        learning_rate: f32,
    ) -> Result<f64>;
    /// Scores on held-out data.
    fn validate(&self, data: &Examples<'_>) -> Result<Validation>;
    /// The error a divergence in `epoch` (`what` went non-finite) returns, after the loop has
    /// restored the parameters from the start of that epoch.
    fn divergence_message(&self, epoch: usize, what: &str) -> String;
}
