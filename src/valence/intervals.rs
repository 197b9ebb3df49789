//! Valence intervals: every predicted track gets `valence_low..valence_high`, an interval that
//! holds its true valence with the chosen probability (`--coverage`, 0.9 by default) on tracks
//! the model has not seen.
//!
//! They are conformal intervals on the out-of-fold residuals of the same folds every model is
//! scored on (`evaluation::conformal`), after the near-twin correction, calibrated separately
//! (Mondrian) for the tracks that take a near twin's valence and for the others: a twin's error
//! distribution is not the model's. Within each group a track's half-width is the conformal
//! quantile times the mean absolute residual of its decile of predicted valence, since a model's
//! errors differ between the middle and the extremes of the scale (`docs/PERFORMANCE.md`, first
//! measurement: the plain `ŷ ± q` covered the extreme deciles at 0.87 and the middle ones at
//! 0.96 for a nominal 0.9; scaled, every decile within 0.03).
//!
//! The reported coverage is cross-fitted: each fold's tracks are judged with intervals fitted on
//! the other folds, beside the plain interval on the same folds.

use evaluation::conformal::{
    check_grouped_intervals, ConformalError, IntervalCheck, IntervalModel, Scaling,
};
use evaluation::Fold;
use serde::{Deserialize, Serialize};

use super::{CandidateName, FeatureSetId, NearTwins, PipelineError, ValenceInputs};

/// Coverage of the intervals written with the predictions, unless a run asks for another.
pub const COVERAGE: f64 = 0.9;
/// The coverages every report shows.
pub const REPORTED: [f64; 2] = [0.8, 0.9];
/// The scaling of the written intervals: ten bins of predicted valence.
pub const SCALING: Scaling = Scaling::ByPrediction { bins: 10 };
/// The group of a track that keeps its model's prediction.
const MODEL: usize = 0;
/// The group of a track that takes a near twin's valence.
const TWIN: usize = 1;

impl From<ConformalError> for PipelineError {
    fn from(error: ConformalError) -> PipelineError {
        PipelineError::Inconsistent(format!("valence intervals: {error}"))
    }
}

/// Coverage and mean width of some intervals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Tracks judged.
    pub tracks: usize,
    /// The share whose true valence was inside.
    pub achieved: f64,
    /// Mean width (high − low, after clipping to 0..1).
    pub mean_width: f64,
}

/// One decile of predicted valence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decile {
    /// Lowest prediction in it.
    pub from: f64,
    /// Highest prediction in it.
    pub to: f64,
    /// The intervals' coverage there.
    pub intervals: Coverage,
}

/// Cross-fitted check of one feature set's intervals at one coverage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntervalReport {
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// The candidate whose (twin-corrected) predictions they surround.
    pub model: CandidateName,
    /// The nominal coverage.
    pub coverage: f64,
    /// The intervals written with the predictions (by twin group, scaled by decile).
    pub intervals: Coverage,
    /// The plain interval `ŷ ± q` on the same folds, for comparison.
    pub plain: Coverage,
    /// The intervals on the tracks that keep the model's prediction.
    pub model_tracks: Coverage,
    /// The intervals on the tracks that take a near twin's valence.
    pub twin_tracks: Coverage,
    /// The intervals by decile of predicted valence.
    pub deciles: Vec<Decile>,
}

/// The fitted intervals of one feature set's chosen model.
#[derive(Clone, Debug)]
pub struct SetIntervals {
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// Fitted on every chart track, at the run's coverage.
    pub model: IntervalModel,
    /// The cross-fitted checks at [`REPORTED`] coverages (and the run's, if another).
    pub reports: Vec<IntervalReport>,
}

impl SetIntervals {
    /// Fits and checks the intervals of the model whose near-twin correction is `twins`.
    pub fn fit(
        inputs: &ValenceInputs,
        twins: &NearTwins,
        coverage: f64,
    ) -> Result<SetIntervals, PipelineError> {
        let truth = inputs.y.to_vec();
        let predicted = twins.oof.to_vec();
        let group = twin_groups(twins, truth.len())?;
        let folds: Vec<&Fold> = inputs.folds.iter().collect();
        let model = IntervalModel::fit(&truth, &predicted, &group, 2, &folds, coverage, SCALING)?;
        let mut coverages = REPORTED.to_vec();
        if !coverages.iter().any(|c| (c - coverage).abs() < 1e-12) {
            coverages.push(coverage);
        }
        let reports = coverages
            .into_iter()
            .map(|c| report(inputs, twins, &group, c))
            .collect::<Result<_, _>>()?;
        Ok(SetIntervals {
            feature_set: twins.feature_set,
            model,
            reports,
        })
    }

