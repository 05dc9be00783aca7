//! What a denoising or contractive autoencoder knows about the data (chapter 14.5–14.7): the
//! score of a DAE, its sampling chain, and tangent planes from the encoder's Jacobian — each
//! against an answer known in closed form.

use autoencoder::analysis::dae_chain::dae_chain;
use autoencoder::analysis::score::dae_score;
use autoencoder::analysis::tangent::{
    encoder_jacobians, encoder_tangents, local_pca_tangents, mean_principal_angle_degrees,
    reconstruction_tangents,
};
use autoencoder::analysis::two_sample::energy_distance;
use autoencoder::baselines::pca::{principal_angles_degrees, Pca};
use autoencoder::code::CodeDistribution;
use autoencoder::data::toy::{points_to_matrix, Density, Manifold};
use autoencoder::linalg::Rng;
use autoencoder::nn::{Activation, Init};
use autoencoder::train::{self, Schedule, Silent};
use autoencoder::{
    Autoencoder, AutoencoderSpec, Corruption, Likelihood, Matrix, Objective, TrainConfig,
};

fn spec(
    input: usize,
    layers: &[usize],
    code: usize,
    act: Activation,
    code_act: Activation,
) -> AutoencoderSpec {
    AutoencoderSpec {
        input_size: input,
        encoder_layers: layers.to_vec(),
        code_size: code,
        code_activation: code_act,
        decoder_layers: None,
        activation: act,
        output: Likelihood::Gaussian,
        tied: false,
        init: Init::Glorot,
        code_distribution: Default::default(),
        binary: None,
        corruption: None,
        input_shape: None,
        encoder: None,
        decoder: None,
    }
}

fn trained(
    spec: AutoencoderSpec,
    x: &Matrix,
    corruption: Option<Corruption>,
    epochs: usize,
    lr: f32,
) -> Autoencoder {
    let mut model = Autoencoder::new(spec, 0).unwrap();
    let config = TrainConfig {
        epochs,
        batch_size: 64,
        learning_rate: lr,
        schedule: Schedule::Cosine { min_lr: 0.0 },
        validation_fraction: 0.0,
        patience: None,
        threads: 2,
        objective: Objective {
            corruption,
            ..Objective::plain()
        },
        ..TrainConfig::default()
    };
    let state = train::initial_state(&model, &config);
    train::fit(&mut model, x, None, &config, state, &mut Silent).unwrap();
    model
}

/// `n` draws of `N(μ, Σ)` in 2-D with `Σ = L Lᵀ`.
fn gaussian_2d(n: usize, mean: [f32; 2], l: [[f32; 2]; 2], rng: &mut Rng) -> Matrix {
    let mut v = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let (a, b) = (rng.normal(), rng.normal());
        v.push(mean[0] + l[0][0] * a);
        v.push(mean[1] + l[1][0] * a + l[1][1] * b);
    }
    Matrix::from_vec(n, 2, v)
}

/// `−(Σ̂ + σ²I)⁻¹ (x − μ̂)` for each row of `points`, with the sample moments of `data`.
fn linear_dae_optimum(data: &Matrix, points: &Matrix, sigma2: f64) -> Vec<[f64; 2]> {
    let n = data.rows() as f64;
    let mut mu = [0.0f64; 2];
    for r in 0..data.rows() {
        mu[0] += data.row(r)[0] as f64 / n;
        mu[1] += data.row(r)[1] as f64 / n;
    }
    let mut s = [[0.0f64; 2]; 2];
    for r in 0..data.rows() {
        let d = [data.row(r)[0] as f64 - mu[0], data.row(r)[1] as f64 - mu[1]];
        for i in 0..2 {
            for j in 0..2 {
                s[i][j] += d[i] * d[j] / n;
            }
        }
    }
    s[0][0] += sigma2;
    s[1][1] += sigma2;
    let det = s[0][0] * s[1][1] - s[0][1] * s[1][0];
    let inv = [
        [s[1][1] / det, -s[0][1] / det],
        [-s[1][0] / det, s[0][0] / det],
    ];
    (0..points.rows())
        .map(|r| {
            let d = [
                points.row(r)[0] as f64 - mu[0],
                points.row(r)[1] as f64 - mu[1],
            ];
            [
                -(inv[0][0] * d[0] + inv[0][1] * d[1]),
                -(inv[1][0] * d[0] + inv[1][1] * d[1]),
            ]
        })
        .collect()
}

