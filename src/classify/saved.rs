//! A trained experiment model saved once and reused to predict tracks: a manifest
//! (`classifier.json`: classes, columns, members and weights) beside one file per member
//! (classic classifiers as `classic-models` classifier files, networks as `neural-models`
//! JSON + safetensors). Loading never retrains.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::bundle::{Bundle, OutputKind, Predictions};
use classic_models::{ClassifierFile, ModelError};
#[cfg(feature = "neural")]
use evaluation::classification::PredictProba;
use evaluation::EvalError;
use ndarray::Array2;
#[cfg(feature = "neural")]
use neural_models::NeuralError;
use serde::{Deserialize, Serialize};

use crate::classify::error::{probabilities, ProbaError};
use crate::classify::identity::{Candidate, ExperimentId, ModelFamily};
use crate::classify::lineup::Fitted;
#[cfg(feature = "neural")]
use crate::classify::network::FittedNetwork;

/// The tag of a saved classifier's manifest.
pub const SAVED_FORMAT: &str = "spotify-ml/classifier";
/// The manifest layout this build writes and reads.
pub const SAVED_VERSION: u32 = 1;
const MANIFEST: &str = "classifier.json";

/// What is wrong with one file of a saved model, or what failed while writing it.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    /// The file or its directory could not be created, read or written.
    #[error("cannot be created, read or written")]
    Io(#[source] std::io::Error),
    /// The manifest is not valid JSON of its layout (or names an unknown model or experiment).
    #[error("not a model manifest (invalid or truncated JSON)")]
    Json(#[source] serde_json::Error),
    /// Writing the file failed.
    #[error("could not be written")]
    Write(#[source] EvalError),
    /// A classic classifier file could not be read or written.
    #[error("not a readable classic-classifier file")]
    Classic(#[source] ModelError),
    /// A network file could not be read or written.
    #[cfg(feature = "neural")]
    #[error("not a readable network file")]
    Network(#[source] NeuralError),
    /// A network member, in a build without networks.
    #[error("a network member, but this build of spotify-ml has no networks (enable its `neural` feature)")]
    NoNetworks,
    /// The manifest is of another format or version.
    #[error(
        "format {format:?} version {version} is not {expected_format} version {expected_version}"
    )]
    Foreign {
        /// The format tag found.
        format: String,
        /// The version found.
        version: u32,
        /// The format tag this build reads.
        expected_format: &'static str,
        /// The version this build reads.
        expected_version: u32,
    },
    /// The blend weights cannot weight a blend.
    #[error("its blend weights are invalid")]
    Weights(#[source] evaluation::blend::WeightsError),
    /// The file disagrees with its manifest, or the manifest with this build.
    #[error("{0}")]
    Mismatch(&'static str),
}

/// Errors of saving and loading a [`SavedClassifier`].
#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    /// The manifest is missing.
    #[error("{path}: no trained model here; run the experiment's example first (it saves its models under `--out`)")]
    Missing {
        /// The manifest's path.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A member the manifest lists is missing.
    #[error(
        "{path}: the manifest lists it but the file is missing; run the experiment's example again"
    )]
    MissingMember {
        /// The member's path.
        path: PathBuf,
    },
    /// A file is damaged, foreign or of another version, or could not be written.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        problem: Box<FileProblem>,
    },
}

impl SavedError {
    fn file(path: &Path) -> impl Fn(FileProblem) -> SavedError + '_ {
        move |problem| SavedError::File {
            path: path.to_path_buf(),
            problem: Box::new(problem),
        }
    }
}

/// Why a model could not predict some rows.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    /// The rows have the wrong number of columns.
    #[error("the model takes {expected} columns but got {found}")]
    Width {
        /// Columns the model takes.
        expected: usize,
        /// Columns given.
        found: usize,
    },
    /// The model refused the rows.
    #[error(transparent)]
    Model(#[from] ProbaError),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Member {
    kind: ModelFamily,
    file: String,
    weight: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    experiment: ExperimentId,
    model: Candidate,
    classes: Vec<String>,
    feature_names: Vec<String>,
    members: Vec<Member>,
}

/// A saved experiment model.
#[derive(Debug)]
pub struct SavedClassifier {
    manifest: Manifest,
    model: Fitted,
}

