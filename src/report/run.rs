//! The run folder's `report/*.png` (the model, metrics and checkpoint files are written by
//! [`crate::train::checkpoint`]).

use crate::baselines::Pca;
use crate::error::Result;
use crate::fsutil::create_dir;
use crate::linalg::{Matrix, Rng};
use crate::model::Autoencoder;
use crate::rbm::{Rbm, Units};
use crate::train::EpochMetrics;
use std::path::Path;

/// How the report maps codes wider than 2 to its 2-D code map (`[report] map`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MapMethod {
    #[default]
    Pca,
    Isomap,
    Lle,
    Tsne,
}

/// `[report] format`: how the report's curves and maps are written (image mosaics are PNG
/// either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlotFormat {
    /// Raster, `.png`.
    #[default]
    Png,
    /// Vector, `.svg`.
    Svg,
}

impl PlotFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            PlotFormat::Png => "png",
            PlotFormat::Svg => "svg",
        }
    }
}

impl MapMethod {
    fn name(self) -> &'static str {
        match self {
            MapMethod::Pca => "PCA",
            MapMethod::Isomap => "Isomap",
            MapMethod::Lle => "LLE",
            MapMethod::Tsne => "t-SNE",
        }
    }

    /// The 2-D map of `codes` (at least 3 rows).
    fn fit(self, codes: &Matrix) -> Result<Matrix> {
        let neighbors = 10.min(codes.rows() - 2);
        Ok(match self {
            MapMethod::Pca => Pca::fit(codes, 2)?.transform(codes)?,
            MapMethod::Isomap => crate::baselines::Isomap::fit(codes, 2, neighbors, 0)?
                .embedding()
                .clone(),
            MapMethod::Lle => crate::baselines::Lle::fit(
                codes,
                2,
                neighbors,
                crate::baselines::lle::DEFAULT_REG,
                0,
            )?
            .embedding()
            .clone(),
            MapMethod::Tsne => {
                let options = crate::baselines::tsne::TsneOptions {
                    perplexity: 30f64.min((codes.rows() - 1) as f64 / 3.0),
                    ..Default::default()
                };
                crate::baselines::tsne::fit(codes, 2, &options)?.embedding
            }
        })
    }
}

/// Writes `report/`: loss curves; for square image data, originals vs reconstructions and
/// first-layer filters; a 2-D map of the codes (the code itself when 2-D, else `map` of it),
/// titled with its trustworthiness against the inputs and its 5-NN accuracy (with labels).
/// The loss curves and the map are written in `format`; the image mosaics as PNG.
pub fn write_report(
    dir: &Path,
    model: &Autoencoder,
    history: &[EpochMetrics],
    sample: &Matrix,
    labels: Option<&[i64]>,
    map: MapMethod,
    format: PlotFormat,
) -> Result<()> {
    let ext = format.extension();
    let report = dir.join("report");
    create_dir(&report)?;
    let train: Vec<f64> = history.iter().map(|m| m.train_loss).collect();
    let val: Vec<f64> = history.iter().filter_map(|m| m.validation_loss).collect();
    super::plots::loss_curves(&train, &val, &report.join(format!("loss.{ext}")))?;
    let n = sample.rows().min(2000);
    let sample = sample.slice_rows(0, n);
    let codes = model.encode(&sample)?;
    let side = (sample.cols() as f64).sqrt() as usize;
    // images of a conv model: grey or colour, any aspect
    if let crate::layers::Shape::Image {
        channels: channels @ (1 | 3),
        height,
        width,
    } = model.spec().input_shape()
    {
        // the first conv layer's kernels
        let first = &model.tensors()[0];
        if let [filters, c @ (1 | 3), kh, kw] = first.shape[..] {
            super::plots::kernels(
                &first.data,
                filters,
                (c, kh, kw),
                100,
                &report.join("filters.png"),
            )?;
        }
        if !(channels == 1 && height == side && width == side) {
            let recon = model.reconstruct(&sample)?;
            super::plots::reconstruction_grid_images(
                &sample,
                &recon,
                16,
                (channels, height, width),
                &report.join("reconstructions.png"),
            )?;
        }
    }
    // square grey images (flat rows or 1×side×side): reconstructions, dense filters,
    // interpolations and samples as square tiles
    let square = match model.spec().input_shape() {
        crate::layers::Shape::Image {
            channels,
            height,
            width,
        } => channels == 1 && height == width,
        crate::layers::Shape::Flat(_) => true,
    };
    if square && side * side == sample.cols() && side >= 4 {
        let recon = model.reconstruct(&sample)?;
        super::plots::reconstruction_grid(
            &sample,
            &recon,
            16,
            &report.join("reconstructions.png"),
        )?;
        // the first layer's filters: a dense weight's rows, or a one-channel conv's kernels
        let first = &model.tensors()[0];
        let tiles = match first.shape[..] {
            [units, pixels] => Some((units, pixels)),
            _ => None,
        };
        if let Some((units, pixels)) = tiles {
            super::plots::filters(&first.data, units, pixels, 100, &report.join("filters.png"))?;
        }
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
        if model.spec().code_distribution == crate::code::CodeDistribution::Gaussian {
            let mut rng = Rng::new(0);
            let k = model.spec().code_size;
            let prior = Matrix::from_vec(64, k, (0..64 * k).map(|_| rng.normal()).collect());
            super::plots::image_grid(&model.decode(&prior)?, 8, &report.join("samples.png"))?;
        }
    }
    let (points, how): (Vec<(f32, f32)>, &str) = if codes.cols() == 1 {
        ((0..n).map(|i| (codes.row(i)[0], 0.0)).collect(), "CODE")
    } else if codes.cols() == 2 {
        (
            (0..n).map(|i| (codes.row(i)[0], codes.row(i)[1])).collect(),
            "CODE",
        )
    } else if n < 3 {
        // too few examples for a map; they sit at the origin
        (vec![(0.0, 0.0); n], "")
    } else {
        let p = map.fit(&codes)?;
        (
            (0..n).map(|i| (p.row(i)[0], p.row(i)[1])).collect(),
            map.name(),
        )
    };
    let mut title = format!("Codes, 2-D {how}");
    if n >= 12 {
        use crate::analysis::embedding_quality::{knn_accuracy, trustworthiness};
        let low = Matrix::from_vec(n, 2, points.iter().flat_map(|(x, y)| [*x, *y]).collect());
        if let Ok(t) = trustworthiness(&sample, &low, 5) {
            title.push_str(&format!("   trustworthiness {t:.3}"));
        }
        if let Some(l) = labels.filter(|l| l.len() >= n) {
            if let Ok(a) = knn_accuracy(&low, &l[..n], 5) {
                title.push_str(&format!("   5-NN accuracy {a:.3}"));
            }
        }
    }
    super::plots::code_map(
        &points,
        labels.map(|l| &l[..n.min(l.len())]),
        &title,
        &report.join(format!("codes.{ext}")),
    )
}

