//! Greedy layer-wise pretraining (Hinton & Salakhutdinov 2006; Bengio et al. 2007; Vincent et
//! al. 2010): each encoder layer is trained as a one-layer autoencoder on the codes of the
//! layers below it, with the same objective parts (corruption, sparsity, contractive…), then
//! the whole network is fine-tuned.

pub mod rbm_stack;

use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use crate::model::{Autoencoder, AutoencoderSpec, Half};
use crate::nn::Activation;
use crate::objective::Likelihood;
use crate::train::{fit, initial_state, Observer, TrainConfig};
use rbm_stack::RbmStackConfig;
use serde::{Deserialize, Serialize};

/// Pretrains every encoder layer of `model` greedily on `x` (epochs and objective from
/// `config`), copying each layer's encoder — and, for a mirrored untied decoder, its decoder —
/// into `model`. Returns the number of layers pretrained.
pub fn greedy_layerwise(
    model: &mut Autoencoder,
    x: &Matrix,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<usize> {
    model.require_dense("greedy pretraining")?;
    let spec = model.spec().clone();
    if spec.code_distribution == CodeDistribution::Gaussian {
        return Err(crate::Error::Invalid(
            "greedy pretraining needs a deterministic or binary code".into(),
        ));
    }
    // a binary code is p = σ(logits): its layer pretrains as a sigmoid code, whose weights
    // then give the logits
    let binary = spec.code_distribution == CodeDistribution::Binary;
    let widths = spec.encoder_widths();
    let layers = widths.len() - 1;
    let mirrored = spec.is_mirrored();
    let mut input = x.clone();
    for l in 0..layers {
        let act = if l + 1 == layers && binary {
            Activation::Sigmoid
        } else if l + 1 == layers {
            spec.code_activation
        } else {
            spec.activation
        };
        // the first layer reconstructs the data with its likelihood; deeper layers reconstruct
        // codes: Bernoulli for (0,1) codes, Gaussian otherwise
        let output = if l == 0 {
            spec.output
        } else if spec.activation == Activation::Sigmoid {
            Likelihood::Bernoulli
        } else {
            Likelihood::Gaussian
        };
        let layer_spec = AutoencoderSpec {
            input_size: widths[l],
            encoder_layers: vec![],
            code_size: widths[l + 1],
            code_activation: act,
            decoder_layers: None,
            activation: act,
            output,
            tied: spec.tied,
            init: spec.init,
            code_distribution: CodeDistribution::Deterministic,
            binary: None,
            corruption: None,
            input_shape: None,
            encoder: None,
            decoder: None,
        };
        let mut layer = Autoencoder::new(layer_spec, config.seed.wrapping_add(l as u64))?;
        let layer_config = layer_config(config, l);
        let state = initial_state(&layer, &layer_config);
        fit(&mut layer, &input, None, &layer_config, state, observer)?;
        // the layer autoencoder's encoder is layer l; its decoder, for a mirrored decoder, is
        // decoder layer `layers - 1 - l`
        let enc = layer.encoder_layer(0).expect("one encoder layer");
        model.set_layer(Half::Encoder, l, Some(enc.weight), enc.bias)?;
        if mirrored {
            let dec = layer.decoder_layer(0).expect("one decoder layer");
            let weight = (!spec.tied).then_some(dec.weight);
            model.set_layer(Half::Decoder, layers - 1 - l, weight, dec.bias)?;
        }
        if l + 1 < layers {
            input = layer.encode(&input)?;
        }
    }
    Ok(layers)
}

/// The training configuration of layer `l`'s autoencoder: the caller's, without validation, and
/// with dynamic binarization only for the first layer (pixels are Bernoulli draws; the codes
/// the deeper layers read are not, and binarizing them would clip tanh codes to 0 and ReLU
/// codes to 1).
fn layer_config(config: &TrainConfig, l: usize) -> TrainConfig {
    TrainConfig {
        patience: None,
        validation_fraction: 0.0,
        dynamic_binarization: config.dynamic_binarization && l == 0,
        ..config.clone()
    }
}

/// `[pretrain]`: how the encoder's layers are initialized before end-to-end training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainConfig {
    /// `rbm` (a stack of RBMs, Hinton & Salakhutdinov 2006) or `autoencoder` (greedy
    /// one-layer autoencoders with the run's objective).
    pub kind: PretrainKind,
    /// Epochs per layer (default 50; for `rbm` without `updates`, at least
    /// [`DEFAULT_MIN_RBM_UPDATES`] updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// `rbm`: updates per RBM instead of `epochs` (the epochs follow from the row count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updates: Option<usize>,
    /// `rbm`: Gibbs steps of CD-k.
    #[serde(default = "default_cd_steps")]
    pub cd_steps: usize,
    /// `rbm`: persistent CD.
    #[serde(default)]
    pub persistent: bool,
    /// `rbm`: learning rate (Bernoulli hidden units).
    #[serde(default = "default_rbm_learning_rate")]
    pub learning_rate: f32,
    /// `rbm`: learning rate of a top RBM with linear hidden units.
    #[serde(default = "default_rbm_linear_learning_rate")]
    pub linear_learning_rate: f32,
    /// `rbm`: weight decay.
    #[serde(default = "default_rbm_weight_decay")]
    pub weight_decay: f32,
    /// `rbm`: examples per update.
    #[serde(default = "default_rbm_batch_size")]
    pub batch_size: usize,
}

