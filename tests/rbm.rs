//! RBMs against brute force on machines small enough to enumerate, the closed-form
//! conditionals, the CD gradient against the exact log-likelihood gradient, and CD training
//! on the one loop.

mod common;

use autoencoder::linalg::{Matrix, Rng};
use autoencoder::nn::OptimizerKind;
use autoencoder::rbm::contrastive_divergence::{cd_estimate, CdConfig, RbmLearner};
use autoencoder::rbm::{Rbm, RbmSpec, Units};
use autoencoder::train::{self, Examples, LoopConfig, Schedule, SelectionRule, Shuffle};
use autoencoder::train::{Silent, TrainState};

fn random_rbm(d: usize, m: usize, visible: Units, hidden: Units, scale: f32, seed: u64) -> Rbm {
    let spec = RbmSpec {
        visible: d,
        hidden: m,
        visible_units: visible,
        hidden_units: hidden,
    };
    let mut rng = Rng::new(seed);
    let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| scale * rng.normal()).collect() };
    Rbm::from_parts(spec, draw(m * d), draw(d), draw(m)).unwrap()
}

fn bits(n: usize, code: u64) -> Vec<f32> {
    (0..n).map(|i| ((code >> i) & 1) as f32).collect()
}

/// `E(v, h)` of Bernoulli–Bernoulli units, straight from the definition.
fn energy(rbm: &Rbm, v: &[f32], h: &[f32]) -> f64 {
    let d = v.len();
    let mut e = 0.0f64;
    for (i, vi) in v.iter().enumerate() {
        e -= (rbm.visible_bias[i] * vi) as f64;
    }
    for (j, hj) in h.iter().enumerate() {
        e -= (rbm.hidden_bias[j] * hj) as f64;
        for (i, vi) in v.iter().enumerate() {
            e -= (hj * rbm.weight[j * d + i] * vi) as f64;
        }
    }
    e
}

#[test]
fn free_energy_and_log_partition_match_brute_force() {
    let (d, m) = (7, 5);
    let rbm = random_rbm(d, m, Units::Bernoulli, Units::Bernoulli, 0.8, 3);
    let mut log_z_terms = Vec::new();
    for vc in 0..1u64 << d {
        let v = bits(d, vc);
        let terms: Vec<f64> = (0..1u64 << m)
            .map(|hc| -energy(&rbm, &v, &bits(m, hc)))
            .collect();
        let max = terms.iter().copied().fold(f64::MIN, f64::max);
        let log_sum = max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln();
        let f = rbm.free_energy(&Matrix::from_vec(1, d, v.clone())).unwrap()[0];
        assert!(
            (f + log_sum).abs() < 1e-4,
            "F(v) {f} vs −log Σ_h {}",
            -log_sum
        );
        log_z_terms.extend(terms);
    }
    let max = log_z_terms.iter().copied().fold(f64::MIN, f64::max);
    let brute = max
        + log_z_terms
            .iter()
            .map(|t| (t - max).exp())
            .sum::<f64>()
            .ln();
    let exact = rbm.exact_log_partition().unwrap();
    assert!((exact - brute).abs() < 1e-6, "{exact} vs {brute}");
    // summing over the visible layer instead (more hidden than visible units) agrees too
    let wide = random_rbm(5, 7, Units::Bernoulli, Units::Bernoulli, 0.8, 4);
    let mut terms = Vec::new();
    for vc in 0..1u64 << 5 {
        for hc in 0..1u64 << 7 {
            terms.push(-energy(&wide, &bits(5, vc), &bits(7, hc)));
        }
    }
    let max = terms.iter().copied().fold(f64::MIN, f64::max);
    let brute = max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln();
    assert!((wide.exact_log_partition().unwrap() - brute).abs() < 1e-6);
    let err = random_rbm(30, 30, Units::Bernoulli, Units::Bernoulli, 0.1, 1)
        .exact_log_partition()
        .unwrap_err()
        .to_string();
    assert!(err.contains("at most 20 units"), "{err}");
}

