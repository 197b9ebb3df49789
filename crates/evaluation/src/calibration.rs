//! How far class probabilities can be trusted, and making them trustworthier: expected
//! calibration error, Brier score, log loss and reliability bins; temperature scaling fitted on
//! out-of-fold probabilities and cross-fitted; and conformal prediction sets checked by
//! cross-fitting.
//!
//! Every function takes probabilities as rows (one per example) of one column per class, and
//! labels as class indices.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::conformal::{
    aps_score, aps_set, conformal_quantile, lac_score, lac_set, ConformalError,
};
use crate::cv::Fold;

/// Equal-width bins of the top-class probability used by [`expected_calibration_error`] and
/// [`reliability`] unless a caller asks for others.
pub const BINS: usize = 15;

/// One bin of a reliability diagram: the rows whose top-class probability falls in it, their
/// mean top-class probability and their accuracy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// The bin's lower edge.
    pub from: f64,
    /// The bin's upper edge.
    pub to: f64,
    /// Rows in it.
    pub rows: usize,
    /// Their mean top-class probability.
    pub confidence: f64,
    /// The share of them whose top class is the truth.
    pub accuracy: f64,
}

fn top(row: ndarray::ArrayView1<'_, f64>) -> (usize, f64) {
    row.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (c, &p)| {
            if p > best.1 {
                (c, p)
            } else {
                best
            }
        })
}

/// The reliability diagram's bins: the non-empty ones of `bins` equal-width bins of the
/// top-class probability.
pub fn reliability(proba: ArrayView2<'_, f64>, y: &[usize], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let (mut count, mut confidence, mut correct) =
        (vec![0usize; bins], vec![0.0; bins], vec![0usize; bins]);
    for (row, &label) in proba.axis_iter(Axis(0)).zip(y) {
        let (class, p) = top(row);
        let b = ((p * bins as f64) as usize).min(bins - 1);
        count[b] += 1;
        confidence[b] += p;
        correct[b] += usize::from(class == label);
    }
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| ReliabilityBin {
            from: b as f64 / bins as f64,
            to: (b + 1) as f64 / bins as f64,
            rows: count[b],
            confidence: confidence[b] / count[b] as f64,
            accuracy: correct[b] as f64 / count[b] as f64,
        })
        .collect()
}

/// Expected calibration error (top label): over `bins` equal-width bins of the top-class
/// probability, the row-weighted mean of |accuracy − mean probability|.
pub fn expected_calibration_error(proba: ArrayView2<'_, f64>, y: &[usize], bins: usize) -> f64 {
    let n = y.len().max(1) as f64;
    reliability(proba, y, bins)
        .iter()
        .filter(|b| b.rows > 0)
        .map(|b| b.rows as f64 / n * (b.accuracy - b.confidence).abs())
        .sum()
}

/// The multi-class Brier score: the mean over rows of Σ_c (p_c − [y = c])².
pub fn brier(proba: ArrayView2<'_, f64>, y: &[usize]) -> f64 {
    let total: f64 = proba
        .axis_iter(Axis(0))
        .zip(y)
        .map(|(row, &label)| {
            row.iter()
                .enumerate()
                .map(|(c, &p)| (p - f64::from(u8::from(c == label))).powi(2))
                .sum::<f64>()
        })
        .sum();
    total / y.len().max(1) as f64
}

/// The mean negative log probability of the true class (probabilities floored at 1e-15).
pub fn log_loss(proba: ArrayView2<'_, f64>, y: &[usize]) -> f64 {
    let total: f64 = proba
        .axis_iter(Axis(0))
        .zip(y)
        .map(|(row, &label)| -row.get(label).copied().unwrap_or(0.0).max(1e-15).ln())
        .sum();
    total / y.len().max(1) as f64
}

/// Probabilities tempered by `t`: each row's `p^(1/t)`, normalised (the softmax of the logits
/// divided by `t`, whatever constant the logits had). `t > 1` softens, `t < 1` sharpens.
pub fn temperature_scale(proba: ArrayView2<'_, f64>, t: f64) -> Array2<f64> {
    let mut out = proba.mapv(|p| p.max(1e-300).ln() / t);
    for mut row in out.axis_iter_mut(Axis(0)) {
        let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row.mapv_inplace(|v| v / sum);
    }
    out
}

