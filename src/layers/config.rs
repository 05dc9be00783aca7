//! A layer as a config writes it: `{ conv = 32, kernel = 3, padding = 1 }`, `{ pool = "max",
//! size = 2 }`, `{ dense = 256 }`, … (`[model] encoder` and `decoder`). One table per layer; the
//! key naming the kind carries its main setting. [`LayerEntry`] is the table as written
//! (activation optional), [`LayerConfig`] the checked layer with every default resolved — what
//! `spec.json` records and what builds a layer on an input [`Shape`].
//!
//! The default decoder mirrors the encoder ([`mirror`]): each layer is undone by its
//! counterpart (conv ↔ conv_transpose, pool ↔ upsample, dense ↔ dense), last layer first, and
//! each mirrored layer outputs the shape its twin read, with the activation that shape had in
//! the encoder.

use super::batch_norm::BatchNormConfig;
use super::conv::{ConvConfig, Padding};
use super::conv_transpose::ConvTransposeConfig;
use super::dropout::DropoutConfig;
use super::pool::{PoolConfig, PoolKind};
use super::reshape::ReshapeConfig;
use super::upsample::UpsampleConfig;
use super::{AnyLayer, DenseConfig, Shape, Tensor};
use crate::error::{Error, Result};
use crate::linalg::Rng;
use crate::nn::{Activation, Init};
use serde::{Deserialize, Serialize};

/// Padding as written: a number or `"same"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PaddingEntry {
    /// Zeros on each side.
    Size(usize),
    /// `"same"`.
    Name(String),
}

/// One layer's table as written in a config (or in `spec.json`, where every activation is
/// given). Exactly one of the kind keys (`dense`, `conv`, `conv_transpose`, `pool`,
/// `upsample`, `batch_norm`, `dropout`) is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerEntry {
    /// A dense layer's units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dense: Option<usize>,
    /// A convolution's output channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv: Option<usize>,
    /// A transposed convolution's output channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conv_transpose: Option<usize>,
    /// `"max"` or `"avg"` pooling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Nearest-neighbour upsampling by this integer factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upsample: Option<usize>,
    /// Batch normalization (`true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_norm: Option<bool>,
    /// Dropout with this rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f32>,
    /// The same values read as `[C, H, W]` (or `[d]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reshape: Option<Vec<usize>>,
    /// Convolution kernel size (square).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<usize>,
    /// Convolution stride (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
    /// Convolution zero padding: a number or `"same"` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding: Option<PaddingEntry>,
    /// Transposed convolution: extra rows and columns on the output's far side (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_padding: Option<usize>,
    /// Pooling window (and stride).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<usize>,
    /// The layer's activation (default: `model.activation`; see the defaults in `resolve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
}

/// A checked layer config of any kind, every default resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LayerEntry", into = "LayerEntry")]
pub enum LayerConfig {
    /// `{ dense = units }`.
    Dense(DenseConfig),
    /// `{ conv = filters, kernel, stride, padding }`.
    Conv(ConvConfig),
    /// `{ conv_transpose = filters, kernel, stride, padding, output_padding }`.
    ConvTranspose(ConvTransposeConfig),
    /// `{ pool = "max" | "avg", size }`.
    Pool(PoolConfig),
    /// `{ upsample = factor }`.
    Upsample(UpsampleConfig),
    /// `{ batch_norm = true }`.
    BatchNorm(BatchNormConfig),
    /// `{ dropout = rate }`.
    Dropout(DropoutConfig),
    /// `{ reshape = [C, H, W] }`.
    Reshape(ReshapeConfig),
}

const KINDS: &str = "dense, conv, conv_transpose, pool, upsample, batch_norm, dropout or reshape";