impl SavedClassifier {
    /// Wraps a fitted model (a single learner or a blend) with its names.
    pub fn new(
        experiment: ExperimentId,
        model_name: Candidate,
        classes: Vec<String>,
        feature_names: Vec<String>,
        model: Fitted,
    ) -> SavedClassifier {
        SavedClassifier {
            manifest: Manifest {
                format: SAVED_FORMAT.into(),
                version: SAVED_VERSION,
                experiment,
                model: model_name,
                classes,
                feature_names,
                members: Vec::new(),
            },
            model,
        }
    }

    /// The experiment it was trained for.
    pub fn experiment(&self) -> ExperimentId {
        self.manifest.experiment
    }

    /// The candidate it is (`boosting`, `network`, `blend`, …).
    pub fn model_name(&self) -> Candidate {
        self.manifest.model
    }

    /// Class names.
    pub fn classes(&self) -> &[String] {
        &self.manifest.classes
    }

    /// Input columns.
    pub fn feature_names(&self) -> &[String] {
        &self.manifest.feature_names
    }

    /// The fitted model.
    pub fn fitted(&self) -> &Fitted {
        &self.model
    }

    /// Class probabilities of model rows.
    pub fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, RowsError> {
        if x.ncols() != self.manifest.feature_names.len() {
            return Err(RowsError::Width {
                expected: self.manifest.feature_names.len(),
                found: x.ncols(),
            });
        }
        Ok(probabilities(&self.model, x)?)
    }

    /// Saves one member as `member{index}.json` (or `member{index}_network.json`).
    fn save_member(
        &self,
        dir: &Path,
        index: usize,
        weight: f64,
        member: &Fitted,
    ) -> Result<Member, SavedError> {
        let (kind, file) = match member {
            Fitted::Classic(model) => {
                let file = format!("member{index}.json");
                let path = dir.join(&file);
                ClassifierFile::new(
                    model.clone(),
                    self.manifest.feature_names.clone(),
                    self.manifest.classes.clone(),
                )
                .save(&path)
                .map_err(|e| SavedError::file(&path)(FileProblem::Classic(e)))?;
                (ModelFamily::Classic, file)
            }
            #[cfg(feature = "neural")]
            Fitted::Network(net) => {
                let file = format!("member{index}_network.json");
                let path = dir.join(&file);
                net.with_model(|m| m.save(&path))
                    .map_err(|e| SavedError::file(&path)(FileProblem::Network(e)))?;
                (ModelFamily::Network, file)
            }
            Fitted::Blend(_) => {
                return Err(SavedError::file(dir)(FileProblem::Mismatch(
                    "a blend of blends cannot be saved",
                )));
            }
        };
        Ok(Member { kind, file, weight })
    }

    /// Saves into `dir` atomically, file by file; the manifest is written last.
    pub fn save(&mut self, dir: &Path) -> Result<(), SavedError> {
        std::fs::create_dir_all(dir).map_err(|e| SavedError::file(dir)(FileProblem::Io(e)))?;
        let members: Vec<(f64, &Fitted)> = match &self.model {
            Fitted::Blend(members) => members.iter().map(|(w, m)| (*w, m)).collect(),
            single => vec![(1.0, single)],
        };
        let entries = members
            .into_iter()
            .enumerate()
            .map(|(i, (weight, member))| self.save_member(dir, i, weight, member))
            .collect::<Result<Vec<_>, _>>()?;
        self.manifest.members = entries;
        let path = dir.join(MANIFEST);
        let text = serde_json::to_vec_pretty(&self.manifest)
            .expect("a manifest of names and numbers serialises");
        evaluation::report::write_atomic(&path, &text)
            .map_err(|e| SavedError::file(&path)(FileProblem::Write(e)))
    }

