//! The hyperparameters that fix an autoencoder's shape: what `config.toml`'s `[model]` holds,
//! resolved (input size known). Saved beside the weights as `spec.json`.

use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::layers::DenseConfig;
use crate::nn::{Activation, Init};
use crate::objective::{Corruption, Likelihood};
use serde::{Deserialize, Serialize};

/// The shape and parts of an autoencoder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoencoderSpec {
    /// Width of `x`.
    pub input_size: usize,
    /// Encoder hidden widths, input side first (the code layer not included).
    pub encoder_layers: Vec<usize>,
    /// Width of the code `h`.
    pub code_size: usize,
    /// Activation of the code layer.
    pub code_activation: Activation,
    /// Decoder hidden widths, code side first; `None` mirrors the encoder.
    pub decoder_layers: Option<Vec<usize>>,
    /// Activation of every hidden layer.
    pub activation: Activation,
    /// Output likelihood; fixes the output nonlinearity and the loss.
    pub output: Likelihood,
    /// Decoder weights are the encoder's, transposed (needs a mirrored decoder).
    pub tied: bool,
    /// Weight initialization.
    pub init: Init,
    /// Deterministic code, or a Gaussian one (VAE) whose encoder outputs `[μ, log σ²]`.
    #[serde(default)]
    pub code_distribution: CodeDistribution,
    /// A binary code's kind and noise (`code_distribution = "binary"` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<crate::code::BinaryCode>,
    /// The corruption `C(x̃ | x)` the model was trained with: not part of the network, but what
    /// its denoising score and sampling chains need at inference. `None` for no corruption,
    /// and in folders saved before the spec recorded it (their `config.toml` holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corruption: Option<Corruption>,
}

/// The widest layer a spec may have (with it, no product of two widths overflows).
pub const MAX_WIDTH: usize = crate::layers::dense::MAX_UNITS;
/// The most weights and biases a spec may have (8 GiB of `f32`).
pub const MAX_PARAMETERS: usize = crate::limits::MAX_PARAMETERS;

impl AutoencoderSpec {
    /// A spec with sigmoid hidden layers, a linear code, a mirrored untied decoder and
    /// PyTorch's default initialization.
    pub fn new(
        input_size: usize,
        encoder_layers: &[usize],
        code_size: usize,
        output: Likelihood,
    ) -> Self {
        AutoencoderSpec {
            input_size,
            encoder_layers: encoder_layers.to_vec(),
            code_size,
            code_activation: Activation::Linear,
            decoder_layers: None,
            activation: Activation::Sigmoid,
            output,
            tied: false,
            init: Init::UniformFanIn,
            code_distribution: CodeDistribution::Deterministic,
            binary: None,
            corruption: None,
        }
    }

    /// Checks the spec describes a buildable network (of at most [`MAX_PARAMETERS`] weights).
    pub fn validate(&self) -> Result<()> {
        if self.input_size == 0 {
            return Err(Error::config("model.input_size", "must be at least 1"));
        }
        if self.code_size == 0 {
            return Err(Error::config("model.code", "must be at least 1"));
        }
        if self.encoder_layers.contains(&0) {
            return Err(Error::config(
                "model.layers",
                "every layer needs at least 1 unit",
            ));
        }
        if self.code_distribution == CodeDistribution::Gaussian {
            if self.code_activation != Activation::Linear {
                return Err(Error::config(
                    "model.code_activation",
                    "a gaussian code's encoder outputs mean and log-variance: use code_activation = \"linear\"",
                ));
            }
            if self.tied {
                return Err(Error::config(
                    "model.tied",
                    "tied weights need a deterministic code",
                ));
            }
        }
        if self.code_distribution == CodeDistribution::Binary {
            if self.code_activation != Activation::Linear {
                return Err(Error::config(
                    "model.code_activation",
                    "a binary code applies its own sigmoid to the encoder's logits: use code_activation = \"linear\"",
                ));
            }
            if !self.code_size.is_multiple_of(8) {
                return Err(Error::config(
                    "model.code",
                    format!(
                        "a binary code's size is a multiple of 8 (packed bytes), got {}",
                        self.code_size
                    ),
                ));
            }
            if let Some(b) = self.binary {
                if !(b.noise >= 0.0 && b.noise.is_finite()) {
                    return Err(Error::config("model.binary_noise", "must be ≥ 0"));
                }
            }
        } else if self.binary.is_some() {
            return Err(Error::config(
                "model.binary",
                "is for code_distribution = \"binary\"",
            ));
        }
        // Widths are user input: a typo of a few digits must be an error, not an abort when
        // the weights are allocated. Each width is checked under the key it was written as.
        let at_most = |key: &str, width: usize| {
            if width > MAX_WIDTH {
                Err(Error::config(
                    key,
                    format!("at most {MAX_WIDTH} units a layer, got {width}"),
                ))
            } else {
                Ok(())
            }
        };
        at_most("model.input_size", self.input_size)?;
        at_most("model.code", self.code_size)?;
        for &w in &self.encoder_layers {
            at_most("model.layers", w)?;
        }
        for &w in self.decoder_layers.iter().flatten() {
            at_most("model.decoder_layers", w)?;
        }
        let parameters = |widths: &[usize]| -> usize {
            widths
                .windows(2)
                .map(|w| w[0] * w[1] + w[1])
                .fold(0, usize::saturating_add)
        };
        if parameters(&self.encoder_widths()).saturating_add(parameters(&self.decoder_widths()))
            > MAX_PARAMETERS
        {
            return Err(Error::config(
                "model",
                format!(
                    "at most {MAX_PARAMETERS} parameters in all; check the widths of layers, code and decoder_layers"
                ),
            ));
        }
        if let Some(dec) = &self.decoder_layers {
            if dec.contains(&0) {
                return Err(Error::config(
                    "model.decoder_layers",
                    "every layer needs at least 1 unit",
                ));
            }
            if self.tied && *dec != self.mirrored_decoder() {
                return Err(Error::config(
                    "model.tied",
                    "tied weights need the decoder to mirror the encoder",
                ));
            }
        }
        Ok(())
    }

