//! How sure each experiment's classifiers are: calibration of the best candidate's and the
//! blend's out-of-fold probabilities (expected calibration error over 15 equal-width bins of the
//! top-class probability, Brier score, log loss), temperature scaling cross-fitted on the same
//! folds where it lowers the log loss, and conformal prediction sets (`evaluation::conformal`:
//! least-ambiguous sets, which hold their nominal coverage, beside adaptive ones, which never
//! come out empty but cover more) at 0.8 and 0.9, each fold's threshold calibrated on the other
//! folds.

use evaluation::calibration::{
    brier, cross_fitted_sets, cross_fitted_temperature, expected_calibration_error,
    fit_temperature, log_loss, reliability, temperature_scale, ReliabilityBin, SetCheck, SetMethod,
    BINS,
};
use evaluation::conformal::{conformal_quantile, lac_score};
use evaluation::Fold;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::bundle::ClassCalibration;
use crate::classify::error::ClassifyError;
use crate::classify::identity::Candidate;
use crate::classify::problem::Problem;

/// The coverages of the prediction sets every report shows.
pub const SET_COVERAGES: [f64; 2] = [0.8, 0.9];

/// The coverage of the prediction sets a saved model's bundle outputs.
pub const BUNDLE_SET_COVERAGE: f64 = 0.9;

/// Out-of-fold probabilities of a cross-validation and its folds.
#[derive(Clone, Debug)]
pub struct CrossValidated {
    /// Every candidate's out-of-fold probabilities of all rows.
    pub oof: Vec<(Candidate, Array2<f64>)>,
    /// The folds.
    pub folds: Vec<Fold>,
}

/// The calibration scores of some probabilities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbabilityScores {
    /// Expected calibration error (top label, [`BINS`] equal-width bins).
    pub ece: f64,
    /// Multi-class Brier score.
    pub brier: f64,
    /// Log loss.
    pub log_loss: f64,
}

impl ProbabilityScores {
    fn of(proba: ArrayView2<'_, f64>, y: &[usize]) -> ProbabilityScores {
        ProbabilityScores {
            ece: expected_calibration_error(proba, y, BINS),
            brier: brier(proba, y),
            log_loss: log_loss(proba, y),
        }
    }
}

/// One candidate's calibration and prediction sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// The candidate.
    pub model: Candidate,
    /// Bins of the expected calibration error and the reliability diagram.
    pub bins: usize,
    /// Its out-of-fold probabilities as they are.
    pub before: ProbabilityScores,
    /// After temperature scaling cross-fitted on the folds.
    pub after: ProbabilityScores,
    /// The temperature fitted for each fold (on the other folds).
    pub temperatures: Vec<f64>,
    /// Whether the sets use the tempered probabilities (they lowered the log loss).
    pub calibrated: bool,
    /// Least-ambiguous and adaptive prediction sets at [`SET_COVERAGES`], cross-fitted.
    pub sets: Vec<SetCheck>,
    /// Reliability bins before.
    pub reliability_before: Vec<ReliabilityBin>,
    /// Reliability bins after temperature scaling.
    pub reliability_after: Vec<ReliabilityBin>,
    /// What a bundle of this candidate applies, fitted on all its out-of-fold probabilities
    /// (the cross-fitted checks above are the estimate of how it does on new tracks): the
    /// temperature (1 unless scaling lowered the cross-fitted log loss) and the
    /// least-ambiguous sets' threshold at [`BUNDLE_SET_COVERAGE`] on the probabilities so
    /// tempered.
    pub deployed: ClassCalibration,
}