/// The temperature in 0.05..=20 that minimises the log loss of `proba`'s `rows`, by
/// golden-section search on its logarithm (the log loss is convex in 1/t).
pub fn fit_temperature(proba: ArrayView2<'_, f64>, y: &[usize], rows: &[usize]) -> f64 {
    let p = proba.select(Axis(0), rows);
    let labels: Vec<usize> = rows.iter().map(|&r| y[r]).collect();
    let loss = |ln_t: f64| log_loss(temperature_scale(p.view(), ln_t.exp()).view(), &labels);
    let (mut a, mut b) = (0.05_f64.ln(), 20.0_f64.ln());
    let ratio = (5.0_f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - ratio * (b - a), a + ratio * (b - a));
    let (mut fc, mut fd) = (loss(c), loss(d));
    for _ in 0..60 {
        if fc <= fd {
            (b, d, fd) = (d, c, fc);
            c = b - ratio * (b - a);
            fc = loss(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + ratio * (b - a);
            fd = loss(d);
        }
    }
    ((a + b) / 2.0).exp()
}

/// Temperature scaling cross-fitted on `folds`: each fold's probabilities tempered by the
/// temperature fitted on the other folds. Returns them and the temperatures, fold by fold.
pub fn cross_fitted_temperature(
    proba: ArrayView2<'_, f64>,
    y: &[usize],
    folds: &[Fold],
) -> (Array2<f64>, Vec<f64>) {
    let mut out = proba.to_owned();
    let mut temperatures = Vec::with_capacity(folds.len());
    for (k, fold) in folds.iter().enumerate() {
        let others: Vec<usize> = folds
            .iter()
            .enumerate()
            .filter(|(m, _)| *m != k)
            .flat_map(|(_, f)| f.test.iter().copied())
            .collect();
        let t = fit_temperature(proba, y, &others);
        let tempered = temperature_scale(proba.select(Axis(0), &fold.test).view(), t);
        for (row, values) in fold.test.iter().zip(tempered.axis_iter(Axis(0))) {
            out.row_mut(*row).assign(&values);
        }
        temperatures.push(t);
    }
    (out, temperatures)
}

/// How a prediction set is built from a row's probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetMethod {
    /// Least-ambiguous sets: the classes at least `1 − q` likely (may be empty; coverage at its
    /// nominal level; the smallest sets on average).
    Lac,
    /// Adaptive prediction sets without randomisation: the most likely classes while their
    /// total stays within `q`, never empty (covers at least nominally, often more).
    Aps,
}

/// Cross-fitted prediction sets at one coverage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetCheck {
    /// How the sets were built.
    pub method: SetMethod,
    /// The nominal coverage.
    pub coverage: f64,
    /// The share of rows whose set held the truth.
    pub achieved: f64,
    /// The mean number of classes in a set.
    pub mean_size: f64,
}

