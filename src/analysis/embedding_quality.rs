//! How good is a map? Neighbourhood measures of a low-dimensional embedding `Y` of data `X`.
//!
//! Trustworthiness (Venna & Kaski 2001; the definition scikit-learn's `trustworthiness` uses):
//!
//! ```text
//! T(k) = 1 − 2 / (n k (2n − 3k − 1)) · Σ_i Σ_{j ∈ N_k^Y(i) \ N_k^X(i)} (r_X(i, j) − k)
//! ```
//!
//! where `N_k^Y(i)` are the k nearest neighbours of `i` in the map, `N_k^X(i)` those in the data,
//! and `r_X(i, j)` is the rank of `j` among `i`'s neighbours in the data (1 = nearest). It
//! penalizes points that the map brings close but the data keeps apart. Continuity swaps the
//! roles of `X` and `Y`: it penalizes neighbours in the data that the map tears apart.
//!
//! k-NN accuracy classifies each point by a majority vote of its k nearest neighbours' labels
//! (ties go to the smallest label, as scikit-learn's `KNeighborsClassifier` breaks them):
//! leave-one-out on one set, or test points against a set of training points (the parametric
//! UMAP paper's protocol for maps that embed new points).
//!
//! Distances and neighbours come from [`crate::neighbors::exact`]; equal distances rank by
//! index.

use crate::error::{Error, Result};
use crate::linalg::Matrix;
use crate::neighbors::exact::{centred, map_distance_rows, nearest_neighbors};

/// The four numbers `embedding-quality` prints.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Quality {
    pub trustworthiness: f64,
    pub continuity: f64,
    /// Leave-one-out k-NN accuracy on the map (with labels).
    pub knn_accuracy: Option<f64>,
    /// Test points classified by their k nearest training points on the map.
    pub knn_test_accuracy: Option<f64>,
}

/// Trustworthiness of the map `low` of `high` at `k` neighbours (module header); needs
/// `k < n / 2`, as scikit-learn does.
pub fn trustworthiness(high: &Matrix, low: &Matrix, k: usize) -> Result<f64> {
    let n = high.rows();
    if low.rows() != n {
        return Err(Error::Shape(format!(
            "the data has {n} rows, the map {}",
            low.rows()
        )));
    }
    if k == 0 || 2 * k >= n {
        return Err(Error::Invalid(format!(
            "k = {k}: trustworthiness needs 1 ≤ k < n / 2 = {}",
            n / 2
        )));
    }
    let map_neighbours = nearest_neighbors(low, low, k, true)?;
    let high_c = centred(high, high);
    let penalties = map_distance_rows(&high_c, &high_c, &|i, dist| {
        map_neighbours[i * k..(i + 1) * k]
            .iter()
            .map(|&j| {
                // r_X(i, j): 1 + the points other than i nearer to i than j (ties by index)
                let dj = dist[j];
                let rank = 1
                    + (0..n)
                        .filter(|&l| l != i && (dist[l] < dj || (dist[l] == dj && l < j)))
                        .count();
                rank.saturating_sub(k) as u64
            })
            .sum::<u64>()
    });
    let sum: u64 = penalties.iter().sum();
    let (n, k) = (n as f64, k as f64);
    Ok(1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * sum as f64)
}

/// Continuity: trustworthiness with the data and the map swapped.
pub fn continuity(high: &Matrix, low: &Matrix, k: usize) -> Result<f64> {
    trustworthiness(low, high, k)
}

fn vote(labels: impl Iterator<Item = i64>) -> i64 {
    let mut seen: Vec<(i64, usize)> = Vec::new();
    for l in labels {
        match seen.iter_mut().find(|(x, _)| *x == l) {
            Some((_, c)) => *c += 1,
            None => seen.push((l, 1)),
        }
    }
    // most votes; among equal counts the smallest label
    seen.into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(l, _)| l)
        .unwrap_or(0)
}

fn check_labels(points: &Matrix, labels: &[i64], what: &str) -> Result<()> {
    if labels.len() != points.rows() {
        return Err(Error::Shape(format!(
            "{what}: {} labels for {} points",
            labels.len(),
            points.rows()
        )));
    }
    Ok(())
}

/// Leave-one-out k-NN accuracy: each point classified by its k nearest other points.
pub fn knn_accuracy(points: &Matrix, labels: &[i64], k: usize) -> Result<f64> {
    check_labels(points, labels, "k-NN accuracy")?;
    let nn = nearest_neighbors(points, points, k, true)?;
    let right = (0..points.rows())
        .filter(|&i| vote(nn[i * k..(i + 1) * k].iter().map(|&j| labels[j])) == labels[i])
        .count();
    Ok(right as f64 / points.rows().max(1) as f64)
}

