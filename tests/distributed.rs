//! Data-parallel fits (`train::reducer`) with workers as threads: two workers, each on its half
//! of the rows, give the model one process gives on the same global batches; the workers'
//! weights are identical; batch norm's running statistics are averaged; differing workers
//! and rules that cannot be distributed stop with an error.

mod common;

use autoencoder::config::{CheckedRun, RunConfig};
use autoencoder::data::rows::Rows;
use autoencoder::run::{self, Start};
use autoencoder::train::reducer::{LocalGroup, Reducer};
use autoencoder::train::Silent;
use autoencoder::{Autoencoder, Matrix};
use common::{mnist_train, pool2};
use std::path::Path;

fn checked(toml: &str, width: usize) -> CheckedRun {
    RunConfig::parse(toml, Path::new("test.toml"))
        .unwrap()
        .check(width)
        .unwrap()
}

/// Each worker fits its rows on its own thread; their models, or the first error.
fn fit_workers(run: &CheckedRun, shards: &[Matrix]) -> Vec<autoencoder::Result<Autoencoder>> {
    let reducers = LocalGroup::reducers(shards.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = reducers
            .iter()
            .zip(shards)
            .map(|(r, x)| {
                s.spawn(move || {
                    let fitted = run::fit_checked_reduced(
                        run,
                        x as &dyn Rows,
                        None,
                        Start::Fresh,
                        &mut Silent,
                        Some(r as &dyn Reducer),
                    )?;
                    fitted.fit.map(|_| fitted.model)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn max_diff(a: &Autoencoder, b: &Autoencoder) -> f32 {
    a.parameter_slices()
        .iter()
        .zip(b.parameter_slices())
        .flat_map(|(x, y)| x.iter().zip(y.iter()).map(|(u, v)| (u - v).abs()))
        .fold(0.0, f32::max)
}

const DENSE: &str = "[model]
layers = [64]
code = 8
activation = \"tanh\"
[train]
epochs = 3
batch_size = 10
learning_rate = 3e-3
shuffle = false
validation_fraction = 0
threads = 1
";

#[test]
fn two_workers_match_one_process_on_the_same_global_batches() {
    two_workers_match_one_process(DENSE, 1e-4);
}

/// Conjugate gradients all-reduce every evaluation of a line search, so the workers take the
/// same steps as one process on the whole global batch: to rounding with one line search per
/// batch. With more, CG's branch decisions amplify rounding (one process on the same batches
/// with their halves swapped ends 0.8 apart, where Adam ends 3e-7 apart), so there the
/// workers must agree exactly with each other and reach the same objective.
#[test]
fn conjugate_gradient_workers_match_one_process() {
    let cg = DENSE
        .replace(
            "learning_rate = 3e-3",
            "optimizer = \"cg\"\nline_searches = 1",
        )
        .replace("epochs = 3", "epochs = 1");
    assert!(cg.contains("line_searches"));
    two_workers_match_one_process(&cg, 1e-5);

    let cg3 = cg.replace("line_searches = 1", "line_searches = 3");
    let (worker, one, x) = two_workers_and_one_process(&cg3);
    let (workers, alone) = (
        worker.evaluate(&x).unwrap().loss_per_example,
        one.evaluate(&x).unwrap().loss_per_example,
    );
    assert!(
        (workers - alone).abs() < 0.02 * alone,
        "two workers {workers} vs one process {alone}"
    );
}

/// Two workers, each on half the rows, and one process on the same global batches: asserts the
/// workers agree exactly; returns a worker's model, the single process's and its rows.
fn two_workers_and_one_process(config: &str) -> (Autoencoder, Autoencoder, Matrix) {
    let x = pool2(&mnist_train(200));
    let d = x.cols();
    // worker r's batch k is rows [k·b, (k+1)·b) of its shard; one process with batch 2b whose
    // batch k is worker 0's batch k followed by worker 1's
    let (half, b) = (100, 10);
    let shard = |r: usize| x.slice_rows(r * half, (r + 1) * half);
    let shards = [shard(0), shard(1)];
    let mut arranged = Vec::with_capacity(200 * d);
    for k in 0..half / b {
        for s in &shards {
            arranged.extend_from_slice(s.slice_rows(k * b, (k + 1) * b).as_slice());
        }
    }
    let arranged = Matrix::from_vec(200, d, arranged);
    let run = checked(config, d);
    let models: Vec<Autoencoder> = fit_workers(&run, &shards)
        .into_iter()
        .map(|m| m.unwrap())
        .collect();
    assert_eq!(
        max_diff(&models[0], &models[1]),
        0.0,
        "the workers' weights differ"
    );
    let single = checked(&config.replace("batch_size = 10", "batch_size = 20"), d);
    let one = run::fit_checked(
        &single,
        &arranged as &dyn Rows,
        None,
        Start::Fresh,
        &mut Silent,
    )
    .unwrap();
    let one = (one.fit.unwrap(), one.model).1;
    let worker = models.into_iter().next().unwrap();
    (worker, one, arranged)
}

fn two_workers_match_one_process(config: &str, tolerance: f32) {
    let (worker, one, arranged) = two_workers_and_one_process(config);
    let d = arranged.cols();
    let diff = max_diff(&worker, &one);
    assert!(diff < tolerance, "two workers vs one process: {diff}");
    // and the comparison can fail: a shuffled single run is elsewhere
    let shuffled = checked(
        &config
            .replace("batch_size = 10", "batch_size = 20")
            .replace("shuffle = false", "shuffle = true"),
        d,
    );
    let other = run::fit_checked(
        &shuffled,
        &arranged as &dyn Rows,
        None,
        Start::Fresh,
        &mut Silent,
    )
    .unwrap()
    .model;
    assert!(max_diff(&worker, &other) > 1e-3);
}

#[test]
fn batch_norm_statistics_are_averaged_and_validation_agrees() {
    let x = pool2(&mnist_train(160));
    let config = "[model]
input_shape = [1, 14, 14]
encoder = [{ conv = 4, kernel = 3, padding = 1 }, { batch_norm = true }, { pool = \"max\", size = 2 }]
code = 6
activation = \"relu\"
[train]
epochs = 2
batch_size = 16
validation_fraction = 0.25
";
    let run = checked(config, x.cols());
    let shards = [x.slice_rows(0, 80), x.slice_rows(80, 160)];
    let models: Vec<Autoencoder> = fit_workers(&run, &shards)
        .into_iter()
        .map(|m| m.unwrap())
        .collect();
    assert_eq!(max_diff(&models[0], &models[1]), 0.0);
    let buffers = models[0].buffer_tensors();
    assert_eq!(buffers.len(), 2, "running mean and variance");
    // dense models have no buffers to average
    let dense = checked(DENSE, x.cols());
    assert!(Autoencoder::new(dense.spec.clone(), 0)
        .unwrap()
        .buffer_tensors()
        .is_empty());
}

#[test]
fn workers_that_differ_or_cannot_be_distributed_stop_with_an_error() {
    let x = pool2(&mnist_train(40));
    let shards = [x.slice_rows(0, 20), x.slice_rows(20, 40)];
    // different seeds: different initial weights, caught before the first step
    let reducers = LocalGroup::reducers(2);
    let errors: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = reducers
            .iter()
            .zip(&shards)
            .enumerate()
            .map(|(i, (r, rows))| {
                s.spawn(move || {
                    let run = checked(
                        &DENSE.replace("epochs = 3", &format!("epochs = 1\nseed = {i}")),
                        rows.cols(),
                    );
                    match run::fit_checked_reduced(
                        &run,
                        rows as &dyn Rows,
                        None,
                        Start::Fresh,
                        &mut Silent,
                        Some(r as &dyn Reducer),
                    ) {
                        Ok(f) => f.fit.err().map(|e| e.to_string()).unwrap_or_default(),
                        Err(e) => e.to_string(),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (rank, e) in errors.iter().enumerate() {
        assert!(
            e.contains(&format!("rank {rank}")) && e.contains("parameters differ at the start"),
            "{e}"
        );
    }
    let recirculation = checked(
        &DENSE.replace(
            "shuffle = false",
            "shuffle = false\nrule = \"recirculation\"",
        ),
        x.cols(),
    );
    let results = fit_workers(&recirculation, &shards);
    for r in results {
        let Err(e) = r else {
            panic!("recirculation was not refused")
        };
        let e = e.to_string();
        assert!(e.contains("train.rule"), "{e}");
    }
}
