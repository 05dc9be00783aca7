//! `autoencoder plot`: one metric per epoch from several runs' `metrics.jsonl`, on shared axes
//! (e.g. two learning rules' validation errors); or, with `--maps`, several 2-D maps of the
//! same points side by side.

use autoencoder::{Error, Result};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Run folders or metrics.jsonl files, one curve each.
    #[arg(long, num_args = 1.., required_unless_present = "maps", conflicts_with = "maps")]
    metrics: Vec<PathBuf>,
    /// 2-D maps of the same points (.npy or .csv, n × 2), one panel each, side by side.
    #[arg(long, num_args = 1..)]
    maps: Vec<PathBuf>,
    /// With --maps: the points' labels (one per row), for colours and a legend.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// The field of each line to plot (train_loss, validation_loss, validation_squared_error, …).
    #[arg(long, default_value = "validation_loss")]
    key: String,
    /// Curve or panel names, in the order of --metrics or --maps (default: the run folders'
    /// or files' names).
    #[arg(long, num_args = 1..)]
    label: Vec<String>,
    /// Title (default: the key).
    #[arg(long)]
    title: Option<String>,
    /// Output .png, or .svg.
    #[arg(long)]
    out: PathBuf,
}

/// The non-empty lines of a JSON-lines file (`text`, read from `file`), each parsed, with its
/// line number from 1; a malformed line is an error naming the file and the line.
pub(super) fn json_lines(file: &Path, text: &str) -> Result<Vec<(usize, serde_json::Value)>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map(|v| (n + 1, v))
                .map_err(|e| Error::format(file, format!("line {}: {e}", n + 1)))
        })
        .collect()
}

fn read_series(path: &Path, key: &str) -> Result<Vec<f64>> {
    let file = if path.is_dir() {
        path.join("metrics.jsonl")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
    let mut values = Vec::new();
    for (n, v) in json_lines(&file, &text)? {
        match v.get(key) {
            Some(serde_json::Value::Number(x)) => values.push(x.as_f64().unwrap_or(f64::NAN)),
            // a metric missing from an epoch (e.g. no validation that epoch) breaks the line
            Some(serde_json::Value::Null) | None => values.push(f64::NAN),
            Some(other) => {
                return Err(Error::format(
                    &file,
                    format!("line {n}: {key} is {other}, not a number"),
                ))
            }
        }
    }
    if values.iter().all(|v| !v.is_finite()) {
        return Err(Error::format(
            &file,
            format!("no line has a numeric {key:?}"),
        ));
    }
    Ok(values)
}

/// `--maps`: the panels, each checked to be n × 2 with the same n (and as many labels).
fn run_maps(args: &Args) -> Result<()> {
    if !args.label.is_empty() && args.label.len() != args.maps.len() {
        return Err(Error::Invalid(format!(
            "--label: {} names for {} --maps",
            args.label.len(),
            args.maps.len()
        )));
    }
    let mut panels: Vec<(String, Vec<(f32, f32)>)> = Vec::new();
    for (i, path) in args.maps.iter().enumerate() {
        let m = super::load_features(path, None)?;
        if m.cols() != 2 {
            return Err(Error::format(
                path,
                format!("a map has 2 columns, this one has {}", m.cols()),
            ));
        }
        if let Some((_, first)) = panels.first() {
            if first.len() != m.rows() {
                return Err(Error::format(
                    path,
                    format!("{} rows; the first map has {}", m.rows(), first.len()),
                ));
            }
        }
        let name = args.label.get(i).cloned().unwrap_or_else(|| {
            path.file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        panels.push((
            name,
            (0..m.rows()).map(|r| (m.row(r)[0], m.row(r)[1])).collect(),
        ));
    }
    let labels = match &args.labels {
        Some(p) => {
            let first = super::load_features(&args.maps[0], None)?;
            Some(super::embedding_quality::labels_for(p, &first)?)
        }
        None => None,
    };
    let borrowed: Vec<(&str, &[(f32, f32)])> = panels
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_slice()))
        .collect();
    autoencoder::report::plots::code_maps(&borrowed, labels.as_deref(), &args.out)
}

pub fn run(args: Args) -> Result<()> {
    if !args.maps.is_empty() {
        return run_maps(&args);
    }
    if args.labels.is_some() {
        return Err(Error::Invalid("--labels: only with --maps".into()));
    }
    if !args.label.is_empty() && args.label.len() != args.metrics.len() {
        return Err(Error::Invalid(format!(
            "--label: {} names for {} --metrics",
            args.label.len(),
            args.metrics.len()
        )));
    }
    let runs: Vec<(String, &Path)> = args
        .metrics
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = args.label.get(i).cloned().unwrap_or_else(|| run_name(p));
            (name, p.as_path())
        })
        .collect();
    draw_curves(&runs, &args.key, args.title.as_deref(), &args.out)
}

/// A run's default curve name: its folder's name (of a metrics file, its parent folder's).
pub(super) fn run_name(p: &Path) -> String {
    let base = if p.is_dir() {
        p
    } else {
        p.parent().unwrap_or(p)
    };
    base.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Draws `key` of each named run (a folder or a metrics.jsonl file) as one curve on shared
/// axes, into `out` (.png or .svg); the title defaults to the key. Shared by `plot --metrics`
/// and `runs --plot`, so both draw the same figure and refuse the same input.
pub(super) fn draw_curves(
    runs: &[(String, &Path)],
    key: &str,
    title: Option<&str>,
    out: &Path,
) -> Result<()> {
    let series: Vec<(&str, Vec<f64>)> = runs
        .iter()
        .map(|(name, p)| Ok((name.as_str(), read_series(p, key)?)))
        .collect::<Result<_>>()?;
    let borrowed: Vec<(&str, &[f64])> = series.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    let title = title.map_or_else(|| key.replace('_', " "), str::to_string);
    autoencoder::report::plots::curves_on(
        &title,
        autoencoder::report::plots::Axes { x: "epoch", y: key },
        &borrowed,
        out,
    )
}
