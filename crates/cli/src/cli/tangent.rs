//! `autoencoder tangent`: tangent planes from an encoder's Jacobian (Rifai et al. 2011), or from
//! local PCA of nearest neighbours, with their spectra and a comparison with true tangents.

use autoencoder::analysis::tangent::{
    encoder_tangents, local_pca_tangents, mean_principal_angle_degrees, reconstruction_tangents,
    Tangents,
};
use autoencoder::data::npy;
use autoencoder::model::persist;
use autoencoder::{data, Error, Matrix, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Model folder (omit with --local-pca).
    #[arg(long, required_unless_present = "local_pca")]
    model: Option<PathBuf>,
    /// Points at which to estimate the tangent plane.
    #[arg(long)]
    data: PathBuf,
    /// Tangent directions per point (the leading right singular vectors of ∂h/∂x, or the
    /// leading left singular vectors of ∂r/∂x with --of reconstruction).
    #[arg(long)]
    dim: usize,
    /// Whose Jacobian: `encoder` (∂h/∂x: the input directions the code keeps) or
    /// `reconstruction` (∂r/∂x of r = g∘f: the directions the reconstruction moves along, the
    /// tangent plane where r maps onto the manifold; more accurate for contractive AEs).
    #[arg(long, default_value = "encoder", value_parser = ["encoder", "reconstruction"])]
    of: String,
    /// Output: tangent bases, shape (n, dim, D), .npy.
    #[arg(long)]
    out: PathBuf,
    /// Also write every point's singular values, shape (n, min(k, D)), .npy or .csv.
    #[arg(long)]
    singular_values: Option<PathBuf>,
    /// Instead of a model: local PCA on this many nearest neighbours of each point (in --data).
    #[arg(long, conflicts_with = "model")]
    local_pca: Option<usize>,
    /// True tangent bases (n, dim, D) to compare with: prints JSON with mean_principal_angle_degrees.
    #[arg(long)]
    true_tangents: Option<PathBuf>,
    /// Spectrum plot (PNG): mean log10 singular value by rank.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Spectrum as JSON lines, one per rank (`rank`, `mean_singular_value`,
    /// `mean_log10_singular_value`): `autoencoder plot --metrics A.jsonl B.jsonl --key
    /// mean_log10_singular_value` draws several models' spectra on shared axes.
    #[arg(long)]
    spectrum: Option<PathBuf>,
    /// Square-image data: the first point's tangent vectors as images (PNG).
    #[arg(long)]
    tangent_images: Option<PathBuf>,
    /// Print JSON (points, dim, seconds, and the comparison when --true-tangents is given).
    #[arg(long)]
    json: bool,
    /// CSV label column (N or last), excluded from the features.
    #[arg(long)]
    label_column: Option<String>,
}

/// Larger neighbourhoods than this are a typo.
const MAX_NEIGHBORS: usize = 100_000;

pub fn run(args: Args) -> Result<()> {
    if !args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        return Err(Error::format(
            &args.out,
            "tangent bases are written as .npy (a 3-D array)",
        ));
    }
    let x = super::load_features(&args.data, args.label_column.as_deref())?;
    let started = Instant::now();
    let tangents: Tangents = match (&args.model, args.local_pca) {
        (_, Some(k)) => {
            if k == 0 || k > MAX_NEIGHBORS || k >= x.rows() {
                return Err(Error::Invalid(format!(
                    "--local-pca {k}: needs 1 ≤ neighbours < the {} points",
                    x.rows()
                )));
            }
            local_pca_tangents(&x, k, args.dim)?
        }
        (Some(dir), None) => {
            let model = persist::load_model(dir)?;
            super::check_width(&args.data, &x, model.spec().input_size)?;
            let (d, k) = (
                model.spec().input_size as u128,
                model.spec().code_size as u128,
            );
            if (x.rows() as u128) * k * d > 1 << 32 {
                // the Jacobians are computed in bounded chunks, but the bases and spectra of all
                // points are held: refuse what cannot fit rather than abort
                return Err(Error::Invalid(format!(
                    "{}: {} points × a {k} × {d} Jacobian is too large; split the data",
                    args.data.display(),
                    x.rows()
                )));
            }
            if args.of == "reconstruction" {
                reconstruction_tangents(&model, &x, args.dim)?
            } else {
                encoder_tangents(&model, &x, args.dim)?
            }
        }
        (None, None) => unreachable!("clap requires --model or --local-pca"),
    };
    let seconds = started.elapsed().as_secs_f64();
    let d = x.cols();
    autoencoder::fsutil::atomic_write(
        &args.out,
        &npy::encode_f32_shape(&[x.rows(), args.dim, d], tangents.bases.as_slice()),
    )?;
    if let Some(path) = &args.singular_values {
        data::save_matrix(path, &tangents.singular_values)?;
    }
    let s = &tangents.singular_values;
    let column_mean = |f: &dyn Fn(f64) -> f64| -> Vec<f64> {
        (0..s.cols())
            .map(|c| (0..s.rows()).map(|r| f(s.row(r)[c] as f64)).sum::<f64>() / s.rows() as f64)
            .collect()
    };
    let mean_log = column_mean(&|v| v.max(1e-12).log10());
    if let Some(path) = &args.spectrum {
        let mean = column_mean(&|v| v);
        let text: String = (0..s.cols())
            .map(|c| {
                serde_json::json!({
                    "rank": c + 1,
                    "mean_singular_value": mean[c],
                    "mean_log10_singular_value": mean_log[c],
                })
                .to_string()
                    + "\n"
            })
            .collect();
        autoencoder::fsutil::atomic_write(path, text.as_bytes())?;
    }
    if let Some(path) = &args.plot {
        autoencoder::report::plots::curves_on(
            "Mean log10 singular value of the encoder's Jacobian by rank",
            autoencoder::report::plots::Axes {
                x: "rank",
                y: "mean log10 σ",
            },
            &[("log10 σ", &mean_log)],
            path,
        )?;
    }
    if let Some(path) = &args.tangent_images {
        let first = Matrix::from_vec(
            args.dim,
            d,
            tangents.bases.as_slice()[..args.dim * d].to_vec(),
        );
        // each vector rescaled to [0, 1] for display
        let mut shown = first.clone();
        for r in 0..shown.rows() {
            let row = shown.row_mut(r);
            let top = row.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
            row.iter_mut().for_each(|v| *v = 0.5 + 0.5 * *v / top);
        }
        autoencoder::report::plots::image_grid(&shown, args.dim.min(10), path)?;
    }
    let mut json = serde_json::json!({
        "points": x.rows(),
        "dim": args.dim,
        "seconds": seconds,
        "method": match (args.local_pca.is_some(), args.of.as_str()) {
            (true, _) => "local_pca",
            (false, "reconstruction") => "reconstruction_jacobian",
            (false, _) => "encoder_jacobian",
        },
    });
    if let Some(path) = &args.true_tangents {
        let (shape, values) = npy::read_f32_array(path)?;
        if shape != [x.rows(), args.dim, d] {
            return Err(Error::format(
                path,
                format!(
                    "shape {shape:?}, expected ({}, {}, {d}) to match --data and --dim",
                    x.rows(),
                    args.dim
                ),
            ));
        }
        let truth = Matrix::from_vec(x.rows() * args.dim, d, values);
        json["mean_principal_angle_degrees"] =
            mean_principal_angle_degrees(&tangents.bases, &truth, args.dim)?.into();
    }
    if args.json || args.true_tangents.is_some() {
        super::print_json(&json);
    }
    Ok(())
}
