//! Toy data whose answers are known in closed form, for checking what a denoising or contractive
//! autoencoder learns about the data (chapter 14.5–14.7).
//!
//! **Densities** (2-D), each with its log density and score `∇ₓ log p(x)` written out:
//!
//! - `mixture`: three anisotropic Gaussians, `p(x) = Σ_k w_k N(x; μ_k, Σ_k)`, so
//!   `∇ log p(x) = −Σ_k γ_k(x) Σ_k⁻¹ (x − μ_k)` with responsibilities `γ_k = w_k N_k / p`.
//! - `spiral`: 100 isotropic Gaussians (std 0.06) along 1.5 turns of an Archimedean spiral, the
//!   same formula.
//! - `ring`: `p(x) = exp(−(‖x‖ − R)² / 2s²) / Z` with `R = 1`, `s = 0.1` and
//!   `Z = 2π [s² e^{−R²/2s²} + R s √(2π) Φ(R/s)]`, so `∇ log p(x) = −(‖x‖ − R)/s² · x/‖x‖`.
//!
//! **Manifolds** of intrinsic dimension `d` in `m` coordinates — `circle` (d = 1, m = 2,
//! radius 1), `sphere` (d = 2, m = 3, radius 1, uniform), `swiss_roll` (d = 2, m = 3:
//! scikit-learn's `make_swiss_roll` parametrization `t = 1.5π(1 + 2u)`, `(t cos t, 21v, t sin t)`,
//! divided by 10), `torus` (d = 2, m = 3, radii 1 and 0.4, uniform angles) — mapped into `D ≥ m`
//! dimensions by a random map `Q` (`D × m`, orthonormal columns), plus isotropic Gaussian noise
//! in all `D` dimensions. The tangent basis at each point is `Q` times the orthonormalized
//! parameter derivatives, so it is exact for the noise-free point.

use crate::error::{Error, Result};
use crate::linalg::{Matrix, Rng};

/// A 2-D density with closed-form log density and score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Density {
    /// Three anisotropic Gaussians.
    Mixture,
    /// A ring of radius 1 with radial std 0.1.
    Ring,
    /// 100 small Gaussians along a spiral.
    Spiral,
}

/// One Gaussian component: weight, mean, and the inverse and log-determinant of its covariance.
#[derive(Clone, Copy, Debug)]
struct Component {
    log_weight: f64,
    mean: [f64; 2],
    /// Lower Cholesky factor of the covariance (for sampling).
    chol: [[f64; 2]; 2],
    precision: [[f64; 2]; 2],
    log_det: f64,
}

impl Component {
    fn new(weight: f64, mean: [f64; 2], cov: [[f64; 2]; 2]) -> Self {
        let det = cov[0][0] * cov[1][1] - cov[0][1] * cov[1][0];
        let l00 = cov[0][0].sqrt();
        let l10 = cov[1][0] / l00;
        let l11 = (cov[1][1] - l10 * l10).sqrt();
        Component {
            log_weight: weight.ln(),
            mean,
            chol: [[l00, 0.0], [l10, l11]],
            precision: [
                [cov[1][1] / det, -cov[0][1] / det],
                [-cov[1][0] / det, cov[0][0] / det],
            ],
            log_det: det.ln(),
        }
    }
    /// `log w + log N(x; μ, Σ)` and `−Σ⁻¹(x − μ)`.
    fn log_term_and_score(&self, x: [f64; 2]) -> (f64, [f64; 2]) {
        let d = [x[0] - self.mean[0], x[1] - self.mean[1]];
        let p = self.precision;
        let pd = [
            p[0][0] * d[0] + p[0][1] * d[1],
            p[1][0] * d[0] + p[1][1] * d[1],
        ];
        let quad = d[0] * pd[0] + d[1] * pd[1];
        let log_n = -0.5 * quad - 0.5 * self.log_det - (2.0 * std::f64::consts::PI).ln();
        (self.log_weight + log_n, [-pd[0], -pd[1]])
    }
}