#[test]
fn gaussian_and_linear_conditionals_have_their_closed_forms() {
    let (d, m) = (4, 3);
    let rbm = random_rbm(d, m, Units::Gaussian, Units::Gaussian, 0.5, 7);
    let v = Matrix::from_vec(2, d, vec![0.3, -1.2, 0.8, 2.0, -0.5, 0.1, 0.0, 1.5]);
    let h = rbm.hidden_means(&v).unwrap();
    for r in 0..2 {
        for j in 0..m {
            let want = rbm.hidden_bias[j]
                + (0..d)
                    .map(|i| rbm.weight[j * d + i] * v.row(r)[i])
                    .sum::<f32>();
            assert!((h.row(r)[j] - want).abs() < 1e-5);
        }
    }
    let back = rbm.visible_means(&h).unwrap();
    for r in 0..2 {
        for i in 0..d {
            let want = rbm.visible_bias[i]
                + (0..m)
                    .map(|j| rbm.weight[j * d + i] * h.row(r)[j])
                    .sum::<f32>();
            assert!((back.row(r)[i] - want).abs() < 1e-5);
        }
    }
    // Gaussian visible, linear hidden: F(v) = ½‖v‖² − bᵀv − ½‖c + Wv‖² − (m/2) log 2π
    let f = rbm.free_energy(&v).unwrap();
    for (r, f_r) in f.iter().enumerate() {
        let row = v.row(r);
        let lin: f64 = (0..d).map(|i| (rbm.visible_bias[i] * row[i]) as f64).sum();
        let sq: f64 = row.iter().map(|x| (*x as f64).powi(2)).sum();
        let hh: f64 = h.row(r).iter().map(|x| (*x as f64).powi(2)).sum();
        let want = 0.5 * sq - lin - 0.5 * hh - 1.5 * (2.0 * std::f64::consts::PI).ln();
        assert!((f_r - want).abs() < 1e-4, "{f_r} vs {want}");
    }
    // Bernoulli visible and hidden means are sigmoids of the same totals
    let b = random_rbm(d, m, Units::Bernoulli, Units::Bernoulli, 0.5, 7);
    let p = b.hidden_means(&v).unwrap();
    assert!((p.row(0)[0] - 1.0 / (1.0 + (-h.row(0)[0]).exp())).abs() < 1e-5);
}

#[test]
fn cd_with_a_long_chain_approaches_the_exact_likelihood_gradient() {
    let (d, m) = (6, 4);
    let rbm = random_rbm(d, m, Units::Bernoulli, Units::Bernoulli, 0.6, 11);
    let data: Vec<Vec<f32>> = (0..6).map(|k| bits(d, (k * 23 + 5) % 64)).collect();
    // exact: −(E_data[h vᵀ] − E_model[h vᵀ]) with p(h | v) probabilities
    let sigmoid = |x: f32| 1.0 / (1.0 + (-x).exp());
    let ph = |v: &[f32]| -> Vec<f32> {
        (0..m)
            .map(|j| {
                sigmoid(
                    rbm.hidden_bias[j] + (0..d).map(|i| rbm.weight[j * d + i] * v[i]).sum::<f32>(),
                )
            })
            .collect()
    };
    let mut exact = vec![0.0f64; m * d];
    for v in &data {
        let h = ph(v);
        for j in 0..m {
            for i in 0..d {
                exact[j * d + i] -= (h[j] * v[i]) as f64 / data.len() as f64;
            }
        }
    }
    let f: Vec<f64> = (0..1u64 << d)
        .map(|c| {
            rbm.free_energy(&Matrix::from_vec(1, d, bits(d, c)))
                .unwrap()[0]
        })
        .collect();
    let log_z = rbm.exact_log_partition().unwrap();
    for c in 0..1u64 << d {
        let v = bits(d, c);
        let p = (-f[c as usize] - log_z).exp();
        let h = ph(&v);
        for j in 0..m {
            for i in 0..d {
                exact[j * d + i] += p * (h[j] * v[i]) as f64;
            }
        }
    }
    // CD-1 is a biased, cruder estimate on this machine
    assert_cd_approaches(&rbm, &data, &exact, 5);
}