    /// Loads a model saved by [`SavedClassifier::save`]: a missing file is
    /// [`SavedError::Missing`] or [`SavedError::MissingMember`], a damaged or foreign one
    /// [`SavedError::File`], each naming it.
    pub fn load(dir: &Path) -> Result<SavedClassifier, SavedError> {
        let path = dir.join(MANIFEST);
        let manifest = read_manifest(&path)?;
        let mut members = manifest
            .members
            .iter()
            .map(|member| Ok((member.weight, load_member(dir, &manifest, member)?)))
            .collect::<Result<Vec<_>, SavedError>>()?;
        let model = match members.len() {
            0 => {
                return Err(SavedError::file(&path)(FileProblem::Mismatch(
                    "the manifest lists no model",
                )))
            }
            1 if members[0].0 == 1.0 => members.pop().expect("one member").1,
            _ => Fitted::Blend(members),
        };
        Ok(SavedClassifier { manifest, model })
    }
}

/// Reads and checks a manifest.
fn read_manifest(path: &Path) -> Result<Manifest, SavedError> {
    let bytes = std::fs::read(path).map_err(|source| SavedError::Missing {
        path: path.to_path_buf(),
        source,
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| SavedError::file(path)(FileProblem::Json(e)))?;
    if manifest.format != SAVED_FORMAT || manifest.version != SAVED_VERSION {
        return Err(SavedError::file(path)(FileProblem::Foreign {
            format: manifest.format,
            version: manifest.version,
            expected_format: SAVED_FORMAT,
            expected_version: SAVED_VERSION,
        }));
    }
    let weights: Vec<f64> = manifest.members.iter().map(|m| m.weight).collect();
    evaluation::blend::check_weights(&weights)
        .map_err(|e| SavedError::file(path)(FileProblem::Weights(e)))?;
    Ok(manifest)
}

/// Loads one member a manifest lists, checking it against the manifest.
fn load_member(dir: &Path, manifest: &Manifest, member: &Member) -> Result<Fitted, SavedError> {
    let path = dir.join(&member.file);
    if !path.exists() {
        return Err(SavedError::MissingMember { path });
    }
    let bad = SavedError::file(&path);
    match member.kind {
        ModelFamily::Classic => {
            let loaded = ClassifierFile::load(&path).map_err(|e| bad(FileProblem::Classic(e)))?;
            if loaded.feature_names != manifest.feature_names || loaded.classes != manifest.classes
            {
                return Err(bad(FileProblem::Mismatch(
                    "its columns or classes differ from the manifest's",
                )));
            }
            Ok(Fitted::Classic(loaded.model))
        }
        #[cfg(not(feature = "neural"))]
        ModelFamily::Network => Err(bad(FileProblem::NoNetworks)),
        #[cfg(feature = "neural")]
        ModelFamily::Network => {
            let net = FittedNetwork::load(&path).map_err(|e| bad(FileProblem::Network(e)))?;
            if net.n_classes() != manifest.classes.len() {
                return Err(bad(FileProblem::Mismatch(
                    "its number of classes differs from the manifest's",
                )));
            }
            Ok(Fitted::Network(net))
        }
    }
}

/// One line of prediction: `ID → Class (0.71), Class (0.18), …`, classes by falling probability.
pub fn prediction_line(id: &str, classes: &[String], probabilities: &[f64]) -> String {
    let mut pairs: Vec<(&String, f64)> =
        classes.iter().zip(probabilities.iter().copied()).collect();
    pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
    let parts: Vec<String> = pairs
        .iter()
        .map(|(class, p)| format!("{class} ({p:.2})"))
        .collect();
    format!("{id} → {}", parts.join(", "))
}

/// One model row as a one-row matrix.
pub fn one_row(row: &[f64]) -> Array2<f64> {
    Array2::from_shape_vec((1, row.len()), row.to_vec()).expect("a row of n values is 1 × n")
}

/// Predicts each id from the rows of a features source (`rows` maps a track id to its model
/// row, in the bundle's input order) with a model bundle; an id the source lacks, or whose row
/// the bundle's schema refuses, gets a line saying so, and the others are still predicted.
pub fn predict_lines(
    model: &dyn Bundle,
    ids: &[String],
    rows: &HashMap<String, Vec<f64>>,
    source: &str,
) -> Vec<String> {
    let manifest = model.manifest();
    let (classes, calibration): (&[String], _) = match &manifest.output {
        OutputKind::Classes { names, calibration } => (names, *calibration),
        OutputKind::Value { .. } => (&[], None),
    };
    ids.iter()
        .map(|id| match rows.get(id) {
            None => format!("{id} → unknown track id: not in {source}"),
            Some(row) => match model.predict(one_row(row).view()) {
                Ok((_, checked)) if checked.rejected[0].is_some() => {
                    let rejection = checked.rejected[0].expect("checked just above");
                    let value = if rejection.value.is_nan() {
                        String::new()
                    } else {
                        format!(" ({})", rejection.value)
                    };
                    format!(
                        "{id} → cannot predict: {} is {}{value}",
                        manifest.inputs[rejection.column].name,
                        rejection.problem.name().replace('_', " "),
                    )
                }
                Ok((Predictions::Classes(p), _)) => {
                    let line = prediction_line(id, classes, &p.row(0).to_vec());
                    match calibration {
                        Some(c) => {
                            let set =
                                crate::bundle::prediction_sets(p.view(), classes, c.set_threshold);
                            let set =
                                set.of_rows()[0].replace(crate::bundle::SET_SEPARATOR, " or ");
                            let set = if set.is_empty() {
                                "no class".into()
                            } else {
                                set
                            };
                            format!("{line}; at {:.0}%: {set}", c.set_coverage * 100.0)
                        }
                        None => line,
                    }
                }
                Ok((Predictions::Values { .. }, _)) => {
                    format!(
                        "{id} → cannot predict: {} is not a classifier",
                        manifest.name
                    )
                }
                Err(e) => format!("{id} → cannot predict: {e}"),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of an error and of every cause below it.
    fn chain(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut cause = error.source();
        while let Some(inner) = cause {
            text.push_str(" / ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        text
    }

    #[test]
    fn a_manifest_naming_an_unknown_model_is_an_error_listing_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST);
        let manifest = r#"{"format": "spotify-ml/classifier", "version": 1,
            "experiment": "genre3", "model": "forest", "classes": [], "feature_names": [],
            "members": []}"#;
        std::fs::write(&path, manifest).unwrap();
        let error = SavedClassifier::load(dir.path()).unwrap_err();
        assert!(matches!(error, SavedError::File { .. }), "{error:?}");
        let text = chain(&error);
        assert!(text.contains("classifier.json"), "{text}");
        assert!(
            text.contains("random_forest, logistic, knn, network, blend"),
            "{text}"
        );
    }

    /// Issue 23, fault 2: blend weights that cannot weight probabilities are refused before any
    /// member is read.
    #[test]
    fn a_manifest_whose_blend_weights_are_impossible_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (weights, expected) in [
            ("5, -4", "weight 1 is -4"),
            ("1e308, 0", "sum to 1e308"),
            ("0.5, 0.25", "sum to 0.75"),
        ] {
            let (a, b) = weights.split_once(", ").unwrap();
            let manifest = format!(
                r#"{{"format": "spotify-ml/classifier", "version": 1, "experiment": "moods",
                "model": "blend", "classes": ["a", "b"], "feature_names": ["x"],
                "members": [{{"kind": "classic", "file": "m0.json", "weight": {a}}},
                            {{"kind": "network", "file": "m1.json", "weight": {b}}}]}}"#
            );
            std::fs::write(dir.path().join(MANIFEST), manifest).unwrap();
            let error = SavedClassifier::load(dir.path()).unwrap_err();
            let text = chain(&error);
            assert!(
                text.contains("classifier.json") && text.contains(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn a_foreign_manifest_says_what_it_is_and_what_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = r#"{"format": "other", "version": 7, "experiment": "moods",
            "model": "knn", "classes": [], "feature_names": [], "members": []}"#;
        std::fs::write(dir.path().join(MANIFEST), manifest).unwrap();
        let text = SavedClassifier::load(dir.path()).unwrap_err().to_string();
        assert!(text.contains("\"other\" version 7"), "{text}");
        assert!(text.contains("spotify-ml/classifier version 1"), "{text}");
    }

    #[test]
    fn a_missing_manifest_keeps_the_systems_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = SavedClassifier::load(&dir.path().join("none")).unwrap_err();
        assert!(matches!(error, SavedError::Missing { .. }));
        assert!(std::error::Error::source(&error).is_some());
    }
}
