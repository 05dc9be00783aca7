//! `autoencoder embedding-quality`: how well a map keeps the data's neighbourhoods
//! (trustworthiness, continuity) and its classes (k-NN accuracy, leave-one-out and on test
//! points against training points).

use autoencoder::analysis::embedding_quality as quality;
use autoencoder::{Error, Matrix, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// The data the map was made from (any data format); gives trustworthiness and continuity.
    #[arg(long)]
    high: Option<PathBuf>,
    /// The map of the same points, one row each (.npy or .csv).
    #[arg(long)]
    low: PathBuf,
    /// Neighbours k of every measure.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Labels of the map's points (1-D .npy, or an IDX labels file): leave-one-out k-NN accuracy.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Map of training points: the `--low` points are classified by their k nearest of these.
    #[arg(long, requires = "train_labels", requires = "labels")]
    train_low: Option<PathBuf>,
    /// Labels of `--train-low`.
    #[arg(long, requires = "train_low")]
    train_labels: Option<PathBuf>,
    /// A scatter plot of the map coloured by label (PNG).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn labels_for(path: &Path, points: &Matrix) -> Result<Vec<i64>> {
    let npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let labels = if npy {
        autoencoder::data::npy::read_labels(path)?
    } else {
        autoencoder::data::idx::read_labels(path)?
    };
    if labels.len() != points.rows() {
        return Err(Error::format(
            path,
            format!("{} labels for {} points", labels.len(), points.rows()),
        ));
    }
    Ok(labels)
}

pub fn run(args: Args) -> Result<()> {
    let low = super::load_features(&args.low, None)?;
    let labels = args
        .labels
        .as_ref()
        .map(|p| labels_for(p, &low))
        .transpose()?;
    let started = Instant::now();
    let mut out = serde_json::json!({ "k": args.k, "points": low.rows(), "dim": low.cols() });
    let named = |path: &Path, e: Error| match e {
        Error::Invalid(m) | Error::Shape(m) => Error::format(path, m),
        other => other,
    };
    if let Some(high_path) = &args.high {
        let high = super::load_features(high_path, None)?;
        if high.rows() != low.rows() {
            return Err(Error::format(
                high_path,
                format!(
                    "{} rows, the map {} has {}",
                    high.rows(),
                    args.low.display(),
                    low.rows()
                ),
            ));
        }
        out["trustworthiness"] = quality::trustworthiness(&high, &low, args.k)
            .map_err(|e| named(&args.low, e))?
            .into();
        out["continuity"] = quality::continuity(&high, &low, args.k)
            .map_err(|e| named(&args.low, e))?
            .into();
    }
    if let Some(labels) = &labels {
        out["knn_accuracy"] = quality::knn_accuracy(&low, labels, args.k)
            .map_err(|e| named(&args.low, e))?
            .into();
    }
    if let (Some(train_path), Some(train_labels_path), Some(labels)) =
        (&args.train_low, &args.train_labels, &labels)
    {
        let train = super::load_features(train_path, None)?;
        if train.cols() != low.cols() {
            return Err(Error::format(
                train_path,
                format!(
                    "{} columns, the map {} has {}",
                    train.cols(),
                    args.low.display(),
                    low.cols()
                ),
            ));
        }
        let train_labels = labels_for(train_labels_path, &train)?;
        out["knn_test_accuracy"] =
            quality::knn_test_accuracy(&train, &train_labels, &low, labels, args.k)
                .map_err(|e| named(train_path, e))?
                .into();
    }
    out["seconds"] = started.elapsed().as_secs_f64().into();
    if let Some(plot) = &args.plot {
        if low.cols() != 2 {
            return Err(Error::format(
                &args.low,
                format!("--plot draws 2-D maps; this one has {} columns", low.cols()),
            ));
        }
        let points: Vec<(f32, f32)> = (0..low.rows())
            .map(|r| (low.row(r)[0], low.row(r)[1]))
            .collect();
        let mut title = String::from("Map, 2-D");
        for (key, short) in [
            ("trustworthiness", "trustworthiness"),
            ("knn_accuracy", "k-NN accuracy"),
            ("knn_test_accuracy", "test k-NN accuracy"),
        ] {
            if let Some(v) = out[key].as_f64() {
                title.push_str(&format!("   {short} {v:.3}"));
            }
        }
        autoencoder::report::plots::code_map(&points, labels.as_deref(), &title, plot)?;
    }
    if args.json {
        println!("{out}");
    } else {
        for key in [
            "trustworthiness",
            "continuity",
            "knn_accuracy",
            "knn_test_accuracy",
        ] {
            if let Some(v) = out.get(key).and_then(|v| v.as_f64()) {
                println!("{key:<20} {v:.4}");
            }
        }
    }
    Ok(())
}
