//! Shared test helpers: the shipped MNIST subset.
#![allow(dead_code)]

use autoencoder::data;
use autoencoder::Matrix;
use std::path::PathBuf;

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
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
