//! Predictive sparse decomposition (§14.8): its gradients, the unit-norm dictionary, and a
//! predictor that learns to approximate the optimal sparse codes.

use autoencoder::linalg::Rng;
use autoencoder::psd::{objective_and_gradients, Predictor, Psd, PsdLearner, PsdSpec};
use autoencoder::sparse_coding::{objective, SparseCoder};
use autoencoder::train::{self, Batch, Examples, Learner, Silent, TrainConfig, TrainState};
use autoencoder::{Matrix, OptimizerKind};

fn spec(d: usize, m: usize) -> PsdSpec {
    PsdSpec {
        inputs: d,
        atoms: m,
        lambda: 0.2,
        gamma: 1.0,
        fista_iterations: 200,
        tolerance: 1e-4,
        predictor: Default::default(),
        lista_steps: 3,
    }
}

fn lista_spec(d: usize, m: usize, steps: usize) -> PsdSpec {
    PsdSpec {
        predictor: Predictor::Lista,
        lista_steps: steps,
        ..spec(d, m)
    }
}

/// `epochs` of Adam (5e-3, batches of 32, 2 threads, no validation) on `x`.
fn train_psd(model: &mut Psd, x: &Matrix, epochs: usize) -> train::TrainReport {
    let config = TrainConfig {
        epochs,
        batch_size: 32,
        learning_rate: 5e-3,
        validation_fraction: 0.0,
        patience: None,
        threads: 2,
        ..TrainConfig::default()
    };
    let lengths: Vec<usize> = PsdLearner::new(&mut model.clone())
        .parameters()
        .iter()
        .map(|p| p.len())
        .collect();
    let state = TrainState::new(config.optimizer, &lengths, 0);
    let mut learner = PsdLearner::new(model);
    train::run(
        &mut learner,
        Examples::unlabelled(x),
        None,
        &config.loop_config(),
        state,
        &mut Silent,
    )
    .unwrap()
}

/// `n` rows of `D* h*` with 3-sparse `h*` and a little noise.
fn sparse_data(n: usize, d: usize, m: usize, seed: u64) -> Matrix {
    let mut rng = Rng::new(seed);
    let truth = Psd::new(spec(d, m), seed + 100).unwrap();
    let mut x = Matrix::zeros(n, d);
    for r in 0..n {
        let mut h = vec![0.0f32; m];
        for _ in 0..3 {
            h[rng.below(m)] = 1.0 + rng.uniform();
        }
        for i in 0..d {
            x.row_mut(r)[i] = (0..m)
                .map(|j| truth.dictionary[i * m + j] * h[j])
                .sum::<f32>()
                + 0.01 * rng.normal();
        }
    }
    x
}

#[test]
fn gradients_match_finite_differences() {
    let (d, m, n) = (6, 5, 4);
    let mut model = Psd::new(spec(d, m), 1).unwrap();
    let mut rng = Rng::new(2);
    model.bias.iter_mut().for_each(|b| *b = 0.3 * rng.normal());
    model
        .gain
        .iter_mut()
        .for_each(|g| *g = 1.0 + 0.5 * rng.normal());
    let x = Matrix::from_vec(n, d, (0..n * d).map(|_| rng.normal()).collect());
    let h = Matrix::from_vec(n, m, (0..n * m).map(|_| rng.normal()).collect());
    let (_, g) = objective_and_gradients(&model, &x, &h).unwrap();
    let analytic = [g.dictionary, g.weight, g.bias, g.gain];
    check_gradients(&model, &x, &h, &analytic, 1e-2, |m, which| match which {
        0 => &mut m.dictionary,
        1 => &mut m.weight,
        2 => &mut m.bias,
        _ => &mut m.gain,
    });
}

/// Compares `analytic` (one buffer per parameter, in `select`'s order) with central
/// differences of the objective at step `eps`; returns how many entries were non-zero.
fn check_gradients(
    model: &Psd,
    x: &Matrix,
    h: &Matrix,
    analytic: &[Vec<f32>],
    eps: f32,
    select: impl Fn(&mut Psd, usize) -> &mut Vec<f32>,
) -> usize {
    let mut non_zero = 0;
    for (which, grad) in analytic.iter().enumerate() {
        for (k, &g) in grad.iter().enumerate() {
            let at = |delta: f32| {
                let mut m2 = model.clone();
                select(&mut m2, which)[k] += delta;
                objective_and_gradients(&m2, x, h).unwrap().0
            };
            let fd = ((at(eps) - at(-eps)) / (2.0 * eps as f64)) as f32;
            assert!(
                (fd - g).abs() <= 2e-2 * (1.0 + g.abs()),
                "parameter {which}[{k}]: fd {fd} vs {g}"
            );
            non_zero += usize::from(g != 0.0);
        }
    }
    non_zero
}