/// CD-k from the data (3,000 chains spread over `data`'s rows) against the `exact` weight
/// gradient: CD-200's cosine with it is ≥ 0.99, and CD-1's is lower.
fn assert_cd_approaches(rbm: &Rbm, data: &[Vec<f32>], exact: &[f64], seed: u64) {
    let copies = 3000;
    let rows: Vec<f32> = (0..copies)
        .flat_map(|k| data[k % data.len()].clone())
        .collect();
    let v = Matrix::from_vec(copies, data[0].len(), rows);
    let cosine = |g: &[f32]| {
        let dot: f64 = g.iter().zip(exact).map(|(a, b)| *a as f64 * b).sum();
        let na: f64 = g.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
        let nb: f64 = exact.iter().map(|b| b * b).sum::<f64>().sqrt();
        dot / (na * nb)
    };
    let (long, _, _) = cd_estimate(rbm, &v, 200, &mut Rng::new(seed)).unwrap();
    let c_long = cosine(&long);
    assert!(c_long >= 0.99, "CD-200 cosine {c_long}");
    let (short, _, _) = cd_estimate(rbm, &v, 1, &mut Rng::new(seed)).unwrap();
    assert!(
        cosine(&short) < c_long,
        "CD-1 {} vs CD-200 {c_long}",
        cosine(&short)
    );
}

#[test]
fn cd_training_on_the_loop_lowers_reconstruction_error_and_is_deterministic() {
    let x = common::pool2(&common::mnist_train(300));
    let train_once = |persistent: bool| {
        let spec = RbmSpec {
            visible: 196,
            hidden: 64,
            visible_units: Units::Bernoulli,
            hidden_units: Units::Bernoulli,
        };
        let mut rbm = Rbm::new(spec, 0).unwrap();
        let before = rbm.reconstruction_error(&x).unwrap();
        let config = CdConfig {
            steps: 1,
            persistent,
            weight_decay: 1e-4,
        };
        let mut learner = RbmLearner::new(&mut rbm, config).unwrap();
        let lens = [64 * 196, 196, 64];
        let state = TrainState::new(
            OptimizerKind::Sgd {
                momentum: 0.5,
                nesterov: false,
            },
            &lens,
            1,
        );
        let loop_config = LoopConfig {
            epochs: 8,
            batch_size: 20,
            learning_rate: 0.1,
            schedule: Schedule::Constant,
            threads: 2,
            drop_last: false,
            shuffle: Shuffle::FromIdentity,
            selection: SelectionRule {
                window: 1,
                keep_best: false,
                patience: None,
            },
            weight_average: 0.0,
        };
        let report = train::run(
            &mut learner,
            Examples::unlabelled(&x),
            Some(Examples::unlabelled(&x)),
            &loop_config,
            state,
            &mut Silent,
        )
        .unwrap();
        let after = rbm.reconstruction_error(&x).unwrap();
        assert!(
            report
                .history
                .iter()
                .all(|m| m.validation_free_energy.is_some()),
            "free energy is monitored"
        );
        (before, after, rbm)
    };
    for persistent in [false, true] {
        let (before, after, a) = train_once(persistent);
        assert!(after < 0.5 * before, "PCD {persistent}: {before} → {after}");
        let (_, _, b) = train_once(persistent);
        assert_eq!(a, b, "same seed, same threads, same RBM");
    }
    let mut rbm = Rbm::new(
        RbmSpec {
            visible: 3,
            hidden: 2,
            visible_units: Units::Bernoulli,
            hidden_units: Units::Bernoulli,
        },
        0,
    )
    .unwrap();
    let bad = CdConfig {
        steps: 0,
        persistent: false,
        weight_decay: 0.0,
    };
    let err = RbmLearner::new(&mut rbm, bad).err().unwrap().to_string();
    assert!(err.contains("train.cd_steps"), "{err}");
}

