//! `[train]`: the optimization's keys, and the training configuration composed from them, the
//! `[corruption]` and the `[[regularizer]]` entries (each part checks its own keys).

use super::RunConfig;
use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::nn::optimizer::{OptimizerKeys, OptimizerName};
use crate::nn::OptimizerKind;
use crate::objective::corruption::CorruptionConfig;
use crate::objective::regularizer::RunContext;
use crate::objective::Objective;
use crate::pretrain::Pretraining;
use crate::train::rule::{RuleKeys, RuleName};
use crate::train::schedule::{ScheduleKeys, ScheduleName};
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};

/// `train.binarize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binarize {
    /// Use the data as it is.
    None,
    /// Resample Bernoulli pixels every time an example is used.
    Dynamic,
}

/// `[train]`: the optimization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSection {
    pub epochs: usize,
    pub batch_size: usize,
    /// `adam`, `sgd` or `cg`.
    pub optimizer: OptimizerName,
    pub learning_rate: f32,
    /// SGD momentum.
    pub momentum: f32,
    /// SGD Nesterov momentum.
    pub nesterov: bool,
    /// CG: line searches per minibatch.
    pub line_searches: usize,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub seed: u64,
    pub validation_fraction: f32,
    /// 0 disables early stopping.
    pub patience: usize,
    /// `constant`, `step`, `cosine` or `stages`.
    pub schedule: ScheduleName,
    /// `step`: epochs between decays.
    pub step_every: usize,
    /// `step`: decay factor.
    pub step_gamma: f32,
    /// `cosine`: final learning rate.
    pub min_learning_rate: f32,
    /// `stages`: stage `i` lasts `stage_growth^i` epochs.
    pub stage_growth: usize,
    /// `stages`: learning-rate factor per stage (default 10^(-1/7), as in Burda et al.).
    pub stage_decay: f32,
    /// Worker threads; 0 = all cores.
    pub threads: usize,
    pub drop_last: bool,
    /// Shuffle the rows every epoch (false: every epoch in the rows' order).
    pub shuffle: bool,
    /// Weight of the KL term of a Gaussian code.
    pub beta: f32,
    /// Importance samples k for a Gaussian code: 1 = ELBO, k > 1 = IWAE bound.
    pub importance_samples: usize,
    /// Epochs of linear KL warm-up.
    pub kl_warmup_epochs: usize,
    /// `none` or `dynamic` (resample Bernoulli pixels every time an example is used).
    pub binarize: Binarize,
    /// Epochs of greedy layer-wise pretraining per encoder layer before training the whole
    /// network (0 = none).
    pub pretrain_epochs: usize,
    /// `backprop` or `recirculation`.
    pub rule: RuleName,
    /// RBMs: Gibbs steps `k` of CD-k.
    pub cd_steps: usize,
    /// RBMs: persistent CD.
    pub persistent: bool,
    /// Recirculation's regression `λ`: `x(1) = λ x(0) + (1 − λ) g(h(0))`.
    pub recirculation_lambda: f32,
    /// Weight of the likelihood term (0 = the code terms alone, e.g. a parametric t-SNE map).
    pub reconstruction_weight: f32,
}

/// The defaults of the keys `[train]` shares with [`TrainConfig`] are [`TrainConfig`]'s: one
/// place. The rest belong to a section variant only (SGD's momentum, a schedule's knobs).
impl Default for TrainSection {
    fn default() -> Self {
        let t = TrainConfig::default();
        let (beta1, beta2, eps) = match OptimizerKind::adam() {
            OptimizerKind::Adam { beta1, beta2, eps } => (beta1, beta2, eps),
            OptimizerKind::Sgd { .. } | OptimizerKind::Cg { .. } => unreachable!("adam() is Adam"),
        };
        TrainSection {
            epochs: t.epochs,
            batch_size: t.batch_size,
            optimizer: OptimizerName::Adam,
            learning_rate: t.learning_rate,
            momentum: 0.9,
            nesterov: false,
            line_searches: 3,
            beta1,
            beta2,
            eps,
            seed: t.seed,
            validation_fraction: t.validation_fraction,
            patience: t.patience.unwrap_or(0),
            schedule: ScheduleName::Constant,
            step_every: 10,
            step_gamma: 0.5,
            min_learning_rate: 0.0,
            stage_growth: 3,
            stage_decay: 0.719_685_7,
            threads: t.threads,
            drop_last: t.drop_last,
            shuffle: t.shuffle,
            beta: t.objective.beta,
            importance_samples: t.objective.importance_samples,
            kl_warmup_epochs: t.kl_warmup_epochs,
            binarize: if t.dynamic_binarization {
                Binarize::Dynamic
            } else {
                Binarize::None
            },
            pretrain_epochs: 0,
            rule: RuleName::Backprop,
            recirculation_lambda: 0.75,
            cd_steps: 1,
            persistent: false,
            reconstruction_weight: 1.0,
        }
    }
}