const RING_RADIUS: f64 = 1.0;
const RING_STD: f64 = 0.1;
const SPIRAL_COMPONENTS: usize = 100;
const SPIRAL_STD: f64 = 0.06;

impl Density {
    /// Every density, for parsing and tests.
    pub const ALL: [Density; 3] = [Density::Mixture, Density::Ring, Density::Spiral];

    /// Parses a CLI name.
    pub fn parse(name: &str) -> Option<Density> {
        Density::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Density::Mixture => "mixture",
            Density::Ring => "ring",
            Density::Spiral => "spiral",
        }
    }

    fn components(self) -> Vec<Component> {
        match self {
            Density::Mixture => vec![
                Component::new(0.4, [-1.0, 0.0], [[0.09, 0.05], [0.05, 0.16]]),
                Component::new(0.35, [1.0, 0.5], [[0.16, -0.06], [-0.06, 0.06]]),
                Component::new(0.25, [0.2, -1.2], [[0.04, 0.0], [0.0, 0.25]]),
            ],
            Density::Spiral => (0..SPIRAL_COMPONENTS)
                .map(|k| {
                    let t = k as f64 / (SPIRAL_COMPONENTS - 1) as f64;
                    let (angle, radius) = (3.0 * std::f64::consts::PI * t, 0.25 + t);
                    let v = SPIRAL_STD * SPIRAL_STD;
                    Component::new(
                        1.0 / SPIRAL_COMPONENTS as f64,
                        [radius * angle.cos(), radius * angle.sin()],
                        [[v, 0.0], [0.0, v]],
                    )
                })
                .collect(),
            Density::Ring => Vec::new(),
        }
    }

    /// `log p(x)` and `∇ₓ log p(x)` at each point (module header).
    pub fn log_density_and_score(self, points: &[[f64; 2]]) -> Vec<(f64, [f64; 2])> {
        match self {
            Density::Ring => points
                .iter()
                .map(|x| ring_log_density_and_score(*x))
                .collect(),
            _ => {
                let components = self.components();
                points
                    .iter()
                    .map(|x| mixture_log_density_and_score(&components, *x))
                    .collect()
            }
        }
    }

    /// `n` independent draws.
    pub fn sample(self, n: usize, rng: &mut Rng) -> Vec<[f64; 2]> {
        let normal = |rng: &mut Rng| rng.normal() as f64;
        match self {
            Density::Ring => (0..n)
                .map(|_| {
                    // radius ∝ r·exp(−(r − R)²/2s²) on r > 0: propose N(R, s²), accept with r/M
                    let bound = RING_RADIUS + 8.0 * RING_STD;
                    let r = loop {
                        let r = RING_RADIUS + RING_STD * normal(rng);
                        if r > 0.0 && (rng.uniform() as f64) * bound < r {
                            break r;
                        }
                    };
                    let a = 2.0 * std::f64::consts::PI * rng.uniform() as f64;
                    [r * a.cos(), r * a.sin()]
                })
                .collect(),
            _ => {
                let components = self.components();
                let cumulative: Vec<f64> = components
                    .iter()
                    .scan(0.0, |acc, c| {
                        *acc += c.log_weight.exp();
                        Some(*acc)
                    })
                    .collect();
                (0..n)
                    .map(|_| {
                        let u = rng.uniform() as f64 * cumulative[cumulative.len() - 1];
                        let k = cumulative
                            .iter()
                            .position(|c| u < *c)
                            .unwrap_or(components.len() - 1);
                        let c = &components[k];
                        let (e0, e1) = (normal(rng), normal(rng));
                        [
                            c.mean[0] + c.chol[0][0] * e0,
                            c.mean[1] + c.chol[1][0] * e0 + c.chol[1][1] * e1,
                        ]
                    })
                    .collect()
            }
        }
    }

    /// A box `[x0, x1] × [y0, y1]` holding all but a negligible part of the mass.
    pub fn bounds(self) -> [f64; 4] {
        match self {
            Density::Mixture => [-2.2, 2.4, -2.8, 1.8],
            Density::Ring => [-1.6, 1.6, -1.6, 1.6],
            Density::Spiral => [-1.6, 1.6, -1.6, 1.6],
        }
    }

    /// `max_x log p(x)`, by a 400 × 400 grid over [`Self::bounds`] refined around its best
    /// point (the ring's maximum is in closed form).
    pub fn max_log_density(self) -> f64 {
        if self == Density::Ring {
            return ring_log_density_and_score([RING_RADIUS, 0.0]).0;
        }
        let [x0, x1, y0, y1] = self.bounds();
        let mut best = ([0.0, 0.0], f64::NEG_INFINITY);
        let (mut cx, mut cy, mut wx, mut wy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0, x1 - x0, y1 - y0);
        for _round in 0..4 {
            let g = 400;
            let points: Vec<[f64; 2]> = (0..g * g)
                .map(|k| {
                    [
                        cx - wx / 2.0 + wx * (k % g) as f64 / (g - 1) as f64,
                        cy - wy / 2.0 + wy * (k / g) as f64 / (g - 1) as f64,
                    ]
                })
                .collect();
            for (p, (l, _)) in points.iter().zip(self.log_density_and_score(&points)) {
                if l > best.1 {
                    best = (*p, l);
                }
            }
            (cx, cy, wx, wy) = (best.0[0], best.0[1], wx / 50.0, wy / 50.0);
        }
        best.1
    }
}