/// The calibration of each of `candidates` (each once) from `cv`'s out-of-fold probabilities.
pub fn calibrate(
    problem: &Problem,
    candidates: &[Candidate],
    cv: &CrossValidated,
) -> Result<Vec<CalibrationReport>, ClassifyError> {
    let y = problem.labels();
    let mut reports: Vec<CalibrationReport> = Vec::new();
    for &candidate in candidates {
        if reports.iter().any(|r| r.model == candidate) {
            continue;
        }
        let Some((_, proba)) = cv.oof.iter().find(|(c, _)| *c == candidate) else {
            continue;
        };
        let (tempered, temperatures) = cross_fitted_temperature(proba.view(), &y, &cv.folds);
        let before = ProbabilityScores::of(proba.view(), &y);
        let after = ProbabilityScores::of(tempered.view(), &y);
        let calibrated = after.log_loss < before.log_loss;
        let chosen = if calibrated { &tempered } else { proba };
        let sets = [SetMethod::Lac, SetMethod::Aps]
            .into_iter()
            .flat_map(|method| SET_COVERAGES.iter().map(move |&c| (method, c)))
            .map(|(method, c)| cross_fitted_sets(chosen.view(), &y, &cv.folds, c, method))
            .collect::<Result<Vec<_>, _>>()?;
        let deployed = deployed(proba.view(), &y, calibrated)?;
        reports.push(CalibrationReport {
            model: candidate,
            bins: BINS,
            before,
            after,
            temperatures,
            calibrated,
            sets,
            reliability_before: reliability(proba.view(), &y, BINS),
            reliability_after: reliability(tempered.view(), &y, BINS),
            deployed,
        });
    }
    Ok(reports)
}

/// The calibration a bundle applies, fitted on every row of `proba` (out-of-fold probabilities
/// with their labels `y`): a temperature when `scale`, then the conformal threshold of the
/// least-ambiguous sets at [`BUNDLE_SET_COVERAGE`] (capped at 1, where every class is in every
/// set).
pub fn deployed(
    proba: ArrayView2<'_, f64>,
    y: &[usize],
    scale: bool,
) -> Result<ClassCalibration, ClassifyError> {
    let all: Vec<usize> = (0..y.len()).collect();
    let temperature = if scale {
        fit_temperature(proba, y, &all)
    } else {
        1.0
    };
    let tempered = if scale {
        temperature_scale(proba, temperature)
    } else {
        proba.to_owned()
    };
    let scores: Vec<f64> = tempered
        .rows()
        .into_iter()
        .zip(y)
        .map(|(row, &label)| lac_score(&row.to_vec(), label))
        .collect();
    let threshold = conformal_quantile(&scores, BUNDLE_SET_COVERAGE)?;
    Ok(ClassCalibration {
        temperature,
        set_coverage: BUNDLE_SET_COVERAGE,
        set_threshold: threshold.min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deployed_threshold_is_the_conformal_quantile_of_one_minus_the_true_class_probability() {
        // Ten rows of two classes; the true class's probability is 0.95, 0.9, …, 0.5. Scores
        // 0.05..=0.5; at 0.9 the rank is ceil(0.9 × 11) = 10, the largest: 0.5.
        let truth: Vec<f64> = (0..10).map(|i| 0.95 - 0.05 * i as f64).collect();
        let proba = Array2::from_shape_fn(
            (10, 2),
            |(r, c)| {
                if c == 0 {
                    truth[r]
                } else {
                    1.0 - truth[r]
                }
            },
        );
        let y = vec![0; 10];
        let plain = deployed(proba.view(), &y, false).unwrap();
        assert_eq!(plain.temperature, 1.0);
        assert_eq!(plain.set_coverage, BUNDLE_SET_COVERAGE);
        assert!((plain.set_threshold - 0.5).abs() < 1e-12, "{plain:?}");
        // Tempered: every top class is right, so the fitted temperature sharpens (below 1);
        // the tenth score stays 0.5, as a row of two halves is the same at any temperature.
        let scaled = deployed(proba.view(), &y, true).unwrap();
        assert!(scaled.temperature < 1.0, "{scaled:?}");
        assert!((scaled.set_threshold - 0.5).abs() < 1e-12, "{scaled:?}");
        // Too few rows for 0.9: every class in every set.
        let few = deployed(proba.slice(ndarray::s![..5, ..]), &y[..5], false).unwrap();
        assert_eq!(few.set_threshold, 1.0);
    }
}