/// H&S's unrolling: after stacked RBM pretraining, the autoencoder's reconstruction is the
/// stack's up-pass (hidden probabilities, linear at a linear code) then its down-pass.
#[test]
fn the_unrolled_autoencoder_is_the_stacks_up_pass_then_down_pass() {
    use autoencoder::model::Autoencoder;
    use autoencoder::nn::{Activation, Init};
    use autoencoder::pretrain::rbm_stack::{pretrain_rbm_stack, RbmStackConfig};
    use autoencoder::{AutoencoderSpec, Likelihood};
    let x = common::pool2(&common::mnist_train(200));
    for (code_activation, tied) in [(Activation::Linear, false), (Activation::Sigmoid, true)] {
        let mut spec = AutoencoderSpec::new(196, &[64, 32], 8, Likelihood::Bernoulli);
        spec.code_activation = code_activation;
        spec.tied = tied;
        spec.init = Init::Glorot;
        let mut model = Autoencoder::new(spec, 0).unwrap();
        let config = RbmStackConfig {
            epochs: 2,
            batch_size: 50,
            threads: 2,
            ..RbmStackConfig::default()
        };
        let stack = pretrain_rbm_stack(&mut model, &x, &config, &mut Silent).unwrap();
        assert_eq!(stack.len(), 3);
        assert_eq!(
            stack[2].spec().hidden_units,
            if code_activation == Activation::Linear {
                Units::Gaussian
            } else {
                Units::Bernoulli
            }
        );
        let mut h = x.clone();
        for rbm in &stack {
            h = rbm.hidden_means(&h).unwrap();
        }
        assert_eq!(h, model.encode(&x).unwrap(), "the encoder is the up-pass");
        for rbm in stack.iter().rev() {
            h = rbm.visible_means(&h).unwrap();
        }
        let r = model.reconstruct(&x).unwrap();
        let worst = common::max_abs_diff(&r, &h);
        assert!(worst < 1e-5, "tied {tied}: worst difference {worst}");
    }
    // a ReLU network cannot be unrolled from logistic RBMs
    let mut spec = AutoencoderSpec::new(196, &[64], 8, Likelihood::Bernoulli);
    spec.activation = Activation::Relu;
    let mut model = Autoencoder::new(spec, 0).unwrap();
    let err = pretrain_rbm_stack(&mut model, &x, &RbmStackConfig::default(), &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("model.activation"), "{err}");
}

#[test]
fn ais_matches_the_exact_log_partition() {
    use autoencoder::analysis::ais;
    let (d, m) = (10, 8);
    let rbm = random_rbm(d, m, Units::Bernoulli, Units::Bernoulli, 0.5, 21);
    let exact = rbm.exact_log_partition().unwrap();
    let mut rng = Rng::new(3);
    let data = Matrix::from_vec(
        50,
        d,
        (0..50 * d)
            .map(|_| if rng.uniform() < 0.3 { 1.0 } else { 0.0 })
            .collect(),
    );
    let est = ais::log_partition(&rbm, &data, 200, 1000, 7).unwrap();
    assert!(
        (est.log_partition - exact).abs() < 0.05,
        "AIS {} ± {} vs exact {exact}",
        est.log_partition,
        est.stderr
    );
    assert!(
        est.stderr > 0.0 && est.stderr < 0.05,
        "stderr {}",
        est.stderr
    );
    // a crude schedule is visibly worse or at best as good: the test can fail
    let crude = ais::log_partition(&rbm, &data, 5, 3, 7).unwrap();
    assert!(
        crude.stderr >= est.stderr,
        "{} vs {}",
        crude.stderr,
        est.stderr
    );
}

/// Every count vector of `k` words summing to `length`.
fn compositions(k: usize, length: usize) -> Vec<Vec<f32>> {
    if k == 1 {
        return vec![vec![length as f32]];
    }
    (0..=length)
        .flat_map(|first| {
            compositions(k - 1, length - first)
                .into_iter()
                .map(move |mut rest| {
                    rest.insert(0, first as f32);
                    rest
                })
        })
        .collect()
}

/// `log (D! / Π v_k!)`: the number of word orders with the counts `v`.
fn log_multinomial_coefficient(v: &[f32]) -> f64 {
    let ln_fact = |n: usize| (1..=n).map(|i| (i as f64).ln()).sum::<f64>();
    let total: f32 = v.iter().sum();
    ln_fact(total as usize) - v.iter().map(|c| ln_fact(*c as usize)).sum::<f64>()
}