impl LayerEntry {
    /// The names of the kind keys set.
    fn kinds(&self) -> Vec<&'static str> {
        let mut k = Vec::new();
        let mut add = |set: bool, name| {
            if set {
                k.push(name)
            }
        };
        add(self.dense.is_some(), "dense");
        add(self.conv.is_some(), "conv");
        add(self.conv_transpose.is_some(), "conv_transpose");
        add(self.pool.is_some(), "pool");
        add(self.upsample.is_some(), "upsample");
        add(self.batch_norm.is_some(), "batch_norm");
        add(self.dropout.is_some(), "dropout");
        add(self.reshape.is_some(), "reshape");
        k
    }

    /// How many kind keys the table sets (1 when well formed).
    pub fn kinds_count(&self) -> usize {
        self.kinds().len()
    }

    /// The kind this table names (`dense`, `conv`, …), or an error naming `key`.
    pub fn kind(&self, key: &str) -> Result<&'static str> {
        match self.kinds().as_slice() {
            [one] => Ok(one),
            [] => Err(Error::config(
                key,
                format!("names no layer kind: give one of {KINDS}"),
            )),
            many => Err(Error::config(
                key,
                format!(
                    "names {} layer kinds; give one per table",
                    many.join(" and ")
                ),
            )),
        }
    }

    /// Checks the table under `key` (`model.encoder[2]`) and resolves it, with `activation`
    /// where the table gives none.
    pub fn resolve(&self, key: &str, activation: Activation) -> Result<LayerConfig> {
        let kind = self.kind(key)?;
        // settings that belong to other kinds are mistakes, not silently ignored
        let allowed: &[&str] = match kind {
            "conv" => &["kernel", "stride", "padding", "activation"],
            "conv_transpose" => &[
                "kernel",
                "stride",
                "padding",
                "output_padding",
                "activation",
            ],
            "pool" => &["size"],
            "dense" | "batch_norm" => &["activation"],
            _ => &[],
        };
        let given = [
            ("kernel", self.kernel.is_some()),
            ("stride", self.stride.is_some()),
            ("padding", self.padding.is_some()),
            ("output_padding", self.output_padding.is_some()),
            ("size", self.size.is_some()),
            ("activation", self.activation.is_some()),
        ];
        for (name, set) in given {
            if set && !allowed.contains(&name) {
                return Err(Error::config(
                    format!("{key}.{name}"),
                    format!("is not a setting of a {kind} layer"),
                ));
            }
        }
        let act = self.activation.unwrap_or(activation);
        let kernel = || {
            self.kernel.ok_or_else(|| {
                Error::config(
                    format!("{key}.kernel"),
                    format!("a {kind} layer needs its kernel size"),
                )
            })
        };
        let config = match kind {
            "dense" => LayerConfig::Dense(DenseConfig {
                units: self.dense.unwrap_or(0),
                activation: act,
            }),
            "conv" => LayerConfig::Conv(ConvConfig {
                filters: self.conv.unwrap_or(0),
                kernel: kernel()?,
                stride: self.stride.unwrap_or(1),
                padding: match &self.padding {
                    None => Padding::Size(0),
                    Some(PaddingEntry::Size(p)) => Padding::Size(*p),
                    Some(PaddingEntry::Name(s)) if s == "same" => Padding::Same,
                    Some(PaddingEntry::Name(s)) => {
                        return Err(Error::config(
                            format!("{key}.padding"),
                            format!("expected a number or \"same\", got {s:?}"),
                        ))
                    }
                },
                activation: act,
            }),
            "conv_transpose" => LayerConfig::ConvTranspose(ConvTransposeConfig {
                filters: self.conv_transpose.unwrap_or(0),
                kernel: kernel()?,
                stride: self.stride.unwrap_or(1),
                padding: match &self.padding {
                    None => 0,
                    Some(PaddingEntry::Size(p)) => *p,
                    Some(PaddingEntry::Name(s)) => {
                        return Err(Error::config(
                            format!("{key}.padding"),
                            format!("a conv_transpose layer's padding is a number, got {s:?}"),
                        ))
                    }
                },
                output_padding: self.output_padding.unwrap_or(0),
                activation: act,
            }),
            "pool" => LayerConfig::Pool(PoolConfig {
                kind: match self.pool.as_deref() {
                    Some("max") => PoolKind::Max,
                    Some("avg") => PoolKind::Avg,
                    other => {
                        return Err(Error::config(
                            format!("{key}.pool"),
                            format!("expected \"max\" or \"avg\", got {:?}", other.unwrap_or("")),
                        ))
                    }
                },
                size: self.size.ok_or_else(|| {
                    Error::config(format!("{key}.size"), "a pool layer needs its window size")
                })?,
            }),
            "upsample" => LayerConfig::Upsample(UpsampleConfig {
                factor: self.upsample.unwrap_or(0),
            }),
            "batch_norm" => {
                if self.batch_norm != Some(true) {
                    return Err(Error::config(
                        format!("{key}.batch_norm"),
                        "write batch_norm = true (or leave the layer out)",
                    ));
                }
                LayerConfig::BatchNorm(BatchNormConfig { activation: act })
            }
            "reshape" => LayerConfig::Reshape(ReshapeConfig {
                shape: match self.reshape.as_deref() {
                    Some(&[d]) => Shape::Flat(d),
                    Some(&[channels, height, width]) => Shape::Image {
                        channels,
                        height,
                        width,
                    },
                    _ => {
                        return Err(Error::config(
                            format!("{key}.reshape"),
                            "expected [C, H, W] or [d]",
                        ))
                    }
                },
            }),
            _ => LayerConfig::Dropout(DropoutConfig {
                rate: self.dropout.unwrap_or(f32::NAN),
            }),
        };
        config.check(key)?;
        Ok(config)
    }
}

