//! ONNX export of a trained autoencoder's encoder, decoder, or both.
//!
//! Each dense layer `a = act(x·Wᵀ + b)` becomes one `Gemm` (`transB = 1` for the
//! `[outputs, inputs]` weights; `0` for a tied decoder layer, whose weight is its encoder twin's
//! read transposed) followed by its activation node (`Sigmoid`, `Tanh`, `Relu`, `Softplus`; none
//! for linear). A Gaussian code exports its mean: the code layer keeps only the rows of `W` and
//! `b` that give `μ` (the first `code_size` outputs), so no `Slice` is needed. The decoder ends
//! with the output distribution's mean function (`Sigmoid` for Bernoulli outputs). The batch
//! dimension is symbolic (`N`); opset 13, IR version 7.
//!
//! `hash` exports `x → packed bits` for semantic hashing: the encoder, then
//! `Greater(h, thresholds)`, and FAISS's bit order built from plain ops — the bits reshaped to
//! `N × bytes × 8`, a `MatMul` with `[1, 2, 4, …, 128]` (bit `j` at position `j % 8` of byte
//! `j / 8`, least significant first) and a `Cast` to `uint8`: output `codes`, `N × bits/8`.
//!
//! A model with a fitted input transform (`[data] transform`, `transform.json`) reads its
//! input through it in the graph too, before the encoder: `tfidf` as `Mul` by the idf weights,
//! then each row divided by its `ReduceL2` norm (floored at the smallest normal float, so an
//! empty row stays zero); `log1p` as `Log(x + 1)`; `binary` as `Cast(Greater(x, 0))`.
//!
//! The messages are the subset of `onnx.proto` these graphs use, declared with `prost` (field
//! numbers as in onnx/onnx.proto3), so no protobuf compiler is needed.

use crate::code::CodeDistribution;
use crate::data::transform::{InputTransform, TransformKind};
use crate::error::{Error, Result};
use crate::layers::{AnyLayer, Layer, Shape};
use crate::model::layers::LayerView;
use crate::model::Autoencoder;
use crate::nn::Activation;
use prost::Message;

/// Which function of the model to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `x → h = f(x)` (the mean of a Gaussian code).
    Encoder,
    /// `h → g(h)`, the output distribution's mean.
    Decoder,
    /// `x → g(f(x))`.
    Autoencoder,
    /// `x → codes`: the code thresholded (default 0.5) and packed, `uint8`, FAISS bit order.
    Hash,
}

impl Part {
    /// Parses `encoder`, `decoder`, `autoencoder` or `hash`.
    pub fn parse(s: &str) -> Result<Part> {
        match s {
            "encoder" => Ok(Part::Encoder),
            "decoder" => Ok(Part::Decoder),
            "autoencoder" => Ok(Part::Autoencoder),
            "hash" => Ok(Part::Hash),
            other => Err(Error::Invalid(format!(
                "unknown part {other:?} (expected encoder, decoder, autoencoder or hash)"
            ))),
        }
    }
}

/// `onnx.ModelProto` (subset).
#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(string, tag = "2")]
    pub producer_name: String,
    #[prost(string, tag = "3")]
    pub producer_version: String,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
}

/// `onnx.OperatorSetIdProto`.
#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// `onnx.GraphProto` (subset).
#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// `onnx.NodeProto` (subset).
#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, tag = "3")]
    pub name: String,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// `onnx.AttributeProto` (float, integer, string and integer-list attributes).
#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(float, tag = "2")]
    pub f: f32,
    #[prost(int64, tag = "3")]
    pub i: i64,
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    /// `AttributeType`: 1 = FLOAT, 2 = INT, 3 = STRING, 7 = INTS.
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}

/// `onnx.TensorProto` (float tensors in `raw_data`).
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// `DataType`: 1 = FLOAT.
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(string, tag = "8")]
    pub name: String,
    /// Little-endian values, row-major.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
}

/// `onnx.ValueInfoProto`.
#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// `onnx.TypeProto` (tensor types only).
#[derive(Clone, PartialEq, Message)]
pub struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