    fn mirrored_decoder(&self) -> Vec<usize> {
        self.encoder_layers.iter().rev().copied().collect()
    }

    /// Whether the decoder's hidden widths are the encoder's reversed (by default or given).
    pub fn is_mirrored(&self) -> bool {
        self.decoder_hidden() == self.mirrored_decoder()
    }

    /// The decoder's hidden widths after resolving the mirror default.
    pub fn decoder_hidden(&self) -> Vec<usize> {
        self.decoder_layers
            .clone()
            .unwrap_or_else(|| self.mirrored_decoder())
    }

    /// Widths from input to the encoder's output: `[input, hidden…, code]` (`2·code` for a
    /// Gaussian code: mean and log-variance).
    pub fn encoder_widths(&self) -> Vec<usize> {
        let mut w = vec![self.input_size];
        w.extend(&self.encoder_layers);
        w.push(
            self.code_distribution
                .layer()
                .encoder_outputs(self.code_size),
        );
        w
    }

    /// Widths from code to output: `[code, hidden…, input]`.
    pub fn decoder_widths(&self) -> Vec<usize> {
        let mut w = vec![self.code_size];
        w.extend(self.decoder_hidden());
        w.push(self.input_size);
        w
    }

    /// The encoder as layer configs, input side first: dense hidden layers, then the layer
    /// that outputs the code's statistics (with the code activation).
    pub fn encoder_configs(&self) -> Vec<DenseConfig> {
        self.dense_configs(&self.encoder_widths(), self.code_activation)
    }

    /// The decoder as layer configs, code side first; the last is linear (the likelihood's
    /// mean function follows it).
    pub fn decoder_configs(&self) -> Vec<DenseConfig> {
        self.dense_configs(&self.decoder_widths(), Activation::Linear)
    }

    /// Dense layers between consecutive `widths`: hidden activations, `last` on the last.
    fn dense_configs(&self, widths: &[usize], last: Activation) -> Vec<DenseConfig> {
        let n = widths.len() - 1;
        (0..n)
            .map(|i| DenseConfig {
                units: widths[i + 1],
                activation: if i + 1 == n { last } else { self.activation },
            })
            .collect()
    }

    /// An upper bound on the `f32` values one training run holds for batches of `batch` rows
    /// with `samples` decoded samples per example: the parameters, their gradients, two
    /// optimizer slots and a best copy, and the step's buffers
    /// ([`crate::model::Autoencoder::workspace_with_samples`]). In `u128`, so absurd sizes
    /// compare instead of overflowing.
    pub fn training_floats(&self, batch: usize, samples: usize) -> u128 {
        let (batch, samples) = (batch as u128, samples.max(1) as u128);
        let params = self.parameter_count() as u128;
        let dec_rows = batch * samples;
        let enc = self.encoder_widths();
        let dec = self.decoder_widths();
        let widest = enc.iter().chain(&dec).copied().max().unwrap_or(0) as u128;
        let acts: u128 = enc[1..].iter().map(|&w| batch * w as u128).sum::<u128>()
            + dec[1..].iter().map(|&w| dec_rows * w as u128).sum::<u128>();
        let first_layer = (enc[0] * enc[1]) as u128;
        5 * params
            + acts
            + 2 * dec_rows * widest
            + batch * self.input_size as u128
            + dec_rows * (3 + 2 * self.code_size as u128)
            + first_layer
    }

    /// An upper bound on the `f32` values of the contractive estimate's tangent buffers along
    /// `directions` random directions for batches of `batch` rows.
    pub fn tangent_floats(&self, batch: usize, directions: usize) -> u128 {
        let enc = self.encoder_widths();
        let widest = enc.iter().copied().max().unwrap_or(0) as u128;
        let t_rows = batch as u128 * directions as u128;
        t_rows * (widest * (2 * enc.len() as u128 + 4)) + self.parameter_count() as u128
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        let pairs = |w: &[usize]| w.windows(2).map(|p| p[0] * p[1] + p[1]).sum::<usize>();
        let enc = pairs(&self.encoder_widths());
        let dec = pairs(&self.decoder_widths());
        if self.tied {
            enc + dec
                - self
                    .encoder_widths()
                    .windows(2)
                    .map(|p| p[0] * p[1])
                    .sum::<usize>()
        } else {
            enc + dec
        }
    }

    /// Multiply-add FLOPs (2 per multiply-add) of one training example through forward and
    /// backward, counting the first layer's unneeded input gradient (the nominal count).
    pub fn training_flops_per_example(&self) -> f64 {
        let macs: usize = self
            .encoder_widths()
            .windows(2)
            .chain(self.decoder_widths().windows(2))
            .map(|p| p[0] * p[1])
            .sum();
        6.0 * macs as f64
    }
}
