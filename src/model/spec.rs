//! The hyperparameters that fix an autoencoder's shape: what `config.toml`'s `[model]` holds,
//! resolved (input size known). Saved beside the weights as `spec.json`.

use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::layers::config::shapes;
use crate::layers::{DenseConfig, LayerConfig, Shape};
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
    /// One example's shape when the model reads images (`C×H×W`, `input_size` values);
    /// `None` for the dense shorthand, which reads flat rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_shape: Option<Shape>,
    /// The encoder as a list of layers (`[model] encoder`), the last one outputting the code's
    /// statistics (a dense code layer when `code` was given); `None` for the dense shorthand
    /// (`layers` + `code`), whose layers follow from the widths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<Vec<LayerConfig>>,
    /// The decoder as a list of layers, code side first, the last one outputting the
    /// likelihood's pre-activation (resolved: the mirror of the encoder unless written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder: Option<Vec<LayerConfig>>,
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
            input_shape: None,
            encoder: None,
            decoder: None,
        }
    }

    /// Whether the network is a list of layers (`[model] encoder`) rather than the dense
    /// shorthand.
    pub fn is_layered(&self) -> bool {
        self.encoder.is_some()
    }

    /// One input example's shape.
    pub fn input_shape(&self) -> Shape {
        self.input_shape.unwrap_or(Shape::Flat(self.input_size))
    }

    /// The shape of one code: flat `code_size`, or the image a convolutional encoder outputs
    /// (half its channels for a Gaussian code: the other half are log-variances).
    pub fn code_shape(&self) -> Shape {
        let Some(encoder) = &self.encoder else {
            return Shape::Flat(self.code_size);
        };
        let out = shapes("model.encoder", self.input_shape(), encoder)
            .ok()
            .and_then(|s| s.last().copied());
        match out {
            Some(Shape::Image {
                channels,
                height,
                width,
            }) if channels * height * width
                == self
                    .code_distribution
                    .layer()
                    .encoder_outputs(self.code_size) =>
            {
                Shape::Image {
                    channels: channels * self.code_size / (channels * height * width),
                    height,
                    width,
                }
            }
            _ => Shape::Flat(self.code_size),
        }
    }

    /// Checks a layered network: the input shape holds `input_size` values, every layer fits
    /// the shape it is given, the encoder outputs the code's statistics and the decoder ends at
    /// the input's shape.
    fn validate_layers(&self, encoder: &[LayerConfig]) -> Result<()> {
        let input = self.input_shape();
        if input.len() != self.input_size {
            return Err(Error::config(
                "model.input_shape",
                format!(
                    "{input} is {} values, the data has {} columns",
                    input.len(),
                    self.input_size
                ),
            ));
        }
        if self.tied {
            return Err(Error::config(
                "model.tied",
                "tied weights are for the dense shorthand (layers + code), not an encoder list",
            ));
        }
        for (i, l) in encoder.iter().enumerate() {
            l.check(&format!("model.encoder[{i}]"))?;
        }
        let enc = shapes("model.encoder", input, encoder)?;
        let out = *enc.last().expect("starts with the input");
        let stats = self
            .code_distribution
            .layer()
            .encoder_outputs(self.code_size);
        if out.len() != stats {
            return Err(Error::config(
                "model.encoder",
                format!(
                    "outputs {out} ({} values); the code needs {stats}",
                    out.len()
                ),
            ));
        }
        let decoder = self.decoder.as_deref().unwrap_or(&[]);
        if decoder.is_empty() {
            return Err(Error::config("model.decoder", "needs at least one layer"));
        }
        for (i, l) in decoder.iter().enumerate() {
            l.check(&format!("model.decoder[{i}]"))?;
        }
        let dec = shapes("model.decoder", self.code_shape(), decoder)?;
        let end = *dec.last().expect("starts with the code");
        // a flat end of the right length is the image read flat (a last dense layer)
        if end != input && !(matches!(end, Shape::Flat(_)) && end.len() == input.len()) {
            return Err(Error::config(
                "model.decoder",
                format!("ends at {end}, the input is {input}"),
            ));
        }
        let widest = enc.iter().chain(&dec).map(|s| s.len()).max().unwrap_or(0);
        if widest > MAX_WIDTH {
            return Err(Error::config(
                "model",
                format!("at most {MAX_WIDTH} values an example between two layers, got {widest}"),
            ));
        }
        if self.parameter_count() > MAX_PARAMETERS {
            return Err(Error::config(
                "model",
                format!("at most {MAX_PARAMETERS} parameters in all; check the layers' widths and channels"),
            ));
        }
        Ok(())
    }

    /// The shapes between the encoder's layers (input first) and between the decoder's (code
    /// first).
    pub fn layer_shapes(&self) -> (Vec<Shape>, Vec<Shape>) {
        let enc = shapes("model.encoder", self.input_shape(), &self.encoder_configs())
            .unwrap_or_default();
        let dec =
            shapes("model.decoder", self.code_shape(), &self.decoder_configs()).unwrap_or_default();
        (enc, dec)
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
        if let Some(encoder) = &self.encoder {
            return self.validate_layers(encoder);
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
        if self.is_layered() {
            return self.layer_shapes().0.iter().map(|s| s.len()).collect();
        }
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
        if self.is_layered() {
            return self.layer_shapes().1.iter().map(|s| s.len()).collect();
        }
        let mut w = vec![self.code_size];
        w.extend(self.decoder_hidden());
        w.push(self.input_size);
        w
    }

    /// The encoder as layer configs, input side first: dense hidden layers, then the layer
    /// that outputs the code's statistics (with the code activation).
    pub fn encoder_configs(&self) -> Vec<LayerConfig> {
        match &self.encoder {
            Some(layers) => layers.clone(),
            None => self.dense_configs(&self.encoder_widths(), self.code_activation),
        }
    }

    /// The decoder as layer configs, code side first; the last is linear (the likelihood's
    /// mean function follows it).
    pub fn decoder_configs(&self) -> Vec<LayerConfig> {
        match &self.decoder {
            Some(layers) if self.is_layered() => layers.clone(),
            _ => self.dense_configs(&self.decoder_widths(), Activation::Linear),
        }
    }

    /// Dense layers between consecutive `widths`: hidden activations, `last` on the last.
    fn dense_configs(&self, widths: &[usize], last: Activation) -> Vec<LayerConfig> {
        let n = widths.len() - 1;
        (0..n)
            .map(|i| {
                LayerConfig::Dense(DenseConfig {
                    units: widths[i + 1],
                    activation: if i + 1 == n { last } else { self.activation },
                })
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
        if self.is_layered() {
            // activations of every layer, two gradient buffers of the widest, and the layers'
            // scratch (im2col buffers: at most a kernel's area times the widest, per example)
            let (enc, dec) = self.layer_shapes();
            let dec_rows = batch * samples;
            let widest = enc.iter().chain(&dec).map(|s| s.len()).max().unwrap_or(0) as u128;
            let acts: u128 = enc[1..]
                .iter()
                .map(|s| batch * s.len() as u128)
                .sum::<u128>()
                + dec[1..]
                    .iter()
                    .map(|s| dec_rows * s.len() as u128)
                    .sum::<u128>();
            let kernel_area = self
                .encoder_configs()
                .iter()
                .chain(&self.decoder_configs())
                .map(|l| match l {
                    LayerConfig::Conv(c) => c.kernel * c.kernel,
                    LayerConfig::ConvTranspose(c) => c.kernel * c.kernel,
                    _ => 1,
                })
                .max()
                .unwrap_or(1) as u128;
            return 5 * self.parameter_count() as u128
                + acts
                + (2 + kernel_area) * dec_rows * widest
                + batch * self.input_size as u128
                + dec_rows * (3 + 2 * self.code_size as u128);
        }
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
        if self.is_layered() {
            let (enc, dec) = self.layer_shapes();
            let count = |layers: Vec<LayerConfig>, shapes: &[Shape]| -> usize {
                layers
                    .iter()
                    .zip(shapes)
                    .map(|(l, s)| l.parameter_count(*s, false))
                    .fold(0, usize::saturating_add)
            };
            return count(self.encoder_configs(), &enc)
                .saturating_add(count(self.decoder_configs(), &dec));
        }
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
        if self.is_layered() {
            let (enc, dec) = self.layer_shapes();
            let macs: f64 = self
                .encoder_configs()
                .iter()
                .zip(&enc)
                .chain(self.decoder_configs().iter().zip(&dec))
                .map(|(l, s)| l.macs(*s) as f64)
                .sum();
            return 6.0 * macs;
        }
        let macs: usize = self
            .encoder_widths()
            .windows(2)
            .chain(self.decoder_widths().windows(2))
            .map(|p| p[0] * p[1])
            .sum();
        6.0 * macs as f64
    }
}

/// The layered spec of `[model] encoder = [...]` (and optional `decoder`, `input_shape`,
/// `code`) on top of `base`, the shorthand's spec (whose `code_size` is `model.code`, 0 when
/// not given). Defaults resolved here:
/// - a layer's activation is `model.activation`, except a layer followed by batch norm (linear:
///   the batch norm applies it after normalizing) and, without `code`, the encoder's last
///   layer (`code_activation`);
/// - `code = N` adds a dense code layer after the encoder; without it the encoder's output is
///   the code (half its channels for a Gaussian code);
/// - the decoder mirrors the encoder ([`crate::layers::config::mirror`]); a decoder written
///   out that starts with a spatial layer after a dense code gets the dense layer (and
///   reshape) back to the encoder's last shape in front; its last layer is linear (the
///   likelihood's mean function follows).
pub fn layered(
    mut base: AutoencoderSpec,
    input_shape: Option<&[usize]>,
    encoder: &[crate::layers::LayerEntry],
    decoder: Option<&[crate::layers::LayerEntry]>,
) -> Result<AutoencoderSpec> {
    use crate::layers::config::{mirror, shapes, LayerEntry};
    use crate::layers::reshape::ReshapeConfig;
    let input = match input_shape {
        None => Shape::Flat(base.input_size),
        Some(&[d]) => Shape::Flat(d),
        Some(&[channels, height, width]) => Shape::Image {
            channels,
            height,
            width,
        },
        Some(other) => {
            return Err(Error::config(
                "model.input_shape",
                format!("expected [C, H, W], got {} numbers", other.len()),
            ))
        }
    };
    if input.len() != base.input_size {
        return Err(Error::config(
            "model.input_shape",
            format!(
                "{input} is {} values, the data has {} columns",
                input.len(),
                base.input_size
            ),
        ));
    }
    if encoder.is_empty() && base.code_size == 0 {
        return Err(Error::config(
            "model.encoder",
            "needs at least one layer, or a code size (code = N)",
        ));
    }
    let has_code_layer = base.code_size > 0;
    let followed_by_norm = |entries: &[LayerEntry], i: usize| {
        entries
            .get(i + 1)
            .is_some_and(|n| n.batch_norm.is_some() && n.kinds_count() == 1)
    };
    let mut enc = Vec::with_capacity(encoder.len() + 1);
    for (i, e) in encoder.iter().enumerate() {
        let act = if followed_by_norm(encoder, i) {
            Activation::Linear
        } else if i + 1 == encoder.len() && !has_code_layer {
            base.code_activation
        } else {
            base.activation
        };
        enc.push(e.resolve(&format!("model.encoder[{i}]"), act)?);
    }
    let body = shapes("model.encoder", input, &enc)?;
    let before_code = *body.last().expect("starts with the input");
    let stats_needed = |outputs: usize| -> Result<usize> {
        let per = base.code_distribution.layer().encoder_outputs(1);
        if !outputs.is_multiple_of(per) {
            return Err(Error::config(
                "model.encoder",
                format!(
                    "outputs {outputs} values; a {:?} code needs a multiple of {per}",
                    base.code_distribution
                ),
            ));
        }
        Ok(outputs / per)
    };
    if has_code_layer {
        enc.push(LayerConfig::Dense(DenseConfig {
            units: base
                .code_distribution
                .layer()
                .encoder_outputs(base.code_size),
            activation: base.code_activation,
        }));
    } else {
        // a Gaussian code splits the channels: the first half means, the second log-variances
        if let Shape::Image { channels, .. } = before_code {
            if base.code_distribution.layer().encoder_outputs(1) == 2 && channels % 2 != 0 {
                return Err(Error::config(
                    "model.encoder",
                    format!("outputs {before_code}: a gaussian code needs an even number of channels (means, then log-variances)"),
                ));
            }
        }
        base.code_size = stats_needed(before_code.len())?;
    }
    let dec = match decoder {
        None => {
            let all = shapes("model.encoder", input, &enc)?;
            mirror(&enc, &all).map_err(|m| {
                Error::config(
                    "model.decoder",
                    format!("the default mirrors the encoder, but {m}"),
                )
            })?
        }
        Some(entries) => {
            let mut dec = Vec::with_capacity(entries.len() + 2);
            let first_spatial = entries
                .first()
                .is_some_and(|e| e.dense.is_none() && e.reshape.is_none());
            if has_code_layer && first_spatial {
                dec.push(LayerConfig::Dense(DenseConfig {
                    units: before_code.len(),
                    activation: if entries.first().is_some_and(|n| n.batch_norm.is_some()) {
                        Activation::Linear
                    } else {
                        base.activation
                    },
                }));
                if matches!(before_code, Shape::Image { .. }) {
                    dec.push(LayerConfig::Reshape(ReshapeConfig { shape: before_code }));
                }
            }
            for (i, e) in entries.iter().enumerate() {
                let key = format!("model.decoder[{i}]");
                let last = i + 1 == entries.len();
                if last && e.activation.is_some_and(|a| a != Activation::Linear) {
                    return Err(Error::config(
                        format!("{key}.activation"),
                        "the last layer's activation is fixed by model.output (its mean function)",
                    ));
                }
                let act = if last || followed_by_norm(entries, i) {
                    Activation::Linear
                } else {
                    base.activation
                };
                dec.push(e.resolve(&key, act)?);
            }
            dec
        }
    };
    base.input_shape = matches!(input, Shape::Image { .. }).then_some(input);
    base.encoder = Some(enc);
    base.decoder = Some(dec);
    Ok(base)
}

#[cfg(test)]
mod tests {
    use crate::config::RunConfig;
    use crate::layers::{LayerConfig, Shape};
    use crate::nn::Activation;

    fn spec(model: &str, input: usize) -> crate::error::Result<super::AutoencoderSpec> {
        RunConfig::parse(
            &format!("[model]\n{model}\n"),
            std::path::Path::new("t.toml"),
        )?
        .spec(input)
    }

    #[test]
    fn layered_defaults_resolve_as_documented() {
        // a written decoder that starts spatially after a dense code gets the dense layer and
        // reshape back to the encoder's last shape; the last layer is linear
        let s = spec(
            "input_shape = [1, 8, 8]\nencoder = [{ conv = 2, kernel = 3, padding = 1 }, { pool = \"max\", size = 2 }]\ncode = 3\nactivation = \"tanh\"\ndecoder = [{ upsample = 2 }, { conv = 1, kernel = 3, padding = 1 }]",
            64,
        )
        .unwrap();
        let dec = s.decoder.clone().unwrap();
        let kinds: Vec<_> = dec.iter().map(|l| l.kind()).collect();
        assert_eq!(kinds, ["dense", "reshape", "upsample", "conv"]);
        assert_eq!(dec[0].activation(), Activation::Tanh);
        assert_eq!(dec[3].activation(), Activation::Linear);
        assert_eq!(s.code_size, 3);
        assert_eq!(s.code_shape(), Shape::Flat(3));
        // the encoder's code layer is dense with the code activation
        let enc = s.encoder.clone().unwrap();
        assert!(
            matches!(enc.last(), Some(LayerConfig::Dense(d)) if d.units == 3 && d.activation == Activation::Linear)
        );

        // a conv followed by batch norm defaults to linear, the batch norm takes the activation
        let s = spec(
            "input_shape = [1, 8, 8]\nencoder = [{ conv = 4, kernel = 3, padding = 1 }, { batch_norm = true }]\nactivation = \"relu\"",
            64,
        )
        .unwrap();
        let enc = s.encoder.clone().unwrap();
        assert_eq!(enc[0].activation(), Activation::Linear);
        // without `code`, the last encoder layer takes code_activation (linear by default)
        assert_eq!(enc[1].activation(), Activation::Linear);
        assert_eq!(s.code_size, 4 * 64);
        assert_eq!(s.code_shape().to_string(), "4×8×8");

        // a Gaussian code without a dense layer halves the channels
        let s = spec(
            "input_shape = [1, 8, 8]\nencoder = [{ conv = 4, kernel = 3, padding = 1 }]\ncode_distribution = \"gaussian\"",
            64,
        )
        .unwrap();
        assert_eq!(
            (s.code_size, s.code_shape().to_string()),
            (128, "2×8×8".to_string())
        );
        let odd = spec(
            "input_shape = [1, 8, 8]\nencoder = [{ conv = 3, kernel = 3, padding = 1 }]\ncode_distribution = \"gaussian\"",
            64,
        );
        assert!(odd
            .unwrap_err()
            .to_string()
            .contains("even number of channels"));

        // an all-dense encoder list on flat data is a plain MLP: parameter counts agree with
        // the shorthand
        let listed = spec(
            "encoder = [{ dense = 5 }]\ncode = 2\nactivation = \"sigmoid\"",
            10,
        )
        .unwrap();
        let shorthand = spec("layers = [5]\ncode = 2\nactivation = \"sigmoid\"", 10).unwrap();
        assert_eq!(listed.parameter_count(), shorthand.parameter_count());
        assert_eq!(
            listed.training_flops_per_example(),
            shorthand.training_flops_per_example()
        );
    }
}
