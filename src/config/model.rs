//! `[model]` and `[data]`: the network's shape, and the check of each model kind's keys (an
//! autoencoder's spec, an RBM's, PSD's).

use super::RunConfig;
use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::model::AutoencoderSpec;
use crate::nn::{Activation, Init};
use crate::objective::corruption::CorruptionConfig;
use crate::objective::Likelihood;
use crate::objective::ParameterPenalty;
use crate::psd::config::{CheckedPsd, PsdModelKeys};
use crate::rbm::config::{CheckedRbm, RbmKeys};
use crate::rbm::Units;
use serde::{Deserialize, Serialize};

/// `[model]`: the network's shape. The input size comes from the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// `autoencoder` (the default) or `rbm`.
    #[serde(default, skip_serializing_if = "ModelKind::is_autoencoder")]
    pub kind: ModelKind,
    /// Encoder hidden sizes; the decoder mirrors them unless `decoder_layers` is given.
    #[serde(default)]
    pub layers: Vec<usize>,
    /// Code size (autoencoders; required there).
    #[serde(default)]
    pub code: usize,
    /// `rbm`: number of hidden units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    /// `psd`: dictionary size (atoms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atoms: Option<usize>,
    /// `psd`: the code predictor, `psd` (g ⊙ tanh(Wx + b)), `tanh`, `lista` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictor: Option<crate::psd::Predictor>,
    /// `psd` with `predictor = "lista"`: unrolled steps after the first threshold (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lista_steps: Option<usize>,
    /// `rbm`: `bernoulli`, `gaussian` (unit variance, for standardized data) or `softmax`
    /// (replicated softmax: rows of word counts, Salakhutdinov & Hinton 2009) visible units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_units: Option<Units>,
    /// `rbm`: `bernoulli` or `gaussian` (linear) hidden units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_units: Option<Units>,
    /// Hidden activation.
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Code activation.
    #[serde(default = "default_code_activation")]
    pub code_activation: Activation,
    /// `bernoulli` (data in [0, 1]) or `gaussian`.
    #[serde(default)]
    pub output: Likelihood,
    /// Tied weights.
    #[serde(default)]
    pub tied: bool,
    /// Explicit decoder hidden sizes (code side first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder_layers: Option<Vec<usize>>,
    /// `uniform_fan_in`, `glorot` or `he`.
    #[serde(default)]
    pub init: Init,
    /// `deterministic`, `gaussian` (a VAE: the encoder outputs mean and log-variance) or
    /// `binary` (semantic hashing: bits pushed to {0, 1}; see `binary`).
    #[serde(default)]
    pub code_distribution: CodeDistribution,
    /// `binary` codes: `noise` (S&H's Gaussian noise before the sigmoid), `straight_through`
    /// or `bernoulli` (straight-through with a KL term to Bern(½), weighted by `train.beta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<crate::code::BinaryKind>,
    /// `binary = "noise"`: the noise's standard deviation (default 4, variance 16 as S&H).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_noise: Option<f32>,
    /// `[C, H, W]` of one example (images; inferred from IDX images and 4-D `.npy` files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_shape: Option<Vec<usize>>,
    /// The encoder as a list of layers: `[{ conv = 32, kernel = 3, padding = 1 }, …]`
    /// (`crate::layers::config`); `code` then adds a dense code layer after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<Vec<crate::layers::LayerEntry>>,
    /// The decoder as a list of layers, code side first (default: the encoder's mirror).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder: Option<Vec<crate::layers::LayerEntry>>,
}

/// `[data]`: what is done to the data before the model sees it, fitted on the training data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// `none`, `tfidf`, `log1p` or `binary` (saved in the run folder as `transform.json` and
    /// applied by every command that reads the model).
    #[serde(default)]
    pub transform: crate::data::transform::TransformKind,
}

/// `model.kind`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// An autoencoder (`code`, `layers`, …).
    #[default]
    Autoencoder,
    /// A restricted Boltzmann machine (`hidden`, `visible_units`, `hidden_units`), trained by
    /// contrastive divergence (`train.cd_steps`, `train.persistent`).
    Rbm,
    /// Predictive sparse decomposition (`atoms`, `predictor`, `[psd]`): a dictionary, sparse
    /// codes by FISTA, and an encoder that predicts them (chapter 14.8).
    Psd,
}

impl ModelKind {
    fn is_autoencoder(&self) -> bool {
        *self == ModelKind::Autoencoder
    }
}

fn default_activation() -> Activation {
    Activation::Sigmoid
}
fn default_code_activation() -> Activation {
    Activation::Linear
}

