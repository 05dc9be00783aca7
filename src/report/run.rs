//! The run folder's `report/*.png` (the model, metrics and checkpoint files are written by
//! [`crate::train::checkpoint`]).

use crate::baselines::Pca;
use crate::error::Result;
use crate::fsutil::create_dir;
use crate::linalg::{Matrix, Rng};
use crate::model::Autoencoder;
use crate::train::EpochMetrics;
use std::path::Path;

/// Writes `report/`: loss curves; for square image data, originals vs reconstructions and
/// first-layer filters; a 2-D map of the codes (PCA of the codes when wider than 2).
pub fn write_report(
    dir: &Path,
    model: &Autoencoder,
    history: &[EpochMetrics],
    sample: &Matrix,
    labels: Option<&[i64]>,
) -> Result<()> {
    let report = dir.join("report");
    create_dir(&report)?;
    let train: Vec<f64> = history.iter().map(|m| m.train_loss).collect();
    let val: Vec<f64> = history.iter().filter_map(|m| m.validation_loss).collect();
    super::plots::loss_curves(&train, &val, &report.join("loss.png"))?;
    let n = sample.rows().min(2000);
    let sample = sample.slice_rows(0, n);
    let codes = model.encode(&sample)?;
    let side = (sample.cols() as f64).sqrt() as usize;
    if side * side == sample.cols() && side >= 4 {
        let recon = model.reconstruct(&sample)?;
        super::plots::reconstruction_grid(
            &sample,
            &recon,
            16,
            &report.join("reconstructions.png"),
        )?;
        let first = &model.tensors()[0];
        super::plots::filters(
            &first.data,
            first.shape[0],
            first.shape[1],
            100,
            &report.join("filters.png"),
        )?;
        // straight lines in code space between pairs of examples, decoded
        let steps = 10;
        let pairs = (n / 2).min(8);
        if pairs > 0 {
            let k = codes.cols();
            let mut path = Matrix::zeros(pairs * steps, k);
            for p in 0..pairs {
                let (a, b) = (codes.row(2 * p), codes.row(2 * p + 1));
                for s in 0..steps {
                    let t = s as f32 / (steps - 1) as f32;
                    for (dst, (u, v)) in path.row_mut(p * steps + s).iter_mut().zip(a.iter().zip(b))
                    {
                        *dst = (1.0 - t) * u + t * v;
                    }
                }
            }
            super::plots::image_grid(
                &model.decode(&path)?,
                steps,
                &report.join("interpolations.png"),
            )?;
        }
        if model.spec().code_distribution == crate::objective::CodeDistribution::Gaussian {
            let mut rng = Rng::new(0);
            let k = model.spec().code_size;
            let prior = Matrix::from_vec(64, k, (0..64 * k).map(|_| rng.normal()).collect());
            super::plots::image_grid(&model.decode(&prior)?, 8, &report.join("samples.png"))?;
        }
    }
    let points: Vec<(f32, f32)> = if codes.cols() == 1 {
        (0..n).map(|i| (codes.row(i)[0], 0.0)).collect()
    } else if codes.cols() == 2 {
        (0..n).map(|i| (codes.row(i)[0], codes.row(i)[1])).collect()
    } else if n < 2 {
        // One example has no principal directions; it sits at the origin of its map.
        vec![(0.0, 0.0); n]
    } else {
        let p = Pca::fit(&codes, 2)?.transform(&codes)?;
        (0..n).map(|i| (p.row(i)[0], p.row(i)[1])).collect()
    };
    super::plots::code_map(
        &points,
        labels.map(|l| &l[..n.min(l.len())]),
        &report.join("codes.png"),
    )
}
