//! One entry for an autoencoder run, whatever front end starts it: the validation split (by
//! index, over rows that stay where they are), a fresh model from the run's seed and its
//! pretraining (greedy one-layer autoencoders or a stack of RBMs) — or a resumed model — its
//! training state, and the fit on the one loop. The CLI's `train` keeps files, checkpoints and
//! reports; the Python package keeps numpy, the GIL and signals; neither repeats a step of this,
//! so the same config, rows and thread count give the same model in both.
//!
//! Input transforms are fitted and applied by the caller before: how rows are transformed
//! depends on where they live (in place in memory, stored entries of a sparse matrix, each row
//! read from a file).

use crate::config::CheckedRun;
use crate::data::rows::{self, Rows, Subset};
use crate::error::Result;
use crate::linalg::Matrix;
use crate::model::Autoencoder;
use crate::pretrain::{self, rbm_stack, Pretraining};
use crate::rbm::Rbm;
use crate::train::{self, Observer, TrainConfig, TrainReport, TrainState};

/// What watches a run: pretraining's epochs (autoencoder layers and RBMs), then the fit's.
pub trait RunObserver: Observer<Autoencoder> + Observer<Rbm> {
    /// Pretraining is over and the fit begins next: `model` is the pretrained model and
    /// `stack` the RBMs it was unrolled from (empty unless `[pretrain] kind = "rbm"`), trained
    /// on `rows`. Not called on a resumed run.
    fn pretrained(&mut self, _model: &Autoencoder, _stack: &[Rbm], _rows: &Matrix) -> Result<()> {
        Ok(())
    }
}

impl RunObserver for crate::train::Silent {}

/// Where a run starts.
pub enum Start {
    /// A new model from the run's seed, pretrained as the config asks.
    Fresh,
    /// A checkpoint's model and training state (epochs done, optimizer, random stream).
    Resume(Box<(Autoencoder, TrainState)>),
}

/// A run's model and how its fit ended. A fit that stopped on a non-finite loss or an
/// interrupt still has a model: the last good one, which the caller may save.
pub struct Fitted {
    /// The model after the fit (or at its last good epoch).
    pub model: Autoencoder,
    /// The fit's report, or why it stopped early.
    pub fit: Result<TrainReport>,
}

/// Trains the autoencoder of `run` on `rows`, validating on `validation` or, without it, on
/// the config's held-out fraction of `rows` (chosen by index from the run's seed). Errors
/// before the fit (the split, pretraining) are returned as such; the fit's own outcome is in
/// [`Fitted::fit`].
pub fn fit_checked<O: RunObserver>(
    run: &CheckedRun,
    rows: &dyn Rows,
    validation: Option<&dyn Rows>,
    start: Start,
    observer: &mut O,
) -> Result<Fitted> {
    fit_checked_reduced(run, rows, validation, start, observer, None)
}

/// [`fit_checked`] as one worker of a data-parallel fit ([`train::reducer`]): `rows` (and
/// `validation`) are this worker's; each worker holds out its own fraction. Pretraining,
/// which would fit each worker's layers to its own rows, is refused.
pub fn fit_checked_reduced<O: RunObserver>(
    run: &CheckedRun,
    rows: &dyn Rows,
    validation: Option<&dyn Rows>,
    start: Start,
    observer: &mut O,
    reducer: Option<&dyn train::reducer::Reducer>,
) -> Result<Fitted> {
    if reducer.is_some() && run.pretrain.is_some() && matches!(start, Start::Fresh) {
        return Err(crate::Error::config(
            "pretrain",
            "pretraining is not data-parallel yet: pretrain in one process, then fit the \
             pretrained model with a reducer",
        ));
    }
    let split = match validation {
        Some(_) => None,
        None => train::split_indices(rows.rows(), run.train.validation_fraction, run.train.seed),
    };
    let views = split
        .map(|(t, v)| Ok::<_, crate::Error>((Subset::new(rows, t)?, Subset::new(rows, v)?)))
        .transpose()?;
    let (train_x, val_x): (&dyn Rows, Option<&dyn Rows>) = match (&views, validation) {
        (Some((t, v)), _) => (t, Some(v)),
        (None, v) => (rows, v),
    };
    let (mut model, state) = match start {
        Start::Resume(resumed) => *resumed,
        Start::Fresh => {
            // pretraining alone reads the rows whole
            let whole;
            let pretrain_x: &Matrix = match train_x.as_matrix() {
                Some(m) => m,
                None if run.pretrain.is_some() => {
                    whole = rows::to_matrix(train_x)?.into_owned();
                    &whole
                }
                None => &Matrix::zeros(0, 0),
            };
            let (model, stack) = pretrained_model(run, pretrain_x, observer)?;
            observer.pretrained(&model, &stack, pretrain_x)?;
            let state = train::initial_state(&model, &run.train);
            (model, state)
        }
    };
    let fit = train::fit_rows_reduced(
        &mut model, train_x, val_x, &run.train, state, observer, reducer,
    );
    Ok(Fitted { model, fit })
}

/// Up to `cap` of the rows a run validates on (for a report or the TensorBoard projector):
/// `validation` when given, else the held-out split as [`fit_checked`] draws it, else the first
/// rows of `rows`. With them, for labelling, their indices into `rows` (`None` when they are
/// `validation`'s).
pub fn validation_sample(
    run: &CheckedRun,
    rows: &dyn Rows,
    validation: Option<&dyn Rows>,
    cap: usize,
) -> Result<(Matrix, Option<Vec<usize>>)> {
    if let Some(v) = validation {
        return Ok((rows::read_range(v, 0, v.rows().min(cap))?, None));
    }
    let n = rows.rows();
    let mut indices = match train::split_indices(n, run.train.validation_fraction, run.train.seed) {
        Some((_, held_out)) => held_out,
        None => (0..n).collect(),
    };
    indices.truncate(cap);
    let subset = Subset::new(rows, indices.clone())?;
    Ok((rows::read_range(&subset, 0, subset.rows())?, Some(indices)))
}

/// A fresh model for a checked run: initialized from the run's seed, then pretrained as its
/// config asks (greedy one-layer autoencoders, or a stack of RBMs, which is returned for the
/// report).
pub fn pretrained_model<O>(
    run: &CheckedRun,
    train_x: &Matrix,
    observer: &mut O,
) -> Result<(Autoencoder, Vec<Rbm>)>
where
    O: Observer<Autoencoder> + Observer<Rbm>,
{
    let mut model = Autoencoder::new(run.spec.clone(), run.train.seed)?;
    let stack = match &run.pretrain {
        Some(Pretraining::Autoencoder { epochs }) => {
            let pre = TrainConfig {
                epochs: *epochs,
                ..run.train.clone()
            };
            pretrain::greedy_layerwise(&mut model, train_x, &pre, observer)?;
            Vec::new()
        }
        Some(Pretraining::Pca) => {
            pretrain::pca_init(&mut model, train_x)?;
            Vec::new()
        }
        Some(Pretraining::Rbm(config)) => {
            rbm_stack::pretrain_rbm_stack(&mut model, train_x, config, observer)?
        }
        None => Vec::new(),
    };
    Ok((model, stack))
}
