//! The classical binary encoders, each a linear projection followed by a sign:
//! `bit j = (x − mean)·w_j ≥ 0`.
//!
//! * LSH: random Gaussian hyperplanes through the data mean (Charikar's sign random projection).
//! * PCA hashing: the top-`b` principal directions.
//! * ITQ (Gong & Lazebnik, CVPR 2011): PCA to `b` dimensions, then an orthogonal rotation `R`
//!   minimizing the quantization loss `‖B − VR‖²_F` by alternating `B = sign(VR)` with the
//!   orthogonal Procrustes solution `R = U Wᵀ` of `VᵀB = U Σ Wᵀ`. Each half-step can only lower
//!   the loss, so the recorded losses never increase.

use super::codes::{check_bits, Codes};
use crate::baselines::Pca;
use crate::error::{Error, Result};
use crate::linalg::gemm::{gemm, View};
use crate::linalg::{Matrix, Rng};
use faer::{Mat, MatRef};
use rayon::prelude::*;

/// ITQ's number of rotation updates, as in the paper.
pub const ITQ_ITERATIONS: usize = 50;

/// Which encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Random hyperplanes through the mean.
    Lsh,
    /// Signs of the centred top principal projections.
    Pcah,
    /// Iterative quantization.
    Itq,
}

impl Method {
    /// Parses `lsh`, `pcah` or `itq`.
    pub fn parse(s: &str) -> Result<Method> {
        match s.to_ascii_lowercase().as_str() {
            "lsh" => Ok(Method::Lsh),
            "pcah" | "pca" => Ok(Method::Pcah),
            "itq" => Ok(Method::Itq),
            _ => Err(Error::Invalid(format!(
                "unknown hashing method {s:?} (expected lsh, pcah or itq)"
            ))),
        }
    }
    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Lsh => "lsh",
            Method::Pcah => "pcah",
            Method::Itq => "itq",
        }
    }
}

/// A fitted encoder: `bit j = x·W[:, j] ≥ offset[j]` with `offset = mean·W`.
#[derive(Clone, Debug)]
pub struct Encoder {
    /// How it was fit.
    pub method: Method,
    /// Code length.
    pub bits: usize,
    /// Input dimension.
    pub dims: usize,
    /// `dims × bits`, row-major.
    pub projection: Vec<f32>,
    /// Per-bit threshold (the mean's projection).
    pub offset: Vec<f32>,
    /// ITQ: quantization loss `‖B − VR‖²_F / n` before the first and after every rotation
    /// update (`ITQ_ITERATIONS + 1` values); empty for the other methods.
    pub itq_loss: Vec<f64>,
}

fn column_mean(x: &Matrix) -> Vec<f64> {
    let mut mean = vec![0.0f64; x.cols()];
    for r in 0..x.rows() {
        for (m, v) in mean.iter_mut().zip(x.row(r)) {
            *m += *v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= x.rows() as f64);
    mean
}

/// `x · w` with `w` a `d × b` faer matrix, in f32 through the engine's GEMM.
fn project(x: &Matrix, w: &[f32], b: usize) -> Vec<f32> {
    let mut z = vec![0.0f32; x.rows() * b];
    gemm(
        &mut z,
        false,
        View::new(x.as_slice(), x.rows(), x.cols()),
        false,
        View::new(w, x.cols(), b),
        false,
        1.0,
        rayon::current_num_threads(),
    );
    z
}

/// `a · b` on the calling thread: ITQ's products are thin (`n × b` by `b × b`), and faer's
/// parallel split spin-waits at barriers, which costs more than it saves on a busy 2-core box.
fn mul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(a.nrows(), b.ncols());
    faer::linalg::matmul::matmul(
        out.as_mut(),
        faer::Accum::Replace,
        a,
        b,
        1.0,
        faer::Par::Seq,
    );
    out
}

fn to_row_major_f32(m: &Mat<f64>) -> Vec<f32> {
    (0..m.nrows())
        .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
        .map(|(i, j)| m[(i, j)] as f32)
        .collect()
}

