//! `autoencoder runs DIR...`: many run folders side by side. Only the config keys that differ
//! between the runs are shown (a sweep's runs share most of their config, so the rest is
//! noise), with each run's epochs, seconds, final training loss, and final and best value of
//! every validation metric; as an aligned table or, with `--json`, one JSON array. `--plot KEY`
//! draws the runs' KEY curves on shared axes, exactly as `plot --metrics` does.

use autoencoder::{Error, Result};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Run folders, each written by `train --out` (a config.toml and a metrics.jsonl).
    #[arg(required = true, num_args = 1.., value_name = "DIR")]
    runs: Vec<PathBuf>,
    /// Print a JSON array, one object per run, instead of the table.
    #[arg(long)]
    json: bool,
    /// Also draw this metric (validation_loss, train_loss, …) of every run on shared axes, one
    /// curve per run named by its folder, into --out; every run needs numeric KEY values in its
    /// metrics.jsonl, as with `plot --metrics`.
    #[arg(long, value_name = "KEY", requires = "out")]
    plot: Option<String>,
    /// The --plot figure: .png, or .svg.
    #[arg(long, value_name = "FILE", requires = "plot")]
    out: Option<PathBuf>,
    /// Title of the --plot figure (default: the key).
    #[arg(long, requires = "plot")]
    title: Option<String>,
}

/// One run folder as read: its config flattened to dotted keys, and its metric lines.
struct Run {
    dir: PathBuf,
    config: Vec<(String, Value)>,
    /// Each epoch's line, with its epoch number (the line's `epoch`, else its position).
    lines: Vec<(u64, Map<String, Value>)>,
}

impl Run {
    fn read(dir: &Path) -> Result<Run> {
        Ok(Run {
            dir: dir.to_path_buf(),
            config: read_config(dir)?,
            lines: read_metrics(dir)?,
        })
    }

    /// The config value of `key`, if the run has it.
    fn get(&self, key: &str) -> Option<&Value> {
        self.config.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `key`'s value on the last line (a run's final epoch), if it is a number there.
    fn last(&self, key: &str) -> Option<f64> {
        self.lines.last()?.1.get(key)?.as_f64()
    }

    /// The smallest finite value of `key` and the epoch of its first occurrence.
    fn best(&self, key: &str) -> Option<(f64, u64)> {
        let mut best: Option<(f64, u64)> = None;
        for (epoch, line) in &self.lines {
            if let Some(v) = line.get(key).and_then(Value::as_f64) {
                if v.is_finite() && best.is_none_or(|(b, _)| v < b) {
                    best = Some((v, *epoch));
                }
            }
        }
        best
    }

    /// Seconds of training: the sum of the lines' `seconds`, if any line has a number there.
    fn seconds(&self) -> Option<f64> {
        let s: Vec<f64> = self
            .lines
            .iter()
            .filter_map(|(_, l)| l.get("seconds")?.as_f64())
            .collect();
        (!s.is_empty()).then(|| s.iter().sum())
    }
}

/// `DIR/config.toml` as `(dotted key, value)` pairs in the file's order. A missing folder or
/// config.toml is an error: without a config this is not a run folder.
fn read_config(dir: &Path) -> Result<Vec<(String, Value)>> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(Error::format(dir, "not a folder (runs takes run folders)")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::format(dir, "no such run folder"))
        }
        Err(e) => return Err(Error::io(dir, e)),
    }
    let path = dir.join("config.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::format(
                dir,
                "no config.toml, so not a run folder (train --out writes one)",
            ))
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(1, |s| {
            let end = s.start.min(text.len());
            text.as_bytes()[..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1
        });
        Error::format(&path, format!("line {line}: {}", e.message().trim()))
    })?;
    let mut out = Vec::new();
    flatten("", &table, &mut out);
    Ok(out)
}

/// Tables become dotted keys (`train.learning_rate`); an array (of tables too) stays one value,
/// and so does an empty table, so that `[pretrain]` present but empty differs from absent.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, Value)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if !t.is_empty() => flatten(&key, t, out),
            _ => out.push((key, to_json(v))),
        }
    }
}

