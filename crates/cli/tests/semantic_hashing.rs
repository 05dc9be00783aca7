//! Semantic hashing end to end (§14.9): text to counts, models with fitted input transforms,
//! multinomial outputs and binary codes, and their codes as Hamming addresses.

#[path = "../../../tests/common/mod.rs"]
mod common;

use autoencoder::data::npy;
use autoencoder::data::sparse::CsrMatrix;
use common::{ae, assert_clean_error, assert_success, repo_path, s, tmp, train};

fn corpus() -> std::path::PathBuf {
    repo_path("tests/data/tiny_corpus")
}

#[test]
fn text_reads_the_20news_layout_and_reuses_a_vocabulary() {
    let dir = tmp("text");
    let out = dir.join("docs.npz");
    let o = ae(&[
        "text",
        "--corpus",
        s(&corpus()),
        "--min-df",
        "2",
        "--out",
        s(&out),
        "--json",
    ]);
    assert_success(&o);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // 17 posts: the `-o` duplicate and the dot file are skipped; one post has 2 words (dropped)
    assert_eq!(json["documents"], 16);
    assert_eq!(json["dropped"], 1);
    let vocab = std::fs::read_to_string(dir.join("docs.vocabulary.txt")).unwrap();
    let words: Vec<&str> = vocab.lines().collect();
    assert!(words.windows(2).all(|w| w[0] < w[1]), "alphabetical");
    // header words (From/Subject/Lines, addresses) and stop words never count
    for absent in ["subject", "lines", "example", "org", "user", "the", "and"] {
        assert!(!words.contains(&absent), "{absent} in {words:?}");
    }
    assert!(words.contains(&"hockey") && words.contains(&"orbit"));
    let m = CsrMatrix::read_npz(&out).unwrap();
    assert_eq!((m.rows(), m.cols()), (16, words.len()));
    let labels = npy::read_labels(&dir.join("docs.labels.npy")).unwrap();
    assert_eq!(labels.iter().filter(|&&l| l == 0).count(), 8);
    let classes = std::fs::read_to_string(dir.join("docs.classes.txt")).unwrap();
    assert_eq!(classes, "rec.sport\nsci.space\n");
    // every document of the test corpus has 33 body words, 25 of them from its topic
    let dense = m.to_dense();
    let hockey = words.iter().position(|w| *w == "hockey").unwrap();
    for (r, label) in labels.iter().enumerate() {
        let total: f32 = dense.row(r).iter().sum();
        assert!((25.0..=33.0).contains(&total), "row {r}: {total} words");
        if *label == 1 {
            assert_eq!(dense.row(r)[hockey], 0.0);
        }
    }
    // a vocabulary of three words, one unseen: it maps to nothing
    let small = dir.join("small.txt");
    std::fs::write(&small, "hockey\norbit\nzyzzyva\n").unwrap();
    let out2 = dir.join("again.npz");
    let o = ae(&[
        "text",
        "--corpus",
        s(&corpus()),
        "--vocabulary-from",
        s(&small),
        "--min-words",
        "1",
        "--out",
        s(&out2),
    ]);
    assert_success(&o);
    let m2 = CsrMatrix::read_npz(&out2).unwrap().to_dense();
    assert_eq!(m2.cols(), 3);
    assert!((0..m2.rows()).all(|r| m2.row(r)[2] == 0.0));
    assert!((0..m2.rows()).all(|r| m2.row(r)[0] + m2.row(r)[1] > 0.0));
    // .npz data loads like any data file, its labels from DOCS.labels.npy
    let d = autoencoder::data::load(&out, None).unwrap();
    assert_eq!(d.features, dense);
    assert_eq!(d.labels.unwrap(), labels);
}

#[test]
fn text_errors_are_one_line() {
    let dir = tmp("text-errors");
    let out = dir.join("d.npz");
    assert_clean_error(
        &ae(&[
            "text",
            "--corpus",
            s(&dir.join("missing")),
            "--out",
            s(&out),
        ]),
        &["missing"],
    );
    assert_clean_error(
        &ae(&[
            "text",
            "--corpus",
            s(&corpus()),
            "--out",
            s(&dir.join("d.npy")),
        ]),
        &["d.npy", ".npz"],
    );
    assert_clean_error(
        &ae(&[
            "text",
            "--corpus",
            s(&corpus()),
            "--max-df",
            "1.5",
            "--out",
            s(&out),
        ]),
        &["--max-df"],
    );
    assert_clean_error(
        &ae(&[
            "text",
            "--corpus",
            s(&corpus()),
            "--min-df",
            "100",
            "--out",
            s(&out),
        ]),
        &["tiny_corpus", "--min-df"],
    );
}

