//! The schema of the files a classification family writes: `metrics.json` ([`Metrics`]) and
//! `details.json` ([`Details`]). Each file is the serialisation of these types, and reads back
//! into them.

use std::collections::BTreeMap;

use evaluation::classification::ClassScores;
use evaluation::Importance;
use neural_models::EpochRecord;
use serde::{Deserialize, Serialize};

use crate::classify::identity::{Candidate, ExperimentId, Learner};

/// Writes a map keyed by names in the alphabetical order of the names, as `metrics.json` has
/// always listed its experiments and models.
fn by_name<K: std::fmt::Display, V: Serialize, S: serde::Serializer>(
    map: &BTreeMap<K, V>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let named: BTreeMap<String, &V> = map.iter().map(|(k, v)| (k.to_string(), v)).collect();
    named.serialize(serializer)
}

/// Scores of one candidate under a protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRun {
    /// The candidate.
    pub name: Candidate,
    /// Score of each fold or seed.
    pub parts: Vec<ClassScores>,
    /// Their mean.
    pub mean: ClassScores,
    /// Standard deviation of the accuracy over parts.
    pub accuracy_sd: f64,
}

impl ModelRun {
    /// The run of a candidate scored on each part.
    pub fn new(name: Candidate, parts: Vec<ClassScores>) -> ModelRun {
        ModelRun {
            name,
            mean: ClassScores::mean(&parts),
            accuracy_sd: ClassScores::accuracy_sd(&parts),
            parts,
        }
    }
}

/// A candidate's scores under the experiment's protocol(s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// The candidate.
    pub name: Candidate,
    /// Its settings (for the blend: its members and weights).
    pub settings: String,
    /// The protocol's estimate (CV mean, or mean over seeds).
    pub protocol: ModelRun,
    /// Scores on the published seed's split (split protocol).
    pub published_seed: Option<ClassScores>,
    /// The additional cross-validation (split protocol).
    pub cv: Option<ModelRun>,
}

/// What the network's fit on every row recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkCurves {
    /// One record per epoch: training loss, validation loss and validation accuracy.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Accuracy of the kept weights on the rows they were fitted on.
    pub train_accuracy: f64,
    /// Accuracy of the kept weights on the held-out 20%.
    pub validation_accuracy: f64,
    /// Training accuracy after chosen epochs (1-based), from replays of the fit without the
    /// held-out rows: `[epoch, accuracy]` pairs.
    pub train_accuracy_curve: Vec<(usize, f64)>,
    /// Whether every replay reproduced the fit's training loss at its epoch exactly.
    pub replay_exact: bool,
}

/// Everything an experiment measured: one element of `details.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// The experiment, its key in `metrics.json`.
    pub name: ExperimentId,
    /// Title.
    pub title: String,
    /// Class names.
    pub classes: Vec<String>,
    /// Rows per class.
    pub class_counts: Vec<usize>,
    /// Column names.
    pub feature_names: Vec<String>,
    /// The protocol, in words.
    pub protocol: String,
    /// Every learner of the line-up, then the blend.
    pub models: Vec<ModelSummary>,
    /// The candidate with the best protocol accuracy (ties: the first listed).
    pub best: Candidate,
    /// The classic learner with the best protocol accuracy (ties: the last listed).
    pub best_classic: Option<Learner>,
    /// The blend's members and weights, in words (`boosting × 0.60 + network × 0.40`).
    pub blend: String,
    /// Accuracy of always answering the most frequent class.
    pub majority_baseline: f64,
    /// Published accuracy.
    pub published: Option<f64>,
    /// Target accuracy.
    pub target: Option<f64>,
    /// Confusion counts of the best candidate, `[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// Where the confusion counts come from.
    pub confusion_source: String,
    /// Permutation importance of the best candidate (drop in accuracy), largest first.
    pub importance: Vec<Importance>,
    /// Where the importance comes from.
    pub importance_source: String,
    /// The network's curves (empty when the line-up has no network).
    pub network: NetworkCurves,
    /// Calibration and prediction sets of the best candidate and the blend, from the
    /// cross-validation's out-of-fold probabilities (empty when the protocol ran none).
    #[serde(default)]
    pub calibration: Vec<crate::classify::calibration::CalibrationReport>,
    /// Notes on the data.
    pub notes: Vec<String>,
    /// Seconds the experiment took.
    pub seconds: f64,
}

