//! `train` without `--config`: settings chosen from the data, listed in `defaults.json`, and a
//! `config.toml` that a resume or a rerun reads.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{ae, assert_success, repo_path, s, tmp};

#[test]
fn train_without_a_config_chooses_from_the_data_and_says_so() {
    let dir = tmp("defaults-cli");
    // a table of measurements on their own scales, as CSV
    let mut csv = String::new();
    for i in 0..120 {
        let t = i as f32 * 0.05;
        csv.push_str(&format!(
            "{},{},{},{}\n",
            t.sin() * 300.0,
            -t.cos(),
            t * 10.0 - 3.0,
            (2.0 * t).sin()
        ));
    }
    let data = dir.join("table.csv");
    std::fs::write(&data, csv).unwrap();
    let run = dir.join("run");
    let out = ae(&[
        "train",
        "--data",
        s(&data),
        "--out",
        s(&run),
        "--epochs",
        "5",
    ]);
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("settings chosen from the data"), "{stderr}");
    let chosen: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("defaults.json")).unwrap()).unwrap();
    let value = |key: &str| {
        chosen
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .map(|c| c["value"].clone())
    };
    assert_eq!(
        value("data.transform"),
        Some(serde_json::json!("standardize"))
    );
    assert_eq!(value("model.output"), Some(serde_json::json!("gaussian")));
    assert_eq!(value("model.code"), Some(serde_json::json!(2)));
    // --epochs was given: not chosen
    assert_eq!(value("train.epochs"), None);
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        config.contains("transform = \"standardize\"") && config.contains("epochs = 5"),
        "{config}"
    );
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        5
    );
    // the saved transform makes later commands read raw rows
    assert!(run.join("transform.json").exists());
    let enc = dir.join("codes.npy");
    assert_success(&ae(&[
        "encode",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&enc),
    ]));
    // images: Bernoulli, no transform
    let images = dir.join("images");
    assert_success(&ae(&[
        "train",
        "--data",
        s(&repo_path("data/mnist/t10k-images-idx3-ubyte.gz")),
        "--out",
        s(&images),
        "--epochs",
        "1",
        "--quiet",
    ]));
    let config = std::fs::read_to_string(images.join("config.toml")).unwrap();
    assert!(
        config.contains("output = \"bernoulli\"") && config.contains("code = 32"),
        "{config}"
    );
}