impl RunConfig {
    /// `[pretrain]` (or the older `train.pretrain_epochs`), checked.
    pub fn pretraining(&self) -> Result<Option<Pretraining>> {
        let t = &self.train;
        match (&self.pretrain, t.pretrain_epochs) {
            (Some(_), e) if e > 0 => Err(Error::config(
                "train.pretrain_epochs",
                "give either [pretrain] or train.pretrain_epochs, not both",
            )),
            (None, 0) => Ok(None),
            (None, epochs) => Ok(Some(Pretraining::Autoencoder { epochs })),
            (Some(p), _) => p.check(t.seed, t.threads).map(Some),
        }
    }

    /// The training configuration.
    pub fn train_config(&self) -> Result<TrainConfig> {
        let t = &self.train;
        let optimizer = t.optimizer.check(&OptimizerKeys {
            beta1: t.beta1,
            beta2: t.beta2,
            eps: t.eps,
            momentum: t.momentum,
            nesterov: t.nesterov,
            line_searches: t.line_searches,
        })?;
        let schedule = t.schedule.check(&ScheduleKeys {
            step_every: t.step_every,
            step_gamma: t.step_gamma,
            min_learning_rate: t.min_learning_rate,
            stage_growth: t.stage_growth,
            stage_decay: t.stage_decay,
        })?;
        if t.epochs == 0 && t.pretrain_epochs == 0 {
            return Err(Error::config(
                "train.epochs",
                "must be at least 1 (or 0 with pretrain_epochs > 0)",
            ));
        }
        let corruption = self
            .corruption
            .as_ref()
            .map(CorruptionConfig::check)
            .transpose()?;
        if !(t.beta >= 0.0 && t.beta.is_finite()) {
            return Err(Error::config("train.beta", "must be ≥ 0"));
        }
        if t.importance_samples == 0 {
            return Err(Error::config(
                "train.importance_samples",
                "must be at least 1",
            ));
        }
        if t.importance_samples > 1 && t.beta != 1.0 {
            return Err(Error::config(
                "train.beta",
                "the importance-weighted bound (importance_samples > 1) needs beta = 1",
            ));
        }
        if t.importance_samples > 1 && t.kl_warmup_epochs > 0 {
            return Err(Error::config(
                "train.kl_warmup_epochs",
                "the importance-weighted bound (importance_samples > 1) has no separate KL term to warm up; use 0",
            ));
        }
        let dynamic_binarization = t.binarize == Binarize::Dynamic;
        let mut objective = Objective {
            corruption,
            beta: t.beta,
            importance_samples: t.importance_samples,
            reconstruction_weight: t.reconstruction_weight,
            ..Objective::plain()
        };
        if !(t.reconstruction_weight >= 0.0 && t.reconstruction_weight.is_finite()) {
            return Err(Error::config("train.reconstruction_weight", "must be ≥ 0"));
        }
        if t.reconstruction_weight != 1.0
            && self.model.code_distribution != CodeDistribution::Deterministic
        {
            return Err(Error::config(
                "train.reconstruction_weight",
                "only a deterministic code may reweight its likelihood (a Gaussian or binary code's bound is one term)",
            ));
        }
        let run = RunContext {
            code_distribution: self.model.code_distribution,
            code_activation: self.model.code_activation,
            batch_size: t.batch_size,
        };
        for (i, r) in self.regularizer.iter().enumerate() {
            r.apply(&format!("regularizer[{i}]"), &run, &mut objective)?;
        }
        let config = TrainConfig {
            epochs: t.epochs,
            batch_size: t.batch_size,
            optimizer,
            learning_rate: t.learning_rate,
            schedule,
            seed: t.seed,
            validation_fraction: t.validation_fraction,
            patience: (t.patience > 0).then_some(t.patience),
            threads: t.threads,
            drop_last: t.drop_last,
            shuffle: t.shuffle,
            objective,
            dynamic_binarization,
            kl_warmup_epochs: t.kl_warmup_epochs,
            rule: t.rule.check(
                &RuleKeys {
                    recirculation_lambda: t.recirculation_lambda,
                    optimizer,
                },
                &self.regularizer,
            )?,
        };
        config.validate()?;
        Ok(config)
    }
}