/// A TOML value as JSON; datetimes and non-finite floats (which JSON lacks) as strings.
fn to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// `DIR/metrics.jsonl`'s lines, each a JSON object. A missing file (a run stopped before its
/// first epoch ended) is no lines, not an error.
fn read_metrics(dir: &Path) -> Result<Vec<(u64, Map<String, Value>)>> {
    let path = dir.join("metrics.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    super::plot::json_lines(&path, &text)?
        .into_iter()
        .enumerate()
        .map(|(i, (n, v))| match v {
            Value::Object(m) => {
                let epoch = m
                    .get("epoch")
                    .and_then(Value::as_u64)
                    .unwrap_or(i as u64 + 1);
                Ok((epoch, m))
            }
            other => Err(Error::format(
                &path,
                format!("line {n}: {other} is not a JSON object"),
            )),
        })
        .collect()
}

/// The keys, in the order they first appear, whose values are not the same in every run
/// (missing from some run counts as different).
fn differing_keys(runs: &[Run]) -> Vec<String> {
    let mut keys: Vec<&str> = Vec::new();
    for run in runs {
        for (k, _) in &run.config {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    keys.into_iter()
        .filter(|k| {
            let first = runs[0].get(k);
            first.is_none() || runs.iter().any(|r| r.get(k) != first)
        })
        .map(str::to_string)
        .collect()
}

/// The `validation_*` keys with a number on some line of some run, in the order they first
/// appear (keys never numeric, e.g. all null when a run had no validation set, are left out).
fn validation_keys(runs: &[Run]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (_, line) in runs.iter().flat_map(|r| &r.lines) {
        for (k, v) in line {
            if k.starts_with("validation_") && v.is_number() && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys
}

pub fn run(args: Args) -> Result<()> {
    let runs: Vec<Run> = args
        .runs
        .iter()
        .map(|d| Run::read(d))
        .collect::<Result<_>>()?;
    let keys = differing_keys(&runs);
    let metrics = validation_keys(&runs);
    let text = if args.json {
        serde_json::to_string(&json(&runs, &keys, &metrics)).unwrap_or_default() + "\n"
    } else {
        table(&runs, &keys, &metrics)
    };
    // draw first, so that a refused plot leaves no half-done output
    if let (Some(key), Some(out)) = (&args.plot, &args.out) {
        let named: Vec<(String, &Path)> = runs
            .iter()
            .map(|r| (super::plot::run_name(&r.dir), r.dir.as_path()))
            .collect();
        super::plot::draw_curves(&named, key, args.title.as_deref(), out)?;
    }
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // `runs … | head` closing the pipe early is not a failure
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("stdout", e)),
        _ => Ok(()),
    }
}

fn json(runs: &[Run], keys: &[String], metrics: &[String]) -> Value {
    let num = |x: Option<f64>| x.map_or(Value::Null, Value::from);
    Value::Array(
        runs.iter()
            .map(|r| {
                let config: Map<String, Value> = keys
                    .iter()
                    .map(|k| (k.clone(), r.get(k).cloned().unwrap_or(Value::Null)))
                    .collect();
                let mut last = Map::new();
                last.insert("train_loss".into(), num(r.last("train_loss")));
                let mut best = Map::new();
                for m in metrics {
                    last.insert(m.clone(), num(r.last(m)));
                    let b = r.best(m).map_or(
                        Value::Null,
                        |(value, epoch)| serde_json::json!({"value": value, "epoch": epoch}),
                    );
                    best.insert(m.clone(), b);
                }
                serde_json::json!({
                    "run": r.dir.display().to_string(),
                    "config": config,
                    "epochs": r.lines.len(),
                    "seconds": num(r.seconds()),
                    "final": last,
                    "best": best,
                })
            })
            .collect(),
    )
}

/// The text table: left-aligned run and config columns, right-aligned numbers; a blank cell
/// where a run has no value, `-` where it lacks a config key.
fn table(runs: &[Run], keys: &[String], metrics: &[String]) -> String {
    let mut header: Vec<String> = vec!["run".into()];
    header.extend(keys.iter().cloned());
    header.extend(["epochs", "seconds", "train_loss"].map(String::from));
    for m in metrics {
        header.push(m.clone());
        header.push(format!("best {m}"));
    }
    let numeric_from = 1 + keys.len();
    let blank = |x: Option<f64>| x.map(compact).unwrap_or_default();
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let mut row = vec![r.dir.display().to_string()];
            for k in keys {
                row.push(match r.get(k) {
                    None => "-".into(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                });
            }
            row.push(r.lines.len().to_string());
            row.push(blank(r.seconds()));
            row.push(blank(r.last("train_loss")));
            for m in metrics {
                row.push(blank(r.last(m)));
                row.push(
                    r.best(m)
                        .map(|(v, e)| format!("{} ({e})", compact(v)))
                        .unwrap_or_default(),
                );
            }
            row
        })
        .collect();
    let width = |c: usize| {
        std::iter::once(&header)
            .chain(&rows)
            .map(|row| row[c].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let pad = " ".repeat(widths[c] - cell.chars().count());
                if c >= numeric_from {
                    format!("{pad}{cell}")
                } else {
                    format!("{cell}{pad}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Four significant digits, without trailing zeros; scientific notation far from 1.
fn compact(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if (-4..6).contains(&magnitude) {
        let decimals = (3 - magnitude).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(0.123456), "0.1235");
        assert_eq!(compact(12.5), "12.5");
        assert_eq!(compact(123456.0), "123456");
        assert_eq!(compact(1.5e-7), "1.500e-7");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(-2.0), "-2");
    }
}
