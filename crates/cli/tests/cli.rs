//! The command line as a user meets it: happy paths with JSON output, and every hard edge
//! (bad input → one line on stderr naming the file, exit code 2, no panic).

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{ae, assert_clean_error, assert_success, repo_path, s, tmp, train};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `autoencoder probe --model RUN --train TRAIN --test TEST EXTRA…`.
fn probe(run: &Path, train: &Path, test: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "probe",
        "--model",
        s(run),
        "--train",
        s(train),
        "--test",
        s(test),
    ];
    args.extend_from_slice(extra);
    ae(&args)
}

const SMALL_CONFIG: &str = "[model]\nlayers = [32]\ncode = 8\n[train]\nepochs = 3\nbatch_size = 50\nvalidation_fraction = 0.1\n";

/// 600 pooled MNIST images as NPY (196 columns) plus labels.
fn small_npy(dir: &Path) -> PathBuf {
    let x = common::pool2(&common::mnist_train(600));
    let path = dir.join("small.npy");
    std::fs::write(&path, autoencoder::data::npy::encode_f32(&x)).unwrap();
    path
}

#[test]
fn train_eval_encode_reconstruct_round_trip() {
    let dir = tmp("round");
    let data = small_npy(&dir);
    let config = dir.join("c.toml");
    std::fs::write(&config, SMALL_CONFIG).unwrap();
    let run = dir.join("run");
    let out = train(&config, &data, &run);
    assert_success(&out);
    assert!(
        out.stderr.is_empty(),
        "--quiet printed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "model.safetensors",
        "spec.json",
        "config.toml",
        "metrics.jsonl",
        "report/loss.png",
        "report/reconstructions.png",
        "report/codes.png",
        "report/filters.png",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 3);
    let out = ae(&["eval", "--model", s(&run), "--data", s(&data), "--json"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.trim().lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["examples"], 600);
    assert!(v["squared_error_per_example"].as_f64().unwrap() > 0.0);
    assert!(v["cross_entropy_per_example"].as_f64().unwrap() > 0.0);
    let codes = dir.join("codes.csv");
    assert!(ae(&[
        "encode",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&codes)
    ])
    .status
    .success());
    let text = std::fs::read_to_string(&codes).unwrap();
    assert_eq!(text.lines().count(), 600);
    assert_eq!(text.lines().next().unwrap().split(',').count(), 8);
    let recon = dir.join("recon.npy");
    assert!(ae(&[
        "reconstruct",
        "--model",
        s(&run),
        "--data",
        s(&data),
        "--out",
        s(&recon)
    ])
    .status
    .success());
    let m = autoencoder::data::npy::read_matrix(&recon).unwrap();
    assert_eq!((m.rows(), m.cols()), (600, 196));
    let out = ae(&["pca", "--components", "8", "--data", s(&data), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["examples"], 600);
    assert!(v["squared_error_per_example"].as_f64().unwrap() > 0.0);
}

#[test]
fn malformed_data_files_fail_cleanly() {
    let dir = tmp("bad");
    let config = dir.join("c.toml");
    std::fs::write(&config, SMALL_CONFIG).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "trunc-images-idx3-ubyte",
            autoencoder::data::idx::encode(&[10, 28, 28], &[0u8; 700]),
            "truncated",
        ),
        (
            "magic-images-idx3-ubyte",
            b"\x12\x34\x08\x03aaaaaaaaaaaaaaaa".to_vec(),
            "magic",
        ),
        ("ragged.csv", b"1,2,3\n4,5\n".to_vec(), "line 2"),
        ("words.csv", b"a,b\n1,2\nx,3\n".to_vec(), "not a number"),
        // a first row with a typo is data, not a header to drop silently
        ("typo.csv", b"1,2,x\n4,5,6\n".to_vec(), "line 1"),
        ("nan.csv", b"1,2\nNaN,3\n".to_vec(), "non-finite"),
        ("empty.csv", Vec::new(), "no data"),
        ("bad.npy", b"\x93NUMPY\x01\x00garbage".to_vec(), "bad.npy"),
        ("weird.txt", b"1,2".to_vec(), "unknown file type"),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = train(&config, &path, &dir.join("r"));
        assert_clean_error(&out, &[name, needle]);
    }
    let out = ae(&[
        "train",
        "--config",
        s(&config),
        "--data",
        s(&dir.join("missing.npy")),
        "--quiet",
    ]);
    assert_clean_error(&out, &["missing.npy"]);
}