    /// `(low, high)` of a track predicted `prediction`, which took a near twin's valence or
    /// not, clipped to 0..1.
    pub fn interval(&self, prediction: f64, from_twin: bool) -> (f64, f64) {
        let group = if from_twin { TWIN } else { MODEL };
        let half = self.model.half_width(group, prediction);
        (
            (prediction - half).clamp(0.0, 1.0),
            (prediction + half).clamp(0.0, 1.0),
        )
    }
}

/// The conformal intervals of a model whose predictions no near twin corrects, fitted on its
/// out-of-fold predictions `oof` of the chart tracks (every track in the model's group; the
/// twin group has no rows, so its intervals are the whole range, and no row reaches it).
pub fn model_only(
    inputs: &ValenceInputs,
    oof: &ndarray::Array1<f64>,
    coverage: f64,
) -> Result<IntervalModel, PipelineError> {
    let truth = inputs.y.to_vec();
    let group = vec![MODEL; truth.len()];
    let folds: Vec<&Fold> = inputs.folds.iter().collect();
    Ok(IntervalModel::fit(
        &truth,
        &oof.to_vec(),
        &group,
        2,
        &folds,
        coverage,
        SCALING,
    )?)
}

/// The group of every chart track: whether its corrected prediction is a twin's valence.
fn twin_groups(twins: &NearTwins, n: usize) -> Result<Vec<usize>, PipelineError> {
    if twins.is_twin.len() != n || twins.oof.len() != n {
        return Err(PipelineError::Inconsistent(format!(
            "valence intervals: {} twin flags and {} predictions for {n} chart tracks",
            twins.is_twin.len(),
            twins.oof.len()
        )));
    }
    Ok(twins
        .is_twin
        .iter()
        .map(|&t| if t { TWIN } else { MODEL })
        .collect())
}

/// Coverage and mean clipped width of `check` on `rows`.
fn summarise(check: &IntervalCheck, predicted: &[f64], rows: &[usize]) -> Coverage {
    let width: f64 = rows
        .iter()
        .map(|&r| {
            let h = check.half_width[r];
            (predicted[r] + h).min(1.0) - (predicted[r] - h).max(0.0)
        })
        .sum();
    Coverage {
        tracks: rows.len(),
        achieved: rows.iter().filter(|&&r| check.covered[r]).count() as f64
            / rows.len().max(1) as f64,
        mean_width: width / rows.len().max(1) as f64,
    }
}

/// The cross-fitted check of one feature set at one coverage.
fn report(
    inputs: &ValenceInputs,
    twins: &NearTwins,
    group: &[usize],
    coverage: f64,
) -> Result<IntervalReport, PipelineError> {
    let truth = inputs.y.to_vec();
    let predicted = twins.oof.to_vec();
    let n = truth.len();
    let check = check_grouped_intervals(
        &truth,
        &predicted,
        group,
        2,
        &inputs.folds,
        coverage,
        SCALING,
    )?;
    let plain = check_grouped_intervals(
        &truth,
        &predicted,
        &vec![MODEL; n],
        1,
        &inputs.folds,
        coverage,
        Scaling::Plain,
    )?;
    let all: Vec<usize> = (0..n).collect();
    let in_group = |g: usize| -> Vec<usize> { (0..n).filter(|&r| group[r] == g).collect() };
    let mut order = all.clone();
    order.sort_by(|&a, &b| predicted[a].total_cmp(&predicted[b]));
    let deciles = (0..10)
        .map(|d| {
            let rows = &order[d * n / 10..(d + 1) * n / 10];
            Decile {
                from: rows.first().map_or(f64::NAN, |&r| predicted[r]),
                to: rows.last().map_or(f64::NAN, |&r| predicted[r]),
                intervals: summarise(&check, &predicted, rows),
            }
        })
        .collect();
    Ok(IntervalReport {
        feature_set: twins.feature_set,
        model: twins.model,
        coverage,
        intervals: summarise(&check, &predicted, &all),
        plain: summarise(&plain, &predicted, &all),
        model_tracks: summarise(&check, &predicted, &in_group(MODEL)),
        twin_tracks: summarise(&check, &predicted, &in_group(TWIN)),
        deciles,
    })
}