#[test]
fn dictionary_columns_stay_unit_norm_after_every_update() {
    let (d, m) = (10, 16);
    let x = sparse_data(64, d, m, 3);
    let mut model = Psd::new(spec(d, m), 4).unwrap();
    let lengths: Vec<usize> = PsdLearner::new(&mut model.clone())
        .parameters()
        .iter()
        .map(|p| p.len())
        .collect();
    let mut state = TrainState::new(OptimizerKind::adam(), &lengths, 0);
    let mut learner = PsdLearner::new(&mut model);
    let mut rng = Rng::new(5);
    for step in 0..20 {
        let mut batch_x = x.slice_rows((step % 4) * 16, (step % 4) * 16 + 16);
        let mut batch = Batch {
            x: &mut batch_x,
            targets: &[],
        };
        learner
            .step(&mut (), &mut batch, &mut rng, &mut state.optimizer, 1e-2)
            .unwrap();
        let dict = &learner.model().dictionary;
        for j in 0..m {
            let norm: f32 = (0..d).map(|i| dict[i * m + j].powi(2)).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "step {step} column {j}: {norm}");
        }
    }
}

#[test]
fn training_lowers_the_objective_and_the_predictor_approaches_fista() {
    let (d, m) = (12, 20);
    let x = sparse_data(600, d, m, 6);
    let mut model = Psd::new(spec(d, m), 7).unwrap();
    let fresh = model.clone();
    let predictor_gap = |p: &Psd| {
        // first two terms of eq. 14.19 for predictor codes vs the optimal lasso codes
        let f = p.predict(&x).unwrap();
        let coder = SparseCoder::new(&p.dictionary, d, m).unwrap();
        let lasso = autoencoder::sparse_coding::infer(
            &coder,
            &x,
            None,
            &autoencoder::sparse_coding::InferenceOptions {
                lambda: 0.2,
                max_iterations: 1000,
                tolerance: 1e-5,
                solver: autoencoder::sparse_coding::Solver::Fista,
            },
        )
        .unwrap();
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        (
            mean(objective(&p.dictionary, &x, &f, 0.2)),
            mean(lasso.objective),
        )
    };
    let report = train_psd(&mut model, &x, 15);
    let first = report.history.first().unwrap().train_loss;
    let last = report.history.last().unwrap().train_loss;
    assert!(last < 0.7 * first, "objective {first} → {last}");
    let (pred_before, lasso_before) = predictor_gap(&fresh);
    let (pred_after, lasso_after) = predictor_gap(&model);
    assert!(
        pred_after - lasso_after < 0.5 * (pred_before - lasso_before),
        "predictor vs FISTA: before {pred_before} vs {lasso_before}, after {pred_after} vs {lasso_after}"
    );
    // the learned dictionary explains the data better than the random one (optimal codes)
    assert!(lasso_after < lasso_before, "{lasso_before} → {lasso_after}");
}

/// `steps` ISTA steps from zero on `model`'s dictionary (λ = 0.2, no early stop).
fn ista_steps(model: &Psd, x: &Matrix, steps: usize) -> autoencoder::sparse_coding::Inference {
    let (d, m) = (model.spec().inputs, model.spec().atoms);
    let coder = SparseCoder::new(&model.dictionary, d, m).unwrap();
    autoencoder::sparse_coding::infer(
        &coder,
        x,
        None,
        &autoencoder::sparse_coding::InferenceOptions {
            lambda: 0.2,
            max_iterations: steps,
            tolerance: 0.0,
            solver: autoencoder::sparse_coding::Solver::Ista,
        },
    )
    .unwrap()
}

/// Gregor & LeCun's construction: LISTA with ISTA's weights (`W = 2Dᵀ/L`, `S = I − 2DᵀD/L`,
/// `θ = λ/L` for our `‖x − Dh‖²`) computes `T + 1` ISTA steps from zero, for every `T`.
#[test]
fn lista_at_ista_weights_is_ista() {
    let (d, m) = (12, 20);
    let x = sparse_data(50, d, m, 11);
    for steps in 0..=4 {
        let model = Psd::new(lista_spec(d, m, steps), 12).unwrap();
        let ista = ista_steps(&model, &x, steps + 1);
        let lista = model.predict(&x).unwrap();
        let mut worst = 0.0f32;
        for (a, b) in lista.as_slice().iter().zip(ista.codes.as_slice()) {
            worst = worst.max((a - b).abs());
        }
        assert!(worst < 1e-5, "T = {steps}: max difference {worst}");
        // and the steps matter: one more ISTA step gives other codes
        if steps < 4 {
            let more = Psd::new(lista_spec(d, m, steps + 1), 12)
                .unwrap()
                .predict(&x)
                .unwrap();
            let moved = more
                .as_slice()
                .iter()
                .zip(lista.as_slice())
                .any(|(a, b)| (a - b).abs() > 1e-4);
            assert!(moved, "T = {steps} and {} agree", steps + 1);
        }
    }
}