#[test]
fn bad_configs_models_and_outputs_fail_cleanly() {
    let dir = tmp("cfg");
    let data = small_npy(&dir);
    let config = dir.join("c.toml");
    for (text, needle) in [
        ("[model]\ncode = 8\nlayerz = [3]\n", "layerz"),
        ("[model]\ncode = 0\n", "model.code"),
        // a few digits too many: an error before any allocation, not an abort
        ("[model]\nlayers = [10000000000]\ncode = 4\n", "model.layers"),
        ("[model]\nlayers = [100000, 100000]\ncode = 4\n", "parameters"),
        (
            "[model]\ncode = 4\n[train]\nbatch_size = 0\n",
            "train.batch_size",
        ),
        ("[model]\ncode = 4\noutput = \"poisson\"\n", "model.output"),
        (
            "[model]\ncode = 12\ncode_distribution = \"binary\"\n",
            "model.code",
        ),
        (
            "[model]\ncode = 8\ncode_distribution = \"binary\"\ncode_activation = \"sigmoid\"\n",
            "model.code_activation",
        ),
        ("[model]\ncode = 8\nbinary = \"noise\"\n", "model.binary"),
        (
            "[model]\ncode = 2\n[train]\nbatch_size = 60\n[[regularizer]]\nkind = \"tsne\"\nweight = 1.0\nperplexity = 30\n",
            "regularizer[0].perplexity",
        ),
        (
            "[model]\ncode = 2\n[[regularizer]]\nkind = \"l1\"\nweight = 1.0\nperplexity = 5\n",
            "regularizer[0].perplexity",
        ),
        (
            "[model]\ncode = 2\ncode_distribution = \"gaussian\"\n[[regularizer]]\nkind = \"tsne\"\nweight = 1.0\n",
            "regularizer[0].kind",
        ),
        (
            "[model]\nkind = \"psd\"\natoms = 8\nlista_steps = 2\n",
            "model.lista_steps",
        ),
        (
            "[model]\nkind = \"psd\"\natoms = 8\npredictor = \"lista\"\nlista_steps = 1000\n",
            "model.lista_steps",
        ),
        ("[model]\ncode = 4\nlista_steps = 2\n", "psd"),
        (
            "[model]\ncode = 2\n[[regularizer]]\nkind = \"umap\"\nweight = 1.0\nneighbors = 1\n",
            "regularizer[0].neighbors",
        ),
        (
            "[model]\ncode = 2\n[[regularizer]]\nkind = \"umap\"\nweight = 1.0\nmin_dist = 2.0\n",
            "regularizer[0].min_dist",
        ),
        (
            "[model]\ncode = 2\n[[regularizer]]\nkind = \"umap\"\nweight = 1.0\nnegative_samples = 0\n",
            "regularizer[0].negative_samples",
        ),
        (
            "[model]\ncode = 2\n[train]\nbatch_size = 101\n[[regularizer]]\nkind = \"umap\"\nweight = 1.0\n",
            "train.batch_size",
        ),
        (
            "[model]\ncode = 2\n[[regularizer]]\nkind = \"tsne\"\nweight = 1.0\nneighbors = 15\n",
            "regularizer[0].neighbors",
        ),
        (
            "[model]\ncode = 2\ncode_distribution = \"gaussian\"\n[[regularizer]]\nkind = \"umap\"\nweight = 1.0\n",
            "regularizer[0].kind",
        ),
        (
            "[model]\ncode = 2\n[[regularizer]]\nkind = \"umap\"\nweight = 1.0\n[[regularizer]]\nkind = \"umap\"\nweight = 2.0\n",
            "regularizer[1].kind",
        ),
        (
            "[model]\ncode = 2\n[train]\nreconstruction_weight = -1\n",
            "train.reconstruction_weight",
        ),
        ("[model]\ncode = 4\n[report]\nmap = \"umap\"\n", "report.map"),
        ("[model]\ncode = 4\n[report]\nformat = \"pdf\"\n", "report.format"),
        (
            "[model]\ncode = 8\ncode_distribution = \"binary\"\nbinary_noise = -1.0\n",
            "model.binary_noise",
        ),
        ("[model]\ncode = 8\n[data]\ntransform = \"idf\"\n", "transform"),
        (
            "[model]\ncode = 4\n[corruption]\nkind = \"masking\"\nlevel = 2.0\n",
            "corruption.level",
        ),
        ("[model\ncode = 4\n", "c.toml"),
        (
            "[model]\ncode = 4\n[train]\nschedule = \"step\"\nstep_gamma = -0.5\n",
            "train.step_gamma",
        ),
        (
            "[model]\ncode = 4\n[train]\nschedule = \"cosine\"\nmin_learning_rate = -1.0\n",
            "train.min_learning_rate",
        ),
        (
            "[model]\ncode = 4\ncode_distribution = \"gaussian\"\n[train]\nimportance_samples = 5\nkl_warmup_epochs = 3\n",
            "train.kl_warmup_epochs",
        ),
        (
            "[model]\ncode = 4\n[pretrain]\nkind = \"rbm\"\ncd_steps = 0\n",
            "pretrain.cd_steps",
        ),
        (
            "[model]\ncode = 4\n[pretrain]\nkind = \"rbm\"\n[train]\npretrain_epochs = 2\n",
            "train.pretrain_epochs",
        ),
        (
            "[model]\nlayers = [8]\ncode = 4\nactivation = \"relu\"\n[pretrain]\nkind = \"rbm\"\n",
            "model.activation",
        ),
        ("[model]\ncode = 4\n[pretrain]\nkind = \"boltzmann\"\n", "pretrain.kind"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = train(&config, &data, &dir.join("r"));
        assert_clean_error(&out, &["c.toml", needle]);
    }
    // --out that is not writable: a path below a regular file
    std::fs::write(&config, SMALL_CONFIG).unwrap();
    let blocker = dir.join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let out = train(&config, &data, &blocker.join("run"));
    assert_clean_error(&out, &["file"]);

    // a model, then damage it in two ways
    let run = dir.join("run");
    assert!(train(&config, &data, &run).status.success());
    let wrong_width = dir.join("wide.csv");
    std::fs::write(&wrong_width, "1,2,3\n4,5,6\n").unwrap();
    assert_clean_error(
        &ae(&["eval", "--model", s(&run), "--data", s(&wrong_width)]),
        &["wide.csv", "columns"],
    );
    let spec_path = run.join("spec.json");
    let spec = std::fs::read_to_string(&spec_path).unwrap();
    std::fs::write(
        &spec_path,
        spec.replace("\"code_size\": 8", "\"code_size\": 9"),
    )
    .unwrap();
    assert_clean_error(
        &ae(&["eval", "--model", s(&run), "--data", s(&data)]),
        &["model.safetensors", "shape"],
    );
    std::fs::write(&spec_path, spec).unwrap();
    let weights = run.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 3]).unwrap();
    assert_clean_error(
        &ae(&["eval", "--model", s(&run), "--data", s(&data)]),
        &["model.safetensors"],
    );
}

#[test]
fn divergence_stops_cleanly_and_keeps_a_finite_model() {
    let dir = tmp("nan");
    let rows: String = (0..200)
        .map(|i| format!("{},{},{}\n", i as f32 * 1e3, -(i as f32) * 1e3, 5e4))
        .collect();
    let data = dir.join("huge.csv");
    std::fs::write(&data, rows).unwrap();
    let config = dir.join("c.toml");
    std::fs::write(&config, "[model]\nlayers = [4]\ncode = 2\nactivation = \"linear\"\noutput = \"gaussian\"\n[train]\nepochs = 50\noptimizer = \"sgd\"\nlearning_rate = 10.0\n").unwrap();
    let run = dir.join("run");
    let out = train(&config, &data, &run);
    assert_clean_error(&out, &["diverged", "learning rate"]);
    let model = autoencoder::model::persist::load_model(&run).unwrap();
    assert!(model
        .tensors()
        .iter()
        .all(|t| t.data.iter().all(|v| v.is_finite())));
}

#[test]
fn resume_after_kill_matches_an_uninterrupted_run() {
    let dir = tmp("resume");
    // full-size images and a wider net, so that an epoch takes long enough to be interrupted
    let data = common::repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[model]\nlayers = [512, 256]\ncode = 32\n[train]\nepochs = 6\nbatch_size = 64\n",
    )
    .unwrap();
    let full = dir.join("full");
    assert!(train(&config, &data, &full).status.success());

    // kill -9 the process once it has finished at least one epoch, then resume
    let part = dir.join("part");
    let mut child = Command::new(env!("CARGO_BIN_EXE_autoencoder"))
        .args([
            "train",
            "--config",
            s(&config),
            "--data",
            s(&data),
            "--out",
            s(&part),
            "--quiet",
        ])
        .spawn()
        .unwrap();
    let metrics = part.join("metrics.jsonl");
    let start = std::time::Instant::now();
    while std::fs::read_to_string(&metrics)
        .map(|t| t.lines().count())
        .unwrap_or(0)
        < 1
    {
        assert!(start.elapsed().as_secs() < 60, "no epoch finished");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run finished before it could be killed"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = std::fs::read_to_string(&metrics).unwrap().lines().count();
    assert!(done < 6, "killed after the last epoch");
    // whatever the kill interrupted, the last saved model is whole
    assert!(
        autoencoder::model::persist::load_model(&part).is_ok(),
        "kill -9 left a damaged model"
    );
    let out = ae(&["train", "--resume", s(&part), "--data", s(&data), "--quiet"]);
    assert_success(&out);
    assert_eq!(
        std::fs::read(full.join("model.safetensors")).unwrap(),
        std::fs::read(part.join("model.safetensors")).unwrap(),
        "resumed run ended at different weights"
    );
}

#[test]
fn demo_data_is_shipped() {
    for f in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        assert!(repo_path("data/mnist").join(f).exists(), "{f}");
    }
}

