//! Layers: the encoder `f` and the decoder `g` are sequences of them. A layer maps a batch of
//! examples of one [`Shape`] (flat `d` or `C×H×W`) to a batch of another, forward, and the
//! gradient of the loss at its output back to its input and its parameters, backward.
//!
//! One file per layer kind, each holding its config (with its check and `init`), its shape rule,
//! its forward and backward side by side with buffer shapes in comments, its named parameters
//! and the scratch it needs. A new kind is its file plus one line in `layer_kinds!` below.
//!
//! Layers do not own their parameters: the model keeps one list of named tensors (what
//! safetensors files and optimizers see) and a layer holds the indices of its own, so a tied
//! decoder layer can read an encoder layer's weight.

pub mod batch_norm;
#[cfg(test)]
mod check;
pub mod config;
pub mod conv;
mod conv_direct;
pub mod conv_transpose;
pub mod dense;
pub mod dropout;
pub mod grads;
mod im2col;
pub mod pool;
pub mod reshape;
pub mod shape;
pub mod upsample;

pub use crate::data::safetensors::Tensor;
pub use batch_norm::{BatchNormConfig, BatchNormLayer};
pub use config::{LayerConfig, LayerEntry};
pub use conv::{ConvConfig, ConvLayer, Padding};
pub use conv_transpose::{ConvTransposeConfig, ConvTransposeLayer};
pub use dense::{DenseConfig, DenseLayer};
pub use dropout::{DropoutConfig, DropoutLayer};
pub use grads::{GradSlots, Grads};
pub use pool::{PoolConfig, PoolKind, PoolLayer};
pub use shape::Shape;
pub use upsample::{UpsampleConfig, UpsampleLayer};

use crate::linalg::Backend;
use crate::nn::Activation;

/// A parameter's position in a model's tensor list.
pub type TensorId = usize;

/// What every pass of a layer reads besides its buffers.
#[derive(Clone, Copy)]
pub struct Pass<'a> {
    /// Where the arithmetic runs (threads, GEMM).
    pub backend: &'a dyn Backend,
    /// The model's parameter tensors (a layer reads its own by [`Layer::tensors`]).
    pub params: &'a [Tensor],
    /// Examples in the batch.
    pub rows: usize,
    /// A training pass (batch statistics, dropout masks) rather than inference.
    pub training: bool,
    /// This step's seed for the layers that draw (dropout masks): the same in forward and
    /// backward, so a mask is recomputed rather than stored.
    pub seed: u64,
}

impl<'a> Pass<'a> {
    /// An inference pass over `rows` examples.
    pub fn inference(backend: &'a dyn Backend, params: &'a [Tensor], rows: usize) -> Self {
        Pass {
            backend,
            params,
            rows,
            training: false,
            seed: 0,
        }
    }
}

/// One layer kind's forward and backward pass and shape.
///
/// Buffers are row-major with one example a row: `input` is `rows × input_shape().len()`,
/// `output` `rows × output_shape().len()`, `scratch` at least `scratch_floats(rows)` values.
pub trait Layer: Send + Sync + std::fmt::Debug {
    /// The kind's name in configs (`"dense"`).
    fn kind(&self) -> &'static str;

    /// The shape of one input example.
    fn input_shape(&self) -> Shape;

    /// The shape of one output example.
    fn output_shape(&self) -> Shape;

    /// The activation applied to the layer's output (`Linear` when it has none).
    fn activation(&self) -> Activation;

    /// Every parameter tensor the layer reads, in the order its gradients become final.
    fn tensors(&self) -> &[TensorId];

    /// The tensors weight decay applies to (weights, not biases; a shared weight only in the
    /// layer that owns it).
    fn decayed_tensors(&self) -> &[TensorId];

    /// Scratch values a pass over `rows` examples needs (0 for kernels that need none).
    fn scratch_floats(&self, rows: usize) -> usize;

    /// `output = act(layer(input))`, with `activation` in place of the layer's own (the
    /// decoder's last layer gives the output distribution's mean at inference).
    fn forward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &mut [f32],
        activation: Activation,
        scratch: &mut [f32],
    );

    /// Backward from `delta = ∂L/∂output` (overwritten: it is taken through the activation in
    /// place, using `output`): adds the parameters' gradients into `grads` and, when
    /// `input_grad` is given, writes `∂L/∂input` there.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &[f32],
        delta: &mut [f32],
        grads: &mut GradSlots<'_>,
        input_grad: Option<&mut [f32]>,
        scratch: &mut [f32],
    );

    /// Whether a training pass draws random numbers (dropout): the step then draws a seed for
    /// it, and only then, so models without such layers keep their random streams.
    fn draws(&self) -> bool {
        false
    }

    /// After a training forward pass over `input` (`rows` examples): updates the tensors the
    /// layer keeps but does not train (batch norm's running statistics). Nothing for most kinds.
    fn update_buffers(&self, _rows: usize, _input: &[f32], _tensors: &mut [Tensor]) {}

    /// The layer as a dense one, for the tools that read dense weights (closed-form Jacobians,
    /// greedy pretraining, probes, ONNX); `None` for other kinds.
    fn as_dense(&self) -> Option<&DenseLayer> {
        None
    }
}

/// The registry: one line per layer kind. Makes [`AnyLayer`], a layer by value that derefs to
/// [`Layer`] (so a model can be cloned, compared and stored without boxes).
macro_rules! layer_kinds {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// A layer of any kind.
        #[derive(Clone, Debug, PartialEq)]
        pub enum AnyLayer {
            $(
                #[allow(missing_docs)]
                $variant($ty),
            )*
        }

        impl std::ops::Deref for AnyLayer {
            type Target = dyn Layer;
            fn deref(&self) -> &(dyn Layer + 'static) {
                match self {
                    $(AnyLayer::$variant(l) => l,)*
                }
            }
        }

        $(
            impl From<$ty> for AnyLayer {
                fn from(l: $ty) -> Self {
                    AnyLayer::$variant(l)
                }
            }
        )*
    };
}

layer_kinds! {
    Dense(DenseLayer),
    Conv(conv::ConvLayer),
    ConvTranspose(conv_transpose::ConvTransposeLayer),
    Pool(pool::PoolLayer),
    Upsample(upsample::UpsampleLayer),
    BatchNorm(batch_norm::BatchNormLayer),
    Dropout(dropout::DropoutLayer),
    Reshape(reshape::ReshapeLayer),
}
