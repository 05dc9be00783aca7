//! `autoencoder search`: exact Hamming k-NN (linear scan), or the k nearest within a radius
//! (hash-table ball lookup, multi-index hashing or scan, whichever is expected cheapest).

use autoencoder::data::npy;
use autoencoder::hashing::ball::BallIndex;
use autoencoder::hashing::codes::check_same_width;
use autoencoder::hashing::knn::{KnnResult, MISSING};
use autoencoder::hashing::mih::MultiIndex;
use autoencoder::hashing::{Codes, FlatIndex};
use autoencoder::{Error, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Database codes (.npy, n × bits/8, uint8).
    #[arg(long)]
    db: PathBuf,
    /// Query codes, same width.
    #[arg(long)]
    queries: PathBuf,
    /// Neighbours per query.
    #[arg(long)]
    k: usize,
    /// Only neighbours within this Hamming distance (rows padded with -1).
    #[arg(long)]
    radius: Option<u32>,
    /// With --radius: scan, ball (≤ 64-bit codes), mih, or auto.
    #[arg(long, default_value = "auto")]
    index: String,
    /// Substrings for multi-index hashing (default: about log2(n) bits each).
    #[arg(long)]
    parts: Option<usize>,
    /// With --radius: rank the candidates in the ball by cosine similarity of these database
    /// features (one row per code; e.g. TF-IDF .npz) — Salakhutdinov & Hinton's two-stage
    /// pipeline. Needs --query-features.
    #[arg(long, requires = "query_features", requires = "radius")]
    rerank: Option<PathBuf>,
    /// The queries' features for --rerank, one row per query code.
    #[arg(long, requires = "rerank")]
    query_features: Option<PathBuf>,
    /// Output ids (.npy, queries × k, int64; -1 where absent).
    #[arg(long)]
    out: PathBuf,
    /// Output distances (.npy, queries × k, int64; -1 where absent).
    #[arg(long)]
    distances: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// The most ids one search writes (8 GiB as int64).
const MAX_OUTPUT_ENTRIES: usize = 1 << 30;

/// A checked candidate of multi-index hashing against a table probe: its bucket is read in
/// order, so it costs about a fifth of a probe's cache miss (measured on learned 32-bit codes:
/// ~10 ns a candidate, ~60 ns a probe, ~0.1 ns a scanned code, 10k and 1M codes, 2 threads).
const CANDIDATE_COST: f64 = 0.2;

/// Chooses the cheapest radius index from probe and candidate counts (a probe costs a cache
/// miss, about as much as scanning ~200 codes; a candidate [`CANDIDATE_COST`] of that).
/// Multi-index hashing's candidates are measured on a sample of the data (learned codes
/// cluster: uniform estimates were 19× too low at 1M codes) when they could change the choice.
fn choose(db: &Codes, queries: &Codes, radius: u32, parts: Option<usize>) -> Result<&'static str> {
    let scan = (db.len() * db.words()) as f64 / 200.0;
    let ball = if db.bits() <= 64 {
        autoencoder::hashing::mih::MultiIndex::cost(db.bits(), db.len(), 1, radius).0 as f64
    } else {
        f64::INFINITY
    };
    let m = parts.unwrap_or_else(|| MultiIndex::default_parts(db.bits(), db.len()));
    let mih = if db.bits().div_ceil(m) <= 64 {
        let (p, c) = MultiIndex::cost(db.bits(), db.len(), m, radius);
        let uniform = p as f64 + CANDIDATE_COST * c;
        if uniform < ball.min(scan) {
            let sampled = MultiIndex::sampled_candidates(db, queries, m, radius)?;
            p as f64 + CANDIDATE_COST * c.max(sampled)
        } else {
            uniform
        }
    } else {
        f64::INFINITY
    };
    Ok(if ball <= mih && ball <= scan {
        "ball"
    } else if mih <= scan {
        "mih"
    } else {
        "scan"
    })
}

