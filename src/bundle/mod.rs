//! Model bundles: one saved-model format for every task.
//!
//! A bundle is a folder: `bundle.json` ([`Manifest`]: format version, task, output kind, input
//! schema, output columns, how the model was trained and its cross-validated scores, and the
//! SHA-256 of every member file) beside the member files (the model files the workspace already
//! writes). [`load`] checks everything before it returns (format and version, checksums, schema,
//! and each member's own structure through its loader), and every bundle predicts through one
//! trait, [`Bundle`], from an `ndarray` view or an Arrow [`RecordBatch`].
//!
//! Rows whose values are missing, not numbers or outside their column's range get no prediction
//! (null outputs) and a [`Rejection`] naming the column: one bad row never fails a batch.
//!
//! ```no_run
//! use spotify_ml::bundle;
//! # fn main() -> Result<(), bundle::BundleError> {
//! let valence = bundle::load(std::path::Path::new("out/task1/bundle"))?;
//! let names: Vec<&str> = valence.manifest().inputs.iter().map(|c| c.name.as_str()).collect();
//! println!("{} takes {names:?}", valence.manifest().name);
//! # Ok(()) }
//! ```

mod blend;
mod classifier;
pub mod lightgbm;
pub mod manifest;
#[cfg(feature = "neural")]
mod popularity;
pub mod schema;
mod valence;

use std::path::{Path, PathBuf};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field};
use ndarray::{Array2, ArrayView2};

pub use blend::{Blend, BlendError, BlendPart, NetworkEnsemble};
pub use classifier::{save_classifier_bundle, write_classifier_bundle, ClassifierBundle};
pub use manifest::{
    ClassCalibration, InputColumn, InputType, Manifest, Member, OutputColumn, OutputKind,
    OutputType, Task, Training, FORMAT, MANIFEST, SET_SEPARATOR, VERSION,
};
#[cfg(feature = "neural")]
pub use popularity::{save_popularity_bundle, PopularityBundle};
pub use schema::{CheckedRows, Problem, Rejection};
pub use valence::{write_valence_bundle, RouteModel, RoutePart, ValenceBundle, ValenceParts};