fn mixture_log_density_and_score(components: &[Component], x: [f64; 2]) -> (f64, [f64; 2]) {
    let terms: Vec<(f64, [f64; 2])> = components.iter().map(|c| c.log_term_and_score(x)).collect();
    let top = terms.iter().map(|t| t.0).fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = terms.iter().map(|t| (t.0 - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut score = [0.0, 0.0];
    for (w, (_, s)) in weights.iter().zip(&terms) {
        score[0] += w / total * s[0];
        score[1] += w / total * s[1];
    }
    (top + total.ln(), score)
}

/// `Φ(z)`, the standard normal distribution function (Abramowitz & Stegun 7.1.26 erf, error
/// below 1.5e-7 — far below what the ring's normalizer needs, `Φ(10) = 1 − 8e-24`).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

fn ring_log_density_and_score(x: [f64; 2]) -> (f64, [f64; 2]) {
    let (r0, s) = (RING_RADIUS, RING_STD);
    let z = 2.0
        * std::f64::consts::PI
        * (s * s * (-r0 * r0 / (2.0 * s * s)).exp()
            + r0 * s * (2.0 * std::f64::consts::PI).sqrt() * normal_cdf(r0 / s));
    let r = (x[0] * x[0] + x[1] * x[1]).sqrt();
    let log_p = -(r - r0).powi(2) / (2.0 * s * s) - z.ln();
    // at the centre the score is undefined (the density is e^{−50} there); report 0
    let g = if r > 0.0 {
        -(r - r0) / (s * s * r)
    } else {
        0.0
    };
    (log_p, [g * x[0], g * x[1]])
}

/// A manifold of known intrinsic dimension and tangent planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manifold {
    /// The unit circle (d = 1 in 2 coordinates).
    Circle,
    /// The unit sphere (d = 2 in 3).
    Sphere,
    /// The swiss roll (d = 2 in 3).
    SwissRoll,
    /// A torus with radii 1 and 0.4 (d = 2 in 3).
    Torus,
}

/// Points on a manifold mapped into `D` dimensions, with their tangent bases.
#[derive(Clone, Debug)]
pub struct ManifoldSample {
    /// `n × D` points (noise added).
    pub points: Matrix,
    /// `n · d` rows of `D` values: point `i`'s orthonormal tangent basis is rows
    /// `i·d .. (i+1)·d` (a `(n, d, D)` array in C order).
    pub tangents: Matrix,
    /// Intrinsic dimension `d`.
    pub dim: usize,
}

impl Manifold {
    /// Every manifold.
    pub const ALL: [Manifold; 4] = [
        Manifold::Circle,
        Manifold::Sphere,
        Manifold::SwissRoll,
        Manifold::Torus,
    ];

    /// Parses a CLI name.
    pub fn parse(name: &str) -> Option<Manifold> {
        Manifold::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Manifold::Circle => "circle",
            Manifold::Sphere => "sphere",
            Manifold::SwissRoll => "swiss_roll",
            Manifold::Torus => "torus",
        }
    }

    /// Intrinsic dimension `d`.
    pub fn dim(self) -> usize {
        match self {
            Manifold::Circle => 1,
            _ => 2,
        }
    }

    /// Coordinates `m` of the standard embedding (the smallest allowed ambient dimension).
    pub fn coordinates(self) -> usize {
        match self {
            Manifold::Circle => 2,
            _ => 3,
        }
    }

    /// Draws the parameters of one point (angles, heights), uniformly.
    fn draw_parameters(self, rng: &mut Rng) -> [f64; 2] {
        let tau = 2.0 * std::f64::consts::PI;
        let (u, v) = (rng.uniform() as f64, rng.uniform() as f64);
        match self {
            Manifold::Circle => [tau * u, 0.0],
            // uniform on the sphere: z uniform in [−1, 1], longitude uniform (Archimedes)
            Manifold::Sphere => [2.0 * u - 1.0, tau * v],
            Manifold::SwissRoll => [1.5 * std::f64::consts::PI * (1.0 + 2.0 * u), 21.0 * v],
            Manifold::Torus => [tau * u, tau * v],
        }
    }

    /// The point with parameters `q` in `m` coordinates and `d` vectors spanning its tangent
    /// plane (the parameter derivatives, except on the sphere, whose (z, longitude) chart is
    /// singular at the poles).
    fn embed(self, q: [f64; 2]) -> (Vec<f64>, Vec<Vec<f64>>) {
        match self {
            Manifold::Circle => {
                let a = q[0];
                (vec![a.cos(), a.sin()], vec![vec![-a.sin(), a.cos()]])
            }
            Manifold::Sphere => {
                let (z, a) = (q[0], q[1]);
                let r = (1.0 - z * z).max(0.0).sqrt();
                let p = vec![r * a.cos(), r * a.sin(), z];
                // any two independent vectors orthogonal to p span the tangent plane
                let helper = if z.abs() < 0.9 {
                    [0.0, 0.0, 1.0]
                } else {
                    [1.0, 0.0, 0.0]
                };
                let t1 = cross(&p, &helper);
                let t2 = cross(&p, &t1);
                (p, vec![t1, t2])
            }
            Manifold::SwissRoll => {
                let (t, h) = (q[0], q[1]);
                (
                    vec![t * t.cos() / 10.0, h / 10.0, t * t.sin() / 10.0],
                    vec![
                        vec![
                            (t.cos() - t * t.sin()) / 10.0,
                            0.0,
                            (t.sin() + t * t.cos()) / 10.0,
                        ],
                        vec![0.0, 0.1, 0.0],
                    ],
                )
            }
            Manifold::Torus => {
                let (a, b) = (q[0], q[1]);
                let (big, small) = (1.0, 0.4);
                let ring = big + small * b.cos();
                (
                    vec![ring * a.cos(), ring * a.sin(), small * b.sin()],
                    vec![
                        vec![-ring * a.sin(), ring * a.cos(), 0.0],
                        vec![
                            -small * b.sin() * a.cos(),
                            -small * b.sin() * a.sin(),
                            small * b.cos(),
                        ],
                    ],
                )
            }
        }
    }

    /// `n` points in `ambient` dimensions with isotropic noise of std `noise`, and their exact
    /// tangent bases (module header). The random map comes from `rng` first, so a seed fixes
    /// both the map and the points.
    pub fn sample(
        self,
        n: usize,
        ambient: usize,
        noise: f64,
        rng: &mut Rng,
    ) -> Result<ManifoldSample> {
        let m = self.coordinates();
        if ambient < m {
            return Err(Error::Invalid(format!(
                "--ambient {ambient}: the {} needs at least {m} dimensions",
                self.name()
            )));
        }
        if !(noise >= 0.0 && noise.is_finite()) {
            return Err(Error::Invalid(format!("--noise must be ≥ 0, got {noise}")));
        }
        let q = random_orthonormal_columns(ambient, m, rng);
        let d = self.dim();
        let mut points = Vec::with_capacity(n * ambient);
        let mut tangents = Vec::with_capacity(n * d * ambient);
        for _ in 0..n {
            let (p, derivatives) = self.embed(self.draw_parameters(rng));
            let basis = gram_schmidt(derivatives);
            let lift = |v: &[f64]| -> Vec<f64> {
                (0..ambient)
                    .map(|i| (0..m).map(|j| q[i * m + j] * v[j]).sum())
                    .collect()
            };
            for v in lift(&p) {
                points.push((v + noise * rng.normal() as f64) as f32);
            }
            for t in &basis {
                tangents.extend(lift(t).into_iter().map(|v| v as f32));
            }
        }
        Ok(ManifoldSample {
            points: Matrix::from_vec(n, ambient, points),
            tangents: Matrix::from_vec(n * d, ambient, tangents),
            dim: d,
        })
    }
}

