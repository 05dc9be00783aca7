//! Hamming retrieval against brute-force references: k-NN and range search by scan, ball
//! lookup and multi-index hashing on random and clustered codes of many widths; ITQ's loss on
//! real images; the CLI's happy path and its errors on malformed code files.

#[path = "../../../tests/common/mod.rs"]
mod common;

use autoencoder::data::npy;
use autoencoder::hashing::ball::BallIndex;
use autoencoder::hashing::knn::{brute_force_knn, MISSING};
use autoencoder::hashing::mih::MultiIndex;
use autoencoder::hashing::{Codes, Encoder, FlatIndex, Method, RangeResult};
use autoencoder::linalg::Rng;
use common::{ae, assert_clean_error, assert_success, repo_path, s, tmp};
use std::path::Path;
use std::process::Output;

fn random_codes(n: usize, bits: usize, seed: u64) -> Codes {
    let mut rng = Rng::new(seed);
    Codes::from_fn(n, bits, |_, _| rng.next_u64() & 1 == 1).unwrap()
}

/// Codes near a few prototypes (each bit flipped with probability `p`): many close pairs, so
/// small-radius searches find something.
fn clustered_codes(n: usize, bits: usize, p: f32, seed: u64) -> Codes {
    let mut rng = Rng::new(seed);
    let protos = random_codes(5, bits, 999);
    let which: Vec<usize> = (0..n).map(|_| rng.below(5)).collect();
    Codes::from_fn(n, bits, |i, j| {
        protos.bit(which[i], j) ^ (rng.uniform() < p)
    })
    .unwrap()
}

fn brute_force_range(db: &Codes, q: &Codes, radius: u32) -> RangeResult {
    RangeResult::from_lists(
        (0..q.len())
            .map(|qi| {
                let mut hits: Vec<(u32, u32)> = (0..db.len())
                    .map(|i| (db.distance(i, q, qi), i as u32))
                    .filter(|(d, _)| *d <= radius)
                    .collect();
                hits.sort_unstable();
                hits.into_iter().map(|(d, i)| (i, d)).unzip()
            })
            .collect(),
    )
}

#[test]
fn knn_equals_brute_force_at_every_width() {
    for (bits, n) in [
        (8usize, 700),
        (24, 1500),
        (64, 2000),
        (72, 900),
        (256, 1200),
        (1024, 300),
    ] {
        let db = random_codes(n, bits, bits as u64);
        let q = random_codes(45, bits, bits as u64 + 1);
        let index = FlatIndex::new(&db);
        for k in [1, 10, 100] {
            let got = index.knn(&q, k);
            let want = brute_force_knn(&db, &q, k);
            assert_eq!(got.distances, want.distances, "{bits} bits, k {k}");
            assert_eq!(got.ids, want.ids, "{bits} bits, k {k}");
        }
    }
}

#[test]
fn range_equals_brute_force() {
    for (bits, radius) in [(16usize, 4u32), (64, 24), (256, 110), (72, 0)] {
        let db = random_codes(1500, bits, 7);
        let q = random_codes(40, bits, 8);
        let got = FlatIndex::new(&db).range(&q, radius);
        assert_eq!(
            got,
            brute_force_range(&db, &q, radius),
            "{bits} bits r {radius}"
        );
        if bits == 16 {
            assert!(got.ids.len() > 100, "the test should find something");
        }
        // k nearest within the radius: the range result's head, padded with MISSING
        let within = FlatIndex::new(&db).knn_within(&q, 5, Some(radius));
        assert_eq!(within, got.to_knn(5));
    }
}

#[test]
fn ball_lookup_equals_linear_scan() {
    for (bits, radius) in [(8usize, 2u32), (16, 3), (32, 2), (64, 2)] {
        let db = clustered_codes(3000, bits, 0.03, bits as u64);
        let q = clustered_codes(60, bits, 0.03, bits as u64 + 100);
        let scan = FlatIndex::new(&db).range(&q, radius);
        assert!(scan.ids.len() > 60, "{bits} bits: nothing to find");
        let ball = BallIndex::new(&db).unwrap().range(&q, radius).unwrap();
        assert_eq!(ball, scan, "{bits} bits r {radius}");
    }
    let long = random_codes(10, 72, 1);
    let e = BallIndex::new(&long).unwrap_err().to_string();
    assert!(e.contains("at most 64 bits, got 72"), "{e}");
    let db = random_codes(10, 64, 1);
    let err = BallIndex::new(&db)
        .unwrap()
        .range(&db, 12)
        .unwrap_err()
        .to_string();
    assert!(err.contains("too many"), "{err}");
}