#[test]
fn every_example_and_bench_config_resolves() {
    let mut checked = 0;
    for dir in [
        "examples",
        "bench",
        "bench/configs",
        "bench/configs/dae_geometry",
    ] {
        for entry in std::fs::read_dir(repo_path(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let mut cfg =
                    autoencoder::config::RunConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
                if cfg.model.encoder.is_some() && cfg.model.input_shape.is_none() {
                    // what `train` reads from an MNIST IDX file
                    cfg.model.input_shape = Some(vec![1, 28, 28]);
                }
                // the one check each run gets (RBMs have their own)
                let checked_ok = match cfg.model.kind {
                    autoencoder::config::ModelKind::Rbm => cfg.check_rbm(784).map(|_| ()),
                    autoencoder::config::ModelKind::Psd => cfg.check_psd(784).map(|_| ()),
                    autoencoder::config::ModelKind::Autoencoder => cfg.check(784).map(|_| ()),
                };
                checked_ok.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} configs found");
}

#[test]
fn probe_reports_test_and_validation_errors() {
    let dir = tmp("probe");
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[model]\nlayers = []\ncode = 32\ntied = true\n[train]\nepochs = 2\nbatch_size = 100\nvalidation_fraction = 0.0\n",
    )
    .unwrap();
    let (train_data, test_data) = (
        repo_path("data/mnist/train-images-idx3-ubyte.gz"),
        repo_path("data/mnist/t10k-images-idx3-ubyte.gz"),
    );
    let run = dir.join("run");
    let out = train(&config, &train_data, &run);
    assert_success(&out);
    // The test images double as validation images: the selected epochs' validation errors
    // must then be exactly the reported test errors.
    let out = probe(
        &run,
        &train_data,
        &test_data,
        &[
            "--val",
            s(&test_data),
            "--epochs",
            "3",
            "--fine-tune-epochs",
            "2",
            "--fine-tune-dropout",
            "0.2",
            "--fine-tune-average",
            "0.9",
            "--threads",
            "1",
            "--json",
        ],
    );
    assert_success(&out);
    // progress on stderr, one line per epoch of each phase, with the validation error
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress.contains("linear probe epoch 3/3: loss ")
            && progress.contains("fine-tuning epoch 2/2: loss ")
            && progress.contains("validation error "),
        "{progress}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fine_tune_dropout"].as_f64(), Some(0.2));
    assert_eq!(v["fine_tune_input_dropout"].as_f64(), Some(0.0));
    assert_eq!(v["fine_tune_average"].as_f64(), Some(0.9));
    for kind in ["linear_probe", "fine_tuned", "fine_tuned_unaveraged"] {
        let test = v[format!("{kind}_test_error")].as_f64().unwrap();
        let val = v[format!("{kind}_validation_error")].as_f64().unwrap();
        assert!(test > 0.0 && test < 0.5, "{kind} test error {test}");
        assert_eq!(test, val, "{kind}");
    }
    // the fine-tuning curve, one validation error per epoch, holds the kept epoch's error
    let curve: Vec<f64> = v["fine_tuned_validation_curve"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_f64().unwrap())
        .collect();
    assert_eq!(curve.len(), 2);
    let kept = v["fine_tuned_selected_epoch"].as_u64().unwrap() as usize;
    assert!((1..=2).contains(&kept), "kept epoch {kept}");
    assert_eq!(
        curve[kept - 1],
        v["fine_tuned_validation_error"].as_f64().unwrap()
    );
    let probe_kept = v["linear_probe_selected_epoch"].as_u64().unwrap();
    assert!(
        (1..=3).contains(&probe_kept),
        "probe kept epoch {probe_kept}"
    );
    assert_eq!(v["test_examples"], 1000);
    let quiet = probe(&run, &train_data, &test_data, &["--epochs", "1", "--quiet"]);
    assert_success(&quiet);
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    // each bad value is a one-line error naming its flag
    for (flag, value, context) in [
        ("--fine-tune-batch-size", "0", ["--fine-tune-epochs", "1"]),
        ("--selection-window", "0", ["--val", s(&test_data)]),
        (
            "--fine-tune-weight-decay",
            "nan",
            ["--fine-tune-epochs", "1"],
        ),
        ("--fine-tune-dropout", "1", ["--fine-tune-epochs", "1"]),
        ("--fine-tune-average", "1", ["--fine-tune-epochs", "1"]),
    ] {
        let out = probe(
            &run,
            &train_data,
            &test_data,
            &[context[0], context[1], flag, value],
        );
        assert_clean_error(&out, &[flag]);
    }
}

#[test]
fn npy_data_takes_labels_from_a_sibling_file() {
    let dir = tmp("npy-labels");
    let shipped =
        autoencoder::data::load(&repo_path("data/mnist/train-images-idx3-ubyte.gz"), None).unwrap();
    let labels = shipped.labels.unwrap();
    let (train_x, test_x) = (
        shipped.features.slice_rows(0, 800),
        shipped.features.slice_rows(800, 1000),
    );
    let (train_npy, test) = (dir.join("train.npy"), dir.join("test.npy"));
    std::fs::write(&train_npy, autoencoder::data::npy::encode_f32(&train_x)).unwrap();
    std::fs::write(&test, autoencoder::data::npy::encode_f32(&test_x)).unwrap();
    std::fs::write(
        dir.join("train.labels.npy"),
        autoencoder::data::npy::encode_i64(&labels[..800]),
    )
    .unwrap();
    std::fs::write(
        dir.join("test.labels.npy"),
        autoencoder::data::npy::encode_i64(&labels[800..1000]),
    )
    .unwrap();
    let loaded = autoencoder::data::load(&train_npy, None).unwrap();
    assert_eq!(loaded.labels.as_deref(), Some(&labels[..800]));

    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        SMALL_CONFIG
            .replace("layers = [32]\ncode = 8", "layers = []\ncode = 32")
            .replace("epochs = 3", "epochs = 20"),
    )
    .unwrap();
    let run = dir.join("run");
    let out = train(&config, &train_npy, &run);
    assert_success(&out);
    let probe_on = |test: &Path| probe(&run, &train_npy, test, &["--epochs", "50", "--json"]);
    let out = probe_on(&test);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["test_examples"], 200);
    let error = v["linear_probe_test_error"].as_f64().unwrap();
    // ten classes: labels that did not line up with their images would leave it near 0.9
    assert!(error < 0.5, "probe error {error}");

    // a labels file of the wrong length is named in a clean error
    let short = dir.join("short.npy");
    std::fs::write(&short, autoencoder::data::npy::encode_f32(&test_x)).unwrap();
    std::fs::write(
        dir.join("short.labels.npy"),
        autoencoder::data::npy::encode_i64(&labels[..10]),
    )
    .unwrap();
    assert_clean_error(
        &probe_on(&short),
        &["short.labels.npy", "10 labels", "200 rows"],
    );
    // ...but commands that never use labels do not read it
    let codes = dir.join("codes.npy");
    assert_success(&ae(&[
        "encode",
        "--model",
        s(&run),
        "--data",
        s(&short),
        "--out",
        s(&codes),
    ]));
    assert_success(&ae(&[
        "eval",
        "--model",
        s(&run),
        "--data",
        s(&short),
        "--json",
    ]));
}

/// A resumed run keeps its optimizer state and validation split; a change the resume would
/// ignore, or one that would validate on trained-on rows, is refused. Commands that cannot
/// mean anything for their input say so instead of producing numbers.
#[test]
fn refusals_name_the_flag_or_file() {
    let dir = tmp("refuse");
    let data = small_npy(&dir);
    let config = dir.join("c.toml");
    std::fs::write(&config, SMALL_CONFIG).unwrap();
    let run = dir.join("run");
    assert!(train(&config, &data, &run).status.success());
    let resume_with = |text: &str| {
        let changed = dir.join("changed.toml");
        std::fs::write(&changed, text).unwrap();
        ae(&[
            "train",
            "--resume",
            s(&run),
            "--config",
            s(&changed),
            "--data",
            s(&data),
            "--epochs",
            "4",
            "--quiet",
        ])
    };
    assert_clean_error(
        &resume_with(&format!("{SMALL_CONFIG}optimizer = \"sgd\"\n")),
        &["run", "optimizer"],
    );
    assert_clean_error(
        &resume_with(&format!("{SMALL_CONFIG}seed = 7\n")),
        &["changed.toml", "validation split"],
    );
    // more epochs and other threads are fine
    assert_success(&resume_with(&format!("{SMALL_CONFIG}threads = 1\n")));
    let out = ae(&[
        "train",
        "--resume",
        s(&run),
        "--data",
        s(&data),
        "--seed",
        "3",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));

    assert_clean_error(
        &ae(&[
            "sample",
            "--model",
            s(&run),
            "--n",
            "4",
            "--out",
            s(&dir.join("x.npy")),
        ]),
        &["run", "deterministic"],
    );
    let labels_dir = repo_path("data/mnist");
    let (train_images, test_images) = (
        labels_dir.join("train-images-idx3-ubyte.gz"),
        labels_dir.join("t10k-images-idx3-ubyte.gz"),
    );
    assert_clean_error(
        &probe(
            &run,
            &train_images,
            &test_images,
            &["--fine-tune-learning-rate=-1"],
        ),
        &["--fine-tune-learning-rate"],
    );
    // the model reads 196 pooled pixels; the shipped IDX images have 784
    assert_clean_error(
        &probe(&run, &train_images, &test_images, &[]),
        &["train-images-idx3-ubyte.gz", "784 columns"],
    );
    assert_clean_error(
        &ae(&["bench", "--data", s(&labels_dir), "--limit", "10", "--json"]),
        &["train-images", "at least one batch"],
    );
    let codes = dir.join("codes.npy");
    std::fs::write(&codes, autoencoder::data::npy::encode_u8(&[4, 2], &[0; 8])).unwrap();
    assert_clean_error(
        &ae(&[
            "search",
            "--db",
            s(&codes),
            "--queries",
            s(&codes),
            "--k",
            "2",
            "--radius",
            "1",
            "--parts",
            "0",
            "--out",
            s(&dir.join("ids.npy")),
        ]),
        &["--parts", "substrings"],
    );
}