/// A document model end to end: counts in, TF-IDF fitted and saved with the model, a
/// multinomial output, 8 binary units pushed by noise; `hash` on raw counts applies the saved
/// transform, and its bits are the thresholded codes `encode` writes.
#[test]
fn a_document_model_hashes_raw_counts_through_its_saved_transform() {
    let dir = tmp("doc-model");
    let docs = dir.join("docs.npz");
    assert_success(&ae(&[
        "text",
        "--corpus",
        s(&corpus()),
        "--min-df",
        "2",
        "--out",
        s(&docs),
    ]));
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[model]\nlayers = [32]\ncode = 8\nactivation = \"sigmoid\"\noutput = \"multinomial\"\n\
         code_distribution = \"binary\"\nbinary = \"noise\"\nbinary_noise = 2.0\n\
         [data]\ntransform = \"tfidf\"\n\
         [train]\nepochs = 150\nbatch_size = 4\nlearning_rate = 0.01\nvalidation_fraction = 0.0\n",
    )
    .unwrap();
    let run = dir.join("run");
    assert_success(&train(&config, &docs, &run));
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("transform.json")).unwrap()).unwrap();
    assert_eq!(saved["kind"], "tfidf");
    let codes = dir.join("codes.npy");
    let o = ae(&[
        "hash",
        "--method",
        "autoencoder",
        "--model",
        s(&run),
        "--data",
        s(&docs),
        "--out",
        s(&codes),
        "--json",
    ]);
    assert_success(&o);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["bits"], 8);
    let h_path = dir.join("h.npy");
    assert_success(&ae(&[
        "encode",
        "--model",
        s(&run),
        "--data",
        s(&docs),
        "--out",
        s(&h_path),
    ]));
    let h = npy::read_matrix(&h_path).unwrap();
    let packed = autoencoder::hashing::Codes::read_npy(&codes).unwrap();
    for i in 0..h.rows() {
        for j in 0..8 {
            assert_eq!(packed.bit(i, j), h.row(i)[j] > 0.5, "doc {i} bit {j}");
        }
    }
    // the transform matters: the same model on TF-IDF-by-hand input gives the same codes
    let x = autoencoder::data::load_features(&docs, None).unwrap();
    let mut tx = x.clone();
    let t = autoencoder::data::transform::InputTransform::load(&run)
        .unwrap()
        .unwrap();
    t.apply(&mut tx).unwrap();
    let model = autoencoder::model::persist::load_model(&run).unwrap();
    let by_hand = model.encode(&tx).unwrap();
    for (a, b) in by_hand.as_slice().iter().zip(h.as_slice()) {
        assert!((a - b).abs() < 1e-6);
    }
    assert!(
        model.encode(&x).unwrap() != by_hand,
        "raw counts must not give the same codes"
    );
    // the hash function as ONNX (tract checks its codes in tests/onnx.rs); --threshold is for it
    let onnx = dir.join("hash.onnx");
    assert_success(&ae(&[
        "export",
        "--model",
        s(&run),
        "--part",
        "hash",
        "--threshold",
        "0.4",
        "--out",
        s(&onnx),
    ]));
    assert!(std::fs::metadata(&onnx).unwrap().len() > 1000);
    assert_clean_error(
        &ae(&[
            "export",
            "--model",
            s(&run),
            "--part",
            "encoder",
            "--threshold",
            "0.4",
            "--out",
            s(&onnx),
        ]),
        &["--threshold is for --part hash"],
    );
    // the two topics get different addresses: each document's nearest code (Hamming) is mostly
    // one of its own topic
    let labels = npy::read_labels(&dir.join("docs.labels.npy")).unwrap();
    let mut same = 0;
    for i in 0..packed.len() {
        let nearest = (0..packed.len())
            .filter(|&j| j != i)
            .min_by_key(|&j| (packed.distance(i, &packed, j), j))
            .unwrap();
        same += (labels[nearest] == labels[i]) as usize;
    }
    assert!(same >= 14, "{same} of 16 nearest codes share the topic");
    // S&H's two-stage lookup: the whole ball (radius 8 = every code) re-ranked by cosine of
    // the count vectors puts each document first and then its most similar other document
    let ids_path = dir.join("ids.npy");
    let o = ae(&[
        "search",
        "--db",
        s(&codes),
        "--queries",
        s(&codes),
        "--k",
        "2",
        "--radius",
        "8",
        "--rerank",
        s(&docs),
        "--query-features",
        s(&docs),
        "--out",
        s(&ids_path),
        "--json",
    ]);
    assert_success(&o);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["candidates_per_query"], 16.0);
    let ids = npy::read_matrix(&ids_path).unwrap();
    let cos = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(a, b)| a * b).sum();
        let n = |v: &[f32]| v.iter().map(|v| v * v).sum::<f32>().sqrt();
        dot / (n(a) * n(b))
    };
    for i in 0..16 {
        assert_eq!(ids.row(i)[0] as usize, i);
        let best = (0..16)
            .filter(|&j| j != i)
            .max_by(|&a, &b| cos(x.row(i), x.row(a)).total_cmp(&cos(x.row(i), x.row(b))))
            .unwrap();
        let got = ids.row(i)[1] as usize;
        assert!(
            (cos(x.row(i), x.row(got)) - cos(x.row(i), x.row(best))).abs() < 1e-6,
            "query {i}"
        );
    }
    // errors: a PSD-style flag, a threshold that is not a number, median without --fit
    assert_clean_error(
        &ae(&[
            "hash",
            "--method",
            "autoencoder",
            "--model",
            s(&run),
            "--data",
            s(&docs),
            "--out",
            s(&codes),
            "--threshold",
            "high",
        ]),
        &["--threshold"],
    );
    assert_clean_error(
        &ae(&[
            "hash",
            "--method",
            "autoencoder",
            "--model",
            s(&run),
            "--data",
            s(&docs),
            "--out",
            s(&codes),
            "--threshold",
            "median",
        ]),
        &["--fit"],
    );
    assert_clean_error(
        &ae(&[
            "hash",
            "--method",
            "itq",
            "--data",
            s(&docs),
            "--out",
            s(&codes),
        ]),
        &["--bits", "--fit"],
    );
}

