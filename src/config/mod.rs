//! The TOML run configuration: `[model]`, `[train]`, `[corruption]`, `[[regularizer]]`.
//!
//! The file deserializes into typed sections (every name a user can type is an enum variant);
//! [`RunConfig::check`] turns them, once, into checked parameters: a buildable
//! [`AutoencoderSpec`] and a [`TrainConfig`] whose every size fits in memory. Nothing downstream
//! re-validates. Unknown keys and impossible values are errors that name the key.
//!
//! One file per group of sections: `model.rs` (`[model]`, `[data]`, and the checks of each
//! model kind), `train.rs` (`[train]`, `[pretrain]`, and the objective composed from
//! `[corruption]` and `[[regularizer]]`), `keys.rs` (the key lists the Python package reads).
//! This file holds the whole file's type and the one check. Each part's own keys are checked
//! beside the part (`OptimizerName::check`, `RuleName::check`, `RegularizerConfig::apply`, …).

mod keys;
mod model;
#[cfg(test)]
mod tests;
mod train;

pub use keys::section_keys;
pub use model::{DataSection, ModelKind, ModelSection};
pub use train::{Binarize, TrainSection};

use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::limits;
use crate::model::AutoencoderSpec;
use crate::objective::corruption::CorruptionConfig;
use crate::objective::regularizer::{split_nested_key, RegularizerConfig};
use crate::objective::ParameterPenalty;
use crate::pretrain::{PretrainConfig, Pretraining};
use crate::psd::config::PsdConfig;
use crate::train::rule::RuleName;
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `f64` nearest the shortest decimal that parses back to `x`: `0.2f32` gives `0.2`, not
/// `0.20000000298023224`. For reports and saved configs, where users read the numbers.
pub fn shortest_decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// Rewrites each float of `value` as the shortest decimal that parses to the same `f32`.
fn shorten_f32_floats(value: &mut toml::Value) {
    match value {
        toml::Value::Float(x) => *x = shortest_decimal(*x as f32),
        toml::Value::Array(items) => items.iter_mut().for_each(shorten_f32_floats),
        toml::Value::Table(table) => table.iter_mut().for_each(|(_, v)| shorten_f32_floats(v)),
        _ => {}
    }
}

/// A whole configuration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub model: ModelSection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSection>,
    #[serde(default)]
    pub train: TrainSection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrain: Option<PretrainConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corruption: Option<CorruptionConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regularizer: Vec<RegularizerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psd: Option<PsdConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportSection>,
}

/// `[report]`: how the run report draws what it draws, and whether TensorBoard logs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSection {
    /// The method that maps codes wider than 2 to the report's 2-D code map (a 2-D code is its
    /// own map).
    pub map: crate::report::run::MapMethod,
    /// `png` (default) or `svg`: how the loss curves and the code map are written.
    pub format: crate::report::run::PlotFormat,
    /// TensorBoard event files in the run folder's `tensorboard/` (`train --tensorboard DIR`
    /// puts them in `DIR/<run name>` instead).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tensorboard: bool,
    /// With TensorBoard logs: the training loss every this many steps (0: per epoch only).
    #[serde(skip_serializing_if = "is_default_every")]
    pub tensorboard_every: usize,
}

fn is_default_every(every: &usize) -> bool {
    *every == 10
}

impl Default for ReportSection {
    fn default() -> Self {
        ReportSection {
            map: Default::default(),
            format: Default::default(),
            tensorboard: false,
            tensorboard_every: 10,
        }
    }
}

/// A configuration after [`RunConfig::check`]: every value possible, every size bounded.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedRun {
    /// The model to build.
    pub spec: AutoencoderSpec,
    /// How to train it.
    pub train: TrainConfig,
    /// How the layers are initialized before training, if at all.
    pub pretrain: Option<Pretraining>,
}

