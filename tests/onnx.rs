//! The ONNX export run by another runtime (tract): each part of each kind of model computes
//! what the model computes, within 1e-5, for any batch size.

mod common;

use autoencoder::code::CodeDistribution;
use autoencoder::export::onnx::{export, Part};
use autoencoder::nn::Activation;
use autoencoder::{Autoencoder, AutoencoderSpec, Likelihood, Matrix};
use tract_onnx::prelude::*;

fn run_tract(bytes: &[u8], input: &Matrix) -> Matrix {
    let model = tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let x = tract_ndarray::Array2::from_shape_vec(
        (input.rows(), input.cols()),
        input.as_slice().to_vec(),
    )
    .unwrap();
    let out = model.run(tvec!(Tensor::from(x).into())).unwrap();
    let view = out[0].to_plain_array_view::<f32>().unwrap();
    let shape = view.shape().to_vec();
    Matrix::from_vec(shape[0], shape[1], view.iter().copied().collect())
}

#[test]
fn tract_runs_every_exported_part_like_the_model() {
    let x = common::pool2(&common::mnist_train(50));
    for (tied, gaussian, act, output) in [
        (false, false, Activation::Sigmoid, Likelihood::Bernoulli),
        (true, false, Activation::Tanh, Likelihood::Bernoulli),
        (false, true, Activation::Relu, Likelihood::Bernoulli),
        (false, false, Activation::Softplus, Likelihood::Gaussian),
    ] {
        let mut spec = AutoencoderSpec::new(196, &[32, 16], 6, output);
        spec.tied = tied;
        spec.activation = act;
        if gaussian {
            spec.code_distribution = CodeDistribution::Gaussian;
        }
        let model = Autoencoder::new(spec, 9).unwrap();
        let h = model.encode(&x).unwrap();
        for (part, input, want) in [
            (Part::Encoder, &x, h.clone()),
            (Part::Decoder, &h, model.decode(&h).unwrap()),
            (Part::Autoencoder, &x, model.reconstruct(&x).unwrap()),
        ] {
            let bytes = export(&model, part).unwrap();
            for rows in [input.rows(), 3] {
                let sub = input.slice_rows(0, rows);
                let got = run_tract(&bytes, &sub);
                let want = want.slice_rows(0, rows);
                assert_eq!((got.rows(), got.cols()), (want.rows(), want.cols()));
                let d = common::max_abs_diff(&got, &want);
                assert!(
                    d <= 1e-5,
                    "{part:?} tied {tied} gaussian {gaussian} {act:?}: {d}"
                );
            }
        }
    }
}

/// `--part hash` run by tract gives the packed codes `hash --method autoencoder` gives: a binary
/// code layer's bits and a plain sigmoid code's, thresholded, in FAISS bit order, byte for byte.
#[test]
fn tract_runs_the_hash_part_like_the_hasher() {
    use autoencoder::code::{BinaryCode, BinaryKind};
    use autoencoder::export::onnx::export_with_thresholds;
    use autoencoder::hashing::codes::Codes;
    let x = common::pool2(&common::mnist_train(40));
    let mut binary = AutoencoderSpec::new(196, &[32], 16, Likelihood::Bernoulli);
    binary.code_distribution = CodeDistribution::Binary;
    binary.binary = Some(BinaryCode {
        kind: BinaryKind::Noise,
        noise: 4.0,
    });
    let mut sigmoid = AutoencoderSpec::new(196, &[32], 24, Likelihood::Bernoulli);
    sigmoid.code_activation = Activation::Sigmoid;
    for (spec, threshold) in [(binary, 0.5f32), (sigmoid, 0.45)] {
        let model = Autoencoder::new(spec, 4).unwrap();
        let h = model.encode(&x).unwrap();
        let bits = h.cols();
        let want = Codes::from_fn(h.rows(), bits, |i, j| h.row(i)[j] > threshold).unwrap();
        let bytes = export_with_thresholds(&model, Part::Hash, &vec![threshold; bits]).unwrap();
        let runnable = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(&bytes))
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let input =
            tract_ndarray::Array2::from_shape_vec((x.rows(), x.cols()), x.as_slice().to_vec())
                .unwrap();
        let out = runnable.run(tvec!(Tensor::from(input).into())).unwrap();
        let got = out[0].to_plain_array_view::<u8>().unwrap();
        assert_eq!(got.shape(), &[x.rows(), bits / 8]);
        let got: Vec<u8> = got.iter().copied().collect();
        assert_eq!(got, want.to_bytes(), "{bits} bits at threshold {threshold}");
        // not all bits equal: the check can tell codes apart
        assert!(got.iter().any(|b| *b != got[0]));
    }
}

