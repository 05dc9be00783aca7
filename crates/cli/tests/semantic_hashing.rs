//! Semantic hashing end to end (§14.9): text to counts, models with fitted input transforms,
//! multinomial outputs and binary codes, and their codes as Hamming addresses.

#[path = "../../../tests/common/mod.rs"]
mod common;

use autoencoder::data::npy;
use autoencoder::data::sparse::CsrMatrix;
use common::{ae, assert_clean_error, assert_success, repo_path, s, tmp};

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
