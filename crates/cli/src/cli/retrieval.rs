//! `autoencoder retrieval`: how well Hamming ranking of codes retrieves same-class items:
//! precision@k, mAP@k and the precision–recall curve over radii.

use autoencoder::hashing::labels::Labels;
use autoencoder::hashing::{metrics, Codes};
use autoencoder::{Error, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Database codes (.npy, n × bits/8, uint8).
    #[arg(long)]
    db: PathBuf,
    /// Database labels: NPY (1-D integers, or 2-D multi-hot) or an IDX labels file.
    #[arg(long)]
    db_labels: PathBuf,
    /// Query codes, same width.
    #[arg(long)]
    queries: PathBuf,
    /// Query labels, same kind as the database's.
    #[arg(long)]
    query_labels: PathBuf,
    /// The k of precision@k.
    #[arg(long, default_value_t = 100)]
    k: usize,
    /// The cut-off of mAP.
    #[arg(long, default_value_t = 1000)]
    map_at: usize,
    /// Print one JSON object (with the full PR curve).
    #[arg(long)]
    json: bool,
}

fn read_labels(path: &PathBuf, expect: usize, what: &str) -> Result<Labels> {
    let l = Labels::read(path)?;
    if l.len() != expect {
        return Err(Error::format(
            path,
            format!("{} labels for {expect} {what} codes", l.len()),
        ));
    }
    Ok(l)
}

pub fn run(args: Args) -> Result<()> {
    let db = Codes::read_npy(&args.db)?;
    let queries = Codes::read_npy(&args.queries)?;
    let db_labels = read_labels(&args.db_labels, db.len(), "database")?;
    let query_labels = read_labels(&args.query_labels, queries.len(), "query")?;
    db_labels
        .check_compatible(&query_labels)
        .map_err(|e| Error::format(&args.query_labels, e.to_string()))?;
    let t = Instant::now();
    let r = metrics::evaluate(
        &db,
        &db_labels,
        &queries,
        &query_labels,
        args.k,
        args.map_at,
    )
    .map_err(|e| Error::format(&args.queries, e.to_string()))?;
    let seconds = t.elapsed().as_secs_f64();
    if args.json {
        let mut v = serde_json::to_value(&r).map_err(|e| Error::Invalid(e.to_string()))?;
        v["seconds"] = seconds.into();
        super::print_json(&v);
    } else {
        println!("queries        {}", r.queries);
        println!("database       {}", r.database);
        println!("bits           {}", r.bits);
        println!("precision@{:<4} {:.4}", r.k, r.precision_at_k);
        println!("mAP@{:<10} {:.4}", r.map_at, r.map_at_k);
        for p in r.pr_curve.iter().take(4) {
            let prec = p.precision.map_or("-".into(), |v| format!("{v:.4}"));
            println!(
                "radius {:<7} precision {prec} recall {:.4}",
                p.radius, p.recall
            );
        }
    }
    Ok(())
}
