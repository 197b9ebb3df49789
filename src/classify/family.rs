//! What every family driver shares: its configuration, feature rows from a source, and saving
//! the final models.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use dataset::{AudioFeature, DataDir};
use spotify_client::{ClientError, FeatureSource};

use crate::bundle::{save_classifier_bundle, Training};
pub use crate::classify::error::ClassifyError;
use crate::classify::experiment::ExperimentOutcome;
use crate::classify::identity::ExperimentId;
use crate::classify::report::ExperimentReport;
use crate::classify::saved::SavedClassifier;

/// How to run a family of experiments.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The data directory.
    pub data: DataDir,
    /// Where to write `metrics.json`, `report.md`, plots and `models/`.
    pub out: PathBuf,
    /// Token settings that finish in well under a minute.
    pub quick: bool,
    /// Seed of folds and models (the splits use 12345 and four more).
    pub seed: u64,
}

/// Default seed.
pub const SEED: u64 = 12345;

impl RunConfig {
    /// The directory of an experiment's saved model: `out/models/NAME`.
    pub fn model_dir(&self, experiment: ExperimentId) -> PathBuf {
        self.out.join("models").join(experiment.to_string())
    }
}

/// Saves the final model of each outcome as a bundle in `out/models/NAME`, with its protocol
/// scores.
pub fn save_models(
    config: &RunConfig,
    outcomes: &mut [ExperimentOutcome],
) -> Result<(), ClassifyError> {
    for outcome in outcomes {
        if let Some(model) = outcome.final_model.take() {
            let report = &outcome.report;
            let mut saved = SavedClassifier::new(
                report.name,
                report.best,
                report.classes.clone(),
                report.feature_names.clone(),
                model,
            );
            let training = bundle_training(config, report, report.best);
            let scores = protocol_scores(report, report.best);
            let calibration = report
                .calibration
                .iter()
                .find(|c| c.model == report.best)
                .map(|c| c.deployed);
            save_classifier_bundle(
                &config.model_dir(report.name),
                &mut saved,
                training,
                scores,
                calibration,
            )
            .map_err(Box::new)?;
        }
    }
    Ok(())
}

/// How the bundle of an experiment's `model` was trained: the experiment's data set and rows,
/// today, this crate's version, the seed, and the model with its protocol.
pub fn bundle_training(
    config: &RunConfig,
    report: &ExperimentReport,
    model: crate::classify::identity::Candidate,
) -> Training {
    Training {
        data_set: report.title.clone(),
        rows: report.class_counts.iter().sum(),
        date: crate::bundle::manifest::today(),
        crate_version: env!("CARGO_PKG_VERSION").into(),
        seed: config.seed,
        model: format!("{model} ({})", report.protocol),
    }
}

/// The protocol scores of an experiment's `model` for its bundle: mean accuracy and its
/// standard deviation, macro F1, ROC AUC and log loss (none if the report lacks the model).
pub fn protocol_scores(
    report: &ExperimentReport,
    model: crate::classify::identity::Candidate,
) -> BTreeMap<String, f64> {
    let mut scores = BTreeMap::new();
    if let Some(found) = report.models.iter().find(|m| m.name == model) {
        let mean = &found.protocol.mean;
        scores.insert("accuracy".to_string(), mean.accuracy);
        scores.insert("accuracy_sd".to_string(), found.protocol.accuracy_sd);
        scores.insert("macro_f1".to_string(), mean.macro_f1);
        scores.insert("roc_auc".to_string(), mean.roc_auc);
        scores.insert("log_loss".to_string(), mean.log_loss);
    }
    scores
}

/// Model rows (the given audio features, in order) of the ids a source knows and that have
/// every feature; other ids are left out.
pub fn audio_rows(
    source: &mut dyn FeatureSource,
    ids: &[String],
    columns: &[AudioFeature],
) -> Result<HashMap<String, Vec<f64>>, ClientError> {
    let answers = source.audio_features(ids)?;
    Ok(ids
        .iter()
        .zip(answers)
        .filter_map(|(id, features)| {
            let features = features?;
            let row: Option<Vec<f64>> = columns.iter().map(|&c| features.get(c)).collect();
            row.map(|row| (id.clone(), row))
        })
        .collect())
}

/// Column names of audio features.
pub fn names(columns: &[AudioFeature]) -> Vec<String> {
    columns.iter().map(|c| c.name().to_string()).collect()
}

/// The rows a lenient load skipped, as a note.
pub fn skipped_note(skipped: usize, file: &str) -> Option<String> {
    (skipped > 0).then(|| format!("{skipped} rows of {file} failed validation and were skipped"))
}