impl ExperimentReport {
    /// The summary of a candidate.
    pub fn model(&self, name: Candidate) -> Option<&ModelSummary> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The best candidate's summary.
    pub fn best_summary(&self) -> &ModelSummary {
        self.model(self.best)
            .expect("the best candidate is one of the experiment's models")
    }

    /// The protocol accuracy of a candidate, if the experiment scored it.
    pub fn accuracy(&self, name: Candidate) -> Option<f64> {
        self.model(name).map(|m| m.protocol.mean.accuracy)
    }
}

/// `details.json`: every experiment of a family, in run order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Details {
    /// The experiments.
    pub experiments: Vec<ExperimentReport>,
}

/// Accuracy, macro-F1 and ROC AUC of a candidate; a score that is not a finite number is
/// `null`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Share of rows classified correctly.
    pub accuracy: Option<f64>,
    /// Unweighted mean of the per-class F1 scores.
    pub macro_f1: Option<f64>,
    /// ROC AUC (one-vs-rest mean for more than two classes).
    pub roc_auc: Option<f64>,
}

impl Scores {
    /// The headline scores of a protocol's mean.
    pub fn of(scores: &ClassScores) -> Scores {
        let finite = |value: f64| value.is_finite().then_some(value);
        Scores {
            accuracy: finite(scores.accuracy),
            macro_f1: finite(scores.macro_f1),
            roc_auc: finite(scores.roc_auc),
        }
    }
}

/// The best candidate of an experiment and its scores (fields in the file's alphabetical
/// order, which `metrics.json` has always had).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestScores {
    /// Its accuracy.
    pub accuracy: Option<f64>,
    /// Its macro-F1.
    pub macro_f1: Option<f64>,
    /// The candidate.
    pub model: Candidate,
    /// Its ROC AUC.
    pub roc_auc: Option<f64>,
}

/// One experiment in `metrics.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExperimentMetrics {
    /// The best candidate and its scores.
    pub best: BestScores,
    /// Every candidate's scores (written in the alphabetical order of their names).
    #[serde(serialize_with = "by_name")]
    pub models: BTreeMap<Candidate, Scores>,
    /// Calibration and prediction sets of the best candidate and the blend.
    #[serde(default)]
    pub calibration: Vec<crate::classify::calibration::CalibrationReport>,
}

impl ExperimentMetrics {
    /// The metrics of an experiment's report, each score the protocol's (CV mean, or mean over
    /// seeds).
    pub fn of(report: &ExperimentReport) -> ExperimentMetrics {
        let best = Scores::of(&report.best_summary().protocol.mean);
        ExperimentMetrics {
            best: BestScores {
                model: report.best,
                accuracy: best.accuracy,
                macro_f1: best.macro_f1,
                roc_auc: best.roc_auc,
            },
            models: report
                .models
                .iter()
                .map(|m| (m.name, Scores::of(&m.protocol.mean)))
                .collect(),
            calibration: report.calibration.clone(),
        }
    }
}

/// `metrics.json`: `{"experiments": {NAME: {"best": {"model", "accuracy", "macro_f1",
/// "roc_auc"}, "models": {MODEL: {"accuracy", "macro_f1", "roc_auc"}}, "calibration": [...]}}}`
/// ([`crate::classify::calibration::CalibrationReport`]), for the experiments
/// whose [`ExperimentId::in_metrics`] holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The experiments (written in the alphabetical order of their names).
    #[serde(serialize_with = "by_name")]
    pub experiments: BTreeMap<ExperimentId, ExperimentMetrics>,
}