/// Every size a config or a flag can set, at a value no machine has memory for: exit code 2
/// and the key's name, never an abort (before the one check, `importance_samples = 4e9` of a
/// Gaussian-code model ended in a 32 TB allocation failure, exit 134).
#[test]
fn absurd_sizes_are_refused_with_the_key_not_an_abort() {
    let dir = tmp("absurd");
    let data = small_npy(&dir);
    let config = dir.join("c.toml");
    let vae = "[model]\nlayers = [16]\ncode = 4\ncode_distribution = \"gaussian\"\n";
    let deep = "[model]\nlayers = [16]\ncode = 4\n";
    for (text, key) in [
        (format!("{vae}[train]\nimportance_samples = 4000000000\n"), "train.importance_samples"),
        (format!("{deep}[train]\nbatch_size = 100000000000\n"), "train.batch_size"),
        (format!("{deep}[train]\nthreads = 100000000000\n"), "train.threads"),
        (
            format!("{deep}[[regularizer]]\nkind = \"contractive\"\nweight = 0.1\ndirections = 100000000000\n"),
            "regularizer[0].directions",
        ),
        // each under the key the user wrote
        ("[model]\nlayers = [16]\ncode = 100000000000\n".to_string(), "model.code:"),
        ("[model]\nlayers = [16]\ncode = 3000000000\n".to_string(), "model.code:"),
        ("[model]\nlayers = [100000000000]\ncode = 4\n".to_string(), "model.layers:"),
        (
            "[model]\ncode = 4\ndecoder_layers = [100000000000]\n".to_string(),
            "model.decoder_layers:",
        ),
    ] {
        std::fs::write(&config, &text).unwrap();
        let out = train(&config, &data, &dir.join("r"));
        assert_clean_error(&out, &["c.toml", key]);
    }
    std::fs::write(&config, SMALL_CONFIG).unwrap();
    let run = dir.join("run");
    assert_success(&train(&config, &data, &run));
    let mnist = repo_path("data/mnist");
    for (cmd, flag) in [
        (
            vec![
                "probe",
                "--model",
                s(&run),
                "--train",
                s(&data),
                "--test",
                s(&data),
                "--threads",
                "100000000000",
            ],
            "--threads",
        ),
        (
            vec![
                "sample",
                "--model",
                s(&run),
                "--n",
                "100000000000",
                "--out",
                "x.npy",
            ],
            "--n",
        ),
        (
            vec!["bench", "--data", s(&mnist), "--threads", "100000000000"],
            "--threads",
        ),
        (
            vec![
                "hash",
                "--method",
                "lsh",
                "--bits",
                "100000000000",
                "--fit",
                s(&data),
                "--data",
                s(&data),
                "--out",
                "c.npy",
            ],
            "bits",
        ),
    ] {
        assert_clean_error(&ae(&cmd), &[flag]);
    }
}

/// The happy paths of `demo` (one epoch), `bench` (two steps) and `sample` (a small VAE).
#[test]
fn demo_bench_and_sample_run() {
    let dir = tmp("happy");
    let demo_out = dir.join("demo");
    let out = ae(&["demo", "--epochs", "1", "--out", s(&demo_out), "--quiet"]);
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PCA"), "demo output: {text}");
    assert!(demo_out.join("model.safetensors").exists());
    assert!(demo_out.join("report/loss.png").exists());

    let out = ae(&[
        "bench",
        "--data",
        s(&repo_path("data/mnist")),
        "--limit",
        "256",
        "--epochs",
        "1",
        "--threads",
        "2",
        "--json",
    ]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["threads"].as_u64() == Some(2), "{v}");

    let data = small_npy(&dir);
    let config = dir.join("vae.toml");
    std::fs::write(
        &config,
        "[model]\nlayers = [32]\ncode = 4\ncode_distribution = \"gaussian\"\n[train]\nepochs = 2\nbatch_size = 50\n",
    )
    .unwrap();
    let run = dir.join("vae");
    assert_success(&train(&config, &data, &run));
    let samples = dir.join("samples.npy");
    assert_success(&ae(&[
        "sample",
        "--model",
        s(&run),
        "--n",
        "16",
        "--out",
        s(&samples),
    ]));
    let x = autoencoder::data::load(&samples, None).unwrap().features;
    assert_eq!((x.rows(), x.cols()), (16, 196));
    assert!(x.as_slice().iter().all(|v| (0.0..=1.0).contains(v)));
    let grid = dir.join("samples.png");
    assert_success(&ae(&[
        "sample",
        "--model",
        s(&run),
        "--n",
        "16",
        "--out",
        s(&grid),
    ]));
    assert!(grid.exists());
}

/// A deep autoencoder pretrained as a stack of RBMs reports each RBM: its shape, unit type and
/// reconstruction error, and the first RBM's filters.
#[test]
fn rbm_pretraining_reports_the_stack() {
    let dir = tmp("rbm_stack_report");
    let data = small_npy(&dir);
    let config = dir.join("stack.toml");
    std::fs::write(
        &config,
        "[model]\nlayers = [16]\ncode = 4\nactivation = \"sigmoid\"\ncode_activation = \"linear\"\n[pretrain]\nkind = \"rbm\"\nepochs = 2\nbatch_size = 20\n[train]\nepochs = 1\n",
    )
    .unwrap();
    let run = dir.join("run");
    assert_success(&train(&config, &data, &run));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("report/pretraining.json")).unwrap())
            .unwrap();
    let layers = json.as_array().unwrap();
    assert_eq!(layers.len(), 2, "{json}");
    assert_eq!(layers[0]["visible"], 196);
    assert_eq!(layers[0]["hidden"], 16);
    assert_eq!(layers[0]["hidden_units"], "bernoulli");
    assert_eq!(layers[1]["hidden"], 4);
    assert_eq!(layers[1]["hidden_units"], "gaussian");
    for l in layers {
        let e = l["reconstruction_error"].as_f64().unwrap();
        assert!(e.is_finite() && e > 0.0, "{json}");
    }
    assert!(run.join("report/rbm1_filters.png").exists());
}

