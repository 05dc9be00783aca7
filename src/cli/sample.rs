//! `autoencoder sample`: decode codes drawn from the prior `N(0, I)`.

use autoencoder::linalg::Rng;
use autoencoder::model::persist;
use autoencoder::{data, Matrix, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model folder.
    #[arg(long)]
    model: PathBuf,
    /// Number of samples.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Output: .npy or .csv (decoded means), or .png (a grid, for square images).
    #[arg(long)]
    out: PathBuf,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: Args) -> Result<()> {
    let model = persist::load_model(&args.model)?;
    let k = model.spec().code_size;
    let mut rng = Rng::new(args.seed);
    let codes = Matrix::from_vec(args.n, k, (0..args.n * k).map(|_| rng.normal()).collect());
    let images = model.decode(&codes)?;
    if args.out.extension().is_some_and(|e| e == "png") {
        autoencoder::report::plots::image_grid(&images, 8, &args.out)
    } else {
        data::save_matrix(&args.out, &images)
    }
}
