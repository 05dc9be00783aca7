//! TensorBoard logs from `train`: the scalars are `metrics.jsonl`'s values, a resumed run adds
//! a new event file that continues the epochs, a torn event file neither breaks the reader nor
//! the run, and a conv model's projector gets a sprite of its images.

#[path = "../../../tests/common/mod.rs"]
mod common;

use autoencoder::report::tensorboard::{event_files, read_records, read_scalars};
use common::{ae, assert_success, repo_path, s, tmp};
use std::path::Path;

const DENSE: &str = "[model]
layers = [32]
code = 4
[train]
epochs = 2
batch_size = 50
validation_fraction = 0.2
[report]
tensorboard = true
tensorboard_every = 4
";

fn train(config: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let data = repo_path("data/mnist/t10k-images-idx3-ubyte.gz");
    let mut args = vec![
        "train",
        "--config",
        s(config),
        "--data",
        s(&data),
        "--out",
        s(out),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ae(&args)
}

/// `key` of every line of `metrics.jsonl`, as the f32 TensorBoard stores.
fn metric(run: &Path, key: &str) -> Vec<f32> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v[key].as_f64().unwrap() as f32
        })
        .collect()
}

fn scalars_of(file: &Path, tag: &str) -> Vec<(i64, f32)> {
    read_scalars(file)
        .unwrap()
        .into_iter()
        .filter(|(t, _, _)| t == tag)
        .map(|(_, step, v)| (step, v))
        .collect()
}

#[test]
fn scalars_are_the_metrics_and_a_resumed_run_continues_them_in_a_new_file() {
    let dir = tmp("tb-dense");
    let config = dir.join("c.toml");
    std::fs::write(&config, DENSE).unwrap();
    let run = dir.join("run");
    assert_success(&train(&config, &run, &[]));
    let logs = run.join("tensorboard");
    let files = event_files(&logs).unwrap();
    assert_eq!(files.len(), 1);
    for key in ["train_loss", "validation_loss", "validation_squared_error"] {
        let logged = scalars_of(&files[0], key);
        let expected: Vec<(i64, f32)> = (1..).zip(metric(&run, key)).collect();
        assert_eq!(logged, expected, "{key}");
    }
    // every 4th step of the global count
    let steps: Vec<i64> = scalars_of(&files[0], "step/train_loss")
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(
        !steps.is_empty() && steps.iter().all(|s| s % 4 == 0),
        "{steps:?}"
    );
    // the projector: the held-out fifth of the rows, with their labels; flat 784-wide rows
    // are drawn as 28×28 digits
    let tensors = std::fs::read_to_string(logs.join("codes/tensors.tsv")).unwrap();
    let meta = std::fs::read_to_string(logs.join("codes/metadata.tsv")).unwrap();
    // the shipped test file has 1,000 images: 200 held out
    let rows = tensors.lines().count();
    assert_eq!(rows, 200);
    assert_eq!(meta.lines().count(), rows);
    assert!(tensors.lines().all(|l| l.split('\t').count() == 4));
    let pbtxt = std::fs::read_to_string(logs.join("projector_config.pbtxt")).unwrap();
    assert!(pbtxt.contains("single_image_dim: 28"), "{pbtxt}");

    // a torn last record: the reader keeps the records before it; resuming writes a new file
    // and continues at epoch 3
    let bytes = std::fs::read(&files[0]).unwrap();
    let whole = read_records(&files[0]).unwrap().len();
    std::fs::write(&files[0], &bytes[..bytes.len() - 5]).unwrap();
    assert_eq!(read_records(&files[0]).unwrap().len(), whole - 1);
    assert_success(&ae(&[
        "train",
        "--resume",
        s(&run),
        "--data",
        s(&repo_path("data/mnist/t10k-images-idx3-ubyte.gz")),
        "--epochs",
        "3",
        "--quiet",
    ]));
    let files = event_files(&logs).unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    let resumed = scalars_of(&files[1], "train_loss");
    assert_eq!(resumed, vec![(3, metric(&run, "train_loss")[2])]);
}

#[test]
fn tensorboard_dir_takes_the_run_name_and_a_conv_model_gets_an_image_sprite() {
    let dir = tmp("tb-conv");
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[model]
encoder = [{ conv = 4, kernel = 3, padding = 1 }, { pool = \"max\", size = 2 }]
code = 6
activation = \"relu\"
[train]
epochs = 1
batch_size = 64
",
    )
    .unwrap();
    let logs = dir.join("logs");
    let run = dir.join("conv-run");
    assert_success(&train(&config, &run, &["--tensorboard", s(&logs)]));
    assert!(!run.join("tensorboard").exists());
    let here = logs.join("conv-run");
    let files = event_files(&here).unwrap();
    assert_eq!(scalars_of(&files[0], "train_loss").len(), 1);
    let pbtxt = std::fs::read_to_string(here.join("projector_config.pbtxt")).unwrap();
    assert!(pbtxt.contains("codes/sprite.png"), "{pbtxt}");
    let sprite = std::fs::read(here.join("codes/sprite.png")).unwrap();
    assert_eq!(&sprite[..4], b"\x89PNG");
    let tensors = std::fs::read_to_string(here.join("codes/tensors.tsv")).unwrap();
    assert!(tensors.lines().all(|l| l.split('\t').count() == 6));
}

#[test]
fn an_rbm_run_logs_its_scalars() {
    let dir = tmp("tb-rbm");
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[model]\nkind = \"rbm\"\nhidden = 16\n[train]\nepochs = 2\nbatch_size = 50\noptimizer = \"sgd\"\nlearning_rate = 0.05\n[report]\ntensorboard = true\ntensorboard_every = 0\n",
    )
    .unwrap();
    let run = dir.join("rbm");
    assert_success(&train(&config, &run, &[]));
    let files = event_files(&run.join("tensorboard")).unwrap();
    let logged = scalars_of(&files[0], "train_loss");
    let expected: Vec<(i64, f32)> = (1..).zip(metric(&run, "train_loss")).collect();
    assert_eq!(logged, expected);
    assert!(scalars_of(&files[0], "validation_free_energy").len() == 2);
}