/// An RBM from a config: train, eval (exact and AIS log Z), encode, reconstruct, sample by
/// Gibbs chains; its refusals name the key.
#[test]
fn rbm_runs_end_to_end() {
    let dir = tmp("rbm");
    let data = small_npy(&dir);
    let config = dir.join("rbm.toml");
    std::fs::write(
        &config,
        "[model]\nkind = \"rbm\"\nhidden = 12\n[train]\nepochs = 4\nbatch_size = 20\noptimizer = \"sgd\"\nlearning_rate = 0.05\ncd_steps = 1\n",
    )
    .unwrap();
    let run = dir.join("run");
    assert_success(&train(&config, &data, &run));
    let spec = std::fs::read_to_string(run.join("spec.json")).unwrap();
    assert!(spec.contains("\"kind\": \"rbm\""), "{spec}");
    for png in ["loss", "filters", "reconstructions"] {
        let bytes = std::fs::read(run.join(format!("report/{png}.png"))).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{png}");
    }
    let eval = |extra: &[&str]| {
        let mut a = vec!["eval", "--model", s(&run), "--data", s(&data), "--json"];
        a.extend_from_slice(extra);
        let out = ae(&a);
        assert_success(&out);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let exact = eval(&["--exact"]);
    let ais = eval(&["--ais-runs", "50", "--ais-betas", "3000"]);
    let (z, z_ais) = (
        exact["log_partition"].as_f64().unwrap(),
        ais["log_partition"].as_f64().unwrap(),
    );
    let stderr = ais["log_partition_stderr"].as_f64().unwrap();
    assert!(
        (z - z_ais).abs() < 1.0 + 3.0 * stderr,
        "exact {z} vs AIS {z_ais} ± {stderr}"
    );
    let ll = exact["log_likelihood_per_example"].as_f64().unwrap();
    assert!(ll < 0.0 && ll > -200.0, "{exact}");
    for (cmd, cols) in [("encode", 12), ("reconstruct", 196)] {
        let out = dir.join(format!("{cmd}.npy"));
        assert_success(&ae(&[
            cmd,
            "--model",
            s(&run),
            "--data",
            s(&data),
            "--out",
            s(&out),
        ]));
        assert_eq!(
            autoencoder::data::load(&out, None).unwrap().features.cols(),
            cols
        );
    }
    let samples = dir.join("samples.npy");
    assert_success(&ae(&[
        "sample",
        "--model",
        s(&run),
        "--n",
        "4",
        "--chain-steps",
        "20",
        "--out",
        s(&samples),
    ]));
    assert_eq!(
        autoencoder::data::load(&samples, None)
            .unwrap()
            .features
            .rows(),
        4
    );
    assert_clean_error(
        &ae(&[
            "probe",
            "--model",
            s(&run),
            "--train",
            s(&data),
            "--test",
            s(&data),
        ]),
        &["RBM"],
    );
    for (text, key) in [
        (
            "[model]\nkind = \"rbm\"\nhidden = 4\n[train]\ncd_steps = 0\n",
            "train.cd_steps",
        ),
        ("[model]\nkind = \"rbm\"\n", "model.hidden"),
        (
            "[model]\nkind = \"rbm\"\nhidden = 4\nvisible_units = \"poisson\"\n",
            "model.visible_units",
        ),
    ] {
        std::fs::write(&config, text).unwrap();
        assert_clean_error(&train(&config, &data, &dir.join("bad")), &[key]);
    }
}

/// `embedding-quality` of PCA's 2-D map of 600 images: a map equal to the data is perfectly
/// trustworthy; PCA's is less so and keeps some classes; each test point among the same
/// training points finds itself (1-NN accuracy 1); mismatched files are one-line errors.
#[test]
fn embedding_quality_of_a_pca_map() {
    let dir = tmp("embedding_quality");
    let data = small_npy(&dir);
    let x = autoencoder::data::load(&data, None).unwrap().features;
    let labels = autoencoder::data::idx::read_labels(&common::repo_path(
        "data/mnist/train-labels-idx1-ubyte.gz",
    ))
    .unwrap()[..600]
        .to_vec();
    let labels_path = dir.join("labels.npy");
    std::fs::write(&labels_path, autoencoder::data::npy::encode_i64(&labels)).unwrap();
    let map = autoencoder::baselines::Pca::fit(&x, 2)
        .unwrap()
        .transform(&x)
        .unwrap();
    let low = dir.join("low.npy");
    std::fs::write(&low, autoencoder::data::npy::encode_f32(&map)).unwrap();
    let quality = |args: &[&str]| {
        let mut a = vec!["embedding-quality", "--json"];
        a.extend_from_slice(args);
        let out = ae(&a);
        assert_success(&out);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let same = quality(&["--high", s(&data), "--low", s(&data), "--k", "5"]);
    assert_eq!(same["trustworthiness"], 1.0, "{same}");
    assert_eq!(same["continuity"], 1.0, "{same}");
    let plot = dir.join("map.png");
    let pca = quality(&[
        "--high",
        s(&data),
        "--low",
        s(&low),
        "--labels",
        s(&labels_path),
        "--plot",
        s(&plot),
    ]);
    let t = pca["trustworthiness"].as_f64().unwrap();
    assert!(t > 0.6 && t < 0.99, "{pca}");
    let acc = pca["knn_accuracy"].as_f64().unwrap();
    assert!(acc > 0.2 && acc < 0.8, "{pca}");
    assert!(plot.exists());
    let itself = quality(&[
        "--low",
        s(&low),
        "--labels",
        s(&labels_path),
        "--train-low",
        s(&low),
        "--train-labels",
        s(&labels_path),
        "--k",
        "1",
    ]);
    assert_eq!(itself["knn_test_accuracy"], 1.0, "{itself}");
    assert_clean_error(
        &ae(&[
            "embedding-quality",
            "--high",
            s(&low),
            "--low",
            s(&data),
            "--plot",
            s(&plot),
        ]),
        &["small.npy", "2-D"],
    );
    let short = dir.join("short.npy");
    std::fs::write(&short, autoencoder::data::npy::encode_i64(&labels[..10])).unwrap();
    assert_clean_error(
        &ae(&["embedding-quality", "--low", s(&low), "--labels", s(&short)]),
        &["short.npy", "10 labels for 600 points"],
    );
    assert_clean_error(
        &ae(&[
            "embedding-quality",
            "--high",
            s(&data),
            "--low",
            s(&low),
            "--k",
            "400",
        ]),
        &["low.npy", "k = 400"],
    );
}

/// `plot` draws one metric of several runs; a key no line has, or labels that do not match
/// the runs, are one-line errors naming the file or flag.
#[test]
fn plot_draws_curves_of_several_runs() {
    let dir = tmp("plot");
    let a = dir.join("a.jsonl");
    let b = dir.join("b.jsonl");
    std::fs::write(
        &a,
        "{\"epoch\":1,\"validation_loss\":3.0}\n{\"epoch\":2,\"validation_loss\":2.0}\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "{\"epoch\":1,\"validation_loss\":null}\n{\"epoch\":2,\"validation_loss\":2.5}\n",
    )
    .unwrap();
    let out = dir.join("curves.png");
    assert_success(&ae(&[
        "plot",
        "--metrics",
        s(&a),
        s(&b),
        "--label",
        "A",
        "B",
        "--out",
        s(&out),
    ]));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert_clean_error(
        &ae(&[
            "plot",
            "--metrics",
            s(&a),
            "--key",
            "train_loss",
            "--out",
            s(&out),
        ]),
        &["a.jsonl", "train_loss"],
    );
    assert_clean_error(
        &ae(&[
            "plot",
            "--metrics",
            s(&a),
            s(&b),
            "--label",
            "A",
            "--out",
            s(&out),
        ]),
        &["--label", "1 names for 2"],
    );
}

const RING_DAE: &str = "[model]\nlayers = [32]\ncode = 32\nactivation = \"tanh\"\ncode_activation = \"tanh\"\noutput = \"gaussian\"\n[train]\nepochs = 4\nbatch_size = 64\nlearning_rate = 3e-3\nvalidation_fraction = 0.0\n[corruption]\nkind = \"gaussian\"\nlevel = 0.1\n";

/// Every learning rule either applies each parameter penalty (the trained weights differ from
/// the same run without it) or refuses it with an error naming the `[[regularizer]]` entry.
#[test]
fn every_learning_rule_applies_or_refuses_each_parameter_penalty() {
    let dir = tmp("rules-penalties");
    let data = small_npy(&dir);
    let rules = [
        ("backprop", "[model]\nlayers = []\ncode = 16\ncode_activation = \"sigmoid\"\n[train]\nepochs = 1\nbatch_size = 50\n"),
        ("recirculation", "[model]\nlayers = []\ncode = 16\ncode_activation = \"sigmoid\"\n[train]\nrule = \"recirculation\"\nepochs = 1\nbatch_size = 50\n"),
        ("cd", "[model]\nkind = \"rbm\"\nhidden = 16\n[train]\nepochs = 1\nbatch_size = 50\n"),
        ("psd", "[model]\nkind = \"psd\"\natoms = 16\n[train]\nepochs = 1\nbatch_size = 50\n[psd]\nfista_iterations = 5\n"),
    ];
    let penalties = [
        (
            "weight_decay",
            "[[regularizer]]\nkind = \"weight_decay\"\nweight = 0.5\n",
        ),
        (
            "contractive",
            "[[regularizer]]\nkind = \"contractive\"\nweight = 0.5\n",
        ),
    ];
    // (rule, penalty) → applied?
    let applied = |rule: &str, penalty: &str| {
        matches!(
            (rule, penalty),
            ("backprop", _) | ("recirculation" | "cd", "weight_decay")
        )
    };
    for (rule, base) in rules {
        let plain = dir.join(format!("{rule}-plain"));
        std::fs::write(dir.join("c.toml"), base).unwrap();
        assert_success(&train(&dir.join("c.toml"), &data, &plain));
        for (penalty, section) in penalties {
            let out = dir.join(format!("{rule}-{penalty}"));
            std::fs::write(dir.join("c.toml"), format!("{base}{section}")).unwrap();
            let run = train(&dir.join("c.toml"), &data, &out);
            if applied(rule, penalty) {
                assert_success(&run);
                let weights = |d: &Path| std::fs::read(d.join("model.safetensors")).unwrap();
                assert_ne!(weights(&plain), weights(&out), "{rule} ignored {penalty}");
            } else {
                assert_clean_error(&run, &["regularizer[0]", penalty]);
            }
        }
    }
}

/// A run folder's `spec.json` records the corruption its model was trained with (what `score`
/// and DAE chains need); folders saved before it did still read it from their `config.toml`.
#[test]
fn the_training_corruption_is_read_from_the_spec_and_from_old_folders_configs() {
    let dir = tmp("spec-corruption");
    let p = |name: &str| dir.join(name);
    assert_success(&ae(&[
        "toy",
        "--density",
        "ring",
        "--n",
        "500",
        "--seed",
        "2",
        "--out",
        s(&p("ring.npy")),
    ]));
    std::fs::write(p("dae.toml"), RING_DAE).unwrap();
    assert_success(&train(&p("dae.toml"), &p("ring.npy"), &p("run")));
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("run").join("spec.json")).unwrap()).unwrap();
    assert_eq!(spec["corruption"]["kind"], "gaussian", "{spec}");
    assert!(
        (spec["corruption"]["sigma"].as_f64().unwrap() - 0.1).abs() < 1e-6,
        "{spec}"
    );
    let score = |run: &str, out: &str| {
        ae(&[
            "score",
            "--model",
            s(&p(run)),
            "--data",
            s(&p("ring.npy")),
            "--out",
            s(&p(out)),
        ])
    };
    assert_success(&score("run", "new.npy"));
    // the model folder alone (no config.toml) is enough
    let copy = |to: &str| {
        std::fs::create_dir_all(p(to)).unwrap();
        for f in ["model.safetensors", "spec.json", "config.toml"] {
            std::fs::copy(p("run").join(f), p(to).join(f)).unwrap();
        }
    };
    copy("bare");
    std::fs::remove_file(p("bare").join("config.toml")).unwrap();
    assert_success(&score("bare", "bare.npy"));
    // an older folder: its spec has no corruption, its config.toml has
    copy("old");
    let mut old_spec = spec.clone();
    old_spec.as_object_mut().unwrap().remove("corruption");
    std::fs::write(p("old").join("spec.json"), old_spec.to_string()).unwrap();
    assert_success(&score("old", "old.npy"));
    let read = |f: &str| std::fs::read(p(f)).unwrap();
    assert_eq!(read("new.npy"), read("bare.npy"));
    assert_eq!(read("new.npy"), read("old.npy"));
    // neither: no corruption to score with
    std::fs::remove_file(p("old").join("config.toml")).unwrap();
    assert_clean_error(&score("old", "none.npy"), &["corruption"]);
}

#[test]
fn toy_score_sample_and_tangent_round_trip() {
    let dir = tmp("dae-geometry");
    let p = |name: &str| dir.join(name);
    assert_success(&ae(&[
        "toy",
        "--density",
        "ring",
        "--n",
        "3000",
        "--seed",
        "1",
        "--out",
        s(&p("ring.npy")),
        "--score",
        s(&p("true_score.npy")),
        "--log-density",
        s(&p("logp.npy")),
    ]));
    let score = autoencoder::data::npy::read_matrix(&p("true_score.npy")).unwrap();
    assert_eq!((score.rows(), score.cols()), (3000, 2));
    std::fs::write(p("dae.toml"), RING_DAE).unwrap();
    assert_success(&train(&p("dae.toml"), &p("ring.npy"), &p("run")));
    let out = ae(&[
        "score",
        "--model",
        s(&p("run")),
        "--data",
        s(&p("ring.npy")),
        "--out",
        s(&p("s.npy")),
        "--true-density",
        "ring",
        "--plot",
        s(&p("field.png")),
    ]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["cosine_mean"].as_f64().unwrap() > 0.5, "{json}");
    assert!(p("field.png").exists());
    let out = ae(&[
        "sample",
        "--model",
        s(&p("run")),
        "--data",
        s(&p("ring.npy")),
        "--n",
        "500",
        "--chain-steps",
        "5",
        "--out",
        s(&p("chain.npy")),
        "--reference",
        s(&p("ring.npy")),
    ]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["energy_distance"].as_f64().unwrap() >= 0.0, "{json}");
    // manifolds: tangents written as (n, d, D); local PCA compared with them
    assert_success(&ae(&[
        "toy",
        "--manifold",
        "sphere",
        "--ambient",
        "10",
        "--n",
        "800",
        "--out",
        s(&p("sph.npy")),
        "--tangents",
        s(&p("sph_t.npy")),
    ]));
    let (shape, _) = autoencoder::data::npy::read_f32_array(&p("sph_t.npy")).unwrap();
    assert_eq!(shape, vec![800, 2, 10]);
    let out = ae(&[
        "tangent",
        "--local-pca",
        "12",
        "--data",
        s(&p("sph.npy")),
        "--dim",
        "2",
        "--out",
        s(&p("lp.npy")),
        "--true-tangents",
        s(&p("sph_t.npy")),
    ]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["mean_principal_angle_degrees"].as_f64().unwrap() < 10.0,
        "{json}"
    );
    let out = ae(&[
        "tangent",
        "--model",
        s(&p("run")),
        "--data",
        s(&p("ring.npy")),
        "--dim",
        "1",
        "--out",
        s(&p("t.npy")),
        "--singular-values",
        s(&p("sv.npy")),
        "--plot",
        s(&p("spec.png")),
    ]);
    assert_success(&out);
    let sv = autoencoder::data::npy::read_matrix(&p("sv.npy")).unwrap();
    assert_eq!((sv.rows(), sv.cols()), (3000, 2));
    // refusals: one line, exit 2
    assert_clean_error(
        &ae(&["toy", "--density", "blob", "--out", s(&p("x.npy"))]),
        &["--density", "blob"],
    );
    assert_clean_error(
        &ae(&[
            "toy",
            "--manifold",
            "torus",
            "--ambient",
            "2",
            "--out",
            s(&p("x.npy")),
        ]),
        &["--ambient"],
    );
    assert_clean_error(
        &ae(&[
            "tangent",
            "--model",
            s(&p("run")),
            "--data",
            s(&p("ring.npy")),
            "--dim",
            "3",
            "--out",
            s(&p("t.npy")),
        ]),
        &["--dim 3"],
    );
    assert_clean_error(
        &ae(&[
            "tangent",
            "--local-pca",
            "5",
            "--data",
            s(&p("sph.npy")),
            "--dim",
            "2",
            "--out",
            s(&p("lp.npy")),
            "--true-tangents",
            s(&p("ring.npy")),
        ]),
        &["ring.npy", "shape"],
    );
}

#[test]
fn score_and_chain_refuse_models_without_gaussian_corruption() {
    let dir = tmp("dae-refuse");
    let p = |name: &str| dir.join(name);
    assert_success(&ae(&[
        "toy",
        "--density",
        "mixture",
        "--n",
        "500",
        "--out",
        s(&p("x.npy")),
    ]));
    let plain = RING_DAE.split("[corruption]").next().unwrap();
    std::fs::write(p("plain.toml"), plain).unwrap();
    assert_success(&train(&p("plain.toml"), &p("x.npy"), &p("plain")));
    assert_clean_error(
        &ae(&[
            "score",
            "--model",
            s(&p("plain")),
            "--data",
            s(&p("x.npy")),
            "--out",
            s(&p("s.npy")),
        ]),
        &["plain", "without corruption"],
    );
    assert_clean_error(
        &ae(&[
            "sample",
            "--model",
            s(&p("plain")),
            "--data",
            s(&p("x.npy")),
            "--out",
            s(&p("c.npy")),
        ]),
        &["[corruption]"],
    );
    let masking = RING_DAE.replace("kind = \"gaussian\"", "kind = \"masking\"");
    std::fs::write(p("mask.toml"), masking).unwrap();
    assert_success(&train(&p("mask.toml"), &p("x.npy"), &p("mask")));
    assert_clean_error(
        &ae(&[
            "score",
            "--model",
            s(&p("mask")),
            "--data",
            s(&p("x.npy")),
            "--out",
            s(&p("s.npy")),
        ]),
        &["Masking", "gaussian"],
    );
    // a denoising chain needs a start
    assert_clean_error(
        &ae(&["sample", "--model", s(&p("mask")), "--out", s(&p("c.npy"))]),
        &["--from-noise"],
    );
}

#[test]
fn sparse_encode_writes_lasso_codes_and_refuses_bad_input() {
    let dir = tmp("sparse-encode");
    let p = |name: &str| dir.join(name);
    // a 6 × 10 dictionary with unit-norm columns and data built from two atoms
    let mut rng = autoencoder::linalg::Rng::new(1);
    let mut d: Vec<f32> = (0..60).map(|_| rng.normal()).collect();
    for j in 0..10 {
        let norm: f32 = (0..6).map(|i| d[i * 10 + j].powi(2)).sum::<f32>().sqrt();
        (0..6).for_each(|i| d[i * 10 + j] /= norm);
    }
    let x: Vec<f32> = (0..4 * 6)
        .map(|k| 2.0 * d[(k % 6) * 10 + 1] - 1.5 * d[(k % 6) * 10 + 7])
        .collect();
    let save = |name: &str, rows: usize, cols: usize, v: Vec<f32>| {
        autoencoder::data::save_matrix(&p(name), &autoencoder::Matrix::from_vec(rows, cols, v))
            .unwrap()
    };
    save("d.npy", 6, 10, d);
    save("x.npy", 4, 6, x);
    let out = ae(&[
        "sparse-encode",
        "--dictionary",
        s(&p("d.npy")),
        "--data",
        s(&p("x.npy")),
        "--out",
        s(&p("h.npy")),
        "--lambda",
        "0.01",
        "--tolerance",
        "1e-7",
        "--iterations",
        "100000",
        "--json",
    ]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["zero_fraction"].as_f64().unwrap() > 0.5, "{json}");
    assert!(
        json["objective_per_example"].as_f64().unwrap() < 0.1,
        "{json}"
    );
    let h = autoencoder::data::npy::read_matrix(&p("h.npy")).unwrap();
    // the two atoms that made the data carry its code (slightly shrunk by λ)
    assert!(
        (h.row(0)[1] - 2.0).abs() < 0.05 && (h.row(0)[7] + 1.5).abs() < 0.05,
        "{:?}",
        h.row(0)
    );
    assert_clean_error(
        &ae(&[
            "sparse-encode",
            "--dictionary",
            s(&p("x.npy")),
            "--data",
            s(&p("x.npy")),
            "--out",
            s(&p("h.npy")),
            "--lambda",
            "0.1",
        ]),
        &["x.npy", "columns"],
    );
    assert_clean_error(
        &ae(&[
            "sparse-encode",
            "--dictionary",
            s(&p("d.npy")),
            "--data",
            s(&p("x.npy")),
            "--out",
            s(&p("h.npy")),
            "--lambda=-1",
        ]),
        &["lambda"],
    );
    assert_clean_error(
        &ae(&[
            "sparse-encode",
            "--dictionary",
            s(&p("d.npy")),
            "--data",
            s(&p("x.npy")),
            "--out",
            s(&p("h.npy")),
            "--lambda",
            "0.1",
            "--inference",
            "lars",
        ]),
        &["--inference"],
    );
}

/// `encode --model RUN --data DATA --out OUT --inference INFERENCE --json` of a PSD run: its JSON.
fn psd_encode(run: &Path, data: &Path, out: &Path, inference: &str) -> serde_json::Value {
    let output = ae(&[
        "encode",
        "--model",
        s(run),
        "--data",
        s(data),
        "--out",
        s(out),
        "--inference",
        inference,
        "--json",
    ]);
    assert_success(&output);
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `predictor = "lista"`: LISTA's tensors are saved and loaded, and its one-pass codes are
/// what `encode --inference predictor` writes.
#[test]
fn psd_with_a_lista_predictor_trains_and_encodes() {
    let dir = tmp("psd_lista");
    let p = |name: &str| dir.join(name);
    let train_images = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let test_images = repo_path("data/mnist/t10k-images-idx3-ubyte.gz");
    let config = PSD_CONFIG.replace(
        "atoms = 32\n",
        "atoms = 32\npredictor = \"lista\"\nlista_steps = 2\n",
    );
    std::fs::write(p("lista.toml"), config).unwrap();
    assert_success(&train(&p("lista.toml"), &train_images, &p("run")));
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("run/spec.json")).unwrap()).unwrap();
    assert_eq!(spec["predictor"], "lista");
    assert_eq!(spec["lista_steps"], 2);
    // each epoch compares the predictor's codes with FISTA's on held-out rows
    let gap = std::fs::read_to_string(p("run/predictor_vs_fista.jsonl")).unwrap();
    assert_eq!(gap.lines().count(), 2, "{gap}");
    for line in gap.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (pred, fista) = (
            v["predictor_objective"].as_f64().unwrap(),
            v["fista_objective"].as_f64().unwrap(),
        );
        assert!(fista <= pred && fista > 0.0, "{line}");
    }
    assert!(p("run/report/predictor_vs_fista.png").exists());
    let objectives: Vec<f64> = ["predictor", "fista"]
        .iter()
        .map(|i| {
            psd_encode(&p("run"), &test_images, &p("h.npy"), i)["objective_per_example"]
                .as_f64()
                .unwrap()
        })
        .collect();
    // LISTA's codes are sparse codes of the right scale, short of FISTA's optimum
    assert!(objectives[1] < objectives[0], "{objectives:?}");
    assert!(objectives[0] < 3.0 * objectives[1], "{objectives:?}");
}

