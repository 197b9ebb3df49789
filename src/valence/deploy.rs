//! *Bundle*: a valence run's chosen model and its audio-only fallback, each with its near-twin
//! table (when it trusts twins) and its intervals, saved as a bundle that predicts exactly what
//! the run writes into `predictions.csv`. Task 1 and Task 2 both end with it.

use std::collections::BTreeMap;
use std::path::Path;

use classic_models::TwinLookup;

use super::intervals::SetIntervals;
use super::{NearTwins, PipelineError, Scored, ValenceInputs};
use crate::bundle::{self, write_valence_bundle, RouteModel, RoutePart, Training, ValenceParts};
use crate::log::log;

/// One route of a run, as it is deployed.
pub struct DeployedRoute<'a> {
    /// The candidate it predicts with, and its cross-validated scores.
    pub chosen: &'a Scored,
    /// The candidate's model, fitted for deployment.
    pub model: RouteModel<'a>,
    /// The candidate's near twins.
    pub twins: &'a NearTwins,
    /// The candidate's intervals.
    pub intervals: &'a SetIntervals,
}

impl DeployedRoute<'_> {
    fn part(&self, inputs: &ValenceInputs) -> Result<RoutePart<'_>, PipelineError> {
        let twins = match self.twins.radius {
            Some(radius) => {
                let x = inputs.train_matrix(self.chosen.candidate.features())?;
                Some((TwinLookup::fit(x.view(), inputs.y.view())?, radius))
            }
            None => None,
        };
        Ok(RoutePart {
            model: self.model,
            twins,
            intervals: &self.intervals.model,
        })
    }
}

/// Writes the bundle `name` (its output columns `<name>`, `<name>_low`, `<name>_high`) of `best`
/// (and of `fallback`, for the tracks without the analysis means
/// when `best` needs them) into `dir`, with the best route's cross-validated scores: MAE and R²
/// without and with near twins, and the intervals' cross-fitted coverage and width.
pub fn write_bundle(
    task: &'static str,
    name: &str,
    dir: &Path,
    inputs: &ValenceInputs,
    seed: u64,
    best: DeployedRoute<'_>,
    fallback: Option<DeployedRoute<'_>>,
) -> Result<(), PipelineError> {
    let chosen = best.chosen;
    let mut scores = BTreeMap::new();
    scores.insert("cv_mae".to_string(), chosen.scores.mae);
    scores.insert("cv_mae_with_twins".to_string(), best.twins.cv_mae);
    scores.insert("cv_r2".to_string(), chosen.scores.r2);
    for report in &best.intervals.reports {
        let at = format!("{:.2}", report.coverage);
        scores.insert(
            format!("interval_coverage_at_{at}"),
            report.intervals.achieved,
        );
        scores.insert(
            format!("interval_width_at_{at}"),
            report.intervals.mean_width,
        );
    }
    let parts = ValenceParts {
        name,
        best: best.part(inputs)?,
        fallback: fallback.as_ref().map(|f| f.part(inputs)).transpose()?,
        training: Training {
            data_set: "charts (the chart tracks with valence)".into(),
            rows: inputs.y.len(),
            date: bundle::manifest::today(),
            crate_version: env!("CARGO_PKG_VERSION").into(),
            seed,
            model: format!(
                "{} on {}",
                chosen.candidate.name(),
                chosen.candidate.features()
            ),
        },
        scores,
    };
    write_valence_bundle(dir, parts).map_err(Box::new)?;
    log(task, format!("bundle written to {}", dir.display()));
    Ok(())
}