/// What went wrong loading, writing or using a bundle. Every variant names the file, or the
/// bundle and column.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be read.
    #[error("{path}: cannot be read")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// `bundle.json` is not JSON of its layout.
    #[error("{path}: not a bundle manifest (invalid JSON, an unknown field or a missing one)")]
    Json {
        /// The file.
        path: PathBuf,
        /// serde's error.
        #[source]
        source: serde_json::Error,
    },
    /// `bundle.json` is of another format or version.
    #[error("{path}: format {format:?} version {version} is not {FORMAT:?} version {VERSION}")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// The format found.
        format: String,
        /// The version found.
        version: u32,
    },
    /// The manifest or a member is inconsistent.
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A member's bytes do not hash to the manifest's checksum.
    #[error("{path}: SHA-256 {found} is not the {expected} bundle.json records (the file changed after the bundle was written)")]
    Checksum {
        /// The member.
        path: PathBuf,
        /// The checksum in `bundle.json`.
        expected: String,
        /// The checksum of the file.
        found: String,
    },
    /// A member could not be loaded by its own loader.
    #[error("{path}: the member does not load")]
    Member {
        /// The member.
        path: PathBuf,
        /// Its loader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file could not be written.
    #[error("{path}: could not be written")]
    Write {
        /// The file.
        path: PathBuf,
        /// The writer's error.
        #[source]
        source: Box<evaluation::EvalError>,
    },
    /// The input lacks a column the bundle needs.
    #[error("bundle {bundle:?} needs the column {column:?}, which the input does not have")]
    MissingColumn {
        /// The bundle's name.
        bundle: String,
        /// The column.
        column: String,
    },
    /// An input column is not numeric.
    #[error("bundle {bundle:?}: the column {column:?} is {found}, not a number")]
    WrongType {
        /// The bundle's name.
        bundle: String,
        /// The column.
        column: String,
        /// Its type.
        found: String,
    },
    /// Rows of the wrong width.
    #[error("bundle {bundle:?} takes {expected} columns, but the rows have {found}")]
    Width {
        /// The bundle's name.
        bundle: String,
        /// Columns it takes.
        expected: usize,
        /// Columns given.
        found: usize,
    },
    /// The model failed on accepted rows.
    #[error("bundle {bundle:?}: the model failed")]
    Model {
        /// The bundle's name.
        bundle: String,
        /// The model's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl BundleError {
    pub(crate) fn invalid(path: &Path, problem: impl Into<String>) -> BundleError {
        BundleError::Invalid {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    pub(crate) fn member(
        path: &Path,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> BundleError {
        BundleError::Member {
            path: path.to_path_buf(),
            source: Box::new(source),
        }
    }

    pub(crate) fn model(
        bundle: &str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> BundleError {
        BundleError::Model {
            bundle: bundle.to_string(),
            source: Box::new(source),
        }
    }
}

/// What a bundle predicts for accepted rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Predictions {
    /// One value per row, with an interval per row when the bundle has one.
    Values {
        /// The values.
        values: Vec<f64>,
        /// `(low, high)` per row.
        intervals: Option<Vec<(f64, f64)>>,
    },
    /// Class probabilities: one row per input row, one column per class.
    Classes(Array2<f64>),
}

/// A batch's outputs: the bundle's output columns (null where a row was rejected) and each row's
/// rejection.
#[derive(Clone, Debug)]
pub struct BatchOutput {
    /// The output columns, in the manifest's order.
    pub columns: Vec<(Field, ArrayRef)>,
    /// Per row, why it got no prediction.
    pub rejected: Vec<Option<Rejection>>,
}

/// A saved model that predicts rows: every task's bundle speaks it.
pub trait Bundle: Send + Sync {
    /// Its manifest.
    fn manifest(&self) -> &Manifest;

    /// Predicts rows that passed [`schema::check_rows`]: one column per manifest input, in order,
    /// with optional columns NaN (all together) where a row lacks them.
    fn predict_checked(&self, rows: ArrayView2<'_, f64>) -> Result<Predictions, BundleError>;

    /// The bundle's model in LightGBM's text format, when it is one tree ensemble LightGBM can
    /// hold ([`lightgbm`]); `None` for any other bundle.
    fn lightgbm(&self) -> Option<Result<lightgbm::LightgbmModel, BundleError>> {
        None
    }

    /// Checks and predicts rows (one column per manifest input, in order; NaN where a value is
    /// missing): the predictions of the accepted rows and every row's rejection.
    fn predict(
        &self,
        rows: ArrayView2<'_, f64>,
    ) -> Result<(Predictions, CheckedRows), BundleError> {
        let manifest = self.manifest();
        if rows.ncols() != manifest.inputs.len() {
            return Err(BundleError::Width {
                bundle: manifest.name.clone(),
                expected: manifest.inputs.len(),
                found: rows.ncols(),
            });
        }
        let checked = schema::check_rows(&manifest.inputs, rows, None);
        let accepted = checked.rows.select(ndarray::Axis(0), &checked.accepted());
        Ok((self.predict_checked(accepted.view())?, checked))
    }

    /// Predicts a record batch: its columns are matched to the inputs by name (in any order;
    /// other columns are ignored), integer columns read as numbers, and the outputs are the
    /// manifest's output columns, null where a row was rejected.
    fn predict_batch(&self, batch: &RecordBatch) -> Result<BatchOutput, BundleError> {
        let manifest = self.manifest();
        let checked = schema::rows_of_batch(&manifest.name, &manifest.inputs, batch)?;
        let accepted = checked.accepted();
        let rows = checked.rows.select(ndarray::Axis(0), &accepted);
        let predictions = self.predict_checked(rows.view())?;
        let n = batch.num_rows();
        let arrays: Vec<ArrayRef> = match (&predictions, &manifest.output) {
            (Predictions::Values { values, intervals }, _) => {
                let mut arrays = vec![schema::float_column(n, &accepted, values)];
                if let Some(intervals) = intervals {
                    let low: Vec<f64> = intervals.iter().map(|i| i.0).collect();
                    let high: Vec<f64> = intervals.iter().map(|i| i.1).collect();
                    arrays.push(schema::float_column(n, &accepted, &low));
                    arrays.push(schema::float_column(n, &accepted, &high));
                }
                arrays
            }
            (Predictions::Classes(proba), OutputKind::Classes { names, calibration }) => {
                let labels: Vec<&str> = proba
                    .rows()
                    .into_iter()
                    .map(|row| names[argmax(row.as_slice().unwrap_or(&row.to_vec()))].as_str())
                    .collect();
                let mut arrays = vec![schema::text_column(n, &accepted, &labels)];
                for class in 0..names.len() {
                    let p = proba.column(class).to_vec();
                    arrays.push(schema::float_column(n, &accepted, &p));
                }
                if let Some(calibration) = calibration {
                    let sets = prediction_sets(proba.view(), names, calibration.set_threshold);
                    arrays.push(schema::text_column(n, &accepted, &sets.of_rows()));
                }
                arrays
            }
            (Predictions::Classes(_), OutputKind::Value { .. }) => {
                return Err(BundleError::model(
                    &manifest.name,
                    std::io::Error::other("a value bundle predicted classes"),
                ))
            }
        };
        if arrays.len() != manifest.outputs.len() {
            return Err(BundleError::model(
                &manifest.name,
                std::io::Error::other(format!(
                    "{} output columns for the manifest's {}",
                    arrays.len(),
                    manifest.outputs.len()
                )),
            ));
        }
        let columns = manifest
            .outputs
            .iter()
            .zip(arrays)
            .map(|(column, array)| (output_field(column), array))
            .collect();
        Ok(BatchOutput {
            columns,
            rejected: checked.rejected,
        })
    }
}

/// The Arrow field of an output column (always nullable: rejected rows are null).
pub fn output_field(column: &OutputColumn) -> Field {
    let dtype = match column.dtype {
        OutputType::Float64 => DataType::Float64,
        OutputType::Utf8 => DataType::Utf8,
    };
    Field::new(&column.name, dtype, true)
}

/// Each row's least-ambiguous prediction set at `threshold` (`evaluation::conformal::lac_set`:
/// the classes whose probability is at least `1 - threshold`, most likely first), as the set
/// column writes it: the names joined by [`SET_SEPARATOR`], empty when no class is likely
/// enough. Each distinct set is spelt once.
pub fn prediction_sets(proba: ArrayView2<'_, f64>, names: &[String], threshold: f64) -> SetTexts {
    let mut spelt: Vec<String> = Vec::new();
    let mut index: std::collections::HashMap<Vec<usize>, usize> = Default::default();
    let (mut row, mut set) = (Vec::with_capacity(proba.ncols()), Vec::new());
    let rows = proba
        .rows()
        .into_iter()
        .map(|probabilities| {
            row.clear();
            row.extend(probabilities.iter());
            evaluation::conformal::lac_set_into(&row, threshold, &mut set);
            if let Some(&i) = index.get(&set) {
                return i;
            }
            let text = set
                .iter()
                .filter_map(|&class| names.get(class).map(String::as_str))
                .collect::<Vec<_>>()
                .join(&SET_SEPARATOR.to_string());
            spelt.push(text);
            index.insert(set.clone(), spelt.len() - 1);
            spelt.len() - 1
        })
        .collect();
    SetTexts { spelt, rows }
}

/// Prediction sets as text ([`prediction_sets`]): each distinct set once, and each row's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetTexts {
    spelt: Vec<String>,
    rows: Vec<usize>,
}

impl SetTexts {
    /// Each row's set, in row order.
    pub fn of_rows(&self) -> Vec<&str> {
        self.rows.iter().map(|&i| self.spelt[i].as_str()).collect()
    }
}

/// The index of the largest value (the first of equal ones).
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Writes a bundle into the fresh sibling folder `<dir>.partial` with `write`, then puts it in
/// the place of `dir`: a bundle is never a mix of an old run's files and a new one's, and a
/// crash while writing leaves the old bundle whole.
pub fn write_fresh(
    dir: &Path,
    write: impl FnOnce(&Path) -> Result<Manifest, BundleError>,
) -> Result<Manifest, BundleError> {
    let sibling = |suffix: &str| {
        let mut name = dir.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        dir.with_file_name(name)
    };
    let (partial, old) = (sibling(".partial"), sibling(".old"));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BundleError::Read { path, source }
    };
    for stale in [&partial, &old] {
        if stale.exists() {
            std::fs::remove_dir_all(stale).map_err(io(stale))?;
        }
    }
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    let manifest = write(&partial)?;
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(io(dir))?;
    }
    std::fs::rename(&partial, dir).map_err(io(dir))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(manifest)
}

/// Loads and checks the bundle in `dir`, whatever its task.
pub fn load(dir: &Path) -> Result<Box<dyn Bundle>, BundleError> {
    let manifest = Manifest::read(dir)?;
    Ok(match manifest.task {
        Task::Valence => Box::new(ValenceBundle::from_manifest(dir, manifest)?),
        Task::Classifier { .. } => Box::new(ClassifierBundle::from_manifest(dir, manifest)?),
        #[cfg(feature = "neural")]
        Task::Popularity => Box::new(PopularityBundle::from_manifest(dir, manifest)?),
        #[cfg(not(feature = "neural"))]
        Task::Popularity => {
            return Err(BundleError::invalid(
                &dir.join(MANIFEST),
                "a popularity bundle, but this build of spotify-ml has no popularity model (enable its `neural` feature)",
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn prediction_sets_are_lac_sets_joined_in_their_order() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut proba = Array2::from_shape_fn((500, 4), |_| rng.gen::<f64>());
        for mut row in proba.rows_mut() {
            let sum = row.sum();
            row.mapv_inplace(|p| p / sum);
        }
        // Ties, and a row with no class likely enough.
        proba
            .row_mut(0)
            .assign(&ndarray::arr1(&[0.25, 0.25, 0.25, 0.25]));
        proba
            .row_mut(1)
            .assign(&ndarray::arr1(&[0.1, 0.4, 0.1, 0.4]));
        for threshold in [0.0, 0.55, 0.75, 0.9, 1.0] {
            let sets = prediction_sets(proba.view(), &names, threshold);
            for (row, text) in proba.rows().into_iter().zip(sets.of_rows()) {
                let expected: Vec<&str> = evaluation::conformal::lac_set(&row.to_vec(), threshold)
                    .into_iter()
                    .map(|c| names[c].as_str())
                    .collect();
                assert_eq!(text, expected.join("|"), "{row} at {threshold}");
            }
        }
        let sets = prediction_sets(proba.view(), &names, 0.6);
        assert_eq!(sets.of_rows()[1], "b|d");
        assert_eq!(sets.of_rows()[0], "");
    }
}
