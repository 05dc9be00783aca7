//! `autoencoder embed`: 2-D maps of data. Fits PCA, Isomap, LLE or t-SNE on `--fit` and embeds
//! further `--data` files out of sample where the method allows; or maps data through a trained
//! model whose code is 2-D (`--model`), which embeds any point by a forward pass (§14.6).

use autoencoder::baselines::tsne::{self, TsneInit, TsneMethod, TsneOptions};
use autoencoder::baselines::{Isomap, Lle, Pca};
use autoencoder::{data, Error, Matrix, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Method {
    Pca,
    Isomap,
    Lle,
    Tsne,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TsneGradient {
    Auto,
    Exact,
    BarnesHut,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Init {
    Pca,
    Random,
}

#[derive(clap::Args)]
pub struct Args {
    /// The map to fit on --fit.
    #[arg(long, required_unless_present = "model", conflicts_with = "model")]
    method: Option<Method>,
    /// A trained model with a 2-D code: its encoder is the map (--data files only).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Data to fit the map on (any data format).
    #[arg(long, requires = "method")]
    fit: Option<PathBuf>,
    /// Use only the first N rows of --fit.
    #[arg(long, value_name = "N")]
    rows: Option<usize>,
    /// Data to embed with the fitted map; repeatable, each with its own --out.
    #[arg(long)]
    data: Vec<PathBuf>,
    /// Output maps (.npy or .csv): with --fit, the first is the map of the --fit points, then
    /// one per --data, in order.
    #[arg(long, required = true)]
    out: Vec<PathBuf>,
    /// Dimension of the map.
    #[arg(long, default_value_t = 2)]
    dim: usize,
    /// Neighbours of the Isomap / LLE graph.
    #[arg(long, default_value_t = 10)]
    neighbors: usize,
    /// LLE's regularization of the local Gram matrix (times its trace).
    #[arg(long, default_value_t = autoencoder::baselines::lle::DEFAULT_REG)]
    reg: f64,
    /// t-SNE's perplexity.
    #[arg(long, default_value_t = 30.0)]
    perplexity: f64,
    /// t-SNE's gradient steps (the 250 exaggerated ones included).
    #[arg(long, default_value_t = 1000)]
    iterations: usize,
    /// t-SNE's learning rate (default: max(n / 48, 50)).
    #[arg(long)]
    learning_rate: Option<f64>,
    /// t-SNE's gradient: exact (all pairs) or Barnes–Hut (quadtree); auto = exact up to 2,000 points.
    #[arg(long, value_enum, default_value = "auto")]
    tsne_gradient: TsneGradient,
    /// Barnes–Hut's opening angle.
    #[arg(long, default_value_t = 0.5)]
    theta: f64,
    /// t-SNE's starting map.
    #[arg(long, value_enum, default_value = "pca")]
    init: Init,
    /// Seed of the random parts (eigensolver start, t-SNE's random start).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// CSV label column to skip (a number or "last").
    #[arg(long)]
    label_column: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    autoencoder::limits::check_threads("--threads", args.threads)?;
    check(&args)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let threads = pool.current_num_threads();
    pool.install(|| embed(&args, threads))
}

/// Flag combinations, checked before any data is read.
fn check(args: &Args) -> Result<()> {
    let fitted = usize::from(args.model.is_none());
    if args.model.is_none() && args.fit.is_none() {
        return Err(Error::Invalid(
            "--method needs --fit: the data to fit the map on".into(),
        ));
    }
    if args.out.len() != fitted + args.data.len() {
        return Err(Error::Invalid(format!(
            "{} --out for {} map(s): give one --out {}per --data, in order",
            args.out.len(),
            fitted + args.data.len(),
            if fitted == 1 {
                "for the --fit points, then one "
            } else {
                ""
            }
        )));
    }
    if args.method == Some(Method::Tsne) && !args.data.is_empty() {
        return Err(Error::Invalid(
            "--data with --method tsne: t-SNE places only the points it is fitted on and learns \
             no map for new ones; use isomap, lle or pca (which have out-of-sample maps), or a \
             model with a 2-D code (embed --model), or fit t-SNE on all the points at once"
                .into(),
        ));
    }
    if args.dim == 0 {
        return Err(Error::Invalid("--dim must be at least 1".into()));
    }
    if args.rows == Some(0) {
        return Err(Error::Invalid("--rows must be at least 1".into()));
    }
    if args.rows.is_some() && args.fit.is_none() {
        return Err(Error::Invalid("--rows applies to --fit".into()));
    }
    Ok(())
}

/// A fitted map that embeds new points.
enum Fitted {
    Pca(Pca),
    Isomap(Isomap),
    Lle(Lle),
    Tsne,
}

fn embed(args: &Args, threads: usize) -> Result<()> {
    let started = Instant::now();
    let mut report = serde_json::json!({ "dim": args.dim, "threads": threads });
    if let Some(model_dir) = &args.model {
        let model = match autoencoder::folder::load_any(model_dir)? {
            autoencoder::folder::AnyModel::Autoencoder(m) => m,
            _ => {
                return Err(Error::format(
                    model_dir,
                    "embed --model needs an autoencoder (this is an RBM or a PSD model)",
                ))
            }
        };
        let code = model.spec().code_size;
        if code != args.dim {
            return Err(Error::format(
                model_dir,
                format!(
                    "the model's code has {code} units; embed --model makes {}-D maps (use \
                     encode for codes of other sizes, or --dim {code})",
                    args.dim
                ),
            ));
        }
        let mut outputs = Vec::new();
        for (path, out) in args.data.iter().zip(&args.out) {
            let x = super::load_model_input(model_dir, path, args.label_column.as_deref())?;
            let t = Instant::now();
            let y = model
                .encode(&x)
                .map_err(|e| Error::format(path, e.to_string()))?;
            outputs.push(serde_json::json!({
                "data": path, "out": out, "points": y.rows(), "seconds": t.elapsed().as_secs_f64()
            }));
            data::save_matrix(out, &y)?;
        }
        report["method"] = "model".into();
        report["outputs"] = outputs.into();
    } else {
        let method = args.method.unwrap_or(Method::Pca);
        let fit_path = args.fit.as_ref().expect("checked");
        let mut x = super::load_features(fit_path, args.label_column.as_deref())?;
        if let Some(rows) = args.rows {
            if rows > x.rows() {
                return Err(Error::format(
                    fit_path,
                    format!("--rows {rows}, but the file has {} rows", x.rows()),
                ));
            }
            x = x.slice_rows(0, rows);
        }
        let named = |e: Error| match e {
            Error::Invalid(m) | Error::Shape(m) => Error::format(fit_path, m),
            other => other,
        };
        let t = Instant::now();
        let (fitted, y) = fit(args, method, &x, &mut report).map_err(named)?;
        report["fit_seconds"] = t.elapsed().as_secs_f64().into();
        report["method"] = serde_json::to_value(method).unwrap_or_default();
        report["points"] = x.rows().into();
        data::save_matrix(&args.out[0], &y)?;
        let mut outputs = Vec::new();
        for (path, out) in args.data.iter().zip(&args.out[1..]) {
            let new = super::load_features(path, args.label_column.as_deref())?;
            super::check_width(path, &new, x.cols())?;
            let t = Instant::now();
            let y = match &fitted {
                Fitted::Pca(p) => p.transform(&new),
                Fitted::Isomap(m) => m.transform(&new),
                Fitted::Lle(m) => m.transform(&new),
                Fitted::Tsne => unreachable!("refused in check()"),
            }
            .map_err(|e| Error::format(path, e.to_string()))?;
            outputs.push(serde_json::json!({
                "data": path, "out": out, "points": y.rows(), "seconds": t.elapsed().as_secs_f64()
            }));
            data::save_matrix(out, &y)?;
        }
        report["outputs"] = outputs.into();
    }
    report["seconds"] = started.elapsed().as_secs_f64().into();
    if args.json {
        super::print_json(&report);
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    }
    Ok(())
}

fn fit(
    args: &Args,
    method: Method,
    x: &Matrix,
    report: &mut serde_json::Value,
) -> Result<(Fitted, Matrix)> {
    Ok(match method {
        Method::Pca => {
            let p = Pca::fit(x, args.dim)?;
            let y = p.transform(x)?;
            report["explained_variance"] = p.explained_variance.clone().into();
            (Fitted::Pca(p), y)
        }
        Method::Isomap => {
            let m = Isomap::fit(x, args.dim, args.neighbors, args.seed)?;
            report["neighbors"] = args.neighbors.into();
            report["joining_edges"] = m.joining_edges.into();
            report["eigenvalues"] = m.eigenvalues().to_vec().into();
            report["eigen_iterations"] = m.eigen_iterations.into();
            report["eigen_converged"] = m.eigen_converged.into();
            let y = m.embedding().clone();
            (Fitted::Isomap(m), y)
        }
        Method::Lle => {
            let m = Lle::fit(x, args.dim, args.neighbors, args.reg, args.seed)?;
            report["neighbors"] = args.neighbors.into();
            report["reg"] = args.reg.into();
            report["eigenvalues"] = m.eigenvalues.clone().into();
            report["eigen_iterations"] = m.eigen_iterations.into();
            report["eigen_converged"] = m.eigen_converged.into();
            let y = m.embedding().clone();
            (Fitted::Lle(m), y)
        }
        Method::Tsne => {
            let options = TsneOptions {
                perplexity: args.perplexity,
                iterations: args.iterations,
                learning_rate: args.learning_rate,
                theta: args.theta,
                method: match args.tsne_gradient {
                    TsneGradient::Auto => None,
                    TsneGradient::Exact => Some(TsneMethod::Exact),
                    TsneGradient::BarnesHut => Some(TsneMethod::BarnesHut),
                },
                init: match args.init {
                    Init::Pca => TsneInit::Pca,
                    Init::Random => TsneInit::Random,
                },
                seed: args.seed,
                ..TsneOptions::default()
            };
            let m = tsne::fit(x, args.dim, &options)?;
            report["perplexity"] = args.perplexity.into();
            report["kl_divergence"] = m.kl_divergence.into();
            report["gradient"] = serde_json::to_value(m.method).unwrap_or_default();
            report["iterations"] = m.iterations.into();
            (Fitted::Tsne, m.embedding)
        }
    })
}