fn relative_error(estimate: &Matrix, truth: &[[f64; 2]]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (r, t) in truth.iter().enumerate() {
        for (e, t) in estimate.row(r).iter().zip(t) {
            num += (*e as f64 - t).powi(2);
            den += t.powi(2);
        }
    }
    (num / den).sqrt()
}

#[test]
fn linear_dae_score_is_the_gaussian_score_as_sigma_shrinks() {
    let mut rng = Rng::new(11);
    let data = gaussian_2d(4000, [0.5, -0.3], [[1.0, 0.0], [0.6, 0.7]], &mut rng);
    let points = gaussian_2d(200, [0.5, -0.3], [[1.0, 0.0], [0.6, 0.7]], &mut rng);
    let linear = spec(2, &[], 2, Activation::Linear, Activation::Linear);
    let mut limit_errors = Vec::new();
    for sigma in [0.5f32, 0.25, 0.1] {
        let c = Some(Corruption::Gaussian { sigma });
        let model = trained(linear.clone(), &data, c, 80, 1e-2);
        let estimate = dae_score(&model, c, &points).unwrap();
        // the finite-σ optimum of a linear DAE: r(x) = Σ(Σ + σ²I)⁻¹(x − μ) + μ
        let finite = linear_dae_optimum(&data, &points, (sigma * sigma) as f64);
        let e = relative_error(&estimate, &finite);
        // training noise is amplified by 1/σ² in the estimate
        let tolerance = if sigma < 0.2 { 0.12 } else { 0.05 };
        assert!(e < tolerance, "σ = {sigma}: {e} from the finite-σ optimum");
        limit_errors.push(relative_error(
            &estimate,
            &linear_dae_optimum(&data, &points, 0.0),
        ));
    }
    // towards −Σ⁻¹(x − μ) as σ → 0
    assert!(
        limit_errors.windows(2).all(|w| w[1] < 0.6 * w[0]),
        "{limit_errors:?}"
    );
    assert!(limit_errors[2] < 0.15, "{limit_errors:?}");
}

#[test]
fn score_refuses_models_it_does_not_hold_for() {
    let model = Autoencoder::new(spec(2, &[], 2, Activation::Tanh, Activation::Tanh), 0).unwrap();
    let x = Matrix::from_vec(1, 2, vec![0.1, 0.2]);
    assert!(dae_score(&model, None, &x).is_err());
    assert!(dae_score(&model, Some(Corruption::Masking { p: 0.2 }), &x).is_err());
    assert!(dae_score(&model, Some(Corruption::Gaussian { sigma: 0.0 }), &x).is_err());
    let mut bernoulli = spec(2, &[], 2, Activation::Tanh, Activation::Tanh);
    bernoulli.output = Likelihood::Bernoulli;
    let model = Autoencoder::new(bernoulli, 0).unwrap();
    let err = dae_score(&model, Some(Corruption::Gaussian { sigma: 0.1 }), &x).unwrap_err();
    assert!(err.to_string().contains("gaussian"), "{err}");
}

