//! `autoencoder bench`: the anchor workload of BENCHMARKS.md.
//!
//! MNIST 60k, 784-1000-500-250-30-250-500-1000-784, sigmoid hidden, linear code, Bernoulli
//! output, Adam 1e-3, batch 128, last partial batch dropped (468 steps per epoch).

use super::demo::find_mnist;
use autoencoder::linalg::gemm::{gemm, View};
use autoencoder::linalg::Rng;
use autoencoder::model::Autoencoder;
use autoencoder::nn::OptimizerKind;
use autoencoder::train::{self, EpochMetrics, Observer, Schedule, TrainState};
use autoencoder::{data, AutoencoderSpec, Error, Likelihood, Matrix, Result, TrainConfig};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Folder with the four MNIST IDX files (.gz or raw).
    #[arg(long)]
    data: PathBuf,
    /// Epochs to time.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use only the first N training images (for quick runs).
    #[arg(long)]
    limit: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// GFLOP/s of a 1024³ GEMM, median of 10, on the same pool: the peak the workload is held to.
fn gemm_peak(threads: usize) -> f64 {
    let n = 1024;
    let mut rng = Rng::new(1);
    let a: Vec<f32> = (0..n * n).map(|_| rng.uniform()).collect();
    let b: Vec<f32> = (0..n * n).map(|_| rng.uniform()).collect();
    let mut c = vec![0.0f32; n * n];
    let mut times = Vec::new();
    for _ in 0..12 {
        let t = Instant::now();
        gemm(
            &mut c,
            false,
            View::new(&a, n, n),
            false,
            View::new(&b, n, n),
            false,
            1.0,
            threads,
        );
        times.push(t.elapsed().as_secs_f64());
    }
    2.0 * (n as f64).powi(3) / median(&mut times[2..]) / 1e9
}

pub fn run(args: Args) -> Result<()> {
    let train_path = find_mnist(&args.data, "train")?;
    let test_path = find_mnist(&args.data, "t10k")?;
    let mut train = data::load(&train_path, None)?.features;
    let test = data::load(&test_path, None)?.features;
    if let Some(l) = args.limit {
        train = train.slice_rows(0, l.min(train.rows()));
    }
    super::check_width(&train_path, &train, 784)?;
    super::check_width(&test_path, &test, 784)?;
    if train.rows() < 128 {
        return Err(Error::format(
            &train_path,
            format!(
                "{} training images (after --limit); the workload needs at least one batch of 128",
                train.rows()
            ),
        ));
    }
    autoencoder::limits::check_threads("--threads", args.threads)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let threads = pool.current_num_threads();
    pool.install(|| bench(&args, &train, &test, threads))
}

struct EpochLines {
    quiet: bool,
}

impl Observer for EpochLines {
    fn epoch(&mut self, m: &EpochMetrics, _: &Autoencoder, _: &TrainState) -> Result<()> {
        if !self.quiet {
            eprintln!(
                "epoch {}: {:.2} s, train loss {:.3}",
                m.epoch, m.seconds, m.train_loss
            );
        }
        Ok(())
    }
}

fn bench(args: &Args, train: &Matrix, test: &Matrix, threads: usize) -> Result<()> {
    let spec = AutoencoderSpec::new(784, &[1000, 500, 250], 30, Likelihood::Bernoulli);
    let flops_per_image = spec.training_flops_per_example();
    let mut model = Autoencoder::new(spec, args.seed)?;
    let batch_size = 128;
    let steps = train.rows() / batch_size;
    let gemm_peak_gflops = gemm_peak(threads);
    // the one training loop, configured as the anchor workload
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size,
        optimizer: OptimizerKind::adam(),
        learning_rate: 1e-3,
        schedule: Schedule::Constant,
        seed: args.seed,
        validation_fraction: 0.0,
        patience: None,
        threads,
        drop_last: true,
        ..TrainConfig::default()
    };
    let state = train::initial_state(&model, &config);
    let mut lines = EpochLines { quiet: args.json };
    let report = train::fit(&mut model, train, None, &config, state, &mut lines)?;
    let epoch_seconds: Vec<f64> = report.history.iter().map(|m| m.seconds).collect();
    let last_loss = report.history.last().map_or(f64::NAN, |m| m.train_loss);
    let mut sorted = epoch_seconds.clone();
    let seconds_per_epoch = median(&mut sorted);
    let images = (steps * batch_size) as f64;
    let gflops = flops_per_image * images / seconds_per_epoch / 1e9;
    let eval = model.evaluate(test)?;
    let mut encode_times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let codes = model.encode(test)?;
        encode_times.push(t.elapsed().as_secs_f64());
        std::hint::black_box(codes);
    }
    let encode_images_per_second = test.rows() as f64 / median(&mut encode_times);
    let v = serde_json::json!({
        "workload": "mnist-hs2006-784-1000-500-250-30-adam-b128",
        "threads": threads,
        "epochs": args.epochs,
        "steps_per_epoch": steps,
        "epoch_seconds": epoch_seconds,
        "seconds_per_epoch": seconds_per_epoch,
        "images_per_second": images / seconds_per_epoch,
        "gflops": gflops,
        "nominal_tflop_per_epoch": flops_per_image * images / 1e12,
        "gemm_peak_gflops": gemm_peak_gflops,
        "fraction_of_gemm_peak": gflops / gemm_peak_gflops,
        "final_train_loss": last_loss,
        "test_squared_error_per_image": eval.squared_error_per_example,
        "test_cross_entropy_per_image": eval.loss_per_example,
        "encode_images_per_second": encode_images_per_second,
        "peak_memory_mib": peak_memory_mib(),
        "simd": if autoencoder::linalg::fastmath::has_avx512() { "avx512" } else if autoencoder::linalg::fastmath::has_avx2() { "avx2+fma" } else { "baseline" },
    });
    if args.json {
        super::print_json(&v);
    } else {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    Ok(())
}