/// Prediction sets of `method` at `coverage`, each fold's rows with the threshold calibrated on
/// the other folds' scores, checked against the truth.
pub fn cross_fitted_sets(
    proba: ArrayView2<'_, f64>,
    y: &[usize],
    folds: &[Fold],
    coverage: f64,
    method: SetMethod,
) -> Result<SetCheck, ConformalError> {
    let rows: Vec<Vec<f64>> = proba.axis_iter(Axis(0)).map(|r| r.to_vec()).collect();
    type Score = fn(&[f64], usize) -> f64;
    type Set = fn(&[f64], f64) -> Vec<usize>;
    let (score, set): (Score, Set) = match method {
        SetMethod::Lac => (lac_score, lac_set),
        SetMethod::Aps => (aps_score, aps_set),
    };
    let scores: Vec<f64> = rows
        .iter()
        .zip(y)
        .map(|(p, &label)| score(p, label))
        .collect();
    let (mut held, mut size, mut n) = (0usize, 0usize, 0usize);
    for (k, fold) in folds.iter().enumerate() {
        let others: Vec<f64> = folds
            .iter()
            .enumerate()
            .filter(|(m, _)| *m != k)
            .flat_map(|(_, f)| f.test.iter().map(|&r| scores[r]))
            .collect();
        let q = conformal_quantile(&others, coverage)?;
        for &row in &fold.test {
            let set = set(&rows[row], q);
            held += usize::from(set.contains(&y[row]));
            size += set.len();
            n += 1;
        }
    }
    Ok(SetCheck {
        method,
        coverage,
        achieved: held as f64 / n.max(1) as f64,
        mean_size: size as f64 / n.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn scores_of_small_cases_with_known_answers() {
        let p = array![[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]];
        let y = [0, 1, 1];
        // Brier: (0.01 + 0.01) + (0.36 + 0.36) + (0.09 + 0.09) = 0.92, over 3 rows.
        assert!((brier(p.view(), &y) - 0.92 / 3.0).abs() < 1e-12);
        let expected = -(0.9_f64.ln() + 0.4_f64.ln() + 0.7_f64.ln()) / 3.0;
        assert!((log_loss(p.view(), &y) - expected).abs() < 1e-12);
        // Two bins: [0, 0.5) is empty; [0.5, 1] holds all three, confidence (0.9 + 0.6 + 0.7)/3,
        // accuracy 2/3.
        let ece = expected_calibration_error(p.view(), &y, 2);
        assert!((ece - ((0.9 + 0.6 + 0.7) / 3.0 - 2.0 / 3.0)).abs() < 1e-12);
        let bins = reliability(p.view(), &y, 2);
        assert_eq!(bins.len(), 1, "the empty bin is left out");
        assert_eq!((bins[0].from, bins[0].rows), (0.5, 3));
    }

    #[test]
    fn temperature_one_changes_nothing_and_others_soften_or_sharpen() {
        let p = array![[0.7, 0.2, 0.1]];
        let same = temperature_scale(p.view(), 1.0);
        assert!(same
            .iter()
            .zip(p.iter())
            .all(|(a, b)| (a - b).abs() < 1e-12));
        assert!(temperature_scale(p.view(), 3.0)[[0, 0]] < 0.7);
        assert!(temperature_scale(p.view(), 0.5)[[0, 0]] > 0.7);
    }

    /// Labels drawn from softened "true" probabilities, reported over-confident by a model that
    /// sharpens them with temperature 1/2: the fitted temperature undoes it (about 2), and the
    /// cross-fitted calibration lowers log loss and ECE.
    #[test]
    fn temperature_scaling_undoes_known_over_confidence() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n = 6000;
        let mut truth_p = Array2::zeros((n, 3));
        let mut y = Vec::with_capacity(n);
        for r in 0..n {
            let raw: Vec<f64> = (0..3).map(|_| rng.gen::<f64>() + 0.2).collect();
            let total: f64 = raw.iter().sum();
            let (mut u, mut label) = (rng.gen::<f64>(), 2);
            for c in 0..3 {
                truth_p[[r, c]] = raw[c] / total;
            }
            for c in 0..3 {
                if u < truth_p[[r, c]] {
                    label = c;
                    break;
                }
                u -= truth_p[[r, c]];
            }
            y.push(label);
        }
        let reported = temperature_scale(truth_p.view(), 0.5);
        let all: Vec<usize> = (0..n).collect();
        let t = fit_temperature(reported.view(), &y, &all);
        assert!((t - 2.0).abs() < 0.25, "{t}");
        let folds: Vec<Fold> = (0..5)
            .map(|f| Fold {
                test: (0..n).filter(|r| r % 5 == f).collect(),
                train: (0..n).filter(|r| r % 5 != f).collect(),
            })
            .collect();
        let (calibrated, temperatures) = cross_fitted_temperature(reported.view(), &y, &folds);
        assert_eq!(temperatures.len(), 5);
        assert!(log_loss(calibrated.view(), &y) < log_loss(reported.view(), &y));
        assert!(
            expected_calibration_error(calibrated.view(), &y, BINS)
                < expected_calibration_error(reported.view(), &y, BINS)
        );
        let aps = cross_fitted_sets(calibrated.view(), &y, &folds, 0.9, SetMethod::Aps).unwrap();
        assert!(aps.achieved >= 0.89, "{aps:?}");
        assert!(aps.mean_size > 1.0 && aps.mean_size <= 3.0);
        for coverage in [0.8, 0.9] {
            let lac =
                cross_fitted_sets(calibrated.view(), &y, &folds, coverage, SetMethod::Lac).unwrap();
            assert!((lac.achieved - coverage).abs() < 0.02, "{lac:?}");
        }
    }
}