impl Encoder {
    /// Fits `method` with `bits`-bit codes on the rows of `x`; `seed` fixes LSH's hyperplanes
    /// and ITQ's initial rotation.
    pub fn fit(method: Method, x: &Matrix, bits: usize, seed: u64) -> Result<Encoder> {
        check_bits(bits)?;
        let (n, d) = (x.rows(), x.cols());
        if n < 2 {
            return Err(Error::Invalid(format!(
                "fitting an encoder needs at least 2 examples (got n_samples = {n})"
            )));
        }
        if method != Method::Lsh && bits > d {
            return Err(Error::Invalid(format!(
                "{} needs bits ≤ data dimension (n_features = {d}), got {bits}",
                method.name()
            )));
        }
        // the projection (f64, d × bits) and the codes of the fitting data (n × bits)
        crate::limits::check_floats(
            "bits",
            (d as u128 * bits as u128 * 2).saturating_add(n as u128 * bits as u128),
            "the encoder's projection and codes",
        )?;
        let mut rng = Rng::new(seed);
        let mut itq_loss = Vec::new();
        let (mean, w) = match method {
            Method::Lsh => (
                column_mean(x),
                Mat::<f64>::from_fn(d, bits, |_, _| rng.normal() as f64),
            ),
            Method::Pcah => {
                let pca = Pca::fit(x, bits)?;
                (pca.mean, pca.components)
            }
            Method::Itq => {
                let pca = Pca::fit(x, bits)?;
                let p32 = to_row_major_f32(&pca.components);
                let shift = mean_projection(&pca);
                let z = project(x, &p32, bits);
                let v = Mat::<f64>::from_fn(n, bits, |i, j| z[i * bits + j] as f64 - shift[j]);
                let gauss = Mat::<f64>::from_fn(bits, bits, |_, _| rng.normal() as f64);
                let mut r = gauss
                    .svd()
                    .map_err(|e| Error::Invalid(format!("ITQ: SVD failed: {e:?}")))?
                    .U()
                    .to_owned();
                for it in 0..=ITQ_ITERATIONS {
                    let vr = mul(v.as_ref(), r.as_ref());
                    let b =
                        Mat::<f64>::from_fn(
                            n,
                            bits,
                            |i, j| if vr[(i, j)] >= 0.0 { 1.0 } else { -1.0 },
                        );
                    let loss: f64 = (0..bits)
                        .map(|j| {
                            (0..n)
                                .map(|i| (b[(i, j)] - vr[(i, j)]).powi(2))
                                .sum::<f64>()
                        })
                        .sum();
                    itq_loss.push(loss / n as f64);
                    if it == ITQ_ITERATIONS {
                        break;
                    }
                    let svd = mul(v.transpose(), b.as_ref())
                        .svd()
                        .map_err(|e| Error::Invalid(format!("ITQ: SVD failed: {e:?}")))?;
                    r = svd.U() * svd.V().transpose();
                }
                (pca.mean.clone(), &pca.components * &r)
            }
        };
        let offset = (0..bits)
            .map(|j| (0..d).map(|i| mean[i] * w[(i, j)]).sum::<f64>() as f32)
            .collect();
        Ok(Encoder {
            method,
            bits,
            dims: d,
            projection: to_row_major_f32(&w),
            offset,
            itq_loss,
        })
    }

    /// Encodes the rows of `x`.
    pub fn encode(&self, x: &Matrix) -> Result<Codes> {
        if x.cols() != self.dims {
            return Err(Error::Shape(format!(
                "data has {} columns, the encoder was fit on {}",
                x.cols(),
                self.dims
            )));
        }
        let b = self.bits;
        let z = project(x, &self.projection, b);
        let words = b.div_ceil(64);
        let mut data = vec![0u64; x.rows() * words];
        data.par_chunks_mut(words)
            .zip(z.par_chunks(b))
            .for_each(|(code, zr)| {
                for (j, (v, o)) in zr.iter().zip(&self.offset).enumerate() {
                    code[j / 64] |= ((v >= o) as u64) << (j % 64);
                }
            });
        Codes::from_words(x.rows(), b, data)
    }
}

