//! Convolutional models from the command line: images keep their shape from IDX and 4-D
//! `.npy` files, every inference command reads them, a resumed run ends at the same bytes, and
//! shape mistakes are one line naming the layer and both shapes.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{ae, assert_clean_error, assert_success, repo_path, s, tmp};
use std::path::Path;

const SMALL_CONV: &str = "[model]
encoder = [
  { conv = 4, kernel = 3, padding = 1 },
  { pool = \"max\", size = 2 },
  { conv = 8, kernel = 3, stride = 2, padding = 1 },
]
code = 8
activation = \"relu\"
[train]
epochs = 2
batch_size = 32
learning_rate = 3e-3
";

fn train(config: &Path, data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--config",
        s(config),
        "--data",
        s(data),
        "--out",
        s(out),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ae(&args)
}

#[test]
fn a_conv_model_trains_on_idx_images_and_every_command_reads_it() {
    let dir = tmp("conv-round");
    let config = dir.join("c.toml");
    std::fs::write(&config, SMALL_CONV).unwrap();
    let data = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let test = repo_path("data/mnist/t10k-images-idx3-ubyte.gz");
    let run = dir.join("run");
    assert_success(&train(&config, &data, &run, &[]));
    // the shape came from the IDX header and is recorded for later commands
    let spec = std::fs::read_to_string(run.join("spec.json")).unwrap();
    assert!(
        spec.contains("\"channels\": 1") && spec.contains("\"height\": 28"),
        "{spec}"
    );
    let kinds: Vec<&str> = ["\"conv\"", "\"pool\"", "\"conv_transpose\"", "\"upsample\""]
        .into_iter()
        .filter(|k| !spec.contains(k))
        .collect();
    assert!(kinds.is_empty(), "spec.json lacks {kinds:?}: {spec}");
    let out = ae(&["eval", "--model", s(&run), "--data", s(&test), "--json"]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // below the mean image's squared error on MNIST (≈ 52): the code carries the digit
    let sq = v["squared_error_per_example"].as_f64().unwrap();
    assert!(sq.is_finite() && sq > 0.0 && sq < 48.0, "{v}");
    let data = test;
    let codes = dir.join("codes.npy");
    assert_success(&ae(&[
        "encode",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&codes),
    ]));
    let (shape, _) = autoencoder::data::npy::read_f32_array(&codes).unwrap();
    assert_eq!(shape, vec![1000, 8]);
    let recon = dir.join("recon.npy");
    assert_success(&ae(&[
        "reconstruct",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&recon),
    ]));
    let (shape, r) = autoencoder::data::npy::read_f32_array(&recon).unwrap();
    assert_eq!(shape, vec![1000, 784]);
    assert!(r.iter().all(|v| (0.0..=1.0).contains(v)));
    // the same images as a 4-D .npy array: the shape is inferred there too, same model bytes
    let x = autoencoder::data::load(&repo_path("data/mnist/train-images-idx3-ubyte.gz"), None)
        .unwrap()
        .features;
    let npy = dir.join("x.npy");
    let shape = [x.rows(), 1, 28, 28];
    std::fs::write(
        &npy,
        autoencoder::data::npy::encode_f32_shape(&shape, x.as_slice()),
    )
    .unwrap();
    let run4 = dir.join("run4");
    assert_success(&train(&config, &npy, &run4, &[]));
    assert!(
        std::fs::read(run.join("model.safetensors")).unwrap()
            == std::fs::read(run4.join("model.safetensors")).unwrap(),
        "IDX and 4-D .npy runs differ"
    );
    // tools that read dense weights refuse, naming the layer
    let onnx = dir.join("m.onnx");
    let out = ae(&["export", "--model", s(&run), "--out", s(&onnx)]);
    if !out.status.success() {
        assert_clean_error(&out, &["conv"]);
    }
}

