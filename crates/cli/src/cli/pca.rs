//! `autoencoder pca`.

use autoencoder::baselines::Pca;
use autoencoder::{data, Error, Matrix, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Number of components.
    #[arg(long)]
    components: usize,
    /// Data to fit on.
    #[arg(long)]
    data: PathBuf,
    /// Data to evaluate on (default: the fitting data).
    #[arg(long)]
    test: Option<PathBuf>,
    /// Folder for components.npy, mean.npy and codes.npy.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let train = super::load_features(&args.data, None)?;
    let pca =
        Pca::fit(&train, args.components).map_err(|e| Error::format(&args.data, e.to_string()))?;
    let (eval_path, eval) = match &args.test {
        Some(p) => (p.clone(), super::load_features(p, None)?),
        None => (args.data.clone(), train.clone()),
    };
    let err = pca
        .squared_error_per_example(&eval)
        .map_err(|e| Error::format(&eval_path, e.to_string()))?;
    let train_err = pca.squared_error_per_example(&train)?;
    if let Some(dir) = &args.out {
        super::ensure_writable_dir(dir)?;
        let (d, k) = (pca.components.nrows(), pca.components.ncols());
        let comps = Matrix::from_vec(
            k,
            d,
            (0..k)
                .flat_map(|j| (0..d).map(move |i| (i, j)))
                .map(|(i, j)| pca.components[(i, j)] as f32)
                .collect(),
        );
        data::save_matrix(&dir.join("components.npy"), &comps)?;
        data::save_matrix(
            &dir.join("mean.npy"),
            &Matrix::from_vec(1, d, pca.mean.iter().map(|v| *v as f32).collect()),
        )?;
        data::save_matrix(&dir.join("codes.npy"), &pca.transform(&eval)?)?;
    }
    if args.json {
        super::print_json(&serde_json::json!({
            "components": args.components,
            "examples": eval.rows(),
            "squared_error_per_example": err,
            "train_squared_error_per_example": train_err,
            "explained_variance": pca.explained_variance,
        }));
    } else {
        println!("components                 {}", args.components);
        println!("examples                   {}", eval.rows());
        println!("squared error per example  {err:.4}");
    }
    Ok(())
}
