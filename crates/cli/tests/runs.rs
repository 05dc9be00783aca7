//! `autoencoder runs`: three tiny runs that differ in exactly two config keys are listed with
//! exactly those keys, their metrics match their files, `--plot` draws them, and bad folders
//! are one-line errors.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{ae, assert_clean_error, assert_success, s, tmp};
use std::path::Path;

const BASE: &str = "[model]\nlayers = [16]\ncode = 4\n[train]\nepochs = 3\nbatch_size = 50\nlearning_rate = 0.01\nseed = 1\nvalidation_fraction = 0.2\n";

fn train(config: &Path, data: &Path, out: &Path, extra: &[&str]) {
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
    assert_success(&ae(&args));
}

/// The numbers of `key` on each line of a run's metrics.jsonl.
fn metric(run: &Path, key: &str) -> Vec<Option<f64>> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()[key].as_f64())
        .collect()
}

#[test]
fn runs_lists_exactly_the_keys_that_differ() {
    let dir = tmp("runs");
    let x = common::pool2(&common::mnist_train(300));
    let data = dir.join("small.npy");
    std::fs::write(&data, autoencoder::data::npy::encode_f32(&x)).unwrap();
    let base = dir.join("base.toml");
    std::fs::write(&base, BASE).unwrap();
    let fast = dir.join("fast.toml");
    std::fs::write(&fast, BASE.replace("0.01", "0.02")).unwrap();
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    train(&base, &data, &a, &[]);
    train(&fast, &data, &b, &[]);
    train(&base, &data, &c, &["--seed", "2"]);
    let runs = [s(&a), s(&b), s(&c)];

    // the table: the two differing keys and no other config key
    let out = ae(&[&["runs"][..], &runs].concat());
    assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header[..6],
        [
            "run",
            "train.learning_rate",
            "train.seed",
            "epochs",
            "seconds",
            "train_loss"
        ],
        "{text}"
    );
    for h in &header[6..] {
        assert!(
            *h == "best" || h.starts_with("validation_"),
            "{h:?} in the header: {text}"
        );
    }
    assert!(header.contains(&"validation_loss"), "{text}");
    let row_b: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(row_b[..4], [s(&b), "0.02", "1", "3"], "{text}");
    let row_c: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(row_c[..4], [s(&c), "0.01", "2", "3"], "{text}");

    // --json: the same keys, and metrics that match the files
    let out = ae(&[&["runs", "--json"][..], &runs].concat());
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let expected = [(0.01, 1), (0.02, 1), (0.01, 2)];
    for ((o, run), (lr, seed)) in list.iter().zip([&a, &b, &c]).zip(expected) {
        assert_eq!(o["run"], s(run));
        let config = o["config"].as_object().unwrap();
        let mut keys: Vec<&str> = config.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["train.learning_rate", "train.seed"]);
        assert_eq!(config["train.learning_rate"].as_f64(), Some(lr));
        assert_eq!(config["train.seed"].as_u64(), Some(seed));
        let losses = metric(run, "validation_loss");
        assert_eq!(o["epochs"].as_u64(), Some(losses.len() as u64));
        assert_eq!(losses.len(), 3);
        let min = losses
            .iter()
            .map(|l| l.unwrap())
            .fold(f64::INFINITY, f64::min);
        let at = losses.iter().position(|l| *l == Some(min)).unwrap() + 1;
        assert_eq!(o["best"]["validation_loss"]["value"].as_f64(), Some(min));
        assert_eq!(
            o["best"]["validation_loss"]["epoch"].as_u64(),
            Some(at as u64)
        );
        assert_eq!(o["final"]["validation_loss"].as_f64(), losses[2]);
        assert_eq!(
            o["final"]["train_loss"].as_f64(),
            metric(run, "train_loss")[2]
        );
        let seconds: f64 = metric(run, "seconds").iter().map(|x| x.unwrap()).sum();
        assert!((o["seconds"].as_f64().unwrap() - seconds).abs() < 1e-9);
    }

    // --plot: every run's curve in one PNG
    let png = dir.join("x.png");
    assert_success(&ae(&[
        &["runs"][..],
        &runs,
        &["--plot", "validation_loss", "--out", s(&png)],
    ]
    .concat()));
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");

    // a run stopped before its first epoch: its config, no metrics, 0 epochs
    let stopped = dir.join("stopped");
    std::fs::create_dir(&stopped).unwrap();
    std::fs::copy(a.join("config.toml"), stopped.join("config.toml")).unwrap();
    let out = ae(&["runs", "--json", s(&a), s(&stopped)]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[1]["epochs"], 0);
    assert!(v[1]["seconds"].is_null());
    assert!(v[1]["best"]["validation_loss"].is_null());
    assert_eq!(v[1]["config"].as_object().unwrap().len(), 0);

    // bad folders and files: exit 2, one line naming them
    let missing = dir.join("nope");
    assert_clean_error(&ae(&["runs", s(&a), s(&missing)]), &[s(&missing)]);
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_clean_error(&ae(&["runs", s(&empty)]), &[s(&empty), "config.toml"]);
    std::fs::write(
        stopped.join("metrics.jsonl"),
        "{\"epoch\":1}\n{\"epoch\":\n",
    )
    .unwrap();
    assert_clean_error(
        &ae(&["runs", s(&stopped)]),
        &["stopped/metrics.jsonl", "line 2"],
    );
    std::fs::write(stopped.join("config.toml"), "[train]\nseed = \n").unwrap();
    assert_clean_error(
        &ae(&["runs", s(&stopped)]),
        &["stopped/config.toml", "line 2"],
    );
    let out = ae(&["runs", s(&a), "--out", s(&png)]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--out without --plot was accepted"
    );
}