#[test]
fn a_resumed_conv_run_ends_at_the_same_bytes() {
    let dir = tmp("conv-resume");
    let config = dir.join("c.toml");
    // batch norm and dropout too: running statistics and masks must resume exactly
    std::fs::write(
        &config,
        SMALL_CONV.replace(
            "{ conv = 8, kernel = 3, stride = 2, padding = 1 },",
            "{ conv = 8, kernel = 3, stride = 2, padding = 1 }, { batch_norm = true }, { dropout = 0.1 },",
        ),
    )
    .unwrap();
    let data = repo_path("data/mnist/t10k-images-idx3-ubyte.gz");
    let full = dir.join("full");
    assert_success(&train(&config, &data, &full, &["--epochs", "4"]));
    let part = dir.join("part");
    assert_success(&train(&config, &data, &part, &["--epochs", "2"]));
    let out = ae(&[
        "train",
        "--resume",
        s(&part),
        "--data",
        s(&data),
        "--epochs",
        "4",
        "--quiet",
    ]);
    assert_success(&out);
    assert!(
        std::fs::read(full.join("model.safetensors")).unwrap()
            == std::fs::read(part.join("model.safetensors")).unwrap(),
        "resumed run ended at different weights"
    );
}

#[test]
fn shape_mistakes_name_the_layer_and_both_shapes() {
    let dir = tmp("conv-shapes");
    let data = repo_path("data/mnist/t10k-images-idx3-ubyte.gz");
    for (model, needles) in [
        (
            "encoder = [{ pool = \"max\", size = 8 }, { conv = 2, kernel = 5 }]",
            vec!["model.encoder[1]", "1×3×3", "kernel 5"],
        ),
        (
            "encoder = [{ conv = 2, kernel = 3, padding = 1 }, { pool = \"max\", size = 2 }]\ndecoder = [{ conv = 1, kernel = 3, padding = 1 }]",
            vec!["model.decoder", "1×14×14", "1×28×28"],
        ),
        (
            "encoder = [{ conv = 2, kernel = 3 }]\ninput_shape = [3, 28, 28]",
            vec!["model.input_shape", "3×28×28", "784"],
        ),
        (
            "encoder = [{ conv = 2, kernel = 3, padding = \"same\", stride = 2, size = 2 }]",
            vec!["model.encoder[0].size", "conv"],
        ),
        (
            "encoder = [{ conv = 2, kernel = 3 }]\ndecoder = [{ conv = 1, kernel = 3, activation = \"sigmoid\" }]",
            vec!["model.decoder[0].activation", "output"],
        ),
        (
            "encoder = [{ conv = 2, kernel = 3, padding = 1 }]\ncode = 4\n[[regularizer]]\nkind = \"contractive\"\nweight = 0.1",
            vec!["regularizer[0].kind", "conv"],
        ),
        (
            "layers = [10]\nencoder = [{ dense = 3 }]",
            vec!["model.layers"],
        ),
    ] {
        let config = dir.join("c.toml");
        std::fs::write(&config, format!("[model]\n{model}\n")).unwrap();
        let out = train(&config, &data, &dir.join("run"), &[]);
        assert_clean_error(&out, &needles);
    }
    // flat data with a conv layer: the error says how to give the shape
    let config = dir.join("c.toml");
    std::fs::write(&config, "[model]\nencoder = [{ conv = 2, kernel = 3 }]\n").unwrap();
    let csv = dir.join("x.csv");
    std::fs::write(&csv, "0.1,0.2,0.3,0.4\n0.5,0.6,0.7,0.8\n").unwrap();
    let out = train(&config, &csv, &dir.join("run"), &[]);
    assert_clean_error(&out, &["model.encoder[0]", "input_shape"]);
}

#[test]
fn rgb_images_train_and_report_in_colour() {
    let dir = tmp("conv-rgb");
    // 3×6×10 images (not square): a coloured bar each
    let n = 64;
    let mut x = vec![0.05f32; n * 3 * 60];
    for e in 0..n {
        for r in 1..5 {
            x[e * 180 + (e % 3) * 60 + r * 10 + e % 7] = 1.0;
        }
    }
    let npy = dir.join("rgb.npy");
    std::fs::write(
        &npy,
        autoencoder::data::npy::encode_f32_shape(&[n, 3, 6, 10], &x),
    )
    .unwrap();
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[model]\nencoder = [{ conv = 4, kernel = 3, padding = 1 }, { pool = \"avg\", size = 2 }]\ncode = 4\n[train]\nepochs = 1\nbatch_size = 16\n",
    )
    .unwrap();
    let run = dir.join("run");
    assert_success(&train(&config, &npy, &run, &[]));
    let spec = std::fs::read_to_string(run.join("spec.json")).unwrap();
    assert!(
        spec.contains("\"channels\": 3") && spec.contains("\"width\": 10"),
        "{spec}"
    );
    for f in ["reconstructions.png", "filters.png"] {
        let bytes = std::fs::read(run.join("report").join(f)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{f}");
    }
}
