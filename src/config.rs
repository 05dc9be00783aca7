//! The TOML run configuration: `[model]`, `[train]`, `[corruption]`, `[[regularizer]]`.
//!
//! The file deserializes into typed sections (every name a user can type is an enum variant);
//! [`RunConfig::check`] turns them, once, into checked parameters: a buildable
//! [`AutoencoderSpec`] and a [`TrainConfig`] whose every size fits in memory. Nothing downstream
//! re-validates. Unknown keys and impossible values are errors that name the key.

use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::limits;
use crate::model::AutoencoderSpec;
use crate::nn::optimizer::{OptimizerKeys, OptimizerName};
use crate::nn::{Activation, Init, OptimizerKind};
use crate::objective::corruption::CorruptionConfig;
use crate::objective::regularizer::{split_nested_key, RegularizerConfig, RunContext};
use crate::objective::{Likelihood, Objective, ParameterPenalty};
use crate::psd::config::{CheckedPsd, PsdConfig, PsdModelKeys};
use crate::rbm::config::{CheckedRbm, RbmKeys};
use crate::rbm::Units;
use crate::train::pretrain::{PretrainConfig, Pretraining};
use crate::train::rule::{RuleKeys, RuleName};
use crate::train::schedule::{ScheduleKeys, ScheduleName};
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

fn default_activation() -> Activation {
    Activation::Sigmoid
}
fn default_code_activation() -> Activation {
    Activation::Linear
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
        let weight_decay = self
            .regularizer
            .iter()
            .filter_map(RegularizerConfig::parameter_penalty)
            .map(|p| p.weight())
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
                ParameterPenalty::Contractive { weight, directions } if weight != 0.0 => {
                    Some(directions)
                }
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
        if let Some(directions) = contractive.filter(|&d| d > 0) {
            limits::check_floats(
                &contractive_key("directions"),
                spec.tangent_floats(train.batch_size, directions),
                "the contractive estimate's tangent buffers",
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
            crate::train::pretrain::check_pca_init(&spec)?;
        }
        if matches!(pretrain, Some(Pretraining::Rbm(_))) {
            // the stack's shape rules, before any data is read or any RBM is trained (the data's
            // range is checked when it is)
            crate::train::rbm_stack::check_unrollable(&spec, &crate::linalg::Matrix::zeros(0, 0))?;
        }
        Ok(CheckedRun {
            spec,
            train,
            pretrain,
        })
    }

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

/// The keys of a config section as serde's derive knows them (its `FIELDS`), read by asking
/// the section to deserialize from a deserializer that only records what it is asked for. The
/// Python package builds its keyword lists from these, so a key added here reaches it.
pub fn section_keys(section: &str) -> Option<Vec<&'static str>> {
    fn fields_of<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
        let mut fields = Vec::new();
        let _ = T::deserialize(FieldNames(&mut fields));
        fields
    }
    Some(match section {
        "model" => fields_of::<ModelSection>(),
        "train" => fields_of::<TrainSection>(),
        "data" => fields_of::<DataSection>(),
        "pretrain" => fields_of::<PretrainConfig>(),
        "corruption" => fields_of::<CorruptionConfig>(),
        "psd" => fields_of::<PsdConfig>(),
        "report" => fields_of::<ReportSection>(),
        _ => return None,
    })
}