pub fn run(args: Args) -> Result<()> {
    let db = Codes::read_npy(&args.db)?;
    let queries = Codes::read_npy(&args.queries)?;
    check_same_width(&db, &queries).map_err(|e| Error::format(&args.queries, e.to_string()))?;
    if args.k == 0 {
        return Err(Error::Invalid("--k must be at least 1".into()));
    }
    if db.is_empty() {
        return Err(Error::format(&args.db, "no codes"));
    }
    // Past the database's size the rows are padded with -1 (as FAISS does); the guard is
    // only against an output that could not be held in memory.
    if queries
        .len()
        .checked_mul(args.k)
        .is_none_or(|n| n > MAX_OUTPUT_ENTRIES)
    {
        return Err(Error::Invalid(format!(
            "--k {}: {} queries × {} neighbours is more output than this tool writes ({MAX_OUTPUT_ENTRIES} ids)",
            args.k,
            queries.len(),
            args.k
        )));
    }
    if let Some(m) = args.parts {
        MultiIndex::check_parts(db.bits(), m)
            .map_err(|e| Error::Invalid(format!("--parts: {e}")))?;
    }
    let index = match (args.radius, args.index.as_str()) {
        (None, "auto" | "scan") => "scan",
        (None, other) => {
            return Err(Error::Invalid(format!(
                "--index {other} needs --radius (k-NN without a radius is a linear scan)"
            )))
        }
        (Some(r), "auto") => choose(&db, &queries, r, args.parts)?,
        (Some(_), i @ ("scan" | "ball" | "mih")) => i,
        (_, other) => {
            return Err(Error::Invalid(format!(
                "unknown --index {other:?} (expected auto, scan, ball or mih)"
            )))
        }
    };
    let rerank = match (&args.rerank, &args.query_features) {
        (Some(d), Some(q)) => {
            let dbf = super::load_features(d, None)?;
            let qf = super::load_features(q, None)?;
            if dbf.rows() != db.len() {
                return Err(Error::format(
                    d,
                    format!("{} rows for {} database codes", dbf.rows(), db.len()),
                ));
            }
            if qf.rows() != queries.len() || qf.cols() != dbf.cols() {
                return Err(Error::format(
                    q,
                    format!(
                        "{} × {} features: expected {} rows (the queries) of {} columns",
                        qf.rows(),
                        qf.cols(),
                        queries.len(),
                        dbf.cols()
                    ),
                ));
            }
            Some((dbf, qf))
        }
        _ => None,
    };
    let mut candidates_per_query = None;
    let t = Instant::now();
    // the search closure owns its copy of the queries; the rerank path reads them too
    let owned_queries = queries.clone();
    let search: Box<dyn Fn() -> Result<KnnResult>> = match (index, args.radius) {
        ("scan", r) => {
            let flat = FlatIndex::new(&db);
            Box::new(move || Ok(flat.knn_within(&owned_queries, args.k, r)))
        }
        ("ball", Some(r)) => {
            let ball = BallIndex::new(&db)?;
            Box::new(move || Ok(ball.range(&owned_queries, r)?.to_knn(args.k)))
        }
        (_, Some(r)) => {
            let mih = MultiIndex::new(&db, args.parts)?;
            Box::new(move || Ok(mih.range(&owned_queries, r)?.to_knn(args.k)))
        }
        _ => unreachable!("index chosen above"),
    };
    let build_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let result = match (&rerank, args.radius) {
        (Some((dbf, qf)), Some(r)) => {
            // every candidate in the ball, then cosine ranking
            let range = match index {
                "ball" => BallIndex::new(&db)?.range(&queries, r)?,
                "mih" => MultiIndex::new(&db, args.parts)?.range(&queries, r)?,
                _ => FlatIndex::new(&db).range(&queries, r),
            };
            candidates_per_query = Some(range.ids.len() as f64 / range.queries().max(1) as f64);
            autoencoder::hashing::rerank::rerank_by_cosine(&range, dbf, qf, args.k)?
        }
        _ => search()?,
    };
    let seconds = t.elapsed().as_secs_f64();
    let nq = result.ids.len() / args.k;
    let as_i64 = |v: &[u32]| -> Vec<i64> {
        v.iter()
            .map(|&x| if x == MISSING { -1 } else { x as i64 })
            .collect()
    };
    let shape = [nq, args.k];
    autoencoder::fsutil::atomic_write(
        &args.out,
        &npy::encode_i64_shape(&shape, &as_i64(&result.ids)),
    )?;
    if let Some(p) = &args.distances {
        autoencoder::fsutil::atomic_write(
            p,
            &npy::encode_i64_shape(&shape, &as_i64(&result.distances)),
        )?;
    }
    let qps = nq as f64 / seconds.max(1e-12);
    if args.json {
        super::print_json(&serde_json::json!({
            "queries": nq,
            "database": db.len(),
            "bits": db.bits(),
            "k": args.k,
            "radius": args.radius,
            "index": index,
            "build_seconds": build_seconds,
            "seconds": seconds,
            "queries_per_second": qps,
            "reranked": rerank.is_some(),
            "candidates_per_query": candidates_per_query,
        }));
    } else {
        println!(
            "{nq} queries, {} codes of {} bits, {index}: {seconds:.3} s ({qps:.0} queries/s)",
            db.len(),
            db.bits()
        );
    }
    Ok(())
}