#[test]
fn replicated_softmax_likelihood_sums_to_one_and_matches_brute_force() {
    let (k, m, length) = (4, 3, 3);
    let rbm = random_rbm(k, m, Units::Softmax, Units::Bernoulli, 0.7, 21);
    let log_z = rbm.exact_log_partition_of_length(length).unwrap();
    let docs = compositions(k, length);
    assert_eq!(docs.len(), 20);
    let mut total = 0.0f64;
    let mut brute_z = Vec::new();
    for v in &docs {
        // F(v) against −log Σ_h exp(−E(v, h)), E of the D ordered words (the Bernoulli form on counts)
        let terms: Vec<f64> = (0..1u64 << m)
            .map(|hc| -energy(&rbm, v, &bits(m, hc)))
            .collect();
        let max = terms.iter().copied().fold(f64::MIN, f64::max);
        let log_sum = max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln();
        let f = rbm.free_energy(&Matrix::from_vec(1, k, v.clone())).unwrap()[0];
        assert!((f + log_sum).abs() < 1e-4, "F {f} vs {}", -log_sum);
        let coefficient = log_multinomial_coefficient(v);
        brute_z.extend(terms.iter().map(|t| t + coefficient));
        total += (coefficient - f - log_z).exp();
    }
    assert!((total - 1.0).abs() < 1e-6, "Σ_v p(v | D) = {total}");
    let max = brute_z.iter().copied().fold(f64::MIN, f64::max);
    let brute = max + brute_z.iter().map(|t| (t - max).exp()).sum::<f64>().ln();
    assert!((brute - log_z).abs() < 1e-6, "log Z_D {log_z} vs {brute}");
    // the length-free partition function is refused, naming the one to use
    let err = rbm.exact_log_partition().unwrap_err().to_string();
    assert!(err.contains("exact_log_partition_of_length"), "{err}");
    // softmax hidden units are refused by the spec
    let spec = RbmSpec {
        visible: 3,
        hidden: 2,
        visible_units: Units::Bernoulli,
        hidden_units: Units::Softmax,
    };
    assert!(Rbm::new(spec, 0)
        .unwrap_err()
        .to_string()
        .contains("hidden_units"));
}

#[test]
fn replicated_softmax_conditionals_and_samples() {
    let (k, m) = (5, 3);
    let rbm = random_rbm(k, m, Units::Softmax, Units::Bernoulli, 0.8, 22);
    let h = Matrix::from_vec(2, m, vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0]);
    let lengths = [7.0f32, 2.5];
    let means = rbm.visible_means_of_length(&h, &lengths).unwrap();
    #[allow(clippy::needless_range_loop)] // rows and words index four arrays at once
    for r in 0..2 {
        let z: Vec<f64> = (0..k)
            .map(|i| {
                rbm.visible_bias[i] as f64
                    + (0..m)
                        .map(|j| (rbm.weight[j * k + i] * h.row(r)[j]) as f64)
                        .sum::<f64>()
            })
            .collect();
        let norm: f64 = z.iter().map(|v| v.exp()).sum();
        for i in 0..k {
            let want = lengths[r] as f64 * z[i].exp() / norm;
            assert!(
                (means.row(r)[i] as f64 - want).abs() < 1e-5,
                "row {r} word {i}"
            );
        }
    }
    // D draws from p: every sample keeps its length, and the counts average D·p
    let rows = 20_000;
    let p = means.row(0).to_vec();
    let mut samples: Vec<f32> = (0..rows).flat_map(|_| p.clone()).collect();
    Units::Softmax.sample_in_place(&mut samples, k, &mut Rng::new(3));
    let mut mean = vec![0.0f64; k];
    for row in samples.chunks_exact(k) {
        assert!(
            row.iter().all(|c| c.fract() == 0.0),
            "{row:?} are not counts"
        );
        assert!((row.iter().sum::<f32>() - 7.0).abs() < 1e-4);
        row.iter()
            .zip(&mut mean)
            .for_each(|(c, s)| *s += *c as f64 / rows as f64);
    }
    for i in 0..k {
        // standard error of a count's mean ≤ √(7/4 / 20000) ≈ 0.01
        assert!(
            (mean[i] - p[i] as f64).abs() < 0.05,
            "word {i}: {} vs {}",
            mean[i],
            p[i]
        );
    }
    // a row of weights that are not whole counts: round(D) draws scaled to total D
    let mut weights = vec![0.9f32, 0.6, 0.0, 1.0, 0.0];
    Units::Softmax.sample_in_place(&mut weights, k, &mut Rng::new(4));
    assert!(
        (weights.iter().sum::<f32>() - 2.5).abs() < 1e-5,
        "{weights:?}"
    );
    assert_eq!(weights[2], 0.0);
    assert_eq!(weights[4], 0.0);
}