/// `onnx.TypeProto.Tensor`.
#[derive(Clone, PartialEq, Message)]
pub struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// `onnx.TensorShapeProto`.
#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// `onnx.TensorShapeProto.Dimension`: a fixed size or a symbolic name.
#[derive(Clone, PartialEq, Message)]
pub struct Dimension {
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}

const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT64: i32 = 7;
const ATTRIBUTE_FLOAT: i32 = 1;
const ATTRIBUTE_INT: i32 = 2;
const ATTRIBUTE_STRING: i32 = 3;
const ATTRIBUTE_INTS: i32 = 7;

fn batch_by(name: &str, width: usize) -> ValueInfoProto {
    batch_by_of(name, width, FLOAT)
}

fn batch_by_of(name: &str, width: usize, elem_type: i32) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        Dimension {
                            dim_value: None,
                            dim_param: Some("N".into()),
                        },
                        Dimension {
                            dim_value: Some(width as i64),
                            dim_param: None,
                        },
                    ],
                }),
            }),
        }),
    }
}

fn tensor(name: String, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|d| *d as i64).collect(),
        data_type: FLOAT,
        name,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

fn int64_tensor(name: String, values: &[i64]) -> TensorProto {
    TensorProto {
        dims: vec![values.len() as i64],
        data_type: INT64,
        name,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// Appends nodes to a graph under construction, naming values `t0`, `t1`, …
struct Builder {
    graph: GraphProto,
    current: String,
    counter: usize,
}

impl Builder {
    fn fresh(&mut self) -> String {
        self.counter += 1;
        format!("t{}", self.counter)
    }

    fn node(&mut self, op: &str, inputs: Vec<String>, attribute: Vec<AttributeProto>) {
        let out = self.fresh();
        self.graph.node.push(NodeProto {
            input: inputs,
            output: vec![out.clone()],
            name: format!("{op}_{}", self.counter),
            op_type: op.into(),
            attribute,
        });
        self.current = out;
    }

    fn activation(&mut self, act: Activation) {
        let op = match act {
            Activation::Sigmoid => "Sigmoid",
            Activation::Tanh => "Tanh",
            Activation::Relu => "Relu",
            Activation::Softplus => "Softplus",
            Activation::Linear => return,
        };
        let input = self.current.clone();
        self.node(op, vec![input], Vec::new());
    }

    /// A dense layer; `rows` keeps only the first rows (outputs) of an untransposed weight.
    fn dense(&mut self, name: &str, layer: &LayerView<'_>, rows: usize) {
        let (inputs, outputs) = (layer.inputs, rows);
        let (weight, dims, trans_b) = if layer.transposed_weight {
            // [inputs, outputs]: keep the first `rows` columns of every row
            let w: Vec<f32> = layer
                .weight
                .chunks_exact(layer.outputs)
                .flat_map(|r| r[..outputs].iter().copied())
                .collect();
            (w, [inputs, outputs], 0)
        } else {
            (
                layer.weight[..outputs * inputs].to_vec(),
                [outputs, inputs],
                1,
            )
        };
        let (w_name, b_name) = (format!("{name}.weight"), format!("{name}.bias"));
        self.graph
            .initializer
            .push(tensor(w_name.clone(), &dims, &weight));
        self.graph
            .initializer
            .push(tensor(b_name.clone(), &[outputs], &layer.bias[..outputs]));
        let input = self.current.clone();
        self.node(
            "Gemm",
            vec![input, w_name, b_name],
            vec![AttributeProto {
                name: "transB".into(),
                i: trans_b,
                ints: Vec::new(),
                f: 0.0,
                s: Vec::new(),
                r#type: ATTRIBUTE_INT,
            }],
        );
    }
}

fn attr_ints(name: &str, ints: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints,
        r#type: ATTRIBUTE_INTS,
        ..AttributeProto::default()
    }
}

fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: ATTRIBUTE_INT,
        ..AttributeProto::default()
    }
}

fn attr_string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: value.as_bytes().to_vec(),
        r#type: ATTRIBUTE_STRING,
        ..AttributeProto::default()
    }
}

