//! `autoencoder embed` end to end (§14.6): nonparametric maps fitted on training images, new
//! images embedded out of sample where the method has a map, a model's 2-D code as a map, and
//! the flag combinations that cannot work refused in one line.

#[path = "../../../tests/common/mod.rs"]
mod common;

use autoencoder::data::npy;
use common::{ae, assert_clean_error, assert_success, s, tmp};
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, x: &autoencoder::Matrix) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, npy::encode_f32(x)).unwrap();
    path
}

fn labels(dir: &Path, name: &str, n: usize, test: bool) -> PathBuf {
    let file = if test {
        "data/mnist/t10k-labels-idx1-ubyte.gz"
    } else {
        "data/mnist/train-labels-idx1-ubyte.gz"
    };
    let l = autoencoder::data::idx::read_labels(&common::repo_path(file)).unwrap()[..n].to_vec();
    let path = dir.join(name);
    std::fs::write(&path, npy::encode_i64(&l)).unwrap();
    path
}

/// `n_train` training and `n_test` test images (pooled to 196 pixels) and their labels, as
/// `.npy` files in `dir`: (train, test, train labels, test labels).
fn digits(dir: &Path, n_train: usize, n_test: usize) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    (
        write(
            dir,
            "train.npy",
            &common::pool2(&common::mnist_train(n_train)),
        ),
        write(dir, "test.npy", &common::pool2(&common::mnist_test(n_test))),
        labels(dir, "train.labels.npy", n_train, false),
        labels(dir, "test.labels.npy", n_test, true),
    )
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert_success(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn quality(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["embedding-quality", "--json", "--k", "5"];
    a.extend_from_slice(args);
    json(&ae(&a))
}

/// 500 training images and 100 test images (pooled to 196 pixels): every method maps the
/// training points; Isomap and LLE embed the test points so that their 5 nearest training
/// points mostly share their digit (far above PCA's, which keeps less of the classes); t-SNE
/// keeps neighbourhoods best and is deterministic for a seed.
#[test]
fn embed_fits_maps_and_embeds_new_points() {
    let dir = tmp("embed_maps");
    let (train, test, train_labels, test_labels) = digits(&dir, 500, 100);
    let mut trust = std::collections::BTreeMap::new();
    let mut test_acc = std::collections::BTreeMap::new();
    for method in ["pca", "isomap", "lle"] {
        let (yt, yq) = (
            dir.join(format!("{method}-train.npy")),
            dir.join(format!("{method}-test.npy")),
        );
        let report = json(&ae(&[
            "embed",
            "--method",
            method,
            "--fit",
            s(&train),
            "--out",
            s(&yt),
            "--data",
            s(&test),
            "--out",
            s(&yq),
            "--json",
        ]));
        assert_eq!(report["points"], 500, "{report}");
        assert_eq!(report["outputs"][0]["points"], 100, "{report}");
        let (a, b) = (
            npy::read_matrix(&yt).unwrap(),
            npy::read_matrix(&yq).unwrap(),
        );
        assert_eq!((a.rows(), a.cols(), b.rows(), b.cols()), (500, 2, 100, 2));
        assert!(a
            .as_slice()
            .iter()
            .chain(b.as_slice())
            .all(|v| v.is_finite()));
        let q = quality(&[
            "--high",
            s(&train),
            "--low",
            s(&yt),
            "--labels",
            s(&train_labels),
        ]);
        trust.insert(method, q["trustworthiness"].as_f64().unwrap());
        let q = quality(&[
            "--low",
            s(&yq),
            "--labels",
            s(&test_labels),
            "--train-low",
            s(&yt),
            "--train-labels",
            s(&train_labels),
        ]);
        test_acc.insert(method, q["knn_test_accuracy"].as_f64().unwrap());
    }
    assert!(test_acc["lle"] > test_acc["pca"] + 0.1, "{test_acc:?}");
    assert!(test_acc["isomap"] > test_acc["pca"], "{test_acc:?}");
    assert!(
        trust["lle"] > trust["pca"] && trust["isomap"] > trust["pca"],
        "{trust:?}"
    );
    let tsne = |out: &Path| {
        json(&ae(&[
            "embed",
            "--method",
            "tsne",
            "--fit",
            s(&train),
            "--out",
            s(out),
            "--perplexity",
            "20",
            "--iterations",
            "500",
            "--seed",
            "3",
            "--json",
        ]))
    };
    let (y1, y2) = (dir.join("tsne1.npy"), dir.join("tsne2.npy"));
    let report = tsne(&y1);
    assert_eq!(
        report["gradient"], "exact",
        "500 points run the exact gradient: {report}"
    );
    assert!(report["kl_divergence"].as_f64().unwrap() > 0.0);
    tsne(&y2);
    assert_eq!(
        std::fs::read(&y1).unwrap(),
        std::fs::read(&y2).unwrap(),
        "same seed, same map"
    );
    let q = quality(&[
        "--high",
        s(&train),
        "--low",
        s(&y1),
        "--labels",
        s(&train_labels),
    ]);
    let t = q["trustworthiness"].as_f64().unwrap();
    assert!(
        t > trust["isomap"].max(trust["lle"]) && t > 0.9,
        "t-SNE {t} vs {trust:?}"
    );
    // Barnes–Hut on request: close to the exact map's quality
    let bh = dir.join("bh.npy");
    let report = json(&ae(&[
        "embed",
        "--method",
        "tsne",
        "--fit",
        s(&train),
        "--out",
        s(&bh),
        "--perplexity",
        "20",
        "--iterations",
        "500",
        "--tsne-gradient",
        "barnes-hut",
        "--json",
    ]));
    assert_eq!(report["gradient"], "barnes_hut");
    let q = quality(&[
        "--high",
        s(&train),
        "--low",
        s(&bh),
        "--labels",
        s(&train_labels),
    ]);
    assert!(
        q["trustworthiness"].as_f64().unwrap() > t - 0.03,
        "{q} vs {t}"
    );
}

/// A model whose code is 2-D is a map: `embed --model` writes what `encode` writes; a wider
/// code, t-SNE with new points, and miscounted outputs are one-line errors.
#[test]
fn embed_with_a_model_and_refusals() {
    let dir = tmp("embed_model");
    let train = write(&dir, "train.npy", &common::pool2(&common::mnist_train(300)));
    let config = dir.join("c.toml");
    let run = dir.join("run");
    for (code, run) in [(2, run.clone()), (3, dir.join("run3"))] {
        std::fs::write(
            &config,
            format!(
                "[model]\nlayers = [32]\ncode = {code}\n[train]\nepochs = 2\nbatch_size = 50\n"
            ),
        )
        .unwrap();
        assert_success(&ae(&[
            "train",
            "--config",
            s(&config),
            "--data",
            s(&train),
            "--out",
            s(&run),
            "--quiet",
        ]));
    }
    let (mapped, encoded) = (dir.join("map.npy"), dir.join("codes.npy"));
    let report = json(&ae(&[
        "embed",
        "--model",
        s(&run),
        "--data",
        s(&train),
        "--out",
        s(&mapped),
        "--json",
    ]));
    assert_eq!(report["method"], "model");
    assert_success(&ae(&[
        "encode",
        "--model",
        s(&run),
        "--data",
        s(&train),
        "--out",
        s(&encoded),
    ]));
    assert_eq!(
        npy::read_matrix(&mapped).unwrap(),
        npy::read_matrix(&encoded).unwrap()
    );
    let y = dir.join("y.npy");
    assert_clean_error(
        &ae(&[
            "embed",
            "--model",
            s(&dir.join("run3")),
            "--data",
            s(&train),
            "--out",
            s(&y),
        ]),
        &["run3", "3 units"],
    );
    assert_clean_error(
        &ae(&[
            "embed",
            "--method",
            "tsne",
            "--fit",
            s(&train),
            "--out",
            s(&y),
            "--data",
            s(&train),
            "--out",
            s(&y),
        ]),
        &["t-SNE", "new ones"],
    );
    assert_clean_error(
        &ae(&[
            "embed",
            "--method",
            "isomap",
            "--fit",
            s(&train),
            "--data",
            s(&train),
            "--out",
            s(&y),
        ]),
        &["1 --out for 2 map(s)"],
    );
    assert_clean_error(
        &ae(&[
            "embed",
            "--method",
            "pca",
            "--fit",
            s(&train),
            "--rows",
            "1000",
            "--out",
            s(&y),
        ]),
        &["train.npy", "--rows 1000"],
    );
    assert_clean_error(
        &ae(&[
            "embed",
            "--method",
            "isomap",
            "--fit",
            s(&train),
            "--neighbors",
            "300",
            "--out",
            s(&y),
        ]),
        &["train.npy", "k = 300"],
    );
    assert!(!y.exists(), "no output from a refused run");
}

/// The parametric t-SNE and UMAP terms (`[[regularizer]] kind = "tsne"` / `"umap"`) make a
/// 2-D code a map of unseen points: trained on either term alone, the test images' codes find
/// their digit among the training images' codes far more often than a plain autoencoder's 2-D
/// code does after the same epochs, and keep neighbourhoods better.
#[test]
fn parametric_tsne_and_umap_codes_map_unseen_points() {
    let dir = tmp("parametric_tsne");
    let (train, test, train_labels, test_labels) = digits(&dir, 500, 200);
    let model =
        "[model]\nlayers = [64]\ncode = 2\nactivation = \"relu\"\ncode_activation = \"linear\"\n\
                 decoder_layers = []\ninit = \"he\"\n";
    // validation selects the map on its own objective (t-SNE term included)
    let train_section = "[train]\nepochs = 60\nbatch_size = 200\nvalidation_fraction = 0.2\n";
    let mut scores = Vec::new();
    for (name, extra) in [
        (
            "tsne",
            "reconstruction_weight = 0.0\n[[regularizer]]\nkind = \"tsne\"\nweight = 1.0\nperplexity = 20\n",
        ),
        (
            "umap",
            "reconstruction_weight = 0.0\n[[regularizer]]\nkind = \"umap\"\nweight = 1.0\nneighbors = 10\n",
        ),
        ("plain", ""),
    ] {
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, format!("{model}{train_section}{extra}")).unwrap();
        let run = dir.join(name);
        assert_success(&ae(&[
            "train", "--config", s(&config), "--data", s(&train), "--out", s(&run), "--quiet",
        ]));
        // a map's validation loss is its objective (a KL or cross-entropy of a few nats), not
        // the reconstruction error its untrained decoder would give (hundreds)
        let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
        let last: serde_json::Value =
            serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
        let val = last["validation_loss"].as_f64().unwrap();
        assert_eq!(val < 10.0, name != "plain", "{name}: validation loss {val}");
        let (yt, yq) = (dir.join(format!("{name}-train.npy")), dir.join(format!("{name}-test.npy")));
        json(&ae(&[
            "embed", "--model", s(&run), "--data", s(&train), "--out", s(&yt), "--data", s(&test),
            "--out", s(&yq), "--json",
        ]));
        let q = quality(&[
            "--high", s(&test), "--low", s(&yq), "--labels", s(&test_labels), "--train-low", s(&yt),
            "--train-labels", s(&train_labels),
        ]);
        scores.push((
            name,
            q["knn_test_accuracy"].as_f64().unwrap(),
            q["trustworthiness"].as_f64().unwrap(),
        ));
    }
    let (_, plain_acc, plain_trust) = scores[2];
    for &(name, acc, trust) in &scores[..2] {
        assert!(acc > plain_acc + 0.1, "{name} {acc} vs plain {plain_acc}");
        assert!(trust > plain_trust, "{name} {trust} vs plain {plain_trust}");
    }
    eprintln!("{scores:?}");
}
