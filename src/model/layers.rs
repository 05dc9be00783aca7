//! Typed views of a model's layers: what pretraining, probes, analysis tools and exporters
//! read, instead of finding tensors by their saved names (names are a persistence detail).

use super::autoencoder::Autoencoder;
use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::layers::dense::{Dense, DenseLayer};
use crate::layers::Layer;
use crate::nn::Activation;

/// Which half of the autoencoder a layer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Half {
    /// `f`: input → code.
    Encoder,
    /// `g`: code → reconstruction.
    Decoder,
}

/// One dense layer `a = act(x·Wᵀ + b)`, borrowed from a model.
///
/// Invariant: `bias.len() == outputs` and `weight.len() == inputs · outputs`; the weight is
/// `[outputs, inputs]`, or `[inputs, outputs]` when `transposed_weight` (a tied decoder layer
/// reading its encoder twin's weight).
#[derive(Clone, Copy, Debug)]
pub struct LayerView<'a> {
    /// Encoder or decoder.
    pub half: Half,
    /// Position within its half, input side first.
    pub index: usize,
    /// The weight (see the invariant).
    pub weight: &'a [f32],
    /// The bias, `outputs` long.
    pub bias: &'a [f32],
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// The activation. The decoder's last layer is `Linear` here: the output distribution's
    /// mean function ([`crate::Likelihood::mean_activation`]) is applied after it.
    pub activation: Activation,
    /// Whether `weight` is another layer's, read transposed.
    pub transposed_weight: bool,
}

impl<'a> LayerView<'a> {
    /// The layer as the engine's dense kernel.
    pub fn dense(&self) -> Dense<'a> {
        Dense {
            weight: self.weight,
            bias: self.bias,
            inputs: self.inputs,
            outputs: self.outputs,
            transposed_weight: self.transposed_weight,
        }
    }
}

/// The code layer: the encoder's last layer and how its output becomes the code.
#[derive(Clone, Copy, Debug)]
pub struct CodeLayerView<'a> {
    /// The encoder layer that outputs the code's parameters.
    pub layer: LayerView<'a>,
    /// How the code is read from that layer's output.
    pub distribution: CodeDistribution,
    /// Width of the code `h` (half the layer's outputs for a Gaussian code: `[μ, log σ²]`).
    pub code_size: usize,
}

impl Autoencoder {
    /// Layer `l` as a dense one. The tools that read weights through these views call
    /// [`Self::require_dense`] first; a new layer kind must be taught to them or refused there.
    fn dense_layer(&self, l: usize) -> &DenseLayer {
        self.layers[l]
            .as_dense()
            .expect("every layer of an autoencoder is dense")
    }

    fn view(&self, l: usize) -> LayerView<'_> {
        let p = self.dense_layer(l);
        let (half, index) = if l < self.encoder_len {
            (Half::Encoder, l)
        } else {
            (Half::Decoder, l - self.encoder_len)
        };
        LayerView {
            half,
            index,
            weight: &self.tensors[p.weight()].data,
            bias: &self.tensors[p.bias()].data,
            inputs: p.inputs(),
            outputs: p.outputs(),
            activation: p.activation(),
            transposed_weight: p.transposed_weight(),
        }
    }

    /// Checks that every layer is dense, for `tool`, which reads dense weights through the
    /// views below; the error names the first layer of another kind.
    pub fn require_dense(&self, tool: &str) -> Result<()> {
        match self.layers.iter().position(|l| l.as_dense().is_none()) {
            None => Ok(()),
            Some(l) => {
                let (half, index) = if l < self.encoder_len {
                    ("encoder", l)
                } else {
                    ("decoder", l - self.encoder_len)
                };
                Err(Error::Invalid(format!(
                    "{tool} reads dense layers; {half} layer {index} is a {} layer",
                    self.layers[l].kind()
                )))
            }
        }
    }

    /// Number of encoder layers (the last outputs the code).
    pub fn encoder_len(&self) -> usize {
        self.encoder_len
    }

    /// Number of decoder layers.
    pub fn decoder_len(&self) -> usize {
        self.layers.len() - self.encoder_len
    }

    /// Encoder layer `l` (0 reads the input), or `None` past the encoder.
    pub fn encoder_layer(&self, l: usize) -> Option<LayerView<'_>> {
        (l < self.encoder_len).then(|| self.view(l))
    }

    /// Decoder layer `l` (0 reads the code), or `None` past the decoder.
    pub fn decoder_layer(&self, l: usize) -> Option<LayerView<'_>> {
        (l < self.decoder_len()).then(|| self.view(self.encoder_len + l))
    }

    /// Every encoder layer, input side first.
    pub fn encoder_layers(&self) -> impl Iterator<Item = LayerView<'_>> {
        (0..self.encoder_len).map(|l| self.view(l))
    }

    /// Every decoder layer, code side first.
    pub fn decoder_layers(&self) -> impl Iterator<Item = LayerView<'_>> {
        (self.encoder_len..self.layers.len()).map(|l| self.view(l))
    }

    /// The code layer.
    pub fn code_layer(&self) -> CodeLayerView<'_> {
        CodeLayerView {
            layer: self.view(self.encoder_len - 1),
            distribution: self.spec().code_distribution,
            code_size: self.spec().code_size,
        }
    }

    /// The indices in [`Autoencoder::tensors`] of layer `index` of `half`'s weight and bias
    /// (for learners that update layers by their own rule).
    pub fn tensor_indices(&self, half: Half, index: usize) -> Option<(usize, usize)> {
        let l = match half {
            Half::Encoder if index < self.encoder_len => index,
            Half::Decoder if index < self.decoder_len() => self.encoder_len + index,
            _ => return None,
        };
        let p = self.dense_layer(l);
        Some((p.weight(), p.bias()))
    }

    /// Overwrites the parameters of layer `index` of `half` with `weight` and `bias` (laid out
    /// as [`LayerView`] says, untransposed). A tied decoder layer takes only its bias (`weight`
    /// must then be `None`): its weight is the encoder's. Sizes must match exactly.
    pub fn set_layer(
        &mut self,
        half: Half,
        index: usize,
        weight: Option<&[f32]>,
        bias: &[f32],
    ) -> Result<()> {
        let l = match half {
            Half::Encoder if index < self.encoder_len => index,
            Half::Decoder if index < self.decoder_len() => self.encoder_len + index,
            _ => {
                return Err(Error::Shape(format!(
                    "the model has no {half:?} layer {index}"
                )))
            }
        };
        let p = *self.dense_layer(l);
        let (inputs, outputs) = (p.inputs(), p.outputs());
        let what = |part: &str, want: usize, got: usize| {
            Error::Shape(format!(
                "{half:?} layer {index} {part} needs {want} values, got {got}"
            ))
        };
        if bias.len() != outputs {
            return Err(what("bias", outputs, bias.len()));
        }
        match (weight, p.transposed_weight()) {
            (Some(_), true) => {
                return Err(Error::Invalid(format!(
                    "{half:?} layer {index} is tied: its weight is the encoder's"
                )))
            }
            (Some(w), false) if w.len() != inputs * outputs => {
                return Err(what("weight", inputs * outputs, w.len()))
            }
            (Some(w), false) => self.tensors[p.weight()].data.copy_from_slice(w),
            (None, _) => {}
        }
        self.tensors[p.bias()].data.copy_from_slice(bias);
        Ok(())
    }
}
