//! `autoencoder toy`: 2-D densities with known scores, and manifolds with known tangents.

use autoencoder::data::npy;
use autoencoder::data::toy::{self, Density, Manifold};
use autoencoder::linalg::Rng;
use autoencoder::{data, Error, Matrix, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A 2-D density: mixture, ring or spiral.
    #[arg(long, conflicts_with = "manifold")]
    density: Option<String>,
    /// A manifold: circle, sphere, swiss_roll or torus.
    #[arg(long)]
    manifold: Option<String>,
    /// Manifolds: dimensions of the space the manifold is mapped into (default: its own 2 or 3).
    #[arg(long)]
    ambient: Option<usize>,
    /// Manifolds: std of the isotropic Gaussian noise added in every dimension.
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// Number of points.
    #[arg(long, default_value_t = 5000)]
    n: usize,
    /// Seed (for a manifold it also fixes the random map into the ambient space).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output points: .npy or .csv.
    #[arg(long)]
    out: PathBuf,
    /// Manifolds: write the true tangent bases, shape (n, d, D), to this .npy file.
    #[arg(long)]
    tangents: Option<PathBuf>,
    /// Densities: write the true score ∇ log p at each point to this .npy/.csv file.
    #[arg(long)]
    score: Option<PathBuf>,
    /// Densities: write log p at each point to this .npy/.csv file.
    #[arg(long)]
    log_density: Option<PathBuf>,
    /// Print JSON with the energy distance between the points drawn and these (for example
    /// another seed's draw: the yardstick for a sampler's distance).
    #[arg(long)]
    reference: Option<PathBuf>,
}

/// More points than this are a typo.
const MAX_POINTS: usize = 10_000_000;
/// Wider ambient spaces than this are a typo.
const MAX_AMBIENT: usize = 100_000;

pub fn run(args: Args) -> Result<()> {
    if args.n == 0 || args.n > MAX_POINTS {
        return Err(Error::Invalid(format!(
            "--n must be between 1 and {MAX_POINTS}, got {}",
            args.n
        )));
    }
    let mut rng = Rng::new(args.seed);
    match (&args.density, &args.manifold) {
        (Some(name), None) => {
            let density = Density::parse(name).ok_or_else(|| {
                Error::Invalid(format!(
                    "--density: unknown density {name:?} (mixture, ring or spiral)"
                ))
            })?;
            if args.tangents.is_some() || args.ambient.is_some() || args.noise != 0.0 {
                return Err(Error::Invalid(
                    "--tangents, --ambient and --noise are for --manifold".into(),
                ));
            }
            let points = density.sample(args.n, &mut rng);
            let values = density.log_density_and_score(&points);
            if let Some(path) = &args.score {
                let s: Vec<f32> = values
                    .iter()
                    .flat_map(|(_, s)| [s[0] as f32, s[1] as f32])
                    .collect();
                data::save_matrix(path, &Matrix::from_vec(args.n, 2, s))?;
            }
            if let Some(path) = &args.log_density {
                let l: Vec<f32> = values.iter().map(|(l, _)| *l as f32).collect();
                data::save_matrix(path, &Matrix::from_vec(args.n, 1, l))?;
            }
            let x = toy::points_to_matrix(&points);
            data::save_matrix(&args.out, &x)?;
            if let Some(path) = &args.reference {
                let reference = data::load_features(path, None)?;
                super::check_width(path, &reference, 2)?;
                let e = autoencoder::analysis::two_sample::energy_distance(&x, &reference)?;
                super::print_json(&serde_json::json!({
                    "samples": x.rows(),
                    "reference": reference.rows(),
                    "energy_distance": e,
                }));
            }
            Ok(())
        }
        (None, Some(name)) => {
            let manifold = Manifold::parse(name).ok_or_else(|| {
                Error::Invalid(format!(
                    "--manifold: unknown manifold {name:?} (circle, sphere, swiss_roll or torus)"
                ))
            })?;
            if args.score.is_some() || args.log_density.is_some() || args.reference.is_some() {
                return Err(Error::Invalid(
                    "--score, --log-density and --reference are for --density".into(),
                ));
            }
            let ambient = args.ambient.unwrap_or(manifold.coordinates());
            if ambient > MAX_AMBIENT {
                return Err(Error::Invalid(format!(
                    "--ambient must be at most {MAX_AMBIENT}, got {ambient}"
                )));
            }
            if (args.n as u128) * (ambient as u128) * (manifold.dim() as u128 + 1) > 1 << 31 {
                return Err(Error::Invalid(format!(
                    "--n {} × --ambient {ambient} is too large to hold in memory",
                    args.n
                )));
            }
            let sample = manifold.sample(args.n, ambient, args.noise, &mut rng)?;
            if let Some(path) = &args.tangents {
                let bytes = npy::encode_f32_shape(
                    &[args.n, sample.dim, ambient],
                    sample.tangents.as_slice(),
                );
                autoencoder::fsutil::atomic_write(path, &bytes)?;
            }
            data::save_matrix(&args.out, &sample.points)
        }
        _ => Err(Error::Invalid(
            "name exactly one of --density (mixture, ring, spiral) or --manifold (circle, sphere, swiss_roll, torus)".into(),
        )),
    }
}