/// S&H's noise drives the codes to 0/1 on real data: after training with noise before the
/// sigmoid, ≥ 95 % of the training codes' units are within 0.1 of 0 or 1.
#[test]
fn noise_drives_codes_to_zero_or_one_on_mnist() {
    let dir = tmp("binary-mnist");
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[model]\nlayers = [128]\ncode = 16\nactivation = \"sigmoid\"\n\
         code_distribution = \"binary\"\nbinary = \"noise\"\n\
         [train]\nepochs = 40\nbatch_size = 50\nlearning_rate = 0.003\nvalidation_fraction = 0.0\n",
    )
    .unwrap();
    let data = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let run = dir.join("run");
    assert_success(&train(&config, &data, &run));
    let o = ae(&[
        "hash",
        "--method",
        "autoencoder",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&dir.join("c.npy")),
        "--json",
    ]);
    assert_success(&o);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let saturated = json["outputs"][0]["saturated_fraction"].as_f64().unwrap();
    assert!(saturated >= 0.95, "{saturated}");
    // without noise (a plain sigmoid code) the same network stays far from binary
    std::fs::write(
        &config,
        "[model]\nlayers = [128]\ncode = 16\nactivation = \"sigmoid\"\ncode_activation = \"sigmoid\"\n\
         [train]\nepochs = 40\nbatch_size = 50\nlearning_rate = 0.003\nvalidation_fraction = 0.0\n",
    )
    .unwrap();
    let plain = dir.join("plain");
    assert_success(&train(&config, &data, &plain));
    let o = ae(&[
        "hash",
        "--method",
        "autoencoder",
        "--model",
        s(&plain),
        "--data",
        s(&data),
        "--out",
        s(&dir.join("p.npy")),
        "--json",
    ]);
    assert_success(&o);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let plain_saturated = json["outputs"][0]["saturated_fraction"].as_f64().unwrap();
    assert!(
        plain_saturated < saturated - 0.1,
        "{plain_saturated} vs {saturated}"
    );
}

/// `hash --method itq --model RUN`: ITQ fit on (and applied to) the model's codes gives the
/// codes ITQ gives on the encoded data itself, and the flags it does not take are refused.
#[test]
fn itq_on_a_model_s_codes_is_itq_on_the_encoded_data() {
    let dir = tmp("itq-model");
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[model]\nlayers = [64]\ncode = 16\nactivation = \"relu\"\n\
         [train]\nepochs = 2\nbatch_size = 50\nvalidation_fraction = 0.0\n",
    )
    .unwrap();
    let data = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let run = dir.join("run");
    assert_success(&train(&config, &data, &run));
    let h = dir.join("h.npy");
    assert_success(&ae(&[
        "encode",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&h),
    ]));
    let (direct, through) = (dir.join("direct.npy"), dir.join("through.npy"));
    assert_success(&ae(&[
        "hash",
        "--method",
        "itq",
        "--bits",
        "8",
        "--fit",
        s(&h),
        "--data",
        s(&h),
        "--out",
        s(&direct),
    ]));
    assert_success(&ae(&[
        "hash",
        "--method",
        "itq",
        "--bits",
        "8",
        "--model",
        s(&run),
        "--fit",
        s(&data),
        "--data",
        s(&data),
        "--out",
        s(&through),
    ]));
    let (a, b) = (
        std::fs::read(&direct).unwrap(),
        std::fs::read(&through).unwrap(),
    );
    assert_eq!(a, b, "ITQ on the model's codes");
    // and they are not ITQ on the pixels
    let pixels = dir.join("pixels.npy");
    assert_success(&ae(&[
        "hash",
        "--method",
        "itq",
        "--bits",
        "8",
        "--fit",
        s(&data),
        "--data",
        s(&data),
        "--out",
        s(&pixels),
    ]));
    assert_ne!(std::fs::read(&pixels).unwrap(), a);
    assert_clean_error(
        &ae(&[
            "hash",
            "--method",
            "itq",
            "--bits",
            "8",
            "--model",
            s(&run),
            "--threshold",
            "0.5",
            "--fit",
            s(&data),
            "--data",
            s(&data),
            "--out",
            s(&through),
        ]),
        &["--threshold"],
    );
    assert_clean_error(
        &ae(&[
            "hash",
            "--method",
            "itq",
            "--bits",
            "32",
            "--model",
            s(&run),
            "--fit",
            s(&data),
            "--data",
            s(&data),
            "--out",
            s(&through),
        ]),
        &["bits"],
    );
}