/// One Markdown table row per report: set, coverage, achieved and width of the written
/// intervals and of the plain one, the deciles' range, and the two twin groups.
pub fn markdown_rows(reports: &[IntervalReport]) -> Vec<String> {
    reports
        .iter()
        .map(|r| {
            let (lo, hi) = r.deciles.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), d| {
                (lo.min(d.intervals.achieved), hi.max(d.intervals.achieved))
            });
            format!(
                "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {lo:.3}–{hi:.3} | {:.3} ({}) | {:.3} ({}) |",
                r.feature_set,
                r.model,
                r.coverage,
                r.intervals.achieved,
                r.intervals.mean_width,
                r.plain.achieved,
                r.plain.mean_width,
                r.model_tracks.achieved,
                r.model_tracks.tracks,
                r.twin_tracks.achieved,
                r.twin_tracks.tracks,
            )
        })
        .collect()
}

/// The header of [`markdown_rows`]' table.
pub const MARKDOWN_HEADER: &str = "| features | model | nominal | coverage | mean width | plain ŷ ± q coverage | plain width | coverage by decile of ŷ | model's tracks (n) | twins' tracks (n) |\n|---|---|---:|---:|---:|---:|---:|---|---:|---:|";

/// Draws `intervals_<slug>.png` into `out`: the cross-fitted intervals at `coverage` of 150
/// chart tracks (every n-th by row) against their true valence, and links it from `md`.
pub fn plot(
    out: &super::OutDir,
    md: &mut evaluation::report::Markdown,
    inputs: &ValenceInputs,
    twins: &NearTwins,
    coverage: f64,
) -> Result<(), PipelineError> {
    let truth = inputs.y.to_vec();
    let predicted = twins.oof.to_vec();
    let group = twin_groups(twins, truth.len())?;
    let check = check_grouped_intervals(
        &truth,
        &predicted,
        &group,
        2,
        &inputs.folds,
        coverage,
        SCALING,
    )?;
    let step = (truth.len() / 150).max(1);
    let rows: Vec<usize> = (0..truth.len()).step_by(step).take(150).collect();
    let pick = |values: &[f64]| -> Vec<f64> { rows.iter().map(|&r| values[r]).collect() };
    let bounds: Vec<(f64, f64)> = rows
        .iter()
        .map(|&r| {
            let h = check.half_width[r];
            ((predicted[r] - h).max(0.0), (predicted[r] + h).min(1.0))
        })
        .collect();
    let name = format!("intervals_{}.png", twins.feature_set.slug());
    evaluation::plot::intervals(
        &out.file(&name),
        &format!(
            "{} on {}: cross-fitted {coverage} intervals of {} chart tracks",
            twins.model,
            twins.feature_set,
            rows.len()
        ),
        &pick(&truth),
        &pick(&predicted),
        &bounds,
    )?;
    md.image(&format!("valence intervals [{}]", twins.feature_set), &name);
    Ok(())
}

/// The intervals' section of a report: how they are built and their cross-fitted coverage and
/// width at each reported coverage.
pub fn markdown_section(
    md: &mut evaluation::report::Markdown,
    coverage: f64,
    reports: &[IntervalReport],
) {
    md.heading(2, "How sure each prediction is: valence intervals");
    md.paragraph(&format!(
        "Every prediction comes with an interval (`valence_low`, `valence_high`) meant to hold the true valence with probability {coverage} on tracks the model has not seen. The intervals are conformal: fitted on the out-of-fold residuals of the same folds, after the near-twin correction, separately for the tracks that take a near twin's valence and the others, each track's half-width scaled by the mean absolute residual of its decile of predicted valence. The table checks them by cross-fitting: every fold's tracks judged with intervals fitted on the other folds, beside the plain interval ŷ ± q on the same folds."
    ));
    let mut table = vec![MARKDOWN_HEADER.to_string()];
    table.extend(markdown_rows(reports));
    md.paragraph(&table.join("\n"));
}