/// `[N, …shape]` as a `Reshape` target (`-1` for the batch).
fn shape_dims(shape: Shape) -> Vec<i64> {
    match shape {
        Shape::Flat(d) => vec![-1, d as i64],
        Shape::Image {
            channels,
            height,
            width,
        } => vec![-1, channels as i64, height as i64, width as i64],
    }
}

impl Builder {
    /// Reads the current value as `[N, …shape]`.
    fn reshape(&mut self, shape: Shape) {
        let name = format!("shape.{}", self.counter + 1);
        self.graph
            .initializer
            .push(int64_tensor(name.clone(), &shape_dims(shape)));
        let input = self.current.clone();
        self.node("Reshape", vec![input, name], Vec::new());
    }

    /// Adds a parameter tensor of the model as an initializer under its own name.
    fn param(&mut self, model: &Autoencoder, id: usize) -> String {
        let t = &model.tensors()[id];
        self.graph
            .initializer
            .push(tensor(t.name.clone(), &t.shape, &t.data));
        t.name.clone()
    }

    /// Layers `range` of a layered model (conv, pool, …): one ONNX node each, the values kept
    /// `[N, C, H, W]` between spatial layers and `[N, d]` around dense ones. `keep` limits the
    /// last layer's outputs (a Gaussian code's means); `last_act` replaces its activation.
    fn layers(
        &mut self,
        model: &Autoencoder,
        layers: &[AnyLayer],
        keep: Option<usize>,
        last_act: Option<Activation>,
    ) {
        let mut shape: Option<Shape> = None; // None: the value is [N, width] as it came in
        for (l, layer) in layers.iter().enumerate() {
            let last = l + 1 == layers.len();
            let input = layer.input_shape();
            let image_in = matches!(input, Shape::Image { .. });
            // spatial layers read [N, C, H, W]; dense ones [N, d]
            let wants_image =
                !matches!(layer, AnyLayer::Dense(_) | AnyLayer::Reshape(_)) && image_in;
            let is_image = matches!(shape, Some(Shape::Image { .. }));
            if wants_image && !is_image {
                self.reshape(input);
            } else if !wants_image && is_image {
                let x = self.current.clone();
                self.node("Flatten", vec![x], vec![attr_int("axis", 1)]);
            }
            let x = self.current.clone();
            match layer {
                AnyLayer::Dense(d) => {
                    let rows = if last {
                        keep.unwrap_or(d.outputs())
                    } else {
                        d.outputs()
                    };
                    let view = crate::model::LayerView {
                        half: crate::model::Half::Encoder,
                        index: l,
                        weight: &model.tensors()[d.weight()].data,
                        bias: &model.tensors()[d.bias()].data,
                        inputs: d.inputs(),
                        outputs: d.outputs(),
                        activation: d.activation(),
                        transposed_weight: d.transposed_weight(),
                    };
                    let name = model.tensors()[d.weight()]
                        .name
                        .trim_end_matches(".weight")
                        .to_string();
                    self.dense(&name, &view, rows);
                }
                AnyLayer::Conv(c) => {
                    let (w, bias) = (self.param(model, c.weight()), self.param(model, c.bias()));
                    let (k, st, p) = (
                        c.kernel_size() as i64,
                        c.stride() as i64,
                        c.padding() as i64,
                    );
                    self.node(
                        "Conv",
                        vec![x, w, bias],
                        vec![
                            attr_ints("kernel_shape", vec![k, k]),
                            attr_ints("strides", vec![st, st]),
                            attr_ints("pads", vec![p, p, p, p]),
                        ],
                    );
                }
                AnyLayer::ConvTranspose(c) => {
                    let (w, bias) = (self.param(model, c.weight()), self.param(model, c.bias()));
                    let (k, st, p, op) = (
                        c.kernel_size() as i64,
                        c.stride() as i64,
                        c.padding() as i64,
                        c.output_padding() as i64,
                    );
                    self.node(
                        "ConvTranspose",
                        vec![x, w, bias],
                        vec![
                            attr_ints("kernel_shape", vec![k, k]),
                            attr_ints("strides", vec![st, st]),
                            attr_ints("pads", vec![p, p, p, p]),
                            attr_ints("output_padding", vec![op, op]),
                        ],
                    );
                }
                AnyLayer::Pool(p) => {
                    let op = match p.pool_kind() {
                        crate::layers::PoolKind::Max => "MaxPool",
                        crate::layers::PoolKind::Avg => "AveragePool",
                    };
                    let size = p.size() as i64;
                    self.node(
                        op,
                        vec![x],
                        vec![
                            attr_ints("kernel_shape", vec![size, size]),
                            attr_ints("strides", vec![size, size]),
                        ],
                    );
                }
                AnyLayer::Upsample(u) => {
                    let f = u.factor() as f32;
                    let scales = format!("scales.{}", self.counter + 1);
                    self.graph
                        .initializer
                        .push(tensor(scales.clone(), &[4], &[1.0, 1.0, f, f]));
                    self.node(
                        "Resize",
                        vec![x, String::new(), scales],
                        vec![
                            attr_string("mode", "nearest"),
                            attr_string("coordinate_transformation_mode", "asymmetric"),
                            attr_string("nearest_mode", "floor"),
                        ],
                    );
                }
                AnyLayer::BatchNorm(n) => {
                    let names: Vec<String> =
                        [n.weight(), n.bias(), n.running_mean(), n.running_var()]
                            .into_iter()
                            .map(|id| self.param(model, id))
                            .collect();
                    let mut inputs = vec![x];
                    inputs.extend(names);
                    self.node(
                        "BatchNormalization",
                        inputs,
                        vec![AttributeProto {
                            name: "epsilon".into(),
                            f: n.eps(),
                            r#type: ATTRIBUTE_FLOAT,
                            ..AttributeProto::default()
                        }],
                    );
                }
                // the identity at inference
                AnyLayer::Dropout(_) => {}
                AnyLayer::Reshape(_) => self.reshape(layer.output_shape()),
            }
            shape = Some(layer.output_shape());
            let act = if last {
                last_act.unwrap_or(layer.activation())
            } else {
                layer.activation()
            };
            self.activation(act);
        }
        if matches!(shape, Some(Shape::Image { .. })) {
            let x = self.current.clone();
            self.node("Flatten", vec![x], vec![attr_int("axis", 1)]);
        }
    }
}