/// `mean · components`: what centring subtracts from each projection.
fn mean_projection(pca: &Pca) -> Vec<f64> {
    (0..pca.n_components())
        .map(|j| {
            (0..pca.mean.len())
                .map(|i| pca.mean[i] * pca.components[(i, j)])
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clusters(n: usize, seed: u64) -> (Matrix, Vec<i64>) {
        // four Gaussian clusters in 12-D, offset from the origin
        let mut rng = Rng::new(seed);
        let centers: Vec<Vec<f32>> = (0..4)
            .map(|_| (0..12).map(|_| 3.0 * rng.normal() + 5.0).collect())
            .collect();
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let c = i % 4;
            labels.push(c as i64);
            data.extend(centers[c].iter().map(|m| m + 0.5 * rng.normal()));
        }
        (Matrix::from_vec(n, 12, data), labels)
    }

    #[test]
    fn itq_loss_never_increases_and_beats_pca_hashing() {
        let (x, _) = clusters(400, 3);
        let itq = Encoder::fit(Method::Itq, &x, 8, 0).unwrap();
        assert_eq!(itq.itq_loss.len(), ITQ_ITERATIONS + 1);
        for w in itq.itq_loss.windows(2) {
            assert!(w[1] <= w[0] * (1.0 + 1e-12), "{:?}", itq.itq_loss);
        }
        assert!(itq.itq_loss[ITQ_ITERATIONS] < itq.itq_loss[0]);
        // the learned rotation is orthogonal: ITQ's projection has PCA's column norms
        let pca = Encoder::fit(Method::Pcah, &x, 8, 0).unwrap();
        let norm = |p: &[f32]| p.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
        assert!((norm(&itq.projection) - norm(&pca.projection)).abs() < 1e-4);
        // PCA hashing is ITQ's starting point with no rotation: its quantization loss
        // ‖sign(V) − V‖² / n is the one ITQ's rotation exists to lower
        let mean = column_mean(&x);
        let pca_loss: f64 = (0..x.rows())
            .map(|i| {
                (0..8)
                    .map(|j| {
                        let v: f64 = (0..12)
                            .map(|c| {
                                (x.row(i)[c] as f64 - mean[c]) * pca.projection[c * 8 + j] as f64
                            })
                            .sum();
                        (v.signum() - v).powi(2)
                    })
                    .sum::<f64>()
            })
            .sum::<f64>()
            / x.rows() as f64;
        let itq_final = itq.itq_loss[ITQ_ITERATIONS];
        eprintln!("quantization loss: PCA hashing {pca_loss:.4}, ITQ {itq_final:.4}");
        assert!(
            itq_final < pca_loss,
            "ITQ {itq_final} vs PCA hashing {pca_loss}"
        );
    }

    #[test]
    fn bits_are_signs_of_centred_projections() {
        let (x, _) = clusters(200, 4);
        for m in [Method::Lsh, Method::Pcah, Method::Itq] {
            let e = Encoder::fit(m, &x, 8, 1).unwrap();
            let codes = e.encode(&x).unwrap();
            assert_eq!((codes.len(), codes.bits()), (200, 8));
            let mean = column_mean(&x);
            for i in 0..200 {
                for j in 0..8 {
                    let p: f64 = (0..12)
                        .map(|c| (x.row(i)[c] as f64 - mean[c]) * e.projection[c * 8 + j] as f64)
                        .sum();
                    if p.abs() > 1e-3 {
                        assert_eq!(codes.bit(i, j), p > 0.0, "{m:?} row {i} bit {j}");
                    }
                }
            }
            // centred: every bit splits the training set, none is constant
            for j in 0..8 {
                let ones = (0..200).filter(|&i| codes.bit(i, j)).count();
                assert!(ones > 0 && ones < 200, "{m:?} bit {j} constant");
            }
        }
        let e = Encoder::fit(Method::Pcah, &x, 16, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs bits ≤ data dimension"), "{e}");
        let e = Encoder::fit(Method::Lsh, &x, 12, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("positive multiple of 8 bits, got 12"), "{e}");
        let e = Encoder::fit(Method::Lsh, &x, 16, 0).unwrap();
        let err = e.encode(&Matrix::zeros(1, 5)).unwrap_err().to_string();
        assert!(err.contains("5 columns, the encoder was fit on"), "{err}");
    }
}
