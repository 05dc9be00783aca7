//! Data that is not one dense matrix in memory: `.npy` files streamed from disk a batch at a
//! time (`train --stream`, one or several files) and sparse `.npz` corpora kept sparse. Each
//! must train the model that loading the same rows whole trains, byte for byte.

#[path = "../../../tests/common/mod.rs"]
mod common;

use autoencoder::data::npy;
use autoencoder::data::sparse::CsrMatrix;
use autoencoder::Matrix;
use common::{ae, assert_clean_error, assert_success, s, tmp};
use std::path::Path;

fn train(config: &Path, data: &[&Path], out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train", "--config", s(config), "--out", s(out), "--quiet"];
    for d in data {
        args.extend(["--data", s(d)]);
    }
    args.extend_from_slice(extra);
    ae(&args)
}

fn model_bytes(run: &Path) -> Vec<u8> {
    std::fs::read(run.join("model.safetensors")).unwrap()
}

const CONFIG: &str = "[model]\nlayers = [32]\ncode = 8\n[train]\nepochs = 2\nbatch_size = 50\nvalidation_fraction = 0.1\nthreads = 2\n[corruption]\nkind = \"masking\"\nlevel = 0.25\n";

#[test]
fn streamed_files_train_the_model_loading_them_trains() {
    let dir = tmp("stream-same");
    let x = common::pool2(&common::mnist_train(600));
    let whole = dir.join("x.npy");
    std::fs::write(&whole, npy::encode_f32(&x)).unwrap();
    // the same rows in two files of other dtypes: u8 counts of 1/255 steps are not exact, so
    // the second part is f64 (exactly the f32 values)
    let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
    std::fs::write(&a, npy::encode_f32(&x.slice_rows(0, 250))).unwrap();
    let tail: Vec<u8> = x
        .slice_rows(250, 600)
        .as_slice()
        .iter()
        .flat_map(|v| (*v as f64).to_le_bytes())
        .collect();
    std::fs::write(&b, npy::encode_raw("<f8", &[350, 196], &tail)).unwrap();
    for (name, extra) in [("plain", ""), ("log1p", "[data]\ntransform = \"log1p\"\n")] {
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, format!("{CONFIG}{extra}")).unwrap();
        let runs = [
            (vec![whole.as_path()], false),
            (vec![whole.as_path()], true),
            (vec![a.as_path(), b.as_path()], true),
        ];
        let mut models = Vec::new();
        for (i, (files, stream)) in runs.iter().enumerate() {
            let out = dir.join(format!("{name}-{i}"));
            let flags: &[&str] = if *stream { &["--stream"] } else { &[] };
            assert_success(&train(&config, files, &out, flags));
            models.push(model_bytes(&out));
        }
        assert!(
            models[0] == models[1],
            "{name}: streaming changed the model"
        );
        assert!(
            models[0] == models[2],
            "{name}: two files changed the model"
        );
        // and a held-out file streamed like the training data
        let val = dir.join("val.npy");
        std::fs::write(&val, npy::encode_f32(&x.slice_rows(500, 600))).unwrap();
        let (m, st) = (
            dir.join(format!("{name}-val-m")),
            dir.join(format!("{name}-val-s")),
        );
        assert_success(&train(&config, &[&whole], &m, &["--val", s(&val)]));
        assert_success(&train(
            &config,
            &[&whole],
            &st,
            &["--val", s(&val), "--stream"],
        ));
        assert!(
            model_bytes(&m) == model_bytes(&st),
            "{name}: streamed --val"
        );
        assert!(model_bytes(&m) != models[0], "--val had no effect");
    }
}