fn encoder_nodes(model: &Autoencoder, b: &mut Builder) {
    if model.spec().is_layered() {
        let spec = model.spec();
        let gaussian = spec.code_distribution == CodeDistribution::Gaussian;
        // a Gaussian code's means are the first half of the statistics (a dense code layer's
        // first rows); its layer is linear
        b.layers(
            model,
            model.encoder(),
            gaussian.then_some(spec.code_size),
            gaussian.then_some(Activation::Linear),
        );
        if spec.code_distribution == CodeDistribution::Binary {
            b.activation(Activation::Sigmoid);
        }
        return;
    }
    let code = model.code_layer();
    let last = model.encoder_len() - 1;
    for (l, layer) in model.encoder_layers().enumerate() {
        let rows = if l == last && code.distribution == CodeDistribution::Gaussian {
            code.code_size
        } else {
            layer.outputs
        };
        b.dense(&format!("encoder.{l}"), &layer, rows);
        if !(l == last && code.distribution == CodeDistribution::Gaussian) {
            b.activation(layer.activation);
        }
    }
    if code.distribution == CodeDistribution::Binary {
        // the code of a binary layer is p = σ(logits)
        b.activation(Activation::Sigmoid);
    }
}

/// `x → transform(x)`, the fitted input transform (module header).
fn transform_nodes(t: &InputTransform, b: &mut Builder) {
    let int = |name: &str, i: i64| AttributeProto {
        name: name.into(),
        i,
        ints: Vec::new(),
        f: 0.0,
        s: Vec::new(),
        r#type: ATTRIBUTE_INT,
    };
    let x = b.current.clone();
    match t.kind {
        TransformKind::None => {}
        TransformKind::Tfidf => {
            b.graph
                .initializer
                .push(tensor("transform.idf".into(), &[t.idf.len()], &t.idf));
            b.graph.initializer.push(tensor(
                "transform.min_norm".into(),
                &[],
                &[f32::MIN_POSITIVE],
            ));
            b.node("Mul", vec![x, "transform.idf".into()], Vec::new());
            let weighted = b.current.clone();
            let mut axes = int("axes", 0);
            axes.r#type = ATTRIBUTE_INTS;
            axes.ints = vec![1];
            b.node(
                "ReduceL2",
                vec![weighted.clone()],
                vec![axes, int("keepdims", 1)],
            );
            let norm = b.current.clone();
            b.node("Max", vec![norm, "transform.min_norm".into()], Vec::new());
            let norm = b.current.clone();
            b.node("Div", vec![weighted, norm], Vec::new());
        }
        TransformKind::Log1p => {
            b.graph
                .initializer
                .push(tensor("transform.one".into(), &[], &[1.0]));
            b.node("Add", vec![x, "transform.one".into()], Vec::new());
            let y = b.current.clone();
            b.node("Log", vec![y], Vec::new());
        }
        TransformKind::Standardize => {
            let d = t.mean.len();
            b.graph
                .initializer
                .push(tensor("transform.mean".into(), &[d], &t.mean));
            b.graph
                .initializer
                .push(tensor("transform.scale".into(), &[d], &t.scale));
            b.node("Sub", vec![x, "transform.mean".into()], Vec::new());
            let centred = b.current.clone();
            b.node("Mul", vec![centred, "transform.scale".into()], Vec::new());
        }
        TransformKind::Binary => {
            b.graph
                .initializer
                .push(tensor("transform.zero".into(), &[], &[0.0]));
            b.node("Greater", vec![x, "transform.zero".into()], Vec::new());
            let y = b.current.clone();
            b.node("Cast", vec![y], vec![int("to", FLOAT as i64)]);
        }
    }
}