fn cross(a: &[f64], b: &[f64]) -> Vec<f64> {
    vec![
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// Orthonormalizes `vectors` in order (they are independent for every manifold here).
fn gram_schmidt(vectors: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = Vec::new();
    for mut v in vectors {
        for u in &out {
            let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v.iter_mut().for_each(|a| *a /= norm);
        out.push(v);
    }
    out
}

/// A `rows × cols` matrix (row-major) with orthonormal columns, from Gaussian entries.
fn random_orthonormal_columns(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f64> {
    let columns: Vec<Vec<f64>> = (0..cols)
        .map(|_| (0..rows).map(|_| rng.normal() as f64).collect())
        .collect();
    let columns = gram_schmidt(columns);
    (0..rows * cols)
        .map(|k| columns[k % cols][k / cols])
        .collect()
}

/// Points as a matrix of `f32` rows.
pub fn points_to_matrix(points: &[[f64; 2]]) -> Matrix {
    Matrix::from_vec(
        points.len(),
        2,
        points
            .iter()
            .flat_map(|p| [p[0] as f32, p[1] as f32])
            .collect(),
    )
}

/// The rows of a 2-column matrix as points (`None` when it does not have 2 columns).
pub fn matrix_to_points(x: &Matrix) -> Option<Vec<[f64; 2]>> {
    (x.cols() == 2).then(|| {
        (0..x.rows())
            .map(|r| [x.row(r)[0] as f64, x.row(r)[1] as f64])
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_equal_finite_differences_of_log_densities() {
        let mut rng = Rng::new(3);
        for density in Density::ALL {
            let points = density.sample(50, &mut rng);
            let exact = density.log_density_and_score(&points);
            let h = 1e-5;
            for (p, (_, s)) in points.iter().zip(&exact) {
                for axis in 0..2 {
                    let (mut up, mut down) = (*p, *p);
                    up[axis] += h;
                    down[axis] -= h;
                    let l = density.log_density_and_score(&[up, down]);
                    let fd = (l[0].0 - l[1].0) / (2.0 * h);
                    assert!(
                        (fd - s[axis]).abs() <= 1e-4 * (1.0 + s[axis].abs()),
                        "{}: fd {fd} vs {}",
                        density.name(),
                        s[axis]
                    );
                }
            }
        }
    }

    #[test]
    fn densities_integrate_to_one_and_samples_follow_them() {
        let mut rng = Rng::new(4);
        for density in Density::ALL {
            // ∫ p over the bounds by the midpoint rule
            let [x0, x1, y0, y1] = density.bounds();
            let g = 600;
            let (hx, hy) = ((x1 - x0) / g as f64, (y1 - y0) / g as f64);
            let grid: Vec<[f64; 2]> = (0..g * g)
                .map(|k| {
                    [
                        x0 + hx * ((k % g) as f64 + 0.5),
                        y0 + hy * ((k / g) as f64 + 0.5),
                    ]
                })
                .collect();
            let values = density.log_density_and_score(&grid);
            let mass: f64 = values.iter().map(|(l, _)| l.exp() * hx * hy).sum();
            assert!((mass - 1.0).abs() < 2e-3, "{}: mass {mass}", density.name());
            // samples: the mean log density of draws equals −entropy = ∫ p log p
            let draws = density.sample(20_000, &mut rng);
            let sample_mean: f64 = density
                .log_density_and_score(&draws)
                .iter()
                .map(|(l, _)| l)
                .sum::<f64>()
                / draws.len() as f64;
            let exact: f64 = values.iter().map(|(l, _)| l.exp() * l * hx * hy).sum();
            assert!(
                (sample_mean - exact).abs() < 0.03,
                "{}: sample {sample_mean} vs {exact}",
                density.name()
            );
            let top = density.max_log_density();
            assert!(values.iter().all(|(l, _)| *l <= top + 1e-9));
            assert!(values.iter().any(|(l, _)| *l >= top - 0.01));
        }
    }

    #[test]
    fn manifold_tangents_are_orthonormal_and_tangent() {
        let mut rng = Rng::new(5);
        for manifold in Manifold::ALL {
            let d = manifold.dim();
            let s = manifold.sample(40, 10, 0.0, &mut rng).unwrap();
            assert_eq!(s.tangents.rows(), 40 * d);
            for i in 0..40 {
                let x = s.points.row(i);
                for a in 0..d {
                    let ta = s.tangents.row(i * d + a);
                    for b in 0..d {
                        let tb = s.tangents.row(i * d + b);
                        let dot: f32 = ta.iter().zip(tb).map(|(p, q)| p * q).sum();
                        let want = if a == b { 1.0 } else { 0.0 };
                        assert!((dot - want).abs() < 1e-5, "{}: {dot}", manifold.name());
                    }
                }
                // a step along a tangent stays on the manifold to second order: the circle and
                // sphere (radius 1, centred) keep ‖x‖ = 1, so x ⟂ tangent
                if matches!(manifold, Manifold::Circle | Manifold::Sphere) {
                    let norm: f32 = x.iter().map(|v| v * v).sum::<f32>().sqrt();
                    assert!((norm - 1.0).abs() < 1e-5);
                    for a in 0..d {
                        let dot: f32 = x
                            .iter()
                            .zip(s.tangents.row(i * d + a))
                            .map(|(p, q)| p * q)
                            .sum();
                        assert!(dot.abs() < 1e-5);
                    }
                }
            }
        }
        assert!(Manifold::Sphere.sample(3, 2, 0.0, &mut rng).is_err());
    }

    #[test]
    fn tangents_equal_finite_differences_of_the_parametrization() {
        let mut rng = Rng::new(6);
        for manifold in [Manifold::Circle, Manifold::SwissRoll, Manifold::Torus] {
            for _ in 0..20 {
                let q = manifold.draw_parameters(&mut rng);
                let (_, derivatives) = manifold.embed(q);
                for (axis, analytic) in derivatives.iter().enumerate() {
                    let h = 1e-6;
                    let (mut up, mut down) = (q, q);
                    up[axis] += h;
                    down[axis] -= h;
                    let (pu, pd) = (manifold.embed(up).0, manifold.embed(down).0);
                    for i in 0..analytic.len() {
                        let fd = (pu[i] - pd[i]) / (2.0 * h);
                        assert!(
                            (fd - analytic[i]).abs() < 1e-6,
                            "{}: {fd} vs {}",
                            manifold.name(),
                            analytic[i]
                        );
                    }
                }
            }
        }
    }
}