/// `[report] format = "svg"`: the loss curves and the code map as SVG (with their titles as
/// text), the image mosaics still PNG.
#[test]
fn a_report_in_svg() {
    let dir = tmp("report_svg");
    let p = |name: &str| dir.join(name);
    std::fs::write(
        p("svg.toml"),
        "[model]\nlayers = [16]\ncode = 4\n[train]\nepochs = 2\n[report]\nformat = \"svg\"\n",
    )
    .unwrap();
    let images = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    assert_success(&train(&p("svg.toml"), &images, &p("run")));
    let loss = std::fs::read_to_string(p("run/report/loss.svg")).unwrap();
    assert!(
        loss.starts_with("<svg") && loss.contains("Loss per epoch"),
        "{}",
        &loss[..200.min(loss.len())]
    );
    let codes = std::fs::read_to_string(p("run/report/codes.svg")).unwrap();
    assert!(codes.contains("<circle") && codes.contains("trustworthiness"));
    assert!(!p("run/report/loss.png").exists() && !p("run/report/codes.png").exists());
    assert!(p("run/report/reconstructions.png").exists() && p("run/report/filters.png").exists());
}

/// A PSD run (LISTA predictor, so every tensor kind is saved) stopped after one epoch and
/// resumed to three ends at the same bytes as an uninterrupted three-epoch run.
#[test]
fn a_resumed_psd_run_matches_an_uninterrupted_one() {
    let dir = tmp("psd_resume");
    let p = |name: &str| dir.join(name);
    let images = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let config = PSD_CONFIG
        .replace(
            "atoms = 32\n",
            "atoms = 32\npredictor = \"lista\"\nlista_steps = 1\n",
        )
        .replace("epochs = 2", "epochs = 3");
    std::fs::write(p("c.toml"), config).unwrap();
    assert_success(&train(&p("c.toml"), &images, &p("full")));
    let c = s(&p("c.toml")).to_string();
    let part = s(&p("part")).to_string();
    let data = s(&images).to_string();
    assert_success(&ae(&[
        "train", "--config", &c, "--data", &data, "--out", &part, "--epochs", "1", "--quiet",
    ]));
    assert!(p("part/checkpoint.safetensors").exists());
    let first_epoch = std::fs::read_to_string(p("part/metrics.jsonl")).unwrap();
    assert_success(&ae(&[
        "train", "--resume", &part, "--data", &data, "--epochs", "3", "--quiet",
    ]));
    // the resume continued the saved run (its first epoch's line, wall time included, is kept)
    // rather than training three epochs afresh from the same seed
    let resumed = std::fs::read_to_string(p("part/metrics.jsonl")).unwrap();
    assert!(
        resumed.starts_with(&first_epoch),
        "{first_epoch} vs {resumed}"
    );
    // (metrics.jsonl holds wall times, so it is compared by its losses below)
    for file in ["model.safetensors", "predictor_vs_fista.jsonl"] {
        let (a, b) = (p("full").join(file), p("part").join(file));
        let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
        assert!(a == b, "{file} differs after the resume");
    }
    let losses = |run: &str| -> Vec<f64> {
        std::fs::read_to_string(p(run).join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["train_loss"]
                    .as_f64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(losses("full"), losses("part"));
    assert_eq!(losses("part").len(), 3);
    // a config that changes the model is refused
    std::fs::write(
        p("other.toml"),
        PSD_CONFIG.replace("atoms = 32", "atoms = 16"),
    )
    .unwrap();
    assert_clean_error(
        &ae(&[
            "train",
            "--resume",
            &part,
            "--config",
            s(&p("other.toml")),
            "--data",
            &data,
            "--quiet",
        ]),
        &["does not match"],
    );
}

const PSD_CONFIG: &str = "[model]\nkind = \"psd\"\natoms = 32\n[train]\nepochs = 2\nbatch_size = 50\nlearning_rate = 1e-3\nvalidation_fraction = 0.1\n[psd]\nlambda = 0.5\nfista_iterations = 50\n";

#[test]
fn psd_trains_saves_and_encodes_three_ways() {
    let dir = tmp("psd");
    let p = |name: &str| dir.join(name);
    let train_images = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let test_images = repo_path("data/mnist/t10k-images-idx3-ubyte.gz");
    std::fs::write(p("psd.toml"), PSD_CONFIG).unwrap();
    assert_success(&train(&p("psd.toml"), &train_images, &p("run")));
    assert!(p("run/report/dictionary.png").exists() && p("run/report/predictor.png").exists());
    let mut objectives = Vec::new();
    for inference in ["predictor", "fista", "ista"] {
        let json = psd_encode(&p("run"), &test_images, &p("h.npy"), inference);
        objectives.push(json["objective_per_example"].as_f64().unwrap());
        assert!(json["seconds"].as_f64().is_some() && json["zero_fraction"].as_f64().is_some());
        assert_eq!(
            json.get("iterations").is_some(),
            inference != "predictor",
            "{json}"
        );
        let h = autoencoder::data::npy::read_matrix(&p("h.npy")).unwrap();
        assert_eq!(h.cols(), 32);
    }
    // the optimization beats the one-product prediction on eq. 14.19's first two terms
    assert!(objectives[1] < objectives[0], "{objectives:?}");
    // the saved model loads back: a second encode gives the same codes
    assert_success(&ae(&[
        "encode",
        "--model",
        s(&p("run")),
        "--data",
        s(&test_images),
        "--out",
        s(&p("h2.npy")),
        "--inference",
        "ista",
    ]));
    assert_eq!(
        std::fs::read(p("h.npy")).unwrap(),
        std::fs::read(p("h2.npy")).unwrap()
    );
    assert_clean_error(
        &ae(&["eval", "--model", s(&p("run")), "--data", s(&test_images)]),
        &["PSD", "encode"],
    );
    assert_clean_error(
        &ae(&[
            "encode",
            "--model",
            s(&p("run")),
            "--data",
            s(&test_images),
            "--out",
            s(&p("h.npy")),
            "--inference",
            "lars",
        ]),
        &["--inference"],
    );
    std::fs::write(p("bad.toml"), PSD_CONFIG.replace("atoms = 32\n", "")).unwrap();
    assert_clean_error(
        &train(&p("bad.toml"), &train_images, &p("bad")),
        &["model.atoms"],
    );
    std::fs::write(
        p("bad2.toml"),
        PSD_CONFIG.replace("lambda = 0.5", "lambda = -1.0"),
    )
    .unwrap();
    assert_clean_error(
        &train(&p("bad2.toml"), &train_images, &p("bad2")),
        &["psd.lambda"],
    );
}

/// `probe` on a PSD run: a linear probe (and fine-tuning) of the predictor's codes, a linear
/// probe of FISTA's codes, and clean errors for what cannot be done.
#[test]
fn probe_reads_the_codes_of_a_psd_model() {
    let dir = tmp("psd_probe");
    let p = |name: &str| dir.join(name);
    let train_images = repo_path("data/mnist/train-images-idx3-ubyte.gz");
    let test_images = repo_path("data/mnist/t10k-images-idx3-ubyte.gz");
    std::fs::write(p("psd.toml"), PSD_CONFIG).unwrap();
    assert_success(&train(&p("psd.toml"), &train_images, &p("run")));
    let json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["--epochs", "10", "--json", "--quiet"];
        args.extend_from_slice(extra);
        let out = probe(&p("run"), &train_images, &test_images, &args);
        assert_success(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let predictor = json(&["--fine-tune-epochs", "3"]);
    assert_eq!(predictor["inference"], "predictor");
    let fista = json(&["--inference", "fista"]);
    assert_eq!(fista["inference"], "fista");
    for (what, v) in [
        ("predictor probe", &predictor["linear_probe_test_error"]),
        ("fine-tuned", &predictor["fine_tuned_test_error"]),
        ("FISTA probe", &fista["linear_probe_test_error"]),
    ] {
        let e = v.as_f64().unwrap_or(1.0);
        assert!(e < 0.5, "{what}: test error {e} (chance is 0.9)");
    }
    assert_clean_error(
        &probe(
            &p("run"),
            &train_images,
            &test_images,
            &["--inference", "fista", "--fine-tune-epochs", "1"],
        ),
        &["--fine-tune-epochs", "--inference predictor"],
    );
    assert_clean_error(
        &probe(
            &p("run"),
            &train_images,
            &test_images,
            &["--inference", "lars"],
        ),
        &["--inference", "lars"],
    );
}