/// `h → codes`: threshold each bit, pack eight bits per byte (module header).
fn hash_nodes(thresholds: &[f32], b: &mut Builder) {
    let bits = thresholds.len();
    let int = |name: &str, i: i64| AttributeProto {
        name: name.into(),
        i,
        ints: Vec::new(),
        f: 0.0,
        s: Vec::new(),
        r#type: ATTRIBUTE_INT,
    };
    b.graph
        .initializer
        .push(tensor("hash.thresholds".into(), &[bits], thresholds));
    let bit_values: Vec<f32> = (0..8).map(|k| (1u32 << k) as f32).collect();
    b.graph
        .initializer
        .push(tensor("hash.bit_values".into(), &[8, 1], &bit_values));
    let bytes = (bits / 8) as i64;
    b.graph
        .initializer
        .push(int64_tensor("hash.by_byte".into(), &[0, bytes, 8]));
    b.graph
        .initializer
        .push(int64_tensor("hash.packed".into(), &[0, bytes]));
    let h = b.current.clone();
    b.node("Greater", vec![h, "hash.thresholds".into()], Vec::new());
    let c = b.current.clone();
    b.node("Cast", vec![c], vec![int("to", FLOAT as i64)]);
    let c = b.current.clone();
    b.node("Reshape", vec![c, "hash.by_byte".into()], Vec::new());
    let c = b.current.clone();
    b.node("MatMul", vec![c, "hash.bit_values".into()], Vec::new());
    let c = b.current.clone();
    b.node("Reshape", vec![c, "hash.packed".into()], Vec::new());
    let c = b.current.clone();
    b.node("Cast", vec![c], vec![int("to", UINT8 as i64)]);
}

fn decoder_nodes(model: &Autoencoder, b: &mut Builder) {
    if model.spec().is_layered() {
        b.layers(model, model.decoder(), None, None);
    } else {
        for (l, layer) in model.decoder_layers().enumerate() {
            b.dense(&format!("decoder.{l}"), &layer, layer.outputs);
            b.activation(layer.activation);
        }
    }
    b.activation(model.spec().output.mean_activation());
    if model.spec().output == crate::Likelihood::Multinomial {
        // word probabilities: softmax over each row (opset 13's axis = 1 is the row)
        let input = b.current.clone();
        b.node(
            "Softmax",
            vec![input],
            vec![AttributeProto {
                name: "axis".into(),
                i: 1,
                ints: Vec::new(),
                f: 0.0,
                s: Vec::new(),
                r#type: ATTRIBUTE_INT,
            }],
        );
    }
}

