//! Stochastic encoders (chapter 14.4): the likelihood estimate against exact integration, and
//! the ordering of the bounds on a trained model.

mod common;

use autoencoder::code::CodeDistribution;
use autoencoder::nn::{Activation, Init};
use autoencoder::train::{self, Silent};
use autoencoder::{Autoencoder, AutoencoderSpec, Likelihood, Matrix, Objective, TrainConfig};

fn vae_spec(
    input: usize,
    hidden: &[usize],
    code: usize,
    decoder: Option<Vec<usize>>,
) -> AutoencoderSpec {
    AutoencoderSpec {
        input_size: input,
        encoder_layers: hidden.to_vec(),
        code_size: code,
        code_activation: Activation::Linear,
        decoder_layers: decoder,
        activation: Activation::Tanh,
        output: Likelihood::Bernoulli,
        tied: false,
        init: Init::Glorot,
        code_distribution: CodeDistribution::Gaussian,
        binary: None,
        corruption: None,
        input_shape: None,
        encoder: None,
        decoder: None,
    }
}

fn log_sigmoid(z: f64) -> f64 {
    -((-z).exp().ln_1p())
}

#[test]
fn importance_sampled_likelihood_matches_numerical_integration() {
    // 1-D latent, 4 binary pixels, a linear decoder: p(x) = ∫ N(h; 0, 1) Π_j Bern(x_j; σ(w_j h + b_j)) dh
    let mut model = Autoencoder::new(vae_spec(4, &[3], 1, Some(vec![])), 2).unwrap();
    let (w, b) = ([3.0f32, -2.0, 1.5, 4.0], [0.5f32, -1.0, 0.0, 1.0]);
    for t in model.tensors_mut() {
        match t.name.as_str() {
            "decoder.0.weight" => t.data.copy_from_slice(&w),
            "decoder.0.bias" => t.data.copy_from_slice(&b),
            _ => {}
        }
    }
    let xs = Matrix::from_vec(
        3,
        4,
        vec![1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0],
    );
    // One 5000-sample estimate from this (untrained) encoder has a standard deviation of
    // about 0.03 nats, so the test averages 16 seeds (about 0.008).
    let seeds = 16;
    let estimate = (0..seeds)
        .map(|seed| {
            model
                .likelihood_bounds(&xs, 5000, seed)
                .unwrap()
                .nll_per_example
        })
        .sum::<f64>()
        / seeds as f64;
    let mut exact = 0.0f64;
    for i in 0..3 {
        let x = xs.row(i);
        let (lo, hi, n) = (-12.0f64, 12.0f64, 48_000);
        let dh = (hi - lo) / n as f64;
        let mut p = 0.0f64;
        for s in 0..=n {
            let h = lo + s as f64 * dh;
            let log_lik: f64 = (0..4)
                .map(|j| {
                    let z = w[j] as f64 * h + b[j] as f64;
                    if x[j] > 0.5 {
                        log_sigmoid(z)
                    } else {
                        log_sigmoid(-z)
                    }
                })
                .sum();
            let weight = if s == 0 || s == n { 0.5 } else { 1.0 };
            p += weight * dh * (-0.5 * h * h).exp() / (2.0 * std::f64::consts::PI).sqrt()
                * log_lik.exp();
        }
        exact -= p.ln();
    }
    exact /= 3.0;
    eprintln!("IS estimate {estimate} vs exact {exact}");
    assert!((estimate - exact).abs() < 0.025, "{estimate} vs {exact}");
    let bounds = model.likelihood_bounds(&xs, 5000, 7).unwrap();
    assert!(
        bounds.negative_elbo_per_example > exact,
        "the ELBO must bound log p(x)"
    );
}

#[test]
fn importance_weighted_bound_tightens_with_k_on_a_trained_model() {
    let x = common::pool2(&common::mnist_train(1000));
    let mut model = Autoencoder::new(vae_spec(196, &[64], 8, None), 0).unwrap();
    let config = TrainConfig {
        epochs: 5,
        batch_size: 50,
        validation_fraction: 0.0,
        patience: None,
        dynamic_binarization: true,
        ..TrainConfig::default()
    };
    let state = train::initial_state(&model, &config);
    train::fit(&mut model, &x, None, &config, state, &mut Silent).unwrap();
    // binarize the evaluation set once, deterministically
    let eval = Matrix::from_vec(
        200,
        196,
        x.as_slice()[..200 * 196]
            .iter()
            .map(|v| if *v > 0.5 { 1.0 } else { 0.0 })
            .collect(),
    );
    let b1 = model.likelihood_bounds(&eval, 1, 3).unwrap();
    let b5 = model.likelihood_bounds(&eval, 5, 3).unwrap();
    let b50 = model.likelihood_bounds(&eval, 50, 3).unwrap();
    eprintln!(
        "-ELBO {:.3}; NLL k=1 {:.3}, k=5 {:.3}, k=50 {:.3}",
        b50.negative_elbo_per_example, b1.nll_per_example, b5.nll_per_example, b50.nll_per_example
    );
    assert!(b50.nll_per_example <= b5.nll_per_example && b5.nll_per_example <= b1.nll_per_example);
    // on the same samples this is Jensen's inequality; the check with teeth is the next one:
    // with one sample the importance-weighted estimate is the ELBO itself
    assert!(b50.negative_elbo_per_example >= b50.nll_per_example);
    assert!(
        (b1.nll_per_example - b1.negative_elbo_per_example).abs()
            <= 1e-6 * b1.negative_elbo_per_example.abs(),
        "k = 1: NLL estimate {} vs -ELBO {}",
        b1.nll_per_example,
        b1.negative_elbo_per_example
    );
    assert!(
        b1.nll_per_example - b50.nll_per_example > 0.1,
        "the bound should visibly tighten"
    );
    // examples run in parallel: the estimate must not depend on the thread count
    let on_threads = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| model.likelihood_bounds(&eval, 50, 3).unwrap())
    };
    assert_eq!(on_threads(1), b50);
    assert_eq!(on_threads(3), b50);
}

#[test]
fn iwae_training_improves_the_bound_it_optimizes() {
    let x = common::pool2(&common::mnist_train(600));
    let bin = Matrix::from_vec(
        x.rows(),
        x.cols(),
        x.as_slice()
            .iter()
            .map(|v| if *v > 0.5 { 1.0 } else { 0.0 })
            .collect(),
    );
    let mut model = Autoencoder::new(vae_spec(196, &[32], 4, None), 1).unwrap();
    let before = model
        .likelihood_bounds(&bin.slice_rows(0, 100), 5, 0)
        .unwrap()
        .nll_per_example;
    let config = TrainConfig {
        epochs: 4,
        batch_size: 30,
        validation_fraction: 0.0,
        patience: None,
        objective: Objective {
            importance_samples: 5,
            ..Objective::plain()
        },
        ..TrainConfig::default()
    };
    let state = train::initial_state(&model, &config);
    train::fit(&mut model, &bin, None, &config, state, &mut Silent).unwrap();
    let after = model
        .likelihood_bounds(&bin.slice_rows(0, 100), 5, 0)
        .unwrap()
        .nll_per_example;
    assert!(after < before - 5.0, "IWAE-5 bound {before} -> {after}");
}
