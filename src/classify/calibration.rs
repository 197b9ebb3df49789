//! How sure each experiment's classifiers are: calibration of the best candidate's and the
//! blend's out-of-fold probabilities (expected calibration error over 15 equal-width bins of the
//! top-class probability, Brier score, log loss), temperature scaling cross-fitted on the same
//! folds where it lowers the log loss, and conformal prediction sets (`evaluation::conformal`:
//! least-ambiguous sets, which hold their nominal coverage, beside adaptive ones, which never
//! come out empty but cover more) at 0.8 and 0.9, each fold's threshold calibrated on the other
//! folds.

use evaluation::calibration::{
    brier, cross_fitted_sets, cross_fitted_temperature, expected_calibration_error, log_loss,
    reliability, ReliabilityBin, SetCheck, SetMethod, BINS,
};
use evaluation::Fold;
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::classify::error::ClassifyError;
use crate::classify::identity::Candidate;
use crate::classify::problem::Problem;

/// The coverages of the prediction sets every report shows.
pub const SET_COVERAGES: [f64; 2] = [0.8, 0.9];

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
        });
    }
    Ok(reports)
}