/// The ONNX model of `part` as protobuf bytes: input `x` (or `h` for the decoder) and output
/// `h` (or `reconstruction`), both `N × width` float32; `hash` thresholds the code at 0.5.
pub fn export(model: &Autoencoder, part: Part) -> Result<Vec<u8>> {
    export_with_thresholds(model, part, &vec![0.5; model.spec().code_size])
}

/// [`export`], with the per-bit `thresholds` of the `hash` part (one per code unit).
pub fn export_with_thresholds(
    model: &Autoencoder,
    part: Part,
    thresholds: &[f32],
) -> Result<Vec<u8>> {
    export_with(model, part, thresholds, None)
}

/// [`export_with_thresholds`] for a model that reads its input through the fitted `transform`
/// (every part but the decoder starts with it).
pub fn export_with(
    model: &Autoencoder,
    part: Part,
    thresholds: &[f32],
    transform: Option<&InputTransform>,
) -> Result<Vec<u8>> {
    let spec = model.spec();
    if spec.is_layered() {
        // a Gaussian code read off an image (no dense code layer) would need a channel slice
        if spec.code_distribution == CodeDistribution::Gaussian
            && model.encoder().last().is_none_or(|l| l.kind() != "dense")
        {
            return Err(Error::Invalid(
                "ONNX export of a Gaussian code needs a dense code layer (code = N)".into(),
            ));
        }
    } else {
        model.require_dense("ONNX export")?;
    }
    if let Some(t) = transform {
        t.check_width(spec.input_size)?;
    }
    if part == Part::Hash {
        if !spec.code_size.is_multiple_of(8) {
            return Err(Error::Invalid(format!(
                "--part hash packs 8 bits per byte: the code has {} units, not a multiple of 8",
                spec.code_size
            )));
        }
        if thresholds.len() != spec.code_size {
            return Err(Error::Shape(format!(
                "{} thresholds for a code of {} units",
                thresholds.len(),
                spec.code_size
            )));
        }
    }
    let (input, width_in) = match part {
        Part::Decoder => ("h", spec.code_size),
        _ => ("x", spec.input_size),
    };
    let (output, width_out, out_type) = match part {
        Part::Encoder => ("h", spec.code_size, FLOAT),
        Part::Hash => ("codes", spec.code_size / 8, UINT8),
        _ => ("reconstruction", spec.input_size, FLOAT),
    };
    let mut b = Builder {
        graph: GraphProto {
            name: format!("autoencoder_{part:?}").to_lowercase(),
            input: vec![batch_by(input, width_in)],
            ..GraphProto::default()
        },
        current: input.into(),
        counter: 0,
    };
    if part != Part::Decoder {
        if let Some(t) = transform {
            transform_nodes(t, &mut b);
        }
        encoder_nodes(model, &mut b);
    }
    if part == Part::Hash {
        hash_nodes(thresholds, &mut b);
    } else if part != Part::Encoder {
        decoder_nodes(model, &mut b);
        // outputs in the data's units (InputTransform::invert)
        if let Some(t) = transform.filter(|t| t.kind == TransformKind::Standardize) {
            let d = t.mean.len();
            let inverse: Vec<f32> = t.scale.iter().map(|s| 1.0 / s).collect();
            b.graph
                .initializer
                .push(tensor("untransform.std".into(), &[d], &inverse));
            b.graph
                .initializer
                .push(tensor("untransform.mean".into(), &[d], &t.mean));
            let z = b.current.clone();
            b.node("Mul", vec![z, "untransform.std".into()], Vec::new());
            let scaled = b.current.clone();
            b.node("Add", vec![scaled, "untransform.mean".into()], Vec::new());
        }
    }
    // name the last value as the graph's output
    if b.graph.node.is_empty() {
        return Err(Error::Invalid("the model has no layers to export".into()));
    }
    let last = b.graph.node.len() - 1;
    b.graph.node[last].output = vec![output.into()];
    b.graph.output = vec![batch_by_of(output, width_out, out_type)];
    let m = ModelProto {
        ir_version: 7,
        producer_name: "autoencoder".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(b.graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
    };
    Ok(m.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AutoencoderSpec, Likelihood, Matrix};

    /// Runs a decoded graph of Gemm and activation nodes on `x` with plain loops: the
    /// exported graph must compute what the model computes.
    fn interpret(model: &ModelProto, x: &Matrix) -> Matrix {
        let g = model.graph.as_ref().unwrap();
        let find = |name: &str| g.initializer.iter().find(|t| t.name == name).unwrap();
        let floats = |t: &TensorProto| -> Vec<f32> {
            t.raw_data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let mut cur = x.clone();
        for n in &g.node {
            cur = match n.op_type.as_str() {
                "Gemm" => {
                    let (w, bias) = (find(&n.input[1]), find(&n.input[2]));
                    let trans_b = n.attribute[0].i == 1;
                    let (wv, bv) = (floats(w), floats(bias));
                    let outs = bv.len();
                    let ins = cur.cols();
                    let mut out = Matrix::zeros(cur.rows(), outs);
                    for r in 0..cur.rows() {
                        for o in 0..outs {
                            let mut s = bv[o];
                            for i in 0..ins {
                                let wi = if trans_b {
                                    wv[o * ins + i]
                                } else {
                                    wv[i * outs + o]
                                };
                                s += cur.row(r)[i] * wi;
                            }
                            out.row_mut(r)[o] = s;
                        }
                    }
                    out
                }
                op => {
                    let f = |v: f32| match op {
                        "Sigmoid" => 1.0 / (1.0 + (-v).exp()),
                        "Tanh" => v.tanh(),
                        "Relu" => v.max(0.0),
                        "Softplus" => v.exp().ln_1p(),
                        other => panic!("unexpected op {other}"),
                    };
                    let mut out = cur.clone();
                    out.as_mut_slice().iter_mut().for_each(|v| *v = f(*v));
                    out
                }
            };
        }
        cur
    }

    fn max_diff(a: &Matrix, b: &Matrix) -> f32 {
        assert_eq!((a.rows(), a.cols()), (b.rows(), b.cols()));
        a.as_slice()
            .iter()
            .zip(b.as_slice())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn exported_graphs_compute_the_models_functions() {
        let mut rng = crate::linalg::Rng::new(5);
        let x = Matrix::from_vec(7, 12, (0..84).map(|_| rng.uniform()).collect());
        for (tied, gaussian, act) in [
            (false, false, Activation::Sigmoid),
            (true, false, Activation::Tanh),
            (false, true, Activation::Relu),
            (false, false, Activation::Softplus),
        ] {
            let mut spec = AutoencoderSpec::new(12, &[9, 6], 4, Likelihood::Bernoulli);
            spec.tied = tied;
            spec.activation = act;
            if gaussian {
                spec.code_distribution = CodeDistribution::Gaussian;
            }
            let model = Autoencoder::new(spec, 3).unwrap();
            let h = model.encode(&x).unwrap();
            for (part, input, want) in [
                (Part::Encoder, &x, h.clone()),
                (Part::Decoder, &h, model.decode(&h).unwrap()),
                (Part::Autoencoder, &x, model.reconstruct(&x).unwrap()),
            ] {
                let bytes = export(&model, part).unwrap();
                let decoded = ModelProto::decode(bytes.as_slice()).unwrap();
                assert_eq!(decoded.opset_import[0].version, 13);
                let g = decoded.graph.as_ref().unwrap();
                assert_eq!(
                    g.input[0].name,
                    if part == Part::Decoder { "h" } else { "x" }
                );
                let got = interpret(&decoded, input);
                let d = max_diff(&got, &want);
                assert!(
                    d < 1e-5,
                    "{part:?} tied {tied} gaussian {gaussian} {act:?}: {d}"
                );
            }
        }
        assert_eq!(Part::parse("hash").unwrap(), Part::Hash);
        assert!(Part::parse("codes").is_err());
        // 6 code units do not pack into bytes
        let odd =
            Autoencoder::new(AutoencoderSpec::new(8, &[4], 6, Likelihood::Bernoulli), 0).unwrap();
        assert!(export(&odd, Part::Hash)
            .unwrap_err()
            .to_string()
            .contains("multiple of 8"));
    }
}