#[test]
fn replicated_softmax_cd_with_a_long_chain_approaches_the_exact_gradient() {
    let (k, m, length) = (4, 3, 3);
    let rbm = random_rbm(k, m, Units::Softmax, Units::Bernoulli, 0.6, 23);
    let docs = compositions(k, length);
    let data: Vec<Vec<f32>> = (0..5)
        .map(|i| docs[(i * 7 + 2) % docs.len()].clone())
        .collect();
    let sigmoid = |x: f32| 1.0 / (1.0 + (-x).exp());
    let ph = |v: &[f32]| -> Vec<f32> {
        (0..m)
            .map(|j| {
                sigmoid(
                    rbm.hidden_bias[j] + (0..k).map(|i| rbm.weight[j * k + i] * v[i]).sum::<f32>(),
                )
            })
            .collect()
    };
    // exact −∂ mean log p(v | D) / ∂W: −E_data[h vᵀ] + E_{p(v | D)}[h vᵀ]
    let mut exact = vec![0.0f64; m * k];
    for v in &data {
        let h = ph(v);
        for j in 0..m {
            for i in 0..k {
                exact[j * k + i] -= (h[j] * v[i]) as f64 / data.len() as f64;
            }
        }
    }
    let log_z = rbm.exact_log_partition_of_length(length).unwrap();
    for v in &docs {
        let f = rbm.free_energy(&Matrix::from_vec(1, k, v.clone())).unwrap()[0];
        let p = (log_multinomial_coefficient(v) - f - log_z).exp();
        let h = ph(v);
        for j in 0..m {
            for i in 0..k {
                exact[j * k + i] += p * (h[j] * v[i]) as f64;
            }
        }
    }
    assert_cd_approaches(&rbm, &data, &exact, 6);
}

#[test]
fn a_multinomial_binary_code_model_unrolls_from_a_replicated_softmax_stack() {
    use autoencoder::code::BinaryCode;
    use autoencoder::code::CodeDistribution;
    use autoencoder::model::Autoencoder;
    use autoencoder::nn::Activation;
    use autoencoder::pretrain::rbm_stack::{pretrain_rbm_stack, RbmStackConfig};
    use autoencoder::{AutoencoderSpec, Likelihood};
    // word counts of 120 documents over 30 words: two topics
    let mut rng = Rng::new(9);
    let rows: Vec<f32> = (0..120)
        .flat_map(|d| {
            let mut counts = vec![0.0f32; 30];
            for _ in 0..20 {
                let w = (rng.uniform() * 15.0) as usize + if d % 2 == 0 { 0 } else { 15 };
                counts[w.min(29)] += 1.0;
            }
            counts
        })
        .collect();
    let x = Matrix::from_vec(120, 30, rows);
    let mut spec = AutoencoderSpec::new(30, &[12], 8, Likelihood::Multinomial);
    spec.code_activation = Activation::Linear;
    spec.code_distribution = CodeDistribution::Binary;
    spec.binary = Some(BinaryCode::DEFAULT);
    let mut model = Autoencoder::new(spec, 0).unwrap();
    let config = RbmStackConfig {
        epochs: 3,
        batch_size: 20,
        learning_rate: 0.01,
        threads: 1,
        ..RbmStackConfig::default()
    };
    let stack = pretrain_rbm_stack(&mut model, &x, &config, &mut Silent).unwrap();
    assert_eq!(stack[0].spec().visible_units, Units::Softmax);
    assert_eq!(stack[1].spec().visible_units, Units::Bernoulli);
    assert_eq!(
        stack[1].spec().hidden_units,
        Units::Bernoulli,
        "a binary code's bits"
    );
    let mut h = x.clone();
    for rbm in &stack {
        h = rbm.hidden_means(&h).unwrap();
    }
    let codes = model.encode(&x).unwrap();
    let worst = common::max_abs_diff(&codes, &h);
    assert!(worst < 1e-5, "the encoder is the up-pass: {worst}");
    // down: word probabilities, the decoder's softmax output
    for rbm in stack.iter().rev() {
        h = rbm.visible_means(&h).unwrap();
    }
    let r = model.reconstruct(&x).unwrap();
    let worst = common::max_abs_diff(&r, &h);
    assert!(worst < 1e-5, "the decoder is the down-pass: {worst}");
    // negative counts are refused, naming the key
    let mut bad = x.clone();
    bad.as_mut_slice()[3] = -1.0;
    let err = pretrain_rbm_stack(&mut model, &bad, &config, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(err.contains("non-negative"), "{err}");
}