/// `pretrain.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PretrainKind {
    /// A stack of RBMs trained by contrastive divergence, unrolled.
    Rbm,
    /// A one-layer linear-code autoencoder set to PCA's solution (no training).
    Pca,
    /// Greedy one-layer autoencoders.
    Autoencoder,
}

fn default_pretrain_epochs() -> usize {
    RbmStackConfig::default().epochs
}

/// The updates each RBM gets at least when `[pretrain]` names neither `epochs` nor `updates`:
/// on 1,000 MNIST rows 5,000 updates gave 19.4/19.2 test squared error against 21.4/20.7 for
/// 50 epochs (500 updates; BENCHMARKS), and 60,000 rows already get 30,000 in 50 epochs.
pub const DEFAULT_MIN_RBM_UPDATES: usize = 5000;
fn default_cd_steps() -> usize {
    RbmStackConfig::default().cd_steps
}
fn default_rbm_learning_rate() -> f32 {
    RbmStackConfig::default().learning_rate
}
fn default_rbm_linear_learning_rate() -> f32 {
    RbmStackConfig::default().linear_learning_rate
}
fn default_rbm_weight_decay() -> f32 {
    RbmStackConfig::default().weight_decay
}
fn default_rbm_batch_size() -> usize {
    RbmStackConfig::default().batch_size
}

/// Checked pretraining.
#[derive(Clone, Debug, PartialEq)]
pub enum Pretraining {
    /// Greedy one-layer autoencoders for this many epochs each.
    Autoencoder {
        /// Epochs per layer.
        epochs: usize,
    },
    /// A stack of RBMs.
    Rbm(RbmStackConfig),
    /// PCA's solution ([`pca_init`]).
    Pca,
}

