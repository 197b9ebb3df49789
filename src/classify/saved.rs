//! A trained experiment model saved once and reused to predict tracks: a manifest
//! (`classifier.json`: classes, columns, members and weights) beside one file per member
//! (classic classifiers as `classic-models` classifier files, networks as `neural-models`
//! JSON + safetensors). Loading never retrains.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use classic_models::ClassifierFile;
use evaluation::classification::PredictProba;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::classify::engine::Fitted;
use crate::classify::network::FittedNetwork;

/// The tag of a saved classifier's manifest.
pub const SAVED_FORMAT: &str = "spotify-ml/classifier";
/// The manifest layout this build writes and reads.
pub const SAVED_VERSION: u32 = 1;
const MANIFEST: &str = "classifier.json";

/// Errors of saving and loading a [`SavedClassifier`].
#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    /// A file is missing.
    #[error("{path}: no trained model here ({message}); run the experiment's example first (it saves its models under `--out`)")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The system's message.
        message: String,
    },
    /// A file is damaged, foreign or of another version, or could not be written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MemberKind {
    Classic,
    Network,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Member {
    kind: MemberKind,
    file: String,
    weight: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    experiment: String,
    model: String,
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
        experiment: &str,
        model_name: &str,
        classes: Vec<String>,
        feature_names: Vec<String>,
        model: Fitted,
    ) -> SavedClassifier {
        SavedClassifier {
            manifest: Manifest {
                format: SAVED_FORMAT.into(),
                version: SAVED_VERSION,
                experiment: experiment.into(),
                model: model_name.into(),
                classes,
                feature_names,
                members: Vec::new(),
            },
            model,
        }
    }

    /// The experiment it was trained for.
    pub fn experiment(&self) -> &str {
        &self.manifest.experiment
    }

    /// The model's name (`boosting`, `network`, `blend`, …).
    pub fn model_name(&self) -> &str {
        &self.manifest.model
    }

    /// Class names.
    pub fn classes(&self) -> &[String] {
        &self.manifest.classes
    }

    /// Input columns.
    pub fn feature_names(&self) -> &[String] {
        &self.manifest.feature_names
    }

    /// Class probabilities of model rows.
    pub fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, String> {
        if x.ncols() != self.manifest.feature_names.len() {
            return Err(format!(
                "the model takes {} columns but got {}",
                self.manifest.feature_names.len(),
                x.ncols()
            ));
        }
        self.model
            .predict_proba(x)
            .map_err(|e| evaluation::error::chain(&e))
    }

    /// Saves into `dir` atomically, file by file; the manifest is written last.
    pub fn save(&mut self, dir: &Path) -> Result<(), SavedError> {
        let error = |path: &Path, e: &dyn std::fmt::Display| SavedError::File {
            path: path.to_path_buf(),
            message: format!("could not write: {e}"),
        };
        std::fs::create_dir_all(dir).map_err(|e| error(dir, &e))?;
        let members: Vec<(f64, &Fitted)> = match &self.model {
            Fitted::Blend(members) => members.iter().map(|(w, m)| (*w, m)).collect(),
            single => vec![(1.0, single)],
        };
        let mut entries = Vec::new();
        for (i, (weight, member)) in members.into_iter().enumerate() {
            match member {
                Fitted::Classic(model) => {
                    let file = format!("member{i}.json");
                    let path = dir.join(&file);
                    ClassifierFile::new(
                        model.clone(),
                        self.manifest.feature_names.clone(),
                        self.manifest.classes.clone(),
                    )
                    .save(&path)
                    .map_err(|e| error(&path, &e))?;
                    entries.push(Member {
                        kind: MemberKind::Classic,
                        file,
                        weight,
                    });
                }
                Fitted::Network(net) => {
                    let file = format!("member{i}_network.json");
                    let path = dir.join(&file);
                    net.with_model(|m| m.save(&path))
                        .map_err(|e| error(&path, &e))?;
                    entries.push(Member {
                        kind: MemberKind::Network,
                        file,
                        weight,
                    });
                }
                Fitted::Blend(_) => {
                    return Err(error(dir, &"a blend of blends cannot be saved"));
                }
            }
        }
        self.manifest.members = entries;
        let path = dir.join(MANIFEST);
        let text = serde_json::to_vec_pretty(&self.manifest).map_err(|e| error(&path, &e))?;
        evaluation::report::write_atomic(&path, &text).map_err(|e| error(&path, &e))
    }

    /// Loads a model saved by [`SavedClassifier::save`]: a missing file is
    /// [`SavedError::Missing`], a damaged or foreign one [`SavedError::File`], each naming it.
    pub fn load(dir: &Path) -> Result<SavedClassifier, SavedError> {
        let path = dir.join(MANIFEST);
        let bytes = std::fs::read(&path).map_err(|e| SavedError::Missing {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let bad = |path: &Path, message: String| SavedError::File {
            path: path.to_path_buf(),
            message,
        };
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            bad(
                &path,
                format!("not a classifier manifest (invalid or truncated JSON: {e})"),
            )
        })?;
        if manifest.format != SAVED_FORMAT || manifest.version != SAVED_VERSION {
            return Err(bad(
                &path,
                format!(
                    "format {:?} version {} is not {SAVED_FORMAT} version {SAVED_VERSION}",
                    manifest.format, manifest.version
                ),
            ));
        }
        let mut members = Vec::new();
        for member in &manifest.members {
            let file = dir.join(&member.file);
            if !file.exists() {
                return Err(SavedError::Missing {
                    path: file,
                    message: "the manifest lists it but the file is missing".into(),
                });
            }
            let fitted = match member.kind {
                MemberKind::Classic => {
                    let loaded =
                        ClassifierFile::load(&file).map_err(|e| bad(&file, e.to_string()))?;
                    if loaded.feature_names != manifest.feature_names
                        || loaded.classes != manifest.classes
                    {
                        return Err(bad(
                            &file,
                            "its columns or classes differ from the manifest's".into(),
                        ));
                    }
                    Fitted::Classic(loaded.model)
                }
                MemberKind::Network => {
                    let net = FittedNetwork::load(&file).map_err(|e| bad(&file, e.to_string()))?;
                    if net.n_classes() != manifest.classes.len() {
                        return Err(bad(
                            &file,
                            "its number of classes differs from the manifest's".into(),
                        ));
                    }
                    Fitted::Network(net)
                }
            };
            members.push((member.weight, fitted));
        }
        let model = match members.len() {
            0 => return Err(bad(&path, "the manifest lists no model".into())),
            1 if members[0].0 == 1.0 => members
                .pop()
                .map(|(_, m)| m)
                .ok_or_else(|| bad(&path, "no model".into()))?,
            _ => Fitted::Blend(members),
        };
        Ok(SavedClassifier { manifest, model })
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

/// Predicts each id from the rows of a features source (`rows` maps a track id to its model
/// row); an id the source lacks gets a line saying so, and the others are still predicted.
pub fn predict_lines(
    model: &SavedClassifier,
    ids: &[String],
    rows: &HashMap<String, Vec<f64>>,
    source: &str,
) -> Vec<String> {
    ids.iter()
        .map(|id| match rows.get(id) {
            None => format!("{id} → unknown track id: not in {source}"),
            Some(row) => match Array2::from_shape_vec((1, row.len()), row.clone())
                .map_err(|e| e.to_string())
                .and_then(|x| model.predict_proba(&x))
            {
                Ok(p) => prediction_line(id, model.classes(), &p.row(0).to_vec()),
                Err(e) => format!("{id} → cannot predict: {e}"),
            },
        })
        .collect()
}
