//! `cargo bench --bench hamming`: Hamming search speed on random codes, the workloads of
//! bench/faiss_hamming.py. k-NN (k = 100) of 1,000 queries among 1,000,000 codes of 64 and 256
//! bits (queries/s), and radius-2 lookup of 10,000 queries among 1,000,000 32-bit codes
//! (µs/query, wall time over all queries) by hash-table ball probing and by multi-index
//! hashing. THREADS (default 2) sets the pool size. Prints one JSON object last.

use autoencoder::hashing::ball::BallIndex;
use autoencoder::hashing::mih::MultiIndex;
use autoencoder::hashing::{Codes, FlatIndex};
use autoencoder::linalg::Rng;
use std::time::Instant;

fn random_codes(n: usize, bits: usize, seed: u64) -> Codes {
    let mut rng = Rng::new(seed);
    let bytes: Vec<u8> = (0..n * bits / 8).map(|_| rng.next_u64() as u8).collect();
    Codes::from_bytes(n, bits / 8, bytes).unwrap()
}

/// Best of `reps` runs, in seconds (the machine is shared; the best run is the least disturbed).
fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| run(threads));
}

fn run(threads: usize) {
    let (n, nq, k) = (1_000_000, 1_000, 100);
    let mut out = serde_json::Map::new();
    out.insert("threads".into(), threads.into());
    for bits in [64usize, 256] {
        let db = random_codes(n, bits, 1);
        let q = random_codes(nq, bits, 2);
        let index = FlatIndex::new(&db);
        let mut sink = 0u64;
        let s = best(5, || sink += index.knn(&q, k).ids[0] as u64);
        let qps = nq as f64 / s;
        println!(
            "knn k={k} {bits}-bit: {qps:.0} queries/s ({:.2} ms for {nq} queries) [{sink}]",
            s * 1e3
        );
        out.insert(format!("knn_{bits}_qps"), qps.into());
    }
    let (bits, nq, radius) = (32usize, 10_000, 2u32);
    let db = random_codes(n, bits, 3);
    let q = random_codes(nq, bits, 4);
    let ball = BallIndex::new(&db).unwrap();
    let mut found = 0usize;
    let s = best(5, || found = ball.range(&q, radius).unwrap().ids.len());
    let us = s * 1e6 / nq as f64;
    println!("ball r={radius} {bits}-bit: {us:.2} µs/query ({found} results for {nq} queries)");
    out.insert("ball_r2_us_per_query".into(), us.into());
    out.insert("ball_r2_results".into(), found.into());
    let ball_found = found;
    let mih = MultiIndex::new(&db, None).unwrap();
    let s = best(5, || found = mih.range(&q, radius).unwrap().ids.len());
    let us = s * 1e6 / nq as f64;
    println!(
        "mih m={} r={radius} {bits}-bit: {us:.2} µs/query ({found} results)",
        mih.parts()
    );
    out.insert("mih_r2_us_per_query".into(), us.into());
    // three indexes, one answer: a timing of a wrong search would be worthless
    assert_eq!(found, ball_found, "multi-index and ball results differ");
    let flat = FlatIndex::new(&db);
    let s = best(3, || found = flat.range(&q, radius).ids.len());
    let us = s * 1e6 / nq as f64;
    println!("scan r={radius} {bits}-bit: {us:.2} µs/query ({found} results)");
    out.insert("scan_r2_us_per_query".into(), us.into());
    assert_eq!(found, ball_found, "scan and ball results differ");
    println!("{}", serde_json::Value::Object(out));
}