impl RunConfig {
    /// Parses TOML text; `path` is used in errors only.
    pub fn parse(text: &str, path: &Path) -> Result<RunConfig> {
        // serde_path_to_error names the key of a bad value ("model.activation"); toml's own
        // error has the line.
        serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|err| {
            let at = err.path().to_string();
            let e = err.into_inner();
            let (key, message) = split_nested_key(&at, e.message());
            let key = if key == "." || key.is_empty() || message.contains(&key) {
                String::new()
            } else {
                format!("{key}: ")
            };
            let line = e
                .span()
                .map(|s| {
                    format!(
                        "line {}: ",
                        text[..s.start.min(text.len())].matches('\n').count() + 1
                    )
                })
                .unwrap_or_default();
            Error::format(path, format!("{line}{key}{}", message.replace('\n', " ")))
        })
    }

    /// A config from its sections as JSON (the Python package's keywords, or
    /// [`crate::defaults::choose`]'s); errors name the key.
    pub fn from_json(sections: &serde_json::Value) -> Result<RunConfig> {
        serde_path_to_error::deserialize(sections).map_err(|err| {
            let at = err.path().to_string();
            let message = err.into_inner().to_string();
            let (key, message) = split_nested_key(&at, &message);
            Error::config(key, message)
        })
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<RunConfig> {
        let bytes = crate::fsutil::read(path)?;
        let text = String::from_utf8(bytes).map_err(|_| Error::format(path, "not UTF-8 text"))?;
        RunConfig::parse(&text, path)
    }

    /// TOML text of this config (the resolved config saved in run folders).
    ///
    /// Every number in a config is an `f32`, and TOML floats are `f64`: written directly,
    /// `1e-3` would read back as `0.0010000000474974513`. Each float is written as the
    /// shortest decimal that parses to the same `f32`, so the file shows what the user typed.
    pub fn to_toml(&self) -> Result<String> {
        let unwritable = |e: &dyn std::fmt::Display| {
            Error::Invalid(format!("config cannot be written as TOML: {e}"))
        };
        let mut value = toml::Value::try_from(self).map_err(|e| unwritable(&e))?;
        shorten_f32_floats(&mut value);
        toml::to_string_pretty(&value).map_err(|e| unwritable(&e))
    }

    /// The one check: the spec for data of width `input_size` and the training configuration,
    /// with every buffer a training step allocates bounded by the memory this machine has.
    pub fn check(&self, input_size: usize) -> Result<CheckedRun> {
        self.check_inner(input_size, None)
    }

    /// [`Self::check`] with the training configuration already checked by
    /// [`Self::train_config`] (a front end that reports config errors before reading data
    /// does not check it twice).
    pub fn check_with(&self, input_size: usize, train: TrainConfig) -> Result<CheckedRun> {
        self.check_inner(input_size, Some(train))
    }

    fn check_inner(&self, input_size: usize, train: Option<TrainConfig>) -> Result<CheckedRun> {
        if self.model.kind != ModelKind::Autoencoder {
            return Err(Error::config(
                "model.kind",
                "an RBM or PSD run is checked by check_rbm or check_psd",
            ));
        }
        if self.psd.is_some()
            || self.model.atoms.is_some()
            || self.model.predictor.is_some()
            || self.model.lista_steps.is_some()
        {
            return Err(Error::config(
                "psd",
                "[psd], model.atoms, model.predictor and model.lista_steps are for model.kind = \"psd\"",
            ));
        }
        let spec = self.spec(input_size)?;
        let train = match train {
            Some(t) => t,
            None => self.train_config()?,
        };
        limits::check_threads("train.threads", train.threads)?;
        let samples = match spec.code_distribution {
            CodeDistribution::Gaussian => train.objective.importance_samples,
            CodeDistribution::Deterministic | CodeDistribution::Binary => 1,
        };
        let key = if samples > 1 {
            "train.importance_samples"
        } else {
            "train.batch_size"
        };
        limits::check_floats(
            key,
            spec.training_floats(train.batch_size, samples),
            "the model, its optimizer state and a training step's buffers",
        )?;
        let contractive = train
            .objective
            .parameter_penalties
            .iter()
            .find_map(|p| match *p {
                ParameterPenalty::Contractive {
                    weight,
                    directions,
                    hessian,
                } if weight != 0.0 || hessian.is_some() => Some((directions, hessian)),
                _ => None,
            });
        let contractive_key = |field: &str| {
            let i = self
                .regularizer
                .iter()
                .position(|r| matches!(r, RegularizerConfig::Contractive(_)))
                .unwrap_or(0);
            format!("regularizer[{i}].{field}")
        };
        if let Some((directions, _)) = contractive.filter(|&(d, _)| d > 0) {
            limits::check_floats(
                &contractive_key("directions"),
                spec.tangent_floats(train.batch_size, directions),
                "the contractive estimate's tangent buffers",
            )?;
        }
        if let Some((directions, Some(hessian))) = contractive {
            // the corrupted copies, and (estimated) the tangent buffers of samples × batch rows
            let (b, d) = (train.batch_size as u128, input_size as u128);
            let copies = hessian.samples as u128 * b * d;
            let estimate = if directions == 0
                && !spec.is_layered()
                && crate::objective::contractive::has_closed_form(
                    spec.encoder_layers.len(),
                    spec.code_activation,
                ) {
                0
            } else {
                2 * spec.tangent_floats(
                    train.batch_size.saturating_mul(hessian.samples),
                    directions.max(1),
                )
            };
            limits::check_floats(
                &contractive_key("hessian_samples"),
                copies.saturating_add(estimate),
                "CAE+H's corrupted copies and their tangents",
            )?;
        }
        let pretrain = self.pretraining()?;
        if spec.is_layered() {
            // these read dense weights: refuse them before any data is read, naming the key
            let non_dense = spec
                .encoder_configs()
                .iter()
                .chain(&spec.decoder_configs())
                .find(|l| {
                    !matches!(
                        l,
                        crate::layers::LayerConfig::Dense(_)
                            | crate::layers::LayerConfig::Reshape(_)
                    )
                })
                .map(|l| l.kind());
            if let Some(kind) = non_dense {
                if pretrain.is_some() {
                    return Err(Error::config(
                        "pretrain",
                        format!("greedy and RBM pretraining train dense layers, and this model has a {kind} layer"),
                    ));
                }
                if contractive.is_some() {
                    return Err(Error::config(
                        contractive_key("kind"),
                        format!("the contractive penalty is written for dense encoders, and this model has a {kind} layer"),
                    ));
                }
                if self.train.rule != RuleName::Backprop {
                    return Err(Error::config(
                        "train.rule",
                        format!("recirculation is written for dense layers, and this model has a {kind} layer"),
                    ));
                }
            }
        }
        if matches!(pretrain, Some(Pretraining::Pca)) {
            crate::pretrain::check_pca_init(&spec)?;
        }
        if matches!(pretrain, Some(Pretraining::Rbm(_))) {
            // the stack's shape rules, before any data is read or any RBM is trained (the data's
            // range is checked when it is)
            crate::pretrain::rbm_stack::check_unrollable(
                &spec,
                &crate::linalg::Matrix::zeros(0, 0),
            )?;
        }
        Ok(CheckedRun {
            spec,
            train,
            pretrain,
        })
    }
}