impl TryFrom<LayerEntry> for LayerConfig {
    type Error = Error;
    /// A table from `spec.json` (every activation written; a missing one is linear).
    fn try_from(e: LayerEntry) -> Result<Self> {
        e.resolve("layer", Activation::Linear)
    }
}

impl From<LayerConfig> for LayerEntry {
    fn from(c: LayerConfig) -> Self {
        let mut e = LayerEntry::default();
        match c {
            LayerConfig::Dense(d) => {
                e.dense = Some(d.units);
                e.activation = Some(d.activation);
            }
            LayerConfig::Conv(c) => {
                e.conv = Some(c.filters);
                e.kernel = Some(c.kernel);
                e.stride = Some(c.stride);
                e.padding = Some(match c.padding {
                    Padding::Same => PaddingEntry::Name("same".into()),
                    Padding::Size(p) => PaddingEntry::Size(p),
                });
                e.activation = Some(c.activation);
            }
            LayerConfig::ConvTranspose(c) => {
                e.conv_transpose = Some(c.filters);
                e.kernel = Some(c.kernel);
                e.stride = Some(c.stride);
                e.padding = Some(PaddingEntry::Size(c.padding));
                e.output_padding = Some(c.output_padding);
                e.activation = Some(c.activation);
            }
            LayerConfig::Pool(p) => {
                e.pool = Some(match p.kind {
                    PoolKind::Max => "max".into(),
                    PoolKind::Avg => "avg".into(),
                });
                e.size = Some(p.size);
            }
            LayerConfig::Upsample(u) => e.upsample = Some(u.factor),
            LayerConfig::BatchNorm(b) => {
                e.batch_norm = Some(true);
                e.activation = Some(b.activation);
            }
            LayerConfig::Dropout(d) => e.dropout = Some(d.rate),
            LayerConfig::Reshape(r) => {
                e.reshape = Some(match r.shape {
                    Shape::Flat(d) => vec![d],
                    Shape::Image {
                        channels,
                        height,
                        width,
                    } => vec![channels, height, width],
                })
            }
        }
        e
    }
}