impl Metrics {
    /// The metrics of a family's reports.
    pub fn of<'a>(reports: impl IntoIterator<Item = &'a ExperimentReport>) -> Metrics {
        Metrics {
            experiments: reports
                .into_iter()
                .filter(|r| r.name.in_metrics())
                .map(|r| (r.name, ExperimentMetrics::of(r)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: ExperimentId) -> ExperimentReport {
        let scores = |accuracy| ClassScores {
            accuracy,
            macro_f1: 0.5,
            roc_auc: f64::NAN,
            log_loss: 1.0,
        };
        let summary = |candidate: Candidate, accuracy| ModelSummary {
            name: candidate,
            settings: String::new(),
            protocol: ModelRun::new(candidate, vec![scores(accuracy)]),
            published_seed: None,
            cv: None,
        };
        ExperimentReport {
            name,
            title: "t".into(),
            classes: vec!["a".into(), "b".into()],
            class_counts: vec![3, 1],
            feature_names: vec!["x".into()],
            protocol: "p".into(),
            models: vec![
                summary(Learner::Knn.into(), 0.75),
                summary(Candidate::Blend, 0.5),
            ],
            best: Learner::Knn.into(),
            best_classic: Some(Learner::Knn),
            blend: "knn × 1.00".into(),
            majority_baseline: 0.75,
            published: None,
            target: Some(0.8),
            confusion: vec![vec![3, 0], vec![1, 0]],
            confusion_source: "s".into(),
            importance: Vec::new(),
            importance_source: "s".into(),
            network: NetworkCurves::default(),
            calibration: Vec::new(),
            notes: Vec::new(),
            seconds: 1.0,
        }
    }

    #[test]
    fn metrics_keep_the_keys_readers_use_and_leave_out_the_decades() {
        let reports = [
            report(ExperimentId::Hits),
            report(ExperimentId::HitsOfDecade(1960)),
        ];
        let json = serde_json::to_value(Metrics::of(&reports)).unwrap();
        let experiments = json["experiments"].as_object().unwrap();
        assert_eq!(experiments.keys().collect::<Vec<_>>(), ["hits"]);
        let hits = &experiments["hits"];
        assert_eq!(hits["best"]["accuracy"], 0.75);
        assert_eq!(hits["best"]["model"], "knn");
        // A score that is not a number is null.
        assert!(hits["best"]["roc_auc"].is_null());
        assert_eq!(hits["models"]["blend"]["accuracy"], 0.5);
    }

    #[test]
    fn metrics_and_details_read_back_as_written() {
        let reports = vec![report(ExperimentId::Moods), report(ExperimentId::Genre5)];
        let metrics = Metrics::of(&reports);
        let text = serde_json::to_string(&metrics).unwrap();
        assert_eq!(serde_json::from_str::<Metrics>(&text).unwrap(), metrics);
        // Maps are written in the alphabetical order of their names.
        assert!(
            text.find("genre5").unwrap() < text.find("moods").unwrap(),
            "{text}"
        );
        let models = &text[text.find("\"models\"").unwrap()..];
        assert!(models.find("\"blend\"").unwrap() < models.find("\"knn\"").unwrap());
        let mut details = Details {
            experiments: reports,
        };
        // NaN does not survive JSON: a report's scores are finite or its ROC AUC is absent.
        for report in &mut details.experiments {
            for model in &mut report.models {
                model.protocol.mean.roc_auc = 0.5;
                model.protocol.parts[0].roc_auc = 0.5;
            }
        }
        let text = serde_json::to_string(&details).unwrap();
        assert!(text.starts_with('['), "details.json is an array");
        assert_eq!(serde_json::from_str::<Details>(&text).unwrap(), details);
    }
}