#[test]
fn lista_gradients_match_finite_differences() {
    let (d, m, n) = (6, 5, 4);
    let mut model = Psd::new(lista_spec(d, m, 2), 1).unwrap();
    // away from ISTA's weights, so every matrix entry matters
    let mut rng = Rng::new(3);
    model
        .weight
        .iter_mut()
        .for_each(|w| *w += 0.2 * rng.normal());
    model
        .lateral
        .iter_mut()
        .for_each(|s| *s += 0.2 * rng.normal());
    model
        .threshold
        .iter_mut()
        .for_each(|t| *t = 0.05 + 0.05 * rng.uniform());
    let x = Matrix::from_vec(n, d, (0..n * d).map(|_| 2.0 * rng.normal()).collect());
    let h = Matrix::from_vec(n, m, (0..n * m).map(|_| rng.normal()).collect());
    let (_, g) = objective_and_gradients(&model, &x, &h).unwrap();
    assert!(
        g.bias.iter().chain(&g.gain).all(|v| *v == 0.0),
        "LISTA has no bias or gain"
    );
    let analytic = [g.dictionary, g.weight, g.lateral, g.threshold];
    let checked = check_gradients(&model, &x, &h, &analytic, 1e-3, |m, which| match which {
        0 => &mut m.dictionary,
        1 => &mut m.weight,
        2 => &mut m.lateral,
        _ => &mut m.threshold,
    });
    assert!(checked > 40, "only {checked} non-zero gradient entries");
}

/// Trained as PSD's predictor, LISTA's codes move towards the optimal codes and its ISTA start
/// is beaten; the model round-trips through its run folder.
#[test]
fn lista_trains_towards_fista_codes_and_round_trips() {
    let (d, m) = (12, 20);
    let x = sparse_data(600, d, m, 6);
    let mut model = Psd::new(lista_spec(d, m, 2), 7).unwrap();
    train_psd(&mut model, &x, 10);
    // the trained predictor against 3 ISTA steps on the trained dictionary (LISTA's start)
    let mut start = model.clone();
    start.set_ista_weights().unwrap();
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let learned = mean(objective(
        &model.dictionary,
        &x,
        &model.predict(&x).unwrap(),
        0.2,
    ));
    let ista = mean(objective(
        &model.dictionary,
        &x,
        &start.predict(&x).unwrap(),
        0.2,
    ));
    assert!(
        learned < ista,
        "learned LISTA {learned} vs ISTA steps {ista}"
    );
    let dir = std::env::temp_dir().join(format!("ae-lista-{}", std::process::id()));
    autoencoder::psd::persist::save_psd(&model, &dir).unwrap();
    let loaded = match autoencoder::folder::load_any(&dir).unwrap() {
        autoencoder::folder::AnyModel::Psd(p) => p,
        _ => panic!("not a PSD folder"),
    };
    assert_eq!(loaded.predict(&x).unwrap(), model.predict(&x).unwrap());
    std::fs::remove_dir_all(&dir).ok();
}

/// The predictors skip the zeros of mostly-zero inputs (MNIST-like); their codes must still be
/// the formulas': `g ⊙ tanh(W x + b)` computed directly in f64, and LISTA at ISTA's weights
/// equal to `T + 1` ISTA steps.
#[test]
fn predictors_on_mostly_zero_inputs_match_their_formulas() {
    let (d, m) = (40, 24);
    let mut x = sparse_data(90, d, m, 21);
    let mut rng = Rng::new(22);
    x.as_mut_slice().iter_mut().for_each(|v| {
        if rng.uniform() < 0.85 {
            *v = 0.0
        }
    });
    let mut model = Psd::new(spec(d, m), 23).unwrap();
    model
        .bias
        .iter_mut()
        .enumerate()
        .for_each(|(j, b)| *b = 0.1 * j as f32 - 1.0);
    model
        .gain
        .iter_mut()
        .enumerate()
        .for_each(|(j, g)| *g = 0.5 + 0.05 * j as f32);
    let codes = model.predict(&x).unwrap();
    let mut worst = 0.0f64;
    for r in 0..x.rows() {
        for j in 0..m {
            let z: f64 = (0..d)
                .map(|i| model.weight[j * d + i] as f64 * x.row(r)[i] as f64)
                .sum::<f64>()
                + model.bias[j] as f64;
            let want = model.gain[j] as f64 * z.tanh();
            worst = worst.max((codes.row(r)[j] as f64 - want).abs());
        }
    }
    assert!(worst < 1e-5, "g ⊙ tanh predictor: max difference {worst}");
    for steps in [0, 2] {
        let lista = Psd::new(lista_spec(d, m, steps), 24).unwrap();
        let ista = ista_steps(&lista, &x, steps + 1);
        let got = lista.predict(&x).unwrap();
        let worst = got
            .as_slice()
            .iter()
            .zip(ista.codes.as_slice())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "LISTA T = {steps}: max difference {worst}");
    }
}
