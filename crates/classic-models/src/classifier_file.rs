//! Saving fitted classifiers with their feature and class names, and loading them back.
//!
//! The file is JSON: a format tag and version, the feature names in column order, the class
//! names in label order, and the fitted classifier. Floats are written in their shortest exact
//! form, so a reloaded classifier gives bit for bit the probabilities of the saved one.

use std::path::Path;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::check::CheckedFile;

use evaluation::classification::{PredictProba, ProbaError};

use crate::boosting_classifier::BoostingClassifier;
use crate::error::ModelError;
use crate::forest_classifier::ForestClassifier;
use crate::knn_classifier::KnnClassifier;
use crate::logistic::LogisticClassifier;
use crate::scaled::ScaledModel;

/// The tag at the start of every classifier file.
pub const CLASSIFIER_FORMAT: &str = "spotify-ml/classic-classifier";
/// The version of the layout this crate writes and reads.
pub const CLASSIFIER_VERSION: u32 = 1;

/// Any fitted classifier of this crate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FittedClassifier {
    /// Gradient-boosted trees with a softmax (or logistic) objective.
    Boosting(BoostingClassifier),
    /// A random forest of classification trees.
    Forest(ForestClassifier),
    /// Multinomial logistic regression on standardised inputs.
    Logistic(ScaledModel<LogisticClassifier>),
    /// k nearest neighbours on standardised inputs.
    Knn(ScaledModel<KnnClassifier>),
}

impl crate::check::CheckedFile for FittedClassifier {
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        match self {
            FittedClassifier::Boosting(m) => m.check_file(n_features),
            FittedClassifier::Forest(m) => m.check_file(n_features),
            FittedClassifier::Logistic(m) => m.check_file(n_features),
            FittedClassifier::Knn(m) => m.check_file(n_features),
        }
    }
}

impl PredictProba for FittedClassifier {
    fn n_classes(&self) -> usize {
        match self {
            FittedClassifier::Boosting(m) => m.n_classes(),
            FittedClassifier::Forest(m) => m.n_classes(),
            FittedClassifier::Logistic(m) => m.n_classes(),
            FittedClassifier::Knn(m) => m.n_classes(),
        }
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, ProbaError> {
        match self {
            FittedClassifier::Boosting(m) => m.predict_proba(x),
            FittedClassifier::Forest(m) => m.predict_proba(x),
            FittedClassifier::Logistic(m) => m.predict_proba(x),
            FittedClassifier::Knn(m) => m.predict_proba(x),
        }
    }
}

/// A fitted classifier with the columns it expects and the names of its classes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierFile {
    /// Always [`CLASSIFIER_FORMAT`].
    pub format: String,
    /// Always [`CLASSIFIER_VERSION`] for files this crate writes.
    pub version: u32,
    /// Input column names, in order.
    pub feature_names: Vec<String>,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
    /// The classifier.
    pub model: FittedClassifier,
}

impl ClassifierFile {
    /// Wraps a fitted classifier.
    pub fn new(
        model: FittedClassifier,
        feature_names: Vec<String>,
        classes: Vec<String>,
    ) -> ClassifierFile {
        ClassifierFile {
            format: CLASSIFIER_FORMAT.into(),
            version: CLASSIFIER_VERSION,
            feature_names,
            classes,
            model,
        }
    }

    /// Class probabilities of every row, checking the number of columns first.
    pub fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, ModelError> {
        if x.ncols() != self.feature_names.len() {
            return Err(ModelError::WidthMismatch {
                expected: self.feature_names.len(),
                found: x.ncols(),
            });
        }
        Ok(self.model.predict_proba(x)?)
    }

    /// Writes the file atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        crate::persist::save_tagged(self, path, "classifier")
    }

    /// Reads a file written by [`ClassifierFile::save`]; a missing, truncated or foreign file is
    /// an error naming it.
    pub fn load(path: &Path) -> Result<ClassifierFile, ModelError> {
        let file: ClassifierFile =
            crate::persist::load_tagged(path, CLASSIFIER_FORMAT, CLASSIFIER_VERSION, "classifier")?;
        if file.classes.len() != file.model.n_classes() {
            return Err(ModelError::Inconsistent {
                path: path.to_path_buf(),
                what: "classifier",
                problem: format!(
                    "{} class names for a model of {} classes",
                    file.classes.len(),
                    file.model.n_classes()
                ),
            });
        }
        file.model
            .check_file(file.feature_names.len())
            .map_err(|problem| ModelError::Inconsistent {
                path: path.to_path_buf(),
                what: "classifier",
                problem,
            })?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BoostingClassifierParams;
    use linfa::traits::Fit;
    use linfa::DatasetBase;
    use ndarray::{Array, Array1};

    #[test]
    fn saved_classifier_reloads_with_identical_probabilities() {
        let x = Array::from_shape_fn((200, 2), |(i, j)| ((i * 7 + j * 13) % 23) as f64 / 23.0);
        let y = Array1::from_iter((0..200).map(|i| usize::from(x[[i, 0]] > 0.5)));
        let model = BoostingClassifierParams::new()
            .n_rounds(30)
            .fit(&DatasetBase::new(x.clone(), y))
            .unwrap();
        let file = ClassifierFile::new(
            FittedClassifier::Boosting(model),
            vec!["a".into(), "b".into()],
            vec!["no".into(), "yes".into()],
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("classifier.json");
        file.save(&path).unwrap();
        let loaded = ClassifierFile::load(&path).unwrap();
        assert_eq!(loaded, file);
        assert_eq!(
            loaded.predict_proba(&x).unwrap(),
            file.predict_proba(&x).unwrap()
        );
        std::fs::write(
            &path,
            b"{\"format\": \"spotify-ml/classic-classifier\", \"ver",
        )
        .unwrap();
        let error = ClassifierFile::load(&path).unwrap_err().to_string();
        assert!(error.contains("truncated JSON"), "{error}");
        let error = ClassifierFile::load(&dir.path().join("missing.json"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot read"), "{error}");
    }
}