impl RunConfig {
    /// The model spec for data of width `input_size`.
    pub fn spec(&self, input_size: usize) -> Result<AutoencoderSpec> {
        let m = &self.model;
        let spec = AutoencoderSpec {
            input_size,
            encoder_layers: m.layers.clone(),
            code_size: m.code,
            code_activation: m.code_activation,
            decoder_layers: m.decoder_layers.clone(),
            activation: m.activation,
            output: m.output,
            tied: m.tied,
            code_distribution: m.code_distribution,
            binary: match m.code_distribution {
                CodeDistribution::Binary => Some(crate::code::BinaryCode {
                    kind: m.binary.unwrap_or_default(),
                    noise: m
                        .binary_noise
                        .unwrap_or(crate::code::BinaryCode::DEFAULT.noise),
                }),
                _ => {
                    if m.binary.is_some() || m.binary_noise.is_some() {
                        return Err(Error::config(
                            if m.binary.is_some() {
                                "model.binary"
                            } else {
                                "model.binary_noise"
                            },
                            "is for code_distribution = \"binary\"",
                        ));
                    }
                    None
                }
            },
            init: m.init,
            corruption: self
                .corruption
                .as_ref()
                .map(CorruptionConfig::check)
                .transpose()?,
            input_shape: None,
            encoder: None,
            decoder: None,
        };
        let spec = match &m.encoder {
            Some(entries) => {
                for (key, set) in [
                    ("model.layers", !m.layers.is_empty()),
                    ("model.decoder_layers", m.decoder_layers.is_some()),
                ] {
                    if set {
                        return Err(Error::config(
                            key,
                            "is the dense shorthand: with encoder = [...], write the decoder as decoder = [...]",
                        ));
                    }
                }
                crate::model::spec::layered(
                    spec,
                    m.input_shape.as_deref(),
                    entries,
                    m.decoder.as_deref(),
                )?
            }
            None => {
                for (key, set) in [
                    ("model.decoder", m.decoder.is_some()),
                    ("model.input_shape", m.input_shape.is_some()),
                ] {
                    if set {
                        return Err(Error::config(
                            key,
                            "is for a model written as a list of layers: give encoder = [...] too",
                        ));
                    }
                }
                spec
            }
        };
        spec.validate()?;
        Ok(spec)
    }

    /// The check of an RBM run (`model.kind = "rbm"`) on data of width `input_size`.
    pub fn check_rbm(&self, input_size: usize) -> Result<CheckedRbm> {
        let m = &self.model;
        if m.kind != ModelKind::Rbm {
            return Err(Error::config("model.kind", "this run is not an RBM"));
        }
        if !m.layers.is_empty() || m.code != 0 {
            return Err(Error::config(
                "model.hidden",
                "an RBM has one hidden layer: give hidden = N, not layers or code",
            ));
        }
        if self.pretrain.is_some() || self.corruption.is_some() {
            return Err(Error::config(
                "model.kind",
                "an RBM takes neither [pretrain] nor [corruption]",
            ));
        }
        crate::train::rule::refuse_unapplied(
            &self.regularizer,
            crate::rbm::config::applies,
            false,
            |kind| format!("an RBM takes weight_decay only, not {kind}"),
        )?;
        // CD-k applies weight decay alone (the others were refused above)
        let weight_decay = self
            .regularizer
            .iter()
            .filter_map(|r| match r.parameter_penalty() {
                Some(ParameterPenalty::WeightDecay { weight }) => Some(weight),
                _ => None,
            })
            .sum();
        let keys = RbmKeys {
            hidden: m.hidden,
            visible_units: m.visible_units.unwrap_or_default(),
            hidden_units: m.hidden_units.unwrap_or_default(),
            cd_steps: self.train.cd_steps,
            persistent: self.train.persistent,
            weight_decay,
        };
        crate::rbm::config::check(input_size, &keys, || self.train_config())
    }

    /// The check of a `model.kind = "psd"` run for data of width `input_size`
    /// ([`crate::psd::config`] checks the PSD keys).
    pub fn check_psd(&self, input_size: usize) -> Result<CheckedPsd> {
        let m = &self.model;
        if m.kind != ModelKind::Psd {
            return Err(Error::config("model.kind", "this run is not PSD"));
        }
        if !m.layers.is_empty() || m.code != 0 || m.hidden.is_some() {
            return Err(Error::config(
                "model.atoms",
                "PSD takes atoms = N (the dictionary size), not layers, code or hidden",
            ));
        }
        // PSD's own terms are its [psd] section's λ and γ
        crate::train::rule::refuse_unapplied(
            &self.regularizer,
            |_| false,
            false,
            |kind| {
                format!("PSD takes no [[regularizer]] ({kind} given); its terms are [psd] lambda and gamma")
            },
        )?;
        if self.pretrain.is_some() || self.corruption.is_some() {
            return Err(Error::config(
                "model.kind",
                "PSD takes none of [pretrain], [corruption], [[regularizer]]",
            ));
        }
        let model = PsdModelKeys {
            atoms: m.atoms,
            predictor: m.predictor,
            lista_steps: m.lista_steps,
        };
        let psd = self.psd.clone().unwrap_or_default();
        crate::psd::config::check(input_size, &model, &psd, || self.train_config())
    }
}
