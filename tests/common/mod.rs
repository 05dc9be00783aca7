//! Shared test helpers: the shipped MNIST subset.
#![allow(dead_code)]

use autoencoder::data;
use autoencoder::Matrix;
use std::path::PathBuf;

/// `rel` under the repository root (these helpers serve the library's and the CLI crate's
/// tests alike, so the root is found from either package's folder).
pub fn repo_path(rel: &str) -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = here
        .ancestors()
        .find(|p| p.join("data/mnist").is_dir())
        .expect("the repository's data/ folder");
    root.join(rel)
}

/// The first `n` shipped training images (784 columns, in [0, 1]).
pub fn mnist_train(n: usize) -> Matrix {
    let d = data::load(&repo_path("data/mnist/train-images-idx3-ubyte.gz"), None).unwrap();
    d.features.slice_rows(0, n)
}

/// The first `n` shipped test images.
pub fn mnist_test(n: usize) -> Matrix {
    let d = data::load(&repo_path("data/mnist/t10k-images-idx3-ubyte.gz"), None).unwrap();
    d.features.slice_rows(0, n)
}

/// Largest absolute difference between two matrices of one shape.
pub fn max_abs_diff(a: &Matrix, b: &Matrix) -> f32 {
    assert_eq!((a.rows(), a.cols()), (b.rows(), b.cols()));
    a.as_slice()
        .iter()
        .zip(b.as_slice())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}

/// Average-pools 28×28 images to 14×14 (196 columns), for fast tests on real images.
pub fn pool2(x: &Matrix) -> Matrix {
    let mut out = Matrix::zeros(x.rows(), 196);
    for r in 0..x.rows() {
        let src = x.row(r);
        let dst = out.row_mut(r);
        for i in 0..14 {
            for j in 0..14 {
                let s = src[2 * i * 28 + 2 * j]
                    + src[2 * i * 28 + 2 * j + 1]
                    + src[(2 * i + 1) * 28 + 2 * j]
                    + src[(2 * i + 1) * 28 + 2 * j + 1];
                dst[i * 14 + j] = s / 4.0;
            }
        }
    }
    out
}

/// Runs the `autoencoder` binary with `args`.
pub fn ae(args: &[&str]) -> std::process::Output {
    // only the CLI crate's tests have the binary
    let Some(bin) = option_env!("CARGO_BIN_EXE_autoencoder") else {
        panic!("ae() runs the binary, which only the tests of crates/cli have");
    };
    std::process::Command::new(bin)
        .args(args)
        .output()
        .expect("binary runs")
}

/// `autoencoder train --config CONFIG --data DATA --out OUT --quiet`.
pub fn train(
    config: &std::path::Path,
    data: &std::path::Path,
    out: &std::path::Path,
) -> std::process::Output {
    ae(&[
        "train",
        "--config",
        s(config),
        "--data",
        s(data),
        "--out",
        s(out),
        "--quiet",
    ])
}

/// A fresh, empty temporary folder unique to this test process and `name`, removed when
/// dropped unless the test is failing (then it is kept for inspection).
pub fn tmp(name: &str) -> TestDir {
    let path = std::env::temp_dir().join(format!("autoencoder-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).unwrap();
    TestDir(path)
}

/// A test's scratch folder; see [`tmp`].
pub struct TestDir(PathBuf);

impl std::ops::Deref for TestDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A path as `&str`, for command-line arguments.
pub fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts the command succeeded, showing its stderr otherwise.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts a clean failure: exit 2, one stderr line containing every `needles`, no panic.
pub fn assert_clean_error(out: &std::process::Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err:?}");
    }
}