/// Writes `report/` of a standalone RBM: reconstruction error per epoch (train, validation);
/// for square image data, originals vs one-step reconstructions `E[v | E[h | v]]` and the
/// filters (rows of `W`). The curve is written in `format`, the mosaics as PNG.
pub fn write_rbm_report(
    dir: &Path,
    rbm: &Rbm,
    history: &[EpochMetrics],
    sample: &Matrix,
    format: PlotFormat,
) -> Result<()> {
    let report = dir.join("report");
    create_dir(&report)?;
    let train: Vec<f64> = history.iter().map(|m| m.train_loss).collect();
    let val: Vec<f64> = history
        .iter()
        .filter_map(|m| m.validation_squared_error)
        .collect();
    let loss = report.join(format!("loss.{}", format.extension()));
    super::plots::loss_curves(&train, &val, &loss)?;
    let spec = rbm.spec();
    let side = (spec.visible as f64).sqrt() as usize;
    if side * side == spec.visible && side >= 4 && sample.cols() == spec.visible {
        let sample = sample.slice_rows(0, sample.rows().min(16));
        let recon = rbm.visible_means(&rbm.hidden_means(&sample)?)?;
        super::plots::reconstruction_grid(
            &sample,
            &recon,
            16,
            &report.join("reconstructions.png"),
        )?;
        super::plots::filters(
            &rbm.weight,
            spec.hidden,
            spec.visible,
            100,
            &report.join("filters.png"),
        )?;
    }
    Ok(())
}

/// One RBM of a pretraining stack, as `report/pretraining.json` lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StackLayer {
    /// 1 for the RBM on the data.
    pub layer: usize,
    pub visible: usize,
    pub hidden: usize,
    pub hidden_units: Units,
    /// Mean over the sample of `‖v − E[v | E[h | v]]‖²`, on the input this RBM learned from
    /// (the data, or the previous RBM's hidden probabilities).
    pub reconstruction_error: f64,
}

/// Writes `report/pretraining.json` (each RBM's shape and reconstruction error on `sample`
/// propagated up the stack) and, for square image data, `report/rbm1_filters.png`.
pub fn write_stack_report(dir: &Path, stack: &[Rbm], sample: &Matrix) -> Result<Vec<StackLayer>> {
    let report = dir.join("report");
    create_dir(&report)?;
    let mut input = sample.slice_rows(0, sample.rows().min(2000));
    let mut layers = Vec::with_capacity(stack.len());
    for (l, rbm) in stack.iter().enumerate() {
        let spec = rbm.spec();
        layers.push(StackLayer {
            layer: l + 1,
            visible: spec.visible,
            hidden: spec.hidden,
            hidden_units: spec.hidden_units,
            reconstruction_error: rbm.reconstruction_error(&input)?,
        });
        input = rbm.hidden_means(&input)?;
    }
    let json = serde_json::to_string_pretty(&layers)
        .map_err(|e| crate::error::Error::Invalid(format!("pretraining report: {e}")))?;
    crate::fsutil::atomic_write(&report.join("pretraining.json"), json.as_bytes())?;
    if let Some(first) = stack.first() {
        let spec = first.spec();
        let side = (spec.visible as f64).sqrt() as usize;
        if side * side == spec.visible && side >= 4 {
            super::plots::filters(
                &first.weight,
                spec.hidden,
                spec.visible,
                100,
                &report.join("rbm1_filters.png"),
            )?;
        }
    }
    Ok(layers)
}
