//! `autoencoder score`: the score `∇ log p(x)` a denoising autoencoder has learned,
//! `(r(x) − x)/σ²` (Alain & Bengio 2014), with a quiver plot and a comparison with a toy
//! density's true score.

use autoencoder::analysis::score::{compare_scores, dae_score};
use autoencoder::data::toy::{self, Density};
use autoencoder::model::persist;
use autoencoder::{data, Error, Matrix, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model folder (a run folder: its config.toml gives the corruption level σ).
    #[arg(long)]
    model: PathBuf,
    /// Points at which to estimate the score.
    #[arg(long)]
    data: PathBuf,
    /// Output: the estimated score of each point, .npy or .csv.
    #[arg(long)]
    out: PathBuf,
    /// 2-D models: a quiver plot (PNG) of the estimated field on a 25 × 25 grid, over the true
    /// density when --true-density is given.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Compare with the true score of this toy density (mixture, ring, spiral) and print JSON:
    /// cosine_mean, magnitude_ratio_median, relative_magnitude_error, and the points left out.
    #[arg(long)]
    true_density: Option<String>,
    /// CSV label column (N or last), excluded from the features.
    #[arg(long)]
    label_column: Option<String>,
}

pub fn run(args: Args) -> Result<()> {
    let density = args
        .true_density
        .as_deref()
        .map(|name| {
            Density::parse(name).ok_or_else(|| {
                Error::Invalid(format!(
                    "--true-density: unknown density {name:?} (mixture, ring or spiral)"
                ))
            })
        })
        .transpose()?;
    let model = persist::load_model(&args.model)?;
    let corruption = super::training_corruption(&args.model, &model)?;
    let x = super::load_features(&args.data, args.label_column.as_deref())?;
    super::check_width(&args.data, &x, model.spec().input_size)?;
    let refuse = |e: Error| Error::format(&args.model, e.to_string());
    let estimate = dae_score(&model, corruption, &x).map_err(refuse)?;
    data::save_matrix(&args.out, &estimate)?;
    if let Some(path) = &args.plot {
        if x.cols() != 2 {
            return Err(Error::Invalid(format!(
                "--plot: the quiver plot is for 2-D data; {} has {} columns",
                args.data.display(),
                x.cols()
            )));
        }
        plot(&model, corruption, density, &x, path)?;
    }
    if let Some(density) = density {
        if x.cols() != 2 {
            return Err(Error::Invalid(format!(
                "--true-density: the toy densities are 2-D; {} has {} columns",
                args.data.display(),
                x.cols()
            )));
        }
        let points = toy::matrix_to_points(&x).expect("2 columns checked");
        let values = density.log_density_and_score(&points);
        let truth = Matrix::from_vec(
            x.rows(),
            2,
            values
                .iter()
                .flat_map(|(_, s)| [s[0] as f32, s[1] as f32])
                .collect(),
        );
        let log_p: Vec<f64> = values.iter().map(|(l, _)| *l).collect();
        let cmp = compare_scores(&estimate, &truth, &log_p, density.max_log_density())?;
        let sigma = match corruption {
            Some(autoencoder::Corruption::Gaussian { sigma }) => sigma as f64,
            _ => f64::NAN,
        };
        let mut json = serde_json::to_value(&cmp).map_err(|e| Error::Invalid(e.to_string()))?;
        json["density"] = density.name().into();
        json["sigma"] = sigma.into();
        super::print_json(&json);
    }
    Ok(())
}

/// The estimated field on a 25 × 25 grid over the data's (or the density's) box.
fn plot(
    model: &autoencoder::Autoencoder,
    corruption: Option<autoencoder::Corruption>,
    density: Option<Density>,
    x: &Matrix,
    path: &std::path::Path,
) -> Result<()> {
    let bounds = match density {
        Some(d) => d.bounds(),
        None => {
            let (mut b, rows) = (
                [
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                ],
                x.rows(),
            );
            for r in 0..rows {
                let p = x.row(r);
                b = [
                    b[0].min(p[0] as f64),
                    b[1].max(p[0] as f64),
                    b[2].min(p[1] as f64),
                    b[3].max(p[1] as f64),
                ];
            }
            let (px, py) = (
                0.05 * (b[1] - b[0]).max(1e-6),
                0.05 * (b[3] - b[2]).max(1e-6),
            );
            [b[0] - px, b[1] + px, b[2] - py, b[3] + py]
        }
    };
    let [x0, x1, y0, y1] = bounds;
    let cells = 25usize;
    let centre = |i: usize, lo: f64, hi: f64| lo + (hi - lo) * (i as f64 + 0.5) / cells as f64;
    let grid: Vec<[f64; 2]> = (0..cells * cells)
        .map(|k| [centre(k % cells, x0, x1), centre(k / cells, y0, y1)])
        .collect();
    let field = dae_score(model, corruption, &toy::points_to_matrix(&grid))?;
    let arrows: Vec<([f64; 2], [f64; 2])> = grid
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, [field.row(i)[0] as f64, field.row(i)[1] as f64]))
        .collect();
    let bg = 160usize;
    let shade: Option<Vec<f64>> = density.map(|d| {
        let pts: Vec<[f64; 2]> = (0..bg * bg)
            .map(|k| {
                [
                    x0 + (x1 - x0) * ((k % bg) as f64 + 0.5) / bg as f64,
                    y0 + (y1 - y0) * ((k / bg) as f64 + 0.5) / bg as f64,
                ]
            })
            .collect();
        let top = d.max_log_density();
        d.log_density_and_score(&pts)
            .iter()
            .map(|(l, _)| (l - top).exp())
            .collect()
    });
    let title = match density {
        Some(d) => format!("DAE score field over the {} density", d.name()),
        None => "DAE score field".to_string(),
    };
    autoencoder::report::plots::vector_field(
        &title,
        bounds,
        shade.as_deref().map(|s| (s, bg)),
        &arrows,
        cells,
        path,
    )
}