/// A model with a fitted input transform exports it in the graph: tract on raw counts gives the
/// model's codes and reconstructions of the transformed input, for every kind of transform
/// (an empty document included: TF-IDF leaves it zero).
#[test]
fn tract_runs_the_fitted_input_transform_inside_the_graph() {
    use autoencoder::data::transform::{InputTransform, TransformKind};
    use autoencoder::export::onnx::export_with;
    let mut rng = autoencoder::linalg::Rng::new(3);
    let mut counts: Vec<f32> = (0..40 * 25)
        .map(|_| (rng.uniform() * 4.0).floor().max(0.0) * (rng.uniform() < 0.4) as u8 as f32)
        .collect();
    counts[..25].fill(0.0);
    let x = Matrix::from_vec(40, 25, counts);
    let mut spec = AutoencoderSpec::new(25, &[12], 8, Likelihood::Multinomial);
    spec.code_activation = Activation::Linear;
    spec.code_distribution = CodeDistribution::Binary;
    let model = Autoencoder::new(spec, 2).unwrap();
    for kind in [
        TransformKind::Tfidf,
        TransformKind::Log1p,
        TransformKind::Binary,
    ] {
        let t = InputTransform::fit(kind, &x).unwrap();
        let mut tx = x.clone();
        t.apply(&mut tx).unwrap();
        assert_ne!(tx, x, "{kind:?} changes the input");
        let h = model.encode(&tx).unwrap();
        for (part, want) in [
            (Part::Encoder, h.clone()),
            (Part::Autoencoder, model.reconstruct(&tx).unwrap()),
        ] {
            let bytes = export_with(&model, part, &[0.5; 8], Some(&t)).unwrap();
            let got = run_tract(&bytes, &x);
            let d = common::max_abs_diff(&got, &want);
            assert!(d <= 1e-5, "{kind:?} {part:?}: {d}");
        }
        // without the transform node the graph would give other codes on raw counts
        let plain = run_tract(&export(&model, Part::Encoder).unwrap(), &x);
        assert!(plain != h, "{kind:?}: the transform must matter here");
    }
    // a transform fitted on another width is refused
    let first10: Vec<f32> = (0..x.rows())
        .flat_map(|r| x.row(r)[..10].to_vec())
        .collect();
    let narrow = InputTransform::fit(
        TransformKind::Tfidf,
        &Matrix::from_vec(x.rows(), 10, first10),
    )
    .unwrap();
    assert!(export_with(&model, Part::Encoder, &[0.5; 8], Some(&narrow)).is_err());
}

/// A layered spec on 1×28×28 images from a `[model]` written as TOML.
fn conv_spec(model: &str) -> AutoencoderSpec {
    let text = format!("[model]\n{model}\ninput_shape = [1, 28, 28]\n");
    autoencoder::config::RunConfig::parse(&text, std::path::Path::new("t.toml"))
        .unwrap()
        .spec(784)
        .unwrap()
}

#[test]
fn tract_runs_exported_conv_models_like_the_model() {
    let x = common::mnist_train(12);
    for model in [
        // conv, max pool, stride-2 conv, a dense code; the mirror: dense, reshape,
        // conv_transpose with output_padding, upsample (Resize), conv_transpose
        "encoder = [{ conv = 4, kernel = 3, padding = 1 }, { pool = \"max\", size = 2 }, { conv = 6, kernel = 3, stride = 2, padding = 1 }]\ncode = 5\nactivation = \"relu\"",
        // batch norm (running statistics), dropout (the identity), average pooling, an image code
        "encoder = [{ conv = 4, kernel = 4, stride = 2, padding = 1 }, { batch_norm = true }, { dropout = 0.2 }, { pool = \"avg\", size = 2 }]\nactivation = \"tanh\"",
        // a Gaussian code from a dense layer: the encoder part exports the means
        "encoder = [{ conv = 3, kernel = 3, stride = 2, padding = 1 }, { dense = 16 }]\ncode = 4\ncode_distribution = \"gaussian\"\nactivation = \"sigmoid\"",
    ] {
        let mut m = Autoencoder::new(conv_spec(model), 5).unwrap();
        // non-trivial running statistics, so inference-mode batch norm is checked
        for t in m.tensors_mut() {
            if t.name.ends_with("running_mean") {
                t.data.iter_mut().enumerate().for_each(|(i, v)| *v = 0.1 * i as f32);
            } else if t.name.ends_with("running_var") {
                t.data.iter_mut().enumerate().for_each(|(i, v)| *v = 0.5 + 0.2 * i as f32);
            }
        }
        let h = m.encode(&x).unwrap();
        for (part, input, want) in [
            (Part::Encoder, &x, h.clone()),
            (Part::Decoder, &h, m.decode(&h).unwrap()),
            (Part::Autoencoder, &x, m.reconstruct(&x).unwrap()),
        ] {
            let bytes = export(&m, part).unwrap();
            let got = run_tract(&bytes, input);
            assert_eq!((got.rows(), got.cols()), (want.rows(), want.cols()), "{model}");
            let d = common::max_abs_diff(&got, &want);
            assert!(d <= 1e-4, "{part:?} {model}: {d}");
        }
    }
}