#[test]
fn multi_index_hashing_equals_linear_scan() {
    for (bits, radius, parts) in [
        (32usize, 2u32, None),
        (64, 7, Some(4)),
        (128, 12, None),
        (256, 30, Some(16)),
        (72, 5, Some(3)),
        (40, 0, Some(5)),
    ] {
        let db = clustered_codes(2500, bits, 0.04, bits as u64);
        let q = clustered_codes(50, bits, 0.04, bits as u64 + 100);
        let scan = FlatIndex::new(&db).range(&q, radius);
        assert!(scan.ids.len() > 50, "{bits} bits: nothing to find");
        let mih = MultiIndex::new(&db, parts).unwrap();
        assert_eq!(
            mih.range(&q, radius).unwrap(),
            scan,
            "{bits} bits r {radius} m {}",
            mih.parts()
        );
    }
    let e = MultiIndex::new(&random_codes(10, 256, 1), Some(2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("between 4 and 256 substrings, got 2"), "{e}");
}

#[test]
fn itq_loss_does_not_increase_on_images() {
    let x = common::pool2(&common::mnist_train(1000));
    let itq = Encoder::fit(Method::Itq, &x, 16, 3).unwrap();
    let l = &itq.itq_loss;
    assert_eq!(l.len(), 51);
    for (i, w) in l.windows(2).enumerate() {
        assert!(
            w[1] <= w[0] + 1e-9 * w[0].abs(),
            "iteration {i}: {} → {}",
            w[0],
            w[1]
        );
    }
    assert!(l[50] < 0.95 * l[0], "{} → {}", l[0], l[50]);
}

// ---- command line ----

fn json(out: &Output) -> serde_json::Value {
    assert_success(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn read_i64(path: &Path) -> (Vec<usize>, Vec<i64>) {
    let a = npy::parse(path, &std::fs::read(path).unwrap()).unwrap();
    let v = a
        .data
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (a.shape, v)
}

#[test]
fn cli_hash_search_retrieval_on_shipped_mnist() {
    let dir = tmp("mnist");
    let train = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let test = repo_path("data/mnist/t10k-images-idx3-ubyte.gz");
    let (db, q) = (dir.join("db.npy"), dir.join("q.npy"));
    let mut maps = Vec::new();
    for method in ["lsh", "itq"] {
        let out = ae(&[
            "hash",
            "--method",
            method,
            "--bits",
            "32",
            "--fit",
            s(&train),
            "--data",
            s(&train),
            "--out",
            s(&db),
            "--data",
            s(&test),
            "--out",
            s(&q),
            "--seed",
            "1",
            "--json",
        ]);
        let v = json(&out);
        assert_eq!(v["outputs"][1]["codes"], 1000);
        let codes = Codes::read_npy(&db).unwrap();
        assert_eq!((codes.len(), codes.bits()), (5000, 32));
        let out = ae(&[
            "retrieval",
            "--db",
            s(&db),
            "--db-labels",
            s(&repo_path("data/mnist/train-labels-idx1-ubyte.gz")),
            "--queries",
            s(&q),
            "--query-labels",
            s(&repo_path("data/mnist/t10k-labels-idx1-ubyte.gz")),
            "--k",
            "50",
            "--map-at",
            "200",
            "--json",
        ]);
        let v = json(&out);
        let map = v["map_at_k"].as_f64().unwrap();
        assert!(v["precision_at_k"].as_f64().unwrap() > 0.3, "{v}");
        assert_eq!(v["pr_curve"].as_array().unwrap().len(), 33);
        assert_eq!(v["pr_curve"][32]["recall"], 1.0);
        maps.push(map);
    }
    // ITQ beats LSH at equal length (Gong & Lazebnik, fig. 4)
    assert!(maps[1] > maps[0] + 0.05, "{maps:?}");

    // search: the CLI's ids and distances are the library's
    let (ids, dists) = (dir.join("ids.npy"), dir.join("d.npy"));
    let v = json(&ae(&[
        "search",
        "--db",
        s(&db),
        "--queries",
        s(&q),
        "--k",
        "10",
        "--out",
        s(&ids),
        "--distances",
        s(&dists),
        "--json",
    ]));
    assert_eq!(v["queries"], 1000);
    assert!(v["queries_per_second"].as_f64().unwrap() > 0.0);
    let want =
        FlatIndex::new(&Codes::read_npy(&db).unwrap()).knn(&Codes::read_npy(&q).unwrap(), 10);
    let (shape, got) = read_i64(&ids);
    assert_eq!(shape, vec![1000, 10]);
    assert_eq!(got, want.ids.iter().map(|&i| i as i64).collect::<Vec<_>>());
    assert_eq!(
        read_i64(&dists).1,
        want.distances.iter().map(|&d| d as i64).collect::<Vec<_>>()
    );
    // radius search through each index agrees, padded with -1
    let mut tables = Vec::new();
    for index in ["scan", "ball", "mih", "auto"] {
        json(&ae(&[
            "search",
            "--db",
            s(&db),
            "--queries",
            s(&q),
            "--k",
            "5",
            "--radius",
            "3",
            "--index",
            index,
            "--out",
            s(&ids),
            "--json",
        ]));
        tables.push(read_i64(&ids).1);
    }
    assert!(tables.iter().all(|t| *t == tables[0]));
    assert!(tables[0].contains(&-1) && tables[0].iter().any(|&i| i >= 0));
}

#[test]
fn codes_exchange_with_numpy_packbits_little() {
    // np.packbits([[1,0,0,0,0,0,0,0, 0,1,0,0,0,0,0,0]], bitorder="little") == [[1, 2]]
    let dir = tmp("exchange");
    let (db, q, ids, d) = (
        dir.join("db.npy"),
        dir.join("q.npy"),
        dir.join("i.npy"),
        dir.join("d.npy"),
    );
    std::fs::write(&db, npy::encode_u8(&[3, 2], &[1, 2, 0, 0, 0xFF, 0xFF])).unwrap();
    std::fs::write(&q, npy::encode_u8(&[1, 2], &[1, 0])).unwrap();
    json(&ae(&[
        "search",
        "--db",
        s(&db),
        "--queries",
        s(&q),
        "--k",
        "4",
        "--out",
        s(&ids),
        "--distances",
        s(&d),
        "--json",
    ]));
    assert_eq!(read_i64(&ids).1, vec![0, 1, 2, -1]);
    assert_eq!(read_i64(&d).1, vec![1, 1, 15, -1]);
}

#[test]
fn malformed_code_files_fail_cleanly() {
    let dir = tmp("bad");
    let good = dir.join("good.npy");
    std::fs::write(&good, npy::encode_u8(&[4, 2], &[0; 8])).unwrap();
    let run = |db: &Path, extra: &[&str]| {
        let out = dir.join("ids.npy");
        let mut args = vec![
            "search",
            "--db",
            s(db),
            "--queries",
            s(&good),
            "--k",
            "2",
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        ae(&args)
    };
    let floats = dir.join("floats.npy");
    std::fs::write(&floats, npy::encode_f32(&autoencoder::Matrix::zeros(4, 2))).unwrap();
    assert_clean_error(&run(&floats, &[]), &["floats.npy", "uint8"]);
    let flat = dir.join("flat.npy");
    std::fs::write(&flat, npy::encode_u8(&[8], &[0; 8])).unwrap();
    assert_clean_error(&run(&flat, &[]), &["flat.npy", "2-D"]);
    let narrow = dir.join("narrow.npy");
    std::fs::write(&narrow, npy::encode_u8(&[4, 1], &[0; 4])).unwrap();
    assert_clean_error(&run(&narrow, &[]), &["good.npy", "8 bits", "16"]);
    let truncated = dir.join("trunc.npy");
    let bytes = npy::encode_u8(&[4, 2], &[0; 8]);
    std::fs::write(&truncated, &bytes[..bytes.len() - 3]).unwrap();
    assert_clean_error(&run(&truncated, &[]), &["trunc.npy", "data bytes"]);
    assert_clean_error(
        &run(&good, &["--radius", "1", "--index", "tree"]),
        &["tree"],
    );
    let train = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let out = ae(&[
        "hash",
        "--method",
        "itq",
        "--bits",
        "12",
        "--fit",
        s(&train),
        "--data",
        s(&train),
        "--out",
        s(&good),
    ]);
    assert_clean_error(&out, &["multiple of 8"]);
    let out = ae(&[
        "hash",
        "--method",
        "sh",
        "--bits",
        "8",
        "--fit",
        s(&train),
        "--data",
        s(&train),
        "--out",
        s(&good),
    ]);
    assert_clean_error(&out, &["sh"]);
    let labels = dir.join("labels.npy");
    std::fs::write(&labels, npy::encode_i64(&[1, 2, 3])).unwrap();
    let out = ae(&[
        "retrieval",
        "--db",
        s(&good),
        "--db-labels",
        s(&labels),
        "--queries",
        s(&good),
        "--query-labels",
        s(&labels),
    ]);
    assert_clean_error(&out, &["labels.npy", "3 labels for 4"]);
    assert_eq!(MISSING, u32::MAX);
}