#[test]
fn a_sparse_corpus_trains_the_model_its_dense_copy_trains() {
    let dir = tmp("sparse-same");
    // word counts: mostly zeros
    let mut rng = autoencoder::linalg::Rng::new(3);
    let counts = Matrix::from_fn(300, 120, |_, _| {
        let u = rng.uniform();
        if u < 0.9 {
            0.0
        } else {
            (u * 40.0).floor() - 35.0
        }
    });
    let counts = Matrix::from_fn(300, 120, |i, j| {
        counts.row(i)[j].max(0.0) + ((i + j) % 17 == 0) as u8 as f32
    });
    let dense = dir.join("docs.npy");
    std::fs::write(&dense, npy::encode_f32(&counts)).unwrap();
    let sparse = dir.join("docs.npz");
    CsrMatrix::from_dense(&counts).write_npz(&sparse).unwrap();
    let config = dir.join("docs.toml");
    std::fs::write(
        &config,
        "[model]\nlayers = [16]\ncode = 8\noutput = \"multinomial\"\n[data]\ntransform = \"tfidf\"\n[train]\nepochs = 2\nbatch_size = 32\nvalidation_fraction = 0.2\nthreads = 2\n",
    )
    .unwrap();
    let (d, sp) = (dir.join("dense"), dir.join("sparse"));
    assert_success(&train(&config, &[&dense], &d, &[]));
    assert_success(&train(&config, &[&sparse], &sp, &[]));
    assert!(
        model_bytes(&d) == model_bytes(&sp),
        "sparse input changed the model"
    );
    assert_eq!(
        std::fs::read(d.join("transform.json")).unwrap(),
        std::fs::read(sp.join("transform.json")).unwrap()
    );
}

/// A 160 MB file trains under a 150 MB address-space cap when streamed (and the model is the
/// one loading it whole gives); loaded whole under the same cap it is refused cleanly.
#[cfg(target_os = "linux")]
#[test]
fn streaming_trains_on_a_file_larger_than_the_memory_cap() {
    let dir = tmp("stream-cap");
    let mut rng = autoencoder::linalg::Rng::new(9);
    let x = Matrix::from_fn(40_000, 1000, |_, _| rng.uniform());
    let big = dir.join("big.npy");
    std::fs::write(&big, npy::encode_f32(&x)).unwrap();
    drop(x);
    // ulimit -v counts KiB
    assert!(std::fs::metadata(&big).unwrap().len() > 150_000 * 1024);
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[model]\nlayers = []\ncode = 16\n[train]\nepochs = 1\nbatch_size = 100\nvalidation_fraction = 0.1\nthreads = 2\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_autoencoder");
    let capped = |out: &Path, stream: bool| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 150000 && exec \"$0\" train --config \"$1\" --data \"$2\" --out \"$3\" --quiet {}",
                if stream { "--stream" } else { "" }
            ))
            .args([bin, s(&config), s(&big), s(out)])
            // one malloc arena: each extra one reserves 64 MB of address space
            .env("MALLOC_ARENA_MAX", "1")
            .output()
            .unwrap()
    };
    let (streamed, whole, refused) = (dir.join("s"), dir.join("w"), dir.join("r"));
    assert_success(&capped(&streamed, true));
    assert_clean_error(&capped(&refused, false), &["big.npy"]);
    assert_success(&train(&config, &[&big], &whole, &[]));
    assert!(model_bytes(&streamed) == model_bytes(&whole));
}

#[test]
fn streaming_refusals_name_the_file_or_key() {
    let dir = tmp("stream-errors");
    let x = common::pool2(&common::mnist_train(100));
    let good = dir.join("x.npy");
    std::fs::write(&good, npy::encode_f32(&x)).unwrap();
    let narrow = dir.join("narrow.npy");
    std::fs::write(
        &narrow,
        npy::encode_f32(&Matrix::from_fn(10, 100, |i, j| x.row(i)[j])),
    )
    .unwrap();
    let csv = dir.join("x.csv");
    std::fs::write(&csv, "1,2\n3,4\n").unwrap();
    let config = dir.join("c.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = dir.join("run");
    assert_clean_error(
        &train(&config, &[&csv], &out, &["--stream"]),
        &["x.csv", ".npy"],
    );
    assert_clean_error(
        &train(&config, &[&good, &narrow], &out, &["--stream"]),
        &["narrow.npy", "100 columns"],
    );
    assert_clean_error(&train(&config, &[&good, &good], &out, &[]), &["--stream"]);
    let pre = dir.join("pre.toml");
    std::fs::write(
        &pre,
        format!("{CONFIG}[pretrain]\nkind = \"autoencoder\"\nepochs = 1\n"),
    )
    .unwrap();
    assert_clean_error(
        &train(&pre, &[&good], &out, &["--stream"]),
        &["model.pretrain", "--stream"],
    );
    let rbm = dir.join("rbm.toml");
    std::fs::write(
        &rbm,
        "[model]\nkind = \"rbm\"\nhidden = 8\n[train]\nepochs = 1\n",
    )
    .unwrap();
    assert_clean_error(&train(&rbm, &[&good], &out, &["--stream"]), &["--stream"]);
}
