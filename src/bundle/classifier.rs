//! The classifier bundle: an experiment's saved model (`classifier.json` and its member files,
//! as [`SavedClassifier`] writes them) with `bundle.json` beside them.

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::ArrayView2;

use super::lightgbm::{LightgbmModel, LightgbmOutput};
use super::manifest::{
    expected_outputs, folder_members, ClassCalibration, Manifest, OutputColumn, OutputKind,
    OutputType, Task, Training, FORMAT, MANIFEST, VERSION,
};
use super::schema::input_columns;
use super::{Bundle, BundleError, Predictions};
use crate::classify::lineup::Fitted;
use crate::classify::saved::SavedClassifier;
use classic_models::FittedClassifier;

/// A classification experiment's bundle, loaded and checked.
pub struct ClassifierBundle {
    manifest: Manifest,
    model: SavedClassifier,
}

/// Saves `model` as a bundle in `dir`, replacing what was there: the classifier's own files,
/// then `bundle.json`. With a `calibration`, the bundle's probabilities are tempered and it
/// outputs prediction sets.
pub fn save_classifier_bundle(
    dir: &Path,
    model: &mut SavedClassifier,
    training: Training,
    scores: BTreeMap<String, f64>,
    calibration: Option<ClassCalibration>,
) -> Result<Manifest, BundleError> {
    super::write_fresh(dir, |fresh| {
        model
            .save(fresh)
            .map_err(|e| BundleError::member(&fresh.join("classifier.json"), e))?;
        write_classifier_bundle(fresh, model, training, scores, calibration)
    })
}

/// Writes `bundle.json` into `dir`, where `model` has just been saved: every file of the folder
/// is a member. The bundle is named after the experiment (`moods`, `genre5`).
pub fn write_classifier_bundle(
    dir: &Path,
    model: &SavedClassifier,
    training: Training,
    scores: BTreeMap<String, f64>,
    calibration: Option<ClassCalibration>,
) -> Result<Manifest, BundleError> {
    let name = model.experiment().to_string();
    let inputs = input_columns(model.feature_names())
        .map_err(|problem| BundleError::invalid(dir, problem))?;
    let output = OutputKind::Classes {
        names: model.classes().to_vec(),
        calibration,
    };
    let tempered = if calibration.is_some_and(|c| c.temperature != 1.0) {
        " (temperature scaled)"
    } else {
        ""
    };
    let outputs = expected_outputs(&name, &output)
        .map_err(|problem| BundleError::invalid(dir, problem))?
        .into_iter()
        .enumerate()
        .map(|(i, (column, dtype))| OutputColumn {
            description: match (dtype, calibration) {
                (OutputType::Utf8, Some(c)) if i > 0 => format!(
                    "the classes likely enough to hold the true one at {} coverage, most likely first, joined by {:?} (least-ambiguous conformal set; may be empty)",
                    c.set_coverage,
                    super::manifest::SET_SEPARATOR
                ),
                (OutputType::Utf8, _) => "the most probable class".into(),
                (OutputType::Float64, _) => {
                    format!("probability of {:?}{tempered}", model.classes()[i - 1])
                }
            },
            name: column,
            dtype,
        })
        .collect();
    let members = folder_members(dir, |file| {
        if file == "classifier.json" {
            "classifier"
        } else {
            "member"
        }
    })?;
    Manifest {
        format: FORMAT.into(),
        version: VERSION,
        name,
        task: Task::Classifier {
            experiment: model.experiment().to_string(),
        },
        output,
        inputs,
        outputs,
        training,
        scores,
        members,
    }
    .write(dir)
}

impl ClassifierBundle {
    /// Loads the saved classifier of a checked manifest (whose folder holds nothing but its
    /// members, so nothing the model reads escapes the checksums) and checks it against the
    /// manifest.
    pub(crate) fn from_manifest(
        dir: &Path,
        manifest: Manifest,
    ) -> Result<ClassifierBundle, BundleError> {
        let manifest_path = dir.join(MANIFEST);
        let model = SavedClassifier::load(dir).map_err(|e| BundleError::member(dir, e))?;
        let Task::Classifier { experiment } = &manifest.task else {
            return Err(BundleError::invalid(
                &manifest_path,
                "not a classifier bundle",
            ));
        };
        let names: Vec<&str> = manifest.inputs.iter().map(|c| c.name.as_str()).collect();
        let consistent = *experiment == model.experiment().to_string()
            && names
                == model
                    .feature_names()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            && matches!(&manifest.output, OutputKind::Classes { names, .. } if names == model.classes());
        if !consistent {
            return Err(BundleError::invalid(
                &manifest_path,
                "its experiment, input columns or classes differ from classifier.json's",
            ));
        }
        Ok(ClassifierBundle { manifest, model })
    }

    /// The temperature its probabilities are scaled by, unless there is none or it is 1.
    fn temperature(&self) -> Option<f64> {
        match &self.manifest.output {
            OutputKind::Classes {
                calibration: Some(c),
                ..
            } if c.temperature != 1.0 => Some(c.temperature),
            _ => None,
        }
    }
}

impl Bundle for ClassifierBundle {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// One boosting or forest classifier, not a blend or a network.
    fn lightgbm(&self) -> Option<Result<LightgbmModel, BundleError>> {
        let columns = self.model.feature_names().to_vec();
        let (text, output) = match self.model.fitted() {
            Fitted::Classic(FittedClassifier::Boosting(model)) => (
                model.to_lightgbm(&columns),
                if model.n_classes() == 2 {
                    LightgbmOutput::Binary
                } else {
                    LightgbmOutput::Classes
                },
            ),
            Fitted::Classic(FittedClassifier::Forest(model)) => {
                (model.to_lightgbm(&columns), LightgbmOutput::Classes)
            }
            _ => return None,
        };
        Some(
            text.map(|text| LightgbmModel {
                text,
                columns,
                output,
            })
            .map_err(|e| BundleError::model(&self.manifest.name, e)),
        )
    }

    fn predict_checked(&self, rows: ArrayView2<'_, f64>) -> Result<Predictions, BundleError> {
        if rows.nrows() == 0 {
            return Ok(Predictions::Classes(ndarray::Array2::zeros((
                0,
                self.model.classes().len(),
            ))));
        }
        let proba = self
            .model
            .predict_proba(&rows.to_owned())
            .map_err(|e| BundleError::model(&self.manifest.name, e))?;
        Ok(Predictions::Classes(match self.temperature() {
            Some(t) => evaluation::calibration::temperature_scale(proba.view(), t),
            None => proba,
        }))
    }
}