impl LayerConfig {
    /// The kind's name in configs.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerConfig::Dense(_) => "dense",
            LayerConfig::Conv(_) => "conv",
            LayerConfig::ConvTranspose(_) => "conv_transpose",
            LayerConfig::Pool(_) => "pool",
            LayerConfig::Upsample(_) => "upsample",
            LayerConfig::BatchNorm(_) => "batch_norm",
            LayerConfig::Dropout(_) => "dropout",
            LayerConfig::Reshape(_) => "reshape",
        }
    }

    /// Checks the settings; `key` names the table in errors.
    pub fn check(&self, key: &str) -> Result<()> {
        match self {
            LayerConfig::Dense(c) => c.check(key),
            LayerConfig::Conv(c) => c.check(key),
            LayerConfig::ConvTranspose(c) => c.check(key),
            LayerConfig::Pool(c) => c.check(key),
            LayerConfig::Upsample(c) => c.check(key),
            LayerConfig::BatchNorm(c) => c.check(key),
            LayerConfig::Dropout(c) => c.check(key),
            LayerConfig::Reshape(c) => c.check(key),
        }
    }

    /// The layer's activation (`Linear` for kinds without one).
    pub fn activation(&self) -> Activation {
        match self {
            LayerConfig::Dense(c) => c.activation,
            LayerConfig::Conv(c) => c.activation,
            LayerConfig::ConvTranspose(c) => c.activation,
            LayerConfig::BatchNorm(c) => c.activation,
            _ => Activation::Linear,
        }
    }

    /// Whether the kind has an activation of its own (pooling, upsampling and dropout pass
    /// their input's through).
    pub fn has_activation(&self) -> bool {
        matches!(
            self,
            LayerConfig::Dense(_)
                | LayerConfig::Conv(_)
                | LayerConfig::ConvTranspose(_)
                | LayerConfig::BatchNorm(_)
        )
    }

    /// The same layer with activation `a` (kinds without one are unchanged).
    pub fn with_activation(mut self, a: Activation) -> Self {
        match &mut self {
            LayerConfig::Dense(c) => c.activation = a,
            LayerConfig::Conv(c) => c.activation = a,
            LayerConfig::ConvTranspose(c) => c.activation = a,
            LayerConfig::BatchNorm(c) => c.activation = a,
            _ => {}
        }
        self
    }

    /// The output shape on `input`, or why the layer does not fit it.
    pub fn output_shape(&self, input: Shape) -> std::result::Result<Shape, String> {
        match self {
            LayerConfig::Dense(c) => Ok(Shape::Flat(c.units)),
            LayerConfig::Conv(c) => c.output_shape(input),
            LayerConfig::ConvTranspose(c) => c.output_shape(input),
            LayerConfig::Pool(c) => c.output_shape(input),
            LayerConfig::Upsample(c) => c.output_shape(input),
            LayerConfig::BatchNorm(c) => c.output_shape(input),
            LayerConfig::Dropout(c) => c.output_shape(input),
            LayerConfig::Reshape(c) => c.output_shape(input),
        }
    }

    /// Trained values of the layer on `input` (a tied dense layer counts only its bias).
    pub fn parameter_count(&self, input: Shape, tied: bool) -> usize {
        match self {
            LayerConfig::Dense(c) => c.parameter_count(input, tied),
            LayerConfig::Conv(c) => c.parameter_count(input),
            LayerConfig::ConvTranspose(c) => c.parameter_count(input),
            LayerConfig::BatchNorm(c) => c.parameter_count(input),
            _ => 0,
        }
    }

    /// Multiply-adds of one example's forward pass on `input` (0 for the kinds without a
    /// product: their cost is memory traffic).
    pub fn macs(&self, input: Shape) -> usize {
        let Ok(out) = self.output_shape(input) else {
            return 0;
        };
        match self {
            LayerConfig::Dense(c) => input.len() * c.units,
            LayerConfig::Conv(c) => out.len() * channels(input) * c.kernel * c.kernel,
            LayerConfig::ConvTranspose(c) => input.len() * channels(out) * c.kernel * c.kernel,
            _ => 0,
        }
    }

    /// Builds the layer on `input` (whose fit [`Self::output_shape`] has checked), pushing
    /// its tensors, named `{name}.…`, onto `tensors`. `tied_weight`: a dense layer reading
    /// another's weight transposed.
    pub fn init(
        &self,
        input: Shape,
        name: &str,
        init: Init,
        tied_weight: Option<usize>,
        tensors: &mut Vec<Tensor>,
        rng: &mut Rng,
    ) -> AnyLayer {
        match self {
            LayerConfig::Dense(c) => c.init(input, name, init, tied_weight, tensors, rng).into(),
            LayerConfig::Conv(c) => c.init(input, name, init, tensors, rng).into(),
            LayerConfig::ConvTranspose(c) => c.init(input, name, init, tensors, rng).into(),
            LayerConfig::Pool(c) => c.init(input).into(),
            LayerConfig::Upsample(c) => c.init(input).into(),
            LayerConfig::BatchNorm(c) => c.init(input, name, tensors).into(),
            LayerConfig::Dropout(c) => c.init(input, name).into(),
            LayerConfig::Reshape(c) => c.init(input).into(),
        }
    }
}