#[test]
fn batched_jacobians_equal_finite_differences_for_every_architecture() {
    let mut rng = Rng::new(2);
    let cases: Vec<(usize, Vec<usize>, usize, bool, CodeDistribution)> = vec![
        (6, vec![], 3, false, CodeDistribution::Deterministic), // reverse mode, one layer
        (5, vec![7, 4], 3, false, CodeDistribution::Deterministic), // reverse, deep
        (3, vec![6], 5, false, CodeDistribution::Deterministic), // forward mode (k > D)
        (6, vec![5], 3, true, CodeDistribution::Deterministic), // tied
        (5, vec![6], 2, false, CodeDistribution::Gaussian),     // Jacobian of the mean
    ];
    for (d, layers, k, tied, code) in cases {
        for act in Activation::ALL {
            for code_act in [Activation::Linear, Activation::Sigmoid, Activation::Tanh] {
                let mut s = spec(d, &layers, k, act, code_act);
                s.tied = tied;
                s.code_distribution = code;
                if code == CodeDistribution::Gaussian {
                    s.code_activation = Activation::Linear;
                }
                let Ok(model) = Autoencoder::new(s, 3) else {
                    continue;
                };
                let x = Matrix::from_vec(4, d, (0..4 * d).map(|_| rng.normal()).collect());
                let jac = encoder_jacobians(&model, &x).unwrap();
                assert_eq!((jac.rows(), jac.cols()), (4 * k, d));
                for i in 0..4 {
                    // exact f64 forward mode, one example at a time
                    let exact = autoencoder::analysis::encoder_jacobian(&model, x.row(i)).unwrap();
                    for r in 0..k {
                        for c in 0..d {
                            let got = jac.row(i * k + r)[c];
                            let want = exact.row(r)[c];
                            assert!(
                                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                                "{act:?}/{code_act:?} {layers:?}: {got} vs {want}"
                            );
                        }
                    }
                    // central differences of encode()
                    let h = 1e-3f32;
                    for c in 0..d {
                        let (mut up, mut down) = (x.row(i).to_vec(), x.row(i).to_vec());
                        up[c] += h;
                        down[c] -= h;
                        let eu = model.encode(&Matrix::from_vec(1, d, up)).unwrap();
                        let ed = model.encode(&Matrix::from_vec(1, d, down)).unwrap();
                        for r in 0..k {
                            let fd = (eu.row(0)[r] - ed.row(0)[r]) / (2.0 * h);
                            let got = jac.row(i * k + r)[c];
                            assert!(
                                (fd - got).abs() <= 2e-2 * (1.0 + got.abs()),
                                "{act:?}/{code_act:?} {layers:?} fd {fd} vs {got}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn tangents_are_the_singular_vectors_of_the_jacobian() {
    let mut rng = Rng::new(4);
    for (d, k) in [(6usize, 3usize), (3, 5)] {
        let model =
            Autoencoder::new(spec(d, &[4], k, Activation::Tanh, Activation::Tanh), 1).unwrap();
        let x = Matrix::from_vec(5, d, (0..5 * d).map(|_| rng.normal()).collect());
        let dim = 2;
        let t = encoder_tangents(&model, &x, dim).unwrap();
        let jac = encoder_jacobians(&model, &x).unwrap();
        for i in 0..5 {
            let j = faer::Mat::<f64>::from_fn(k, d, |r, c| jac.row(i * k + r)[c] as f64);
            let svd = j.thin_svd().unwrap();
            let s = svd.S().column_vector();
            for q in 0..k.min(d) {
                let got = t.singular_values.row(i)[q] as f64;
                assert!(
                    (got - s[q]).abs() < 1e-4 * (1.0 + s[q]),
                    "{got} vs {}",
                    s[q]
                );
            }
            let ours = faer::Mat::<f64>::from_fn(d, dim, |r, c| t.bases.row(i * dim + c)[r] as f64);
            let theirs = faer::Mat::<f64>::from_fn(d, dim, |r, c| svd.V()[(r, c)]);
            let angles = principal_angles_degrees(&ours, &theirs).unwrap();
            assert!(angles.iter().all(|a| *a < 0.1), "{angles:?}");
        }
        assert!(encoder_tangents(&model, &x, k.min(d) + 1).is_err());
    }
}

#[test]
fn reconstruction_tangents_are_the_left_singular_vectors_of_dr_dx_by_finite_differences() {
    // ∂r/∂x by central differences of `reconstruct` (f32, so a loose tolerance), its SVD in f64
    let mut rng = Rng::new(9);
    for (d, k, output) in [
        (6usize, 3usize, Likelihood::Gaussian),
        (5, 2, Likelihood::Bernoulli),
    ] {
        let mut s = spec(d, &[7], k, Activation::Tanh, Activation::Tanh);
        s.output = output;
        let model = Autoencoder::new(s, 2).unwrap();
        let n = 4;
        let x = Matrix::from_vec(n, d, (0..n * d).map(|_| 0.5 * rng.normal()).collect());
        let dim = 2;
        let t = reconstruction_tangents(&model, &x, dim).unwrap();
        assert_eq!(t.singular_values.cols(), k);
        let h = 1e-2f32;
        for i in 0..n {
            let mut jr = faer::Mat::<f64>::zeros(d, d);
            for c in 0..d {
                let (mut up, mut down) = (x.row(i).to_vec(), x.row(i).to_vec());
                up[c] += h;
                down[c] -= h;
                let ru = model.reconstruct(&Matrix::from_vec(1, d, up)).unwrap();
                let rd = model.reconstruct(&Matrix::from_vec(1, d, down)).unwrap();
                for r in 0..d {
                    jr[(r, c)] = (ru.row(0)[r] - rd.row(0)[r]) as f64 / (2.0 * h as f64);
                }
            }
            let svd = jr.thin_svd().unwrap();
            let sv = svd.S().column_vector();
            for q in 0..k {
                let got = t.singular_values.row(i)[q] as f64;
                assert!(
                    (got - sv[q]).abs() < 1e-2 * (sv[0] + 1e-3),
                    "{output:?} σ{q}: {got} vs {}",
                    sv[q]
                );
            }
            let ours = faer::Mat::<f64>::from_fn(d, dim, |r, c| t.bases.row(i * dim + c)[r] as f64);
            let theirs = faer::Mat::<f64>::from_fn(d, dim, |r, c| svd.U()[(r, c)]);
            let angles = principal_angles_degrees(&ours, &theirs).unwrap();
            assert!(angles.iter().all(|a| *a < 1.0), "{output:?}: {angles:?}");
        }
        assert!(reconstruction_tangents(&model, &x, k + 1).is_err());
    }
}

#[test]
fn linear_autoencoder_tangents_are_the_pca_subspace() {
    // 5-D data: two strong directions, three weak ones
    let mut rng = Rng::new(7);
    // an orthogonal mixing, so the PCA variances are the scales below
    let random = faer::Mat::<f64>::from_fn(5, 5, |_, _| rng.normal() as f64);
    let q = random.thin_svd().unwrap().U().to_owned();
    let basis = Matrix::from_vec(5, 5, (0..25).map(|k| q[(k / 5, k % 5)] as f32).collect());
    let scales = [2.0f32, 1.5, 0.2, 0.15, 0.1];
    let n = 3000;
    let mut v = Vec::with_capacity(n * 5);
    for _ in 0..n {
        let z: Vec<f32> = scales.iter().map(|s| s * rng.normal()).collect();
        for i in 0..5 {
            v.push((0..5).map(|j| basis.row(i)[j] * z[j]).sum::<f32>());
        }
    }
    let x = Matrix::from_vec(n, 5, v);
    let model = trained(
        spec(5, &[], 2, Activation::Linear, Activation::Linear),
        &x,
        None,
        150,
        1e-2,
    );
    let points = x.slice_rows(0, 20);
    let t = encoder_tangents(&model, &points, 2).unwrap();
    let pca = Pca::fit(&x, 2).unwrap();
    for i in 0..20 {
        let ours = faer::Mat::<f64>::from_fn(5, 2, |r, c| t.bases.row(i * 2 + c)[r] as f64);
        let angles = principal_angles_degrees(&ours, &pca.components).unwrap();
        assert!(angles.iter().all(|a| *a < 2.0), "{angles:?}");
    }
    // an untrained encoder is not aligned with it
    let fresh =
        Autoencoder::new(spec(5, &[], 2, Activation::Linear, Activation::Linear), 9).unwrap();
    let t = encoder_tangents(&fresh, &points, 2).unwrap();
    let ours = faer::Mat::<f64>::from_fn(5, 2, |r, c| t.bases.row(c)[r] as f64);
    let angles = principal_angles_degrees(&ours, &pca.components).unwrap();
    assert!(angles[1] > 10.0, "{angles:?}");
}

#[test]
fn local_pca_finds_the_tangents_of_a_noise_free_manifold() {
    let mut rng = Rng::new(8);
    for manifold in [Manifold::Circle, Manifold::Sphere] {
        let s = manifold.sample(1500, 10, 0.0, &mut rng).unwrap();
        let t = local_pca_tangents(&s.points, 10, s.dim).unwrap();
        let angle = mean_principal_angle_degrees(&t.bases, &s.tangents, s.dim).unwrap();
        assert!(angle < 5.0, "{}: {angle}°", manifold.name());
        // with the wrong basis (the point's own direction for the circle) the angle is large
    }
    let s = Manifold::Circle.sample(200, 4, 0.0, &mut rng).unwrap();
    let mut wrong = s.points.clone();
    for r in 0..wrong.rows() {
        let norm: f32 = wrong.row(r).iter().map(|v| v * v).sum::<f32>().sqrt();
        wrong.row_mut(r).iter_mut().for_each(|v| *v /= norm);
    }
    let angle = mean_principal_angle_degrees(&wrong, &s.tangents, 1).unwrap();
    assert!(angle > 80.0, "{angle}");
}

#[test]
fn dae_chain_on_a_ring_keeps_its_samples_on_the_density() {
    let mut rng = Rng::new(9);
    let density = Density::Ring;
    let data = points_to_matrix(&density.sample(6000, &mut rng));
    let truth = points_to_matrix(&density.sample(2000, &mut rng));
    let sigma = 0.1;
    let c = Corruption::Gaussian { sigma };
    let model = trained(
        spec(2, &[64, 64], 64, Activation::Tanh, Activation::Tanh),
        &data,
        Some(c),
        25,
        2e-3,
    );
    let top = density.max_log_density();
    let on_density = |x: &Matrix| {
        let pts: Vec<[f64; 2]> = (0..x.rows())
            .map(|r| [x.row(r)[0] as f64, x.row(r)[1] as f64])
            .collect();
        let l = density.log_density_and_score(&pts);
        l.iter().filter(|(l, _)| *l >= top - 10f64.ln()).count() as f64 / x.rows() as f64
    };
    let reference = on_density(&truth);
    // from noise: N(0, I) starts, mostly off the ring
    let start = Matrix::from_vec(2000, 2, (0..4000).map(|_| rng.normal()).collect());
    assert!(on_density(&start) < 0.5 * reference);
    let samples = dae_chain(&model, c, &start, 60, false, &mut rng).unwrap();
    let got = on_density(&samples);
    assert!(
        got > 0.85 * reference,
        "{got} of samples on the ring vs {reference}"
    );
    // and spread over it like true samples: energy distance near that of two true sets
    let truth2 = points_to_matrix(&density.sample(2000, &mut rng));
    let baseline = energy_distance(&truth, &truth2).unwrap();
    let e = energy_distance(&samples, &truth).unwrap();
    assert!(e < 4.0 * baseline, "chain {e} vs true–true {baseline}");
    let from_start = energy_distance(&start, &truth).unwrap();
    assert!(from_start > 3.0 * e, "start {from_start} vs chain {e}");
}
