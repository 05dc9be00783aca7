//! An RBM run's settings: the `[model]` and `[train]` keys an RBM reads (`hidden`, the unit
//! kinds, `cd_steps`, `persistent`) and its weight decay, checked once into a [`CheckedRbm`].

use super::contrastive_divergence::CdConfig;
use super::{RbmSpec, Units};
use crate::error::{Error, Result};
use crate::objective::ParameterPenalty;
use crate::train::TrainConfig;

/// A checked RBM run.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedRbm {
    /// The RBM to build.
    pub spec: RbmSpec,
    /// The loop's settings, optimizer and seed (its objective parts unused).
    pub train: TrainConfig,
    /// How the model term is estimated.
    pub cd: CdConfig,
}

/// The keys of an RBM run, as the config gave them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RbmKeys {
    /// `model.hidden`.
    pub hidden: Option<usize>,
    /// `model.visible_units`.
    pub visible_units: Units,
    /// `model.hidden_units`.
    pub hidden_units: Units,
    /// `train.cd_steps`: `k` of CD-k.
    pub cd_steps: usize,
    /// `train.persistent`: persistent CD.
    pub persistent: bool,
    /// The sum of the `[[regularizer]] kind = "weight_decay"` weights.
    pub weight_decay: f32,
}

/// Whether CD-k applies `penalty` to its update: weight decay, on the weight matrix. An RBM has
/// no deterministic encoder whose Jacobian a contractive penalty could shrink.
pub fn applies(penalty: &ParameterPenalty) -> bool {
    matches!(penalty, ParameterPenalty::WeightDecay { .. })
}

/// Checks an RBM run on data of width `input_size`: its keys and the memory an update of
/// `train` needs.
pub fn check(
    input_size: usize,
    keys: &RbmKeys,
    train: impl FnOnce() -> Result<TrainConfig>,
) -> Result<CheckedRbm> {
    let hidden = keys
        .hidden
        .ok_or_else(|| Error::config("model.hidden", "an RBM needs hidden = N"))?;
    let spec = RbmSpec {
        visible: input_size,
        hidden,
        visible_units: keys.visible_units,
        hidden_units: keys.hidden_units,
    };
    spec.validate()?;
    let train = train()?;
    if train.optimizer.is_line_search() {
        return Err(Error::config(
            "train.optimizer",
            "CD-k has no objective to search along a line; use adam or sgd for an RBM",
        ));
    }
    if keys.cd_steps == 0 {
        return Err(Error::config("train.cd_steps", "must be at least 1"));
    }
    crate::limits::check_threads("train.threads", train.threads)?;
    let (d, h, b) = (input_size as u128, hidden as u128, train.batch_size as u128);
    crate::limits::check_floats(
        "model.hidden",
        5 * d * h + b * (4 * d + 4 * h),
        "the RBM, its optimizer state and an update's buffers",
    )?;
    Ok(CheckedRbm {
        spec,
        cd: CdConfig {
            steps: keys.cd_steps,
            persistent: keys.persistent,
            weight_decay: keys.weight_decay,
        },
        train,
    })
}