/// Test points classified by a majority vote of their k nearest training points.
pub fn knn_test_accuracy(
    train: &Matrix,
    train_labels: &[i64],
    test: &Matrix,
    test_labels: &[i64],
    k: usize,
) -> Result<f64> {
    check_labels(train, train_labels, "training points")?;
    check_labels(test, test_labels, "test points")?;
    let nn = nearest_neighbors(train, test, k, false)?;
    let right = (0..test.rows())
        .filter(|&i| {
            vote(nn[i * k..(i + 1) * k].iter().map(|&j| train_labels[j])) == test_labels[i]
        })
        .count();
    Ok(right as f64 / test.rows().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    fn random(n: usize, d: usize, seed: u64) -> Matrix {
        let mut rng = Rng::new(seed);
        Matrix::from_vec(n, d, (0..n * d).map(|_| rng.normal()).collect())
    }

    fn brute_neighbours(points: &Matrix, i: usize) -> Vec<usize> {
        let d = |j: usize| -> f64 {
            points
                .row(i)
                .iter()
                .zip(points.row(j))
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum()
        };
        let mut idx: Vec<usize> = (0..points.rows()).filter(|&j| j != i).collect();
        idx.sort_by(|a, b| d(*a).total_cmp(&d(*b)).then(a.cmp(b)));
        idx
    }

    #[test]
    fn neighbours_match_a_brute_force_sort() {
        // more rows than a block, so the blocking is exercised
        let x = random(300, 7, 1);
        let nn = nearest_neighbors(&x, &x, 5, true).unwrap();
        for i in 0..300 {
            assert_eq!(
                &nn[i * 5..i * 5 + 5],
                &brute_neighbours(&x, i)[..5],
                "row {i}"
            );
        }
    }

    #[test]
    fn trustworthiness_follows_its_definition() {
        let x = random(40, 6, 2);
        let y = random(40, 2, 3);
        let k = 4;
        let mut sum = 0usize;
        for i in 0..40 {
            let ranks = brute_neighbours(&x, i);
            let map = &brute_neighbours(&y, i)[..k];
            for j in map {
                let r = 1 + ranks.iter().position(|l| l == j).unwrap();
                sum += r.saturating_sub(k);
            }
        }
        let want = 1.0 - 2.0 / (40.0 * 4.0 * (80.0 - 12.0 - 1.0)) * sum as f64;
        let got = trustworthiness(&x, &y, k).unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        assert!(got < 0.9, "a random map is not trustworthy: {got}");
        // a map that keeps the data's distances is perfect; an isometry of it too
        assert_eq!(trustworthiness(&x, &x, k).unwrap(), 1.0);
        let mut scaled = x.clone();
        scaled
            .as_mut_slice()
            .iter_mut()
            .for_each(|v| *v = 3.0 * *v + 1.0);
        assert_eq!(continuity(&x, &scaled, k).unwrap(), 1.0);
        assert!(trustworthiness(&x, &y, 20).is_err());
    }

    /// scikit-learn 1.9.1's `trustworthiness(x, y, n_neighbors=5)` and with x and y swapped,
    /// on these formula inputs (computed once in float64 from the same f32 values).
    #[test]
    fn trustworthiness_equals_scikit_learns() {
        let (n, d) = (60, 8);
        let x = Matrix::from_vec(
            n,
            d,
            (0..n * d)
                .map(|e| {
                    let (i, j) = ((e / d) as f64, (e % d) as f64);
                    (0.7 * i * (j + 1.0) + 0.3 * j).sin() as f32
                })
                .collect(),
        );
        let y = Matrix::from_vec(
            n,
            2,
            (0..n)
                .flat_map(|i| [(0.7 * i as f64).sin() as f32, (1.3 * i as f64).cos() as f32])
                .collect(),
        );
        let t = trustworthiness(&x, &y, 5).unwrap();
        let c = continuity(&x, &y, 5).unwrap();
        assert!((t - 0.6483974358974359).abs() < 1e-6, "{t}");
        assert!((c - 0.7203846153846154).abs() < 1e-6, "{c}");
    }

    #[test]
    fn knn_votes_and_accuracy() {
        assert_eq!(vote([3, 1, 3, 1].into_iter()), 1);
        assert_eq!(vote([2, 5, 5].into_iter()), 5);
        // two separated clusters, labelled by cluster: perfect; labels shuffled: not
        let mut x = random(60, 2, 4);
        for r in 30..60 {
            x.row_mut(r)[0] += 50.0;
        }
        let labels: Vec<i64> = (0..60).map(|r| i64::from(r >= 30)).collect();
        assert_eq!(knn_accuracy(&x, &labels, 5).unwrap(), 1.0);
        let alternating: Vec<i64> = (0..60).map(|r| r % 2).collect();
        assert!(knn_accuracy(&x, &alternating, 5).unwrap() < 0.8);
        let test = x.slice_rows(0, 10);
        assert_eq!(
            knn_test_accuracy(&x, &labels, &test, &labels[..10], 3).unwrap(),
            1.0
        );
        assert!(knn_test_accuracy(&x, &labels[..5], &test, &labels[..10], 3).is_err());
    }
}
