//! Saving fitted models with their feature list, and loading them back.
//!
//! A model file is JSON: a format tag and version, the feature names in column order, the target
//! name and the fitted model (scalers included). Floats are written in their shortest exact form,
//! so a reloaded model predicts bit for bit what the saved one did.

use std::path::Path;

use linfa::traits::PredictInplace;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::check::CheckedFile;

use crate::boosting::Boosting;
use crate::error::ModelError;
use crate::knn::Knn;
use crate::linear::ElasticNet;
use crate::scaled::ScaledModel;
use crate::svr::Svr;
use crate::tree::{DecisionTree, RandomForest};

/// The tag at the start of every model file.
pub const FORMAT: &str = "spotify-ml/classic-model";
/// The version of the file layout this crate writes and reads.
pub const VERSION: u32 = 1;

/// Any fitted model of this crate, or a weighted blend of them.
#[derive(Debug, Serialize, Deserialize)]
pub enum FittedModel {
    /// Elastic net on standardised inputs.
    ElasticNet(ScaledModel<ElasticNet>),
    /// k-NN on standardised inputs.
    Knn(ScaledModel<Knn>),
    /// A regression tree.
    DecisionTree(DecisionTree),
    /// A random forest.
    RandomForest(RandomForest),
    /// SVR on standardised inputs.
    Svr(ScaledModel<Svr>),
    /// Gradient-boosted trees.
    Boosting(Boosting),
    /// A weighted mean of models (weights sum to one).
    Blend(Vec<(f64, FittedModel)>),
}

impl crate::check::CheckedFile for FittedModel {
    /// Each kind's own checks; a blend's weights are finite, non-negative and sum to one.
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        match self {
            FittedModel::ElasticNet(m) => m.check_file(n_features),
            FittedModel::Knn(m) => m.check_file(n_features),
            FittedModel::DecisionTree(m) => m.check_file(n_features),
            FittedModel::RandomForest(m) => m.check_file(n_features),
            FittedModel::Svr(m) => m.check_file(n_features),
            FittedModel::Boosting(m) => m.check_file(n_features),
            FittedModel::Blend(members) => {
                let weights: Vec<f64> = members.iter().map(|(w, _)| *w).collect();
                evaluation::blend::check_weights(&weights).map_err(|e| e.to_string())?;
                members.iter().enumerate().try_for_each(|(i, (_, member))| {
                    member
                        .check_file(n_features)
                        .map_err(|problem| format!("blend member {i}: {problem}"))
                })
            }
        }
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for FittedModel {
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        match self {
            FittedModel::ElasticNet(m) => m.predict_inplace(x, y),
            FittedModel::Knn(m) => m.predict_inplace(x, y),
            FittedModel::DecisionTree(m) => m.predict_inplace(x, y),
            FittedModel::RandomForest(m) => m.predict_inplace(x, y),
            FittedModel::Svr(m) => m.predict_inplace(x, y),
            FittedModel::Boosting(m) => m.predict_inplace(x, y),
            FittedModel::Blend(members) => {
                y.fill(0.0);
                let mut part = Array1::zeros(x.nrows());
                for (weight, member) in members {
                    member.predict_inplace(x, &mut part);
                    y.scaled_add(*weight, &part);
                }
            }
        }
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

/// A fitted model with what is needed to use it: the columns it expects and what it predicts.
#[derive(Debug, Serialize, Deserialize)]
pub struct ModelFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for files this crate writes.
    pub version: u32,
    /// Input column names, in order.
    pub feature_names: Vec<String>,
    /// Name of the predicted quantity, e.g. `valence`.
    pub target: String,
    /// The model.
    pub model: FittedModel,
}

impl ModelFile {
    /// Wraps a fitted model.
    pub fn new(model: FittedModel, feature_names: Vec<String>, target: &str) -> ModelFile {
        ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            feature_names,
            target: target.into(),
            model,
        }
    }

    /// Predicts every row, checking the number of columns first.
    pub fn predict(&self, x: &Array2<f64>) -> Result<Array1<f64>, ModelError> {
        if x.ncols() != self.feature_names.len() {
            return Err(ModelError::WidthMismatch {
                expected: self.feature_names.len(),
                found: x.ncols(),
            });
        }
        let mut y = self.model.default_target(x);
        self.model.predict_inplace(x, &mut y);
        Ok(y)
    }

    /// Writes the file atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        save_tagged(self, path, "model")
    }

    /// Reads a file written by [`ModelFile::save`].
    pub fn load(path: &Path) -> Result<ModelFile, ModelError> {
        let file: ModelFile = load_tagged(path, FORMAT, VERSION, "model")?;
        file.model
            .check_file(file.feature_names.len())
            .map_err(|problem| ModelError::Inconsistent {
                path: path.to_path_buf(),
                what: "model",
                problem,
            })?;
        Ok(file)
    }
}