/// The channels of an image shape (1 for a flat one).
fn channels(s: Shape) -> usize {
    match s {
        Shape::Image { channels, .. } => channels,
        Shape::Flat(_) => 1,
    }
}

/// The shapes between `layers` from `input` (`layers.len() + 1` of them), or an error naming
/// the layer (`{key}[i]`) and the shape it was given.
pub fn shapes(key: &str, input: Shape, layers: &[LayerConfig]) -> Result<Vec<Shape>> {
    let mut s = vec![input];
    for (i, l) in layers.iter().enumerate() {
        let at = *s.last().expect("starts with the input");
        let out = l.output_shape(at).map_err(|m| {
            // flat rows reach a spatial layer when the data did not say it holds images
            let hint = if matches!(at, Shape::Flat(_)) {
                " (images in flat rows: give model.input_shape = [C, H, W])"
            } else {
                ""
            };
            Error::config(
                format!("{key}[{i}]"),
                format!("{} on input {at}: {m}{hint}", l.kind()),
            )
        })?;
        s.push(out);
    }
    Ok(s)
}

/// The decoder that undoes `encoder` (whose shapes are `shapes`, input first): its layers in
/// reverse, each replaced by its counterpart so that it outputs the shape its twin read, with
/// the activation that shape had in the encoder (the first layer's input, the data, gets
/// `Linear`: the likelihood's mean function follows). Batch norm and dropout follow the layer
/// before them (they belong to it), so they are kept after that layer's counterpart, except
/// on the output. `Err` names the first layer with no exact counterpart.
pub fn mirror(
    encoder: &[LayerConfig],
    shapes: &[Shape],
) -> std::result::Result<Vec<LayerConfig>, String> {
    // the activation each shape carries: a layer's own, or (pool, upsample, dropout) its input's
    let mut carried = vec![Activation::Linear];
    for l in encoder {
        let a = if l.has_activation() {
            l.activation()
        } else {
            *carried.last().expect("starts with the input's")
        };
        carried.push(a);
    }
    // blocks: a main layer and the batch norm / dropout layers after it
    let mut blocks: Vec<(usize, Vec<&LayerConfig>)> = Vec::new();
    for (i, l) in encoder.iter().enumerate() {
        match (l, blocks.last_mut()) {
            (LayerConfig::BatchNorm(_) | LayerConfig::Dropout(_), Some(b)) => b.1.push(l),
            _ => blocks.push((i, Vec::new())),
        }
    }
    let mut out = Vec::new();
    for (b, (i, followers)) in blocks.iter().enumerate().rev() {
        let (input, output) = (shapes[*i], shapes[*i + 1]);
        let act = carried[*i];
        let twin = match &encoder[*i] {
            LayerConfig::Dense(_) => LayerConfig::Dense(DenseConfig {
                units: input.len(),
                activation: act,
            }),
            LayerConfig::Conv(c) => {
                let (
                    Shape::Image {
                        channels,
                        height,
                        width,
                    },
                    Shape::Image {
                        height: ho,
                        width: wo,
                        ..
                    },
                ) = (input, output)
                else {
                    return Err(format!("layer {i} (conv) has no image shape"));
                };
                let p = c.padding.resolve(c.kernel);
                let base = |o: usize| (o - 1) * c.stride + c.kernel;
                let pad_h = (height + 2 * p).checked_sub(base(ho));
                let pad_w = (width + 2 * p).checked_sub(base(wo));
                match (pad_h, pad_w) {
                    (Some(h), Some(w)) if h == w && h < c.stride.max(1) => {
                        LayerConfig::ConvTranspose(ConvTransposeConfig {
                            filters: channels,
                            kernel: c.kernel,
                            stride: c.stride,
                            padding: p,
                            output_padding: h,
                            activation: act,
                        })
                    }
                    _ => {
                        return Err(format!(
                            "layer {i} (conv) maps {input} to {output}, which no conv_transpose undoes exactly"
                        ))
                    }
                }
            }
            LayerConfig::ConvTranspose(c) => {
                let Shape::Image { channels, .. } = input else {
                    return Err(format!("layer {i} (conv_transpose) has no image shape"));
                };
                let conv = ConvConfig {
                    filters: channels,
                    kernel: c.kernel,
                    stride: c.stride,
                    padding: Padding::Size(c.padding),
                    activation: act,
                };
                if conv.output_shape(output) != Ok(input) {
                    return Err(format!(
                        "layer {i} (conv_transpose) maps {input} to {output}, which no conv undoes exactly"
                    ));
                }
                LayerConfig::Conv(conv)
            }
            LayerConfig::Pool(p) => {
                let up = UpsampleConfig { factor: p.size };
                if up.output_shape(output) != Ok(input) {
                    return Err(format!(
                        "layer {i} (pool {}) drops the edge of {input}: upsampling gives {}; crop the input or write the decoder",
                        p.size,
                        up.output_shape(output).map(|s| s.to_string()).unwrap_or_default()
                    ));
                }
                LayerConfig::Upsample(up)
            }
            LayerConfig::Upsample(u) => LayerConfig::Pool(PoolConfig {
                kind: PoolKind::Avg,
                size: u.factor,
            }),
            LayerConfig::Reshape(_) => LayerConfig::Reshape(ReshapeConfig { shape: input }),
            LayerConfig::BatchNorm(_) | LayerConfig::Dropout(_) => {
                // a leading one (nothing before it): normalizes the input, nothing to undo
                continue;
            }
        };
        // a dense twin outputs a flat vector: read it as the image its twin read
        let reshape = (matches!(twin, LayerConfig::Dense(_))
            && matches!(input, Shape::Image { .. }))
        .then_some(LayerConfig::Reshape(ReshapeConfig { shape: input }));
        let last = b == 0;
        if last {
            out.push(twin.with_activation(Activation::Linear));
            out.extend(reshape);
            continue;
        }
        // the twin's activation moves to the batch norm after it, as in the encoder's block
        let normalized = followers
            .iter()
            .any(|f| matches!(f, LayerConfig::BatchNorm(_)));
        if normalized {
            out.push(twin.with_activation(Activation::Linear));
        } else {
            out.push(twin);
        }
        out.extend(reshape);
        for f in followers {
            out.push(match f {
                LayerConfig::BatchNorm(_) => {
                    LayerConfig::BatchNorm(BatchNormConfig { activation: act })
                }
                other => (*other).clone(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(toml_text: &str) -> Vec<LayerEntry> {
        #[derive(Deserialize)]
        struct T {
            layers: Vec<LayerEntry>,
        }
        toml::from_str::<T>(toml_text).unwrap().layers
    }

    fn resolve_all(e: &[LayerEntry]) -> Result<Vec<LayerConfig>> {
        e.iter()
            .enumerate()
            .map(|(i, e)| e.resolve(&format!("model.encoder[{i}]"), Activation::Relu))
            .collect()
    }

    #[test]
    fn tables_resolve_with_defaults_and_round_trip_through_json() {
        let e = entries(
            r#"layers = [
              { conv = 32, kernel = 3, padding = 1 },
              { pool = "max", size = 2 },
              { conv = 16, kernel = 3, stride = 2, padding = "same", activation = "tanh" },
              { batch_norm = true },
              { dropout = 0.1 },
              { conv_transpose = 8, kernel = 3, stride = 2, padding = 1, output_padding = 1 },
              { upsample = 2 },
              { dense = 10 },
            ]"#,
        );
        let c = resolve_all(&e).unwrap();
        assert_eq!(
            c[0],
            LayerConfig::Conv(ConvConfig {
                filters: 32,
                kernel: 3,
                stride: 1,
                padding: Padding::Size(1),
                activation: Activation::Relu
            })
        );
        assert_eq!(c[2].activation(), Activation::Tanh);
        let json = serde_json::to_string(&c).unwrap();
        let back: Vec<LayerConfig> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn mistakes_name_the_table_and_key() {
        for (text, want) in [
            (
                "layers = [{ kernel = 3 }]",
                "model.encoder[0]: names no layer kind",
            ),
            (
                "layers = [{ conv = 3, dense = 4, kernel = 1 }]",
                "names dense and conv layer kinds",
            ),
            (
                "layers = [{ conv = 3 }]",
                "model.encoder[0].kernel: a conv layer needs",
            ),
            (
                "layers = [{ pool = \"max\", size = 2, kernel = 3 }]",
                "model.encoder[0].kernel: is not a setting of a pool",
            ),
            (
                "layers = [{ pool = \"mean\", size = 2 }]",
                "model.encoder[0].pool: expected",
            ),
            (
                "layers = [{ conv = 3, kernel = 3, padding = \"valid\" }]",
                "model.encoder[0].padding",
            ),
            (
                "layers = [{ batch_norm = false }]",
                "model.encoder[0].batch_norm",
            ),
        ] {
            let err = resolve_all(&entries(text)).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
        let err = toml::from_str::<toml::Value>("x = 1").map(|_| ());
        assert!(err.is_ok());
    }

    #[test]
    fn the_mirror_undoes_each_layer_to_the_input_shape() {
        let img = Shape::Image {
            channels: 1,
            height: 28,
            width: 28,
        };
        let enc = resolve_all(&entries(
            r#"layers = [
              { conv = 8, kernel = 3, padding = 1 },
              { pool = "max", size = 2 },
              { conv = 16, kernel = 3, stride = 2, padding = 1 },
              { batch_norm = true },
              { dense = 5, activation = "linear" },
            ]"#,
        ))
        .unwrap();
        let s = shapes("model.encoder", img, &enc).unwrap();
        assert_eq!(s[3].to_string(), "16×7×7");
        let dec = mirror(&enc, &s).unwrap();
        let kinds: Vec<_> = dec.iter().map(|l| l.kind()).collect();
        assert_eq!(
            kinds,
            [
                "dense",
                "reshape",
                "conv_transpose",
                "batch_norm",
                "upsample",
                "conv_transpose"
            ]
        );
        // the dense twin outputs what the batch norm output (relu'd); the conv block's twin
        // keeps the block's form: conv_transpose (linear) → batch norm with the activation
        assert_eq!(dec[0].activation(), Activation::Relu);
        assert_eq!(dec[2].activation(), Activation::Linear);
        assert_eq!(dec[3].activation(), Activation::Relu);
        assert_eq!(dec[5].activation(), Activation::Linear);
        let back = shapes("model.decoder", Shape::Flat(5), &dec).unwrap();
        assert_eq!(*back.last().unwrap(), img);
        assert_eq!(back[1], Shape::Flat(16 * 7 * 7));
        assert_eq!(back[2].to_string(), "16×7×7");
        // a pool that drops an edge has no exact twin
        let odd = Shape::Image {
            channels: 1,
            height: 7,
            width: 7,
        };
        let enc = resolve_all(&entries("layers = [{ pool = \"max\", size = 2 }]")).unwrap();
        let s = shapes("model.encoder", odd, &enc).unwrap();
        assert!(mirror(&enc, &s).unwrap_err().contains("drops the edge"));
    }
}