impl PretrainConfig {
    /// Checks the section (errors name `pretrain.<key>`); an RBM stack draws from `seed` on
    /// `threads` threads, as the run does.
    pub fn check(&self, seed: u64, threads: usize) -> Result<Pretraining> {
        let p = self;
        if p.epochs == Some(0) {
            return Err(Error::config("pretrain.epochs", "must be at least 1"));
        }
        Ok(match p.kind {
            PretrainKind::Pca => Pretraining::Pca,
            PretrainKind::Autoencoder => Pretraining::Autoencoder {
                epochs: p.epochs.unwrap_or_else(default_pretrain_epochs),
            },
            PretrainKind::Rbm => {
                if p.cd_steps == 0 {
                    return Err(Error::config("pretrain.cd_steps", "must be at least 1"));
                }
                if p.batch_size == 0 {
                    return Err(Error::config("pretrain.batch_size", "must be at least 1"));
                }
                for (key, v) in [
                    ("pretrain.learning_rate", p.learning_rate),
                    ("pretrain.linear_learning_rate", p.linear_learning_rate),
                ] {
                    if !(v > 0.0 && v.is_finite()) {
                        return Err(Error::config(key, "must be a positive number"));
                    }
                }
                if !(p.weight_decay >= 0.0 && p.weight_decay.is_finite()) {
                    return Err(Error::config("pretrain.weight_decay", "must be ≥ 0"));
                }
                if p.updates == Some(0) {
                    return Err(Error::config("pretrain.updates", "must be at least 1"));
                }
                Pretraining::Rbm(RbmStackConfig {
                    epochs: p.epochs.unwrap_or_else(default_pretrain_epochs),
                    updates: p.updates,
                    min_updates: (p.epochs.is_none() && p.updates.is_none())
                        .then_some(DEFAULT_MIN_RBM_UPDATES),
                    cd_steps: p.cd_steps,
                    persistent: p.persistent,
                    learning_rate: p.learning_rate,
                    linear_learning_rate: p.linear_learning_rate,
                    weight_decay: p.weight_decay,
                    batch_size: p.batch_size,
                    seed,
                    threads,
                    ..RbmStackConfig::default()
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_layer_binarizes_its_input() {
        let config = TrainConfig {
            dynamic_binarization: true,
            patience: Some(3),
            ..TrainConfig::default()
        };
        let first = layer_config(&config, 0);
        assert!(first.dynamic_binarization && first.patience.is_none());
        assert!(!layer_config(&config, 1).dynamic_binarization);
        assert!(!layer_config(&config, 2).dynamic_binarization);
    }
}

/// Whether `spec` is an autoencoder PCA's solution is one of: one dense layer each way, a linear
/// deterministic code and a Gaussian output (identity output, squared error); `Err` names the
/// key that is not.
pub fn check_pca_init(spec: &crate::model::AutoencoderSpec) -> Result<()> {
    use crate::code::CodeDistribution;
    let fail =
        |key: &str, why: &str| Err(Error::config(key, format!("pretrain.kind = \"pca\" {why}")));
    if spec.encoder.is_some() || !spec.encoder_layers.is_empty() {
        return fail(
            "model.layers",
            "needs layers = [] (one dense layer each way)",
        );
    }
    if spec.decoder_layers.as_ref().is_some_and(|d| !d.is_empty()) {
        return fail("model.decoder_layers", "needs no decoder hidden layers");
    }
    if spec.code_activation != crate::nn::Activation::Linear {
        return fail("model.code_activation", "needs a linear code");
    }
    if spec.code_distribution != CodeDistribution::Deterministic {
        return fail("model.code_distribution", "needs a deterministic code");
    }
    if spec.output != crate::objective::Likelihood::Gaussian {
        return fail(
            "model.output",
            "needs output = \"gaussian\" (PCA is the optimum of a linear autoencoder under squared error)",
        );
    }
    Ok(())
}

/// Sets a one-layer linear-code autoencoder ([`check_pca_init`]) to PCA's solution on `x`:
/// `h = Vₖᵀ(x − μ)`, `x̂ = μ + Vₖ h`, the reconstruction PCA with `k` components gives (the
/// optimum of the squared error over linear autoencoders, Baldi & Hornik 1989), so training
/// starts where a linear model can do no better on these rows.
pub fn pca_init(model: &mut Autoencoder, x: &Matrix) -> Result<()> {
    check_pca_init(model.spec())?;
    let k = model.spec().code_size;
    if x.rows() < 2 || k > x.cols() {
        return Ok(()); // too few rows for components: the random init stays
    }
    let pca = crate::baselines::Pca::fit(x, k)?;
    let d = x.cols();
    let got = pca.n_components();
    // components: d × k (columns are principal directions)
    let v = |c: usize, j: usize| {
        if c < got {
            pca.components[(j, c)] as f32
        } else {
            0.0
        }
    };
    let mean: Vec<f32> = pca.mean.iter().map(|&m| m as f32).collect();
    let find =
        |model: &Autoencoder, name: &str| model.tensors().iter().position(|t| t.name == name);
    let (Some(ew), Some(eb), Some(db)) = (
        find(model, "encoder.0.weight"),
        find(model, "encoder.0.bias"),
        find(model, "decoder.0.bias"),
    ) else {
        return Err(Error::Invalid(
            "pretrain.kind = \"pca\": the model has no one-layer encoder and decoder".into(),
        ));
    };
    let dw = find(model, "decoder.0.weight");
    let tensors = model.tensors_mut();
    // encoder.0: weight [k, d] = Vₖᵀ, bias [k] = −Vₖᵀμ; decoder.0: weight [d, k] = Vₖ (a
    // tied model reads the encoder's), bias [d] = μ
    for c in 0..k {
        for j in 0..d {
            tensors[ew].data[c * d + j] = v(c, j);
        }
        tensors[eb].data[c] = -(0..d).map(|j| v(c, j) * mean[j]).sum::<f32>();
    }
    if let Some(dw) = dw {
        for j in 0..d {
            for c in 0..k {
                tensors[dw].data[j * k + c] = v(c, j);
            }
        }
    }
    tensors[db].data.copy_from_slice(&mean);
    Ok(())
}

#[cfg(test)]
mod pca_tests {
    use super::*;
    use crate::linalg::Rng;

    #[test]
    fn rbm_updates_set_the_epochs_by_the_row_count() {
        let c = RbmStackConfig {
            updates: Some(5000),
            batch_size: 100,
            ..RbmStackConfig::default()
        };
        // 1,000 rows: 10 steps an epoch; 60,000: 600 (⌈5000/600⌉ = 9); 50: 1
        assert_eq!(c.for_rows(1000).epochs, 500);
        assert_eq!(c.for_rows(60_000).epochs, 9);
        assert_eq!(c.for_rows(50).epochs, 5000);
        assert_eq!(RbmStackConfig::default().for_rows(1000).epochs, 50);
        // at least 5,000 updates: 1,000 rows get 500 epochs, 60,000 keep their 50
        let at_least = RbmStackConfig {
            min_updates: Some(5000),
            ..RbmStackConfig::default()
        };
        assert_eq!(at_least.for_rows(1000).epochs, 500);
        assert_eq!(at_least.for_rows(60_000).epochs, 50);
        assert_eq!(at_least.for_rows(250_000).epochs, 50);

        // the section: the floor applies only when neither epochs nor updates is written
        let stack = |text: &str| match toml::from_str::<PretrainConfig>(text)
            .unwrap()
            .check(0, 1)
            .unwrap()
        {
            Pretraining::Rbm(c) => (c.epochs, c.updates, c.min_updates),
            other => panic!("{other:?}"),
        };
        assert_eq!(stack("kind = \"rbm\""), (50, None, Some(5000)));
        assert_eq!(stack("kind = \"rbm\"\nepochs = 50"), (50, None, None));
        assert_eq!(
            stack("kind = \"rbm\"\nupdates = 700"),
            (50, Some(700), None)
        );
    }

    #[test]
    fn pca_init_reconstructs_as_pca_does() {
        let (n, d, k) = (200, 9, 3);
        let mut rng = Rng::new(5);
        let z: Vec<f32> = (0..n * 4).map(|_| rng.normal()).collect();
        let mix: Vec<f32> = (0..4 * d).map(|_| rng.normal()).collect();
        let x = Matrix::from_vec(
            n,
            d,
            (0..n * d)
                .map(|i| {
                    let (r, j) = (i / d, i % d);
                    (0..4).map(|c| z[r * 4 + c] * mix[c * d + j]).sum::<f32>() + 3.0 + j as f32
                })
                .collect(),
        );
        for tied in [false, true] {
            let mut spec = AutoencoderSpec::new(d, &[], k, Likelihood::Gaussian);
            spec.tied = tied;
            spec.code_activation = Activation::Linear;
            let mut model = Autoencoder::new(spec, 0).unwrap();
            pca_init(&mut model, &x).unwrap();
            let pca = crate::baselines::Pca::fit(&x, k).unwrap();
            let want = pca.inverse_transform(&pca.transform(&x).unwrap()).unwrap();
            let got = model.reconstruct(&x).unwrap();
            let worst = got
                .as_slice()
                .iter()
                .zip(want.as_slice())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-3, "tied {tied}: {worst}");
        }
        // a sigmoid output is refused, naming the key
        let spec = AutoencoderSpec::new(d, &[], k, Likelihood::Bernoulli);
        let e = check_pca_init(&spec).unwrap_err().to_string();
        assert!(e.starts_with("model."), "{e}");
    }
}