/// Writes `value` as JSON, atomically (temporary file, then rename); `what` names it in errors.
pub(crate) fn save_tagged<T: Serialize>(
    value: &T,
    path: &Path,
    what: &'static str,
) -> Result<(), ModelError> {
    let text = serde_json::to_vec(value).map_err(|source| ModelError::Encode {
        path: path.to_path_buf(),
        what,
        source,
    })?;
    evaluation::report::write_atomic(path, &text).map_err(|source| ModelError::Write {
        path: path.to_path_buf(),
        what,
        source: Box::new(source),
    })
}

/// Reads a JSON file whose `format` and `version` tags must be `format` and `version`; a
/// missing, truncated, foreign or corrupt file is an error naming it, `what` naming its kind.
pub(crate) fn load_tagged<T: serde::de::DeserializeOwned>(
    path: &Path,
    format: &'static str,
    version: u32,
    what: &'static str,
) -> Result<T, ModelError> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Read {
        path: path.to_path_buf(),
        what,
        source,
    })?;
    // Check the tag first, so a foreign JSON file is named as such rather than as corrupt.
    #[derive(Deserialize)]
    struct Header {
        format: Option<String>,
        version: Option<u32>,
    }
    let header: Header = serde_json::from_slice(&bytes).map_err(|source| ModelError::NotJson {
        path: path.to_path_buf(),
        what,
        source,
    })?;
    match (header.format, header.version) {
        (Some(tag), Some(found)) if tag == format && found == version => {}
        (Some(tag), found) if tag == format => {
            return Err(ModelError::UnsupportedVersion {
                path: path.to_path_buf(),
                what,
                found,
                supported: version,
            })
        }
        (found, _) => {
            return Err(ModelError::ForeignFile {
                path: path.to_path_buf(),
                expected: format,
                found,
            })
        }
    }
    serde_json::from_slice(&bytes).map_err(|source| ModelError::Corrupt {
        path: path.to_path_buf(),
        what,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BoostingParams, KnnParams, Scaled};
    use linfa::traits::Fit;
    use linfa::DatasetBase;
    use ndarray::Array;

    fn data() -> DatasetBase<Array2<f64>, Array1<f64>> {
        let x = Array::from_shape_fn((300, 3), |(i, j)| ((i * 31 + j * 17) % 97) as f64 / 97.0);
        let y = x.map_axis(ndarray::Axis(1), |r| r[0] * r[0] + 0.3 * r[1]);
        DatasetBase::new(x, y)
    }

    #[test]
    fn saved_and_reloaded_blend_predicts_identically() {
        let data = data();
        let boosting = BoostingParams::new().n_trees(30).fit(&data).unwrap();
        let knn = Scaled::new(KnnParams::new().k(5)).fit(&data).unwrap();
        let blend = FittedModel::Blend(vec![
            (0.7, FittedModel::Boosting(boosting)),
            (0.3, FittedModel::Knn(knn)),
        ]);
        let file = ModelFile::new(blend, vec!["a".into(), "b".into(), "c".into()], "y");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        file.save(&path).unwrap();
        let loaded = ModelFile::load(&path).unwrap();
        assert_eq!(loaded.feature_names, file.feature_names);
        let before = file.predict(data.records()).unwrap();
        let after = loaded.predict(data.records()).unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn corrupt_foreign_and_missing_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let corrupt = dir.path().join("corrupt.json");
        std::fs::write(
            &corrupt,
            b"{\"format\": \"spotify-ml/classic-model\", \"vers",
        )
        .unwrap();
        let foreign = dir.path().join("foreign.json");
        std::fs::write(&foreign, b"{\"hello\": 1}").unwrap();
        for (path, expected) in [
            (corrupt, "truncated JSON"),
            (foreign, "not a spotify-ml/classic-model file"),
            (dir.path().join("missing.json"), "cannot read"),
        ] {
            let error = ModelFile::load(&path).unwrap_err();
            assert!(
                error.to_string().starts_with(&path.display().to_string()),
                "{error}"
            );
            assert!(error.to_string().contains(expected), "{error}");
        }
        // The cause stays reachable.
        let error = ModelFile::load(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(error, ModelError::Read { .. }), "{error:?}");
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn prediction_with_the_wrong_width_is_an_error() {
        let data = data();
        let model = BoostingParams::new().n_trees(5).fit(&data).unwrap();
        let file = ModelFile::new(
            FittedModel::Boosting(model),
            vec!["a".into(), "b".into(), "c".into()],
            "y",
        );
        assert!(file.predict(&Array2::zeros((2, 2))).is_err());
    }
}