/// A deserializer that records a struct's field names and deserializes nothing.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}
impl std::error::Error for Recorded {}
impl serde::de::Error for Recorded {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Recorded
    }
}

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = Recorded;
    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        _: V,
    ) -> std::result::Result<V::Value, Recorded> {
        Err(Recorded)
    }
    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> std::result::Result<V::Value, Recorded> {
        self.0.extend_from_slice(fields);
        Err(Recorded)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::Corruption;

    /// The first error of reading `text` and checking it for 784-wide data.
    fn first_error(text: &str) -> String {
        RunConfig::parse(text, Path::new("c.toml"))
            .and_then(|c| c.check(784))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn section_keys_are_the_sections_fields() {
        let model = section_keys("model").unwrap();
        assert!(
            model.contains(&"layers") && model.contains(&"code_distribution"),
            "{model:?}"
        );
        let train = section_keys("train").unwrap();
        assert!(
            train.contains(&"learning_rate") && train.contains(&"rule"),
            "{train:?}"
        );
        assert_eq!(section_keys("corruption").unwrap(), ["kind", "level"]);
        assert!(section_keys("nonsense").is_none());
        // every key listed parses as a key of its section (a TOML with that key alone is not
        // refused as unknown)
        for key in &train {
            let err = RunConfig::parse(
                &format!("[model]\ncode = 2\n[train]\n{key} = \"?\"\n"),
                Path::new("c"),
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
            assert!(!err.contains("unknown field"), "{key}: {err}");
        }
    }

    /// Every section's errors name the key the user wrote (`section.key`, `regularizer[i].key`),
    /// whether serde or a part's check finds them.
    #[test]
    fn each_section_names_the_key_the_user_wrote() {
        let model = "[model]\nlayers = [16]\ncode = 4\n";
        for (text, key) in [
            ("[model]\ncode = 0\n".to_string(), "model.code:"),
            ("[model]\ncode = 3000000000\n".to_string(), "model.code:"),
            ("[model]\nlayers = [0]\ncode = 4\n".to_string(), "model.layers:"),
            ("[model]\ncode = 4\nactivation = \"sigmod\"\n".to_string(), "model.activation:"),
            ("[model]\ncode = 4\ndecoder_layers = [0]\n".to_string(), "model.decoder_layers:"),
            (format!("{model}[train]\nbatch_size = 0\n"), "train.batch_size:"),
            (format!("{model}[train]\nlearning_rate = \"fast\"\n"), "train.learning_rate:"),
            (format!("{model}[train]\noptimizer = \"adamw\"\n"), "train.optimizer:"),
            (format!("{model}[train]\noptimizer = \"cg\"\nline_searches = 0\n"), "train.line_searches:"),
            (format!("{model}[train]\noptimizer = \"cg\"\nrule = \"recirculation\"\n"), "train.optimizer:"),
            (format!("{model}[corruption]\nkind = \"masking\"\nlevel = 2.0\n"), "corruption.level:"),
            (format!("{model}[corruption]\nkind = \"blur\"\nlevel = 0.1\n"), "corruption.kind:"),
            (format!("{model}[corruption]\nkind = \"masking\"\nlevel = 0.1\nsigma = 1\n"), "corruption.sigma:"),
            (format!("{model}[[regularizer]]\nkind = \"l1\"\nweight = -1.0\n"), "regularizer[0].weight:"),
            (format!("{model}[[regularizer]]\nkind = \"l1\"\nweight = \"x\"\n"), "regularizer[0].weight:"),
            (format!("{model}[[regularizer]]\nkind = \"l2\"\nweight = 1.0\n"), "regularizer[0].kind:"),
            (
                format!("{model}[[regularizer]]\nkind = \"l1\"\nweight = 1.0\n[[regularizer]]\nkind = \"l1\"\nweight = 1.0\nperplexity = 5\n"),
                "regularizer[1].perplexity:",
            ),
            (format!("{model}[[regularizer]]\nkind = \"tsne\"\nweight = 1.0\nperplexity = 0.5\n"), "regularizer[0].perplexity:"),
            (format!("{model}[[regularizer]]\nkind = \"umap\"\nweight = 1.0\nneighbors = 1\n"), "regularizer[0].neighbors:"),
            (format!("{model}[[regularizer]]\nkind = \"umap\"\nweight = 1.0\nmin_dist = \"far\"\n"), "regularizer[0].min_dist:"),
            (format!("{model}[[regularizer]]\nkind = \"kl_sparsity\"\nweight = 1.0\n"), "regularizer[0].target:"),
            (format!("{model}[[regularizer]]\nkind = \"contractive\"\nweight = 1.0\ndirections = 0\n"), "regularizer[0].directions:"),
            (format!("{model}[pretrain]\nkind = \"ica\"\n"), "pretrain.kind:"),
            (format!("{model}[data]\ntransform = \"zscore\"\n"), "data.transform:"),
            (format!("{model}[report]\nformat = \"gif\"\n"), "report.format:"),
        ] {
            let err = first_error(&text);
            assert!(err.contains(key), "{text}\n→ {err:?} does not name {key}");
        }
    }

    #[test]
    fn errors_name_the_key() {
        let p = Path::new("c.toml");
        let err = RunConfig::parse("[model]\ncode = 3\nlayerz = [1]\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.toml") && err.contains("layerz") && err.contains("line 3"),
            "{err}"
        );
        let err = RunConfig::parse("[model]\ncode = 3\nactivation = \"sigmod\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("model.activation") && err.contains("sigmod"),
            "{err}"
        );
        let cfg =
            RunConfig::parse("[model]\ncode = 3\n[train]\nlearning_rate = -1.0\n", p).unwrap();
        assert!(cfg
            .train_config()
            .unwrap_err()
            .to_string()
            .contains("train.learning_rate"));
        let cfg = RunConfig::parse("[model]\ncode = 3\n[[regularizer]]\nkind = \"kl_sparsity\"\nweight = 0.1\ntarget = 0.05\n", p).unwrap();
        assert!(cfg
            .train_config()
            .unwrap_err()
            .to_string()
            .contains("code_activation"));
        for (extra, key) in [
            (
                "kind = \"l1\"\nweight = 0.1\ndirections = 2\n",
                "regularizer[0].directions",
            ),
            (
                "kind = \"contractive\"\nweight = 0.1\ndirections = 0\n",
                "regularizer[0].directions",
            ),
        ] {
            let text = format!("[model]\ncode = 3\n[[regularizer]]\n{extra}");
            let err = first_error(&text);
            assert!(err.contains(key), "{err}");
        }
        let text = "[model]\ncode = 3\ncode_distribution = \"gaussian\"\n[[regularizer]]\nkind = \"contractive\"\nweight = 0.1\n";
        let err = RunConfig::parse(text, p)
            .unwrap()
            .train_config()
            .unwrap_err()
            .to_string();
        assert!(err.contains("deterministic"), "{err}");
        // deep encoders take the penalty by random directions; one-layer ones exactly
        for (layers, directions, want) in [
            ("[]", "", 0),
            ("[20]", "", 0),
            ("[20]", "directions = 4\n", 4),
        ] {
            let text = format!("[model]\nlayers = {layers}\ncode = 3\n[[regularizer]]\nkind = \"contractive\"\nweight = 0.1\n{directions}");
            let objective = RunConfig::parse(&text, p)
                .unwrap()
                .train_config()
                .unwrap()
                .objective;
            assert_eq!(
                objective.parameter_penalties,
                [ParameterPenalty::Contractive {
                    weight: 0.1,
                    directions: want
                }]
            );
        }
    }

    #[test]
    fn full_config_resolves() {
        let text = r#"
[model]
layers = [1000, 500, 250]
code = 30
activation = "sigmoid"
code_activation = "sigmoid"
output = "bernoulli"
tied = true
[train]
epochs = 3
optimizer = "sgd"
momentum = 0.5
nesterov = true
schedule = "cosine"
[corruption]
kind = "masking"
level = 0.25
[[regularizer]]
kind = "kl_sparsity"
weight = 0.1
target = 0.05
[[regularizer]]
kind = "weight_decay"
weight = 0.001
"#;
        let cfg = RunConfig::parse(text, Path::new("x")).unwrap();
        let spec = cfg.spec(784).unwrap();
        assert_eq!(spec.encoder_widths(), vec![784, 1000, 500, 250, 30]);
        assert!(spec.tied);
        let t = cfg.train_config().unwrap();
        assert_eq!(
            t.objective.corruption,
            Some(Corruption::Masking { p: 0.25 })
        );
        assert_eq!(t.objective.code_penalties.len(), 1);
        assert_eq!(t.objective.weight_decay(), 0.001);
        assert_eq!(
            t.optimizer,
            OptimizerKind::Sgd {
                momentum: 0.5,
                nesterov: true
            }
        );
        let again = RunConfig::parse(&cfg.to_toml().unwrap(), Path::new("x")).unwrap();
        assert_eq!(again, cfg);
    }

    #[test]
    fn saved_config_shows_the_numbers_as_typed_and_keeps_section_order() {
        let text = "[model]\ncode = 8\n[train]\nlearning_rate = 1e-3\nbeta1 = 0.9\n\
                    [[regularizer]]\nkind = \"contractive\"\nweight = 0.6\n";
        let cfg = RunConfig::parse(text, Path::new("x")).unwrap();
        let saved = cfg.to_toml().unwrap();
        for line in ["learning_rate = 0.001", "beta1 = 0.9", "weight = 0.6"] {
            assert!(
                saved.lines().any(|l| l == line),
                "{line:?} missing from:\n{saved}"
            );
        }
        let model_at = saved.find("[model]").unwrap();
        let train_at = saved.find("[train]").unwrap();
        let regularizer_at = saved.find("[[regularizer]]").unwrap();
        assert!(model_at < train_at && train_at < regularizer_at, "{saved}");
        assert_eq!(RunConfig::parse(&saved, Path::new("x")).unwrap(), cfg);
    }
}
